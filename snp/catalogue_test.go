package snp_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// SNP-09: policy polarity. For each guest-policy bit whose check go-sev-guest
// once inverted, both values of the bit against both requirements ("must be
// set", "must be clear"): the claim a policy reads carries the bit's value,
// never its inverse, so a requirement is met exactly when the bit equals it.
// The verifier leaves the requirement to the appraisal policy; the claim's
// polarity is what decides the 2×2 table.
func TestSNP09PolicyBitPolarity(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Genoa]
	bits := []struct {
		claim string
		bit   uint64
	}{
		{"policy_smt_allowed", snp.PolicySMT},
		{"policy_single_socket", snp.PolicySingleSocket},
		{"policy_cxl_allowed", snp.PolicyCXLAllow},
		{"policy_mem_aes_256_xts", snp.PolicyMemAES256XTS},
		{"policy_rapl_dis", snp.PolicyRAPLDis},
		{"policy_ciphertext_hiding", snp.PolicyCiphertextHiding},
		{"policy_page_swap_disable", snp.PolicyPageSwapDisable},
	}
	for _, b := range bits {
		for _, set := range []bool{false, true} {
			pol := uint64(snp.PolicyReservedMustBe1)
			if set {
				pol |= b.bit
			}
			cl, err := v.Verify(context.Background(), mint(t, p, snptest.Report{Policy: pol}), exp())
			require.NoError(t, err)
			got, ok := cl.Map()[b.claim].(bool)
			require.True(t, ok, "%s is a boolean claim", b.claim)
			for _, required := range []bool{false, true} {
				assert.Equal(t, set == required, got == required,
					"%s: bit %t, requirement %t", b.claim, set, required)
			}
			assert.Equal(t, set, snp.DecodePolicy(pol).Raw&b.bit != 0)
		}
	}
}

// SNP-23: a Milan report at SNP SPL 0x17, below the floor AMD-SB-3019
// (CVE-2024-56161) set at 0x18, is contraindicated hardware (96) once the
// floor is pinned; at 0x18 it meets it. attest ships no built-in vendor
// floors (they go stale silently and differ per product): without a pinned
// floor the default policy says the firmware level was not appraised
// (hardware 32), which is never affirming.
func TestSNP23AdvisoryFloor(t *testing.T) {
	// A Milan platform whose VCEK is issued for the given SNP SPL.
	platform := func(t *testing.T, spl uint8) (*snp.Verifier, *snptest.PKI) {
		t.Helper()
		k, err := snptest.NewPKI(snp.Milan, snptest.Options{TCB: snp.TCB{Bootloader: 3, SNP: spl, Microcode: 0xd1}})
		require.NoError(t, err)
		mem := snp.NewMemorySource()
		mem.AddVCEK(snp.Milan, k.ChipID[:], k.TCB, k.VCEK.Raw)
		crl, err := k.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
		require.NoError(t, err)
		mem.AddCRL(snp.Milan, snp.SigningKeyVCEK, crl)
		v, err := snp.NewVerifier(snp.WithTrustedRoots(k.Roots()), snp.WithKDS(mem))
		require.NoError(t, err)
		return v, k
	}
	// Every TCB component needs a floor for genuine hardware; only the SNP
	// firmware's is the one under test.
	floor, err := policy.FromEntries(policy.Entry{Name: "snp_min_tcb_snp", Value: "24"},
		policy.Entry{Name: "snp_min_tcb_bootloader", Value: "0"}, policy.Entry{Name: "snp_min_tcb_tee", Value: "0"},
		policy.Entry{Name: "snp_min_tcb_microcode", Value: "0"})
	require.NoError(t, err)
	cases := []struct {
		name string
		spl  uint8
		rv   *policy.ReferenceValues
		want ear.TrustClaim
	}{
		{"SPL 0x17 below the pinned floor", 0x17, floor, ear.ContraindicatedHardware},
		{"SPL 0x18 at the pinned floor", 0x18, floor, ear.GenuineHardware},
		{"SPL 0x17 with no floor pinned", 0x17, nil, ear.UnsafeHardware},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, k := platform(t, c.spl)
			cl, err := v.Verify(context.Background(), mint(t, k, snptest.Report{}), exp())
			require.NoError(t, err)
			require.Equal(t, int(c.spl), cl.Map()["reported_tcb_snp"])
			pol, err := policy.New(c.rv)
			require.NoError(t, err)
			r, err := pol.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: verify.FormatSNP, Claims: cl.Map(), Now: exp().Now})
			require.NoError(t, err)
			assert.Equal(t, c.want, r.TrustVector[ear.Hardware])
			if c.want != ear.GenuineHardware {
				assert.NotEqual(t, ear.StatusAffirming, r.Status())
			}
		})
	}
}

// A CRL that is expired, or not signed by the pinned ARK, is a collateral
// failure: ErrCollateral besides its own kind, mapped to the operational
// trust value (−1), not to a cryptographic failure of the report (99).
func TestCRLFailuresAreCollateral(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Milan]
	other, err := snptest.NewPKI(snp.Milan, snptest.Options{FreshRootKeys: true})
	require.NoError(t, err)
	expired, err := p.CRL(now.AddDate(0, 0, -9), now.AddDate(0, 0, -2))
	require.NoError(t, err)
	foreign, err := other.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	require.NoError(t, err)
	cases := []struct {
		name string
		crl  []byte
		kind error
	}{
		{"expired CRL", expired, verify.ErrExpired},
		{"CRL of another ARK", foreign, verify.ErrChain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := snp.NewMemorySource()
			mem.AddVCEK(snp.Milan, p.ChipID[:], p.TCB, p.VCEK.Raw)
			mem.AddCRL(snp.Milan, snp.SigningKeyVCEK, c.crl)
			v, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithKDS(mem))
			require.NoError(t, err)
			cl, err := v.Verify(context.Background(), mint(t, p, snptest.Report{}), exp())
			assert.Nil(t, cl)
			require.ErrorIs(t, err, c.kind)
			require.ErrorIs(t, err, verify.ErrCollateral)
			assert.Equal(t, ear.VerifierMalfunction, verify.FailureVector(err)[ear.InstanceIdentity])
			assert.True(t, verify.IsOperational(err))
		})
	}
}
