package tpm_test

import (
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// POL-13: approved boot needs the firmware (PCR 0), boot manager (PCR 4)
// and kernel PCRs (8 and 9 for GRUB, or 11 for a unified kernel image)
// pinned; with only some pinned, an unknown kernel or command line is
// unrecognized (33), never affirming.
func TestPOL13TPMUnpinnedBoot(t *testing.T) {
	ak, _, _ := keys(t)
	m := mint(t, ak, crypto.SHA256, testNonce)
	c, err := verifyEv(t, pinned(t, ak), m.ev, expect(testNonce))
	require.NoError(t, err)
	pcrs := m.log.PCRs(crypto.SHA256)
	pin := func(idx ...int) []policy.Entry {
		var out []policy.Entry
		for _, i := range idx {
			v, ok := pcrs[i]
			if !ok {
				v = make([]byte, 32) // quoted as zero
			}
			out = append(out, policy.Entry{Name: fmt.Sprintf("tpm_pcr%02d", i), Value: hex.EncodeToString(v)})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		rvs  []policy.Entry
		exe  ear.TrustClaim
	}{
		{"firmware only (PCR 0)", pin(0), ear.UnrecognizedRuntime},
		{"boot loader only (PCR 4)", pin(4), ear.UnrecognizedRuntime},
		{"PCRs 0 and 4: kernel unknown", pin(0, 4), ear.UnrecognizedRuntime},
		{"PCRs 0, 4, 8: kernel file unknown", pin(0, 4, 8), ear.UnrecognizedRuntime},
		{"PCRs 0, 4, 9: command line unknown", pin(0, 4, 9), ear.UnrecognizedRuntime},
		{"PCRs 4, 8, 9: firmware unknown", pin(4, 8, 9), ear.UnrecognizedRuntime},
		{"GRUB boot: 0, 4, 8, 9", pin(0, 4, 8, 9), ear.ApprovedBoot},
		{"unified kernel image: 0, 4, 11", pin(0, 4, 11), ear.ApprovedBoot},
		{"every PCR of the log", pin(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), ear.ApprovedBoot},
		{"PCR 9 differs", append(pin(0, 4, 8), policy.Entry{Name: "tpm_pcr09", Value: hex.EncodeToString(make([]byte, 32))}), ear.ContraindicatedRuntime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv, err := policy.FromEntries(tc.rvs...)
			require.NoError(t, err)
			p, err := policy.New(rv)
			require.NoError(t, err)
			r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatTPM, Claims: c.Map(), Now: testNow})
			require.NoError(t, err)
			assert.Equal(t, tc.exe, r.TrustVector[ear.Executables], r.Checks)
			if tc.exe == ear.ApprovedBoot {
				assert.Equal(t, ear.StatusAffirming, r.Status(), r.Checks)
			} else {
				assert.NotEqual(t, ear.StatusAffirming, r.Status())
			}
		})
	}
}
