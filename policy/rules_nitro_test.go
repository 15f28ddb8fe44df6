package policy

import (
	"context"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/verify"
)

// nitroClaims verifies a real Dstack-framed sample from testdata/nitro at
// at and returns its claims and the unsafe switches in effect.
func nitroClaims(t *testing.T, file string, at time.Time, reportData []byte) (map[string]any, []verify.UnsafeSwitch) {
	t.Helper()
	b, err := os.ReadFile("../testdata/nitro/" + file)
	require.NoError(t, err)
	doc := b[4 : 4+int(binary.LittleEndian.Uint16(b[2:4])>>2)]
	v, err := nitro.NewVerifier()
	require.NoError(t, err)
	exp := verify.Expectations{Now: at, ReportData: reportData, AllowMissingReportDataUnsafe: reportData == nil}
	c, err := v.Verify(context.Background(), doc, exp)
	require.NoError(t, err)
	return c.Map(), verify.UnsafeSwitchesOf(c)
}

func dstackClaims(t *testing.T) map[string]any {
	m, _ := nitroClaims(t, "dstack-attest_nitro_attestation.bin", time.Date(2025, 12, 25, 16, 4, 19, 0, time.UTC),
		[]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
			0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55})
	return m
}

// nitroRV pins PCR0–2 of claims m, plus extra entries.
func nitroRV(t *testing.T, m map[string]any, extra ...Entry) *ReferenceValues {
	t.Helper()
	rv, err := FromEntries(append([]Entry{
		{Name: "nitro_pcr0", Value: m["pcr00"]},
		{Name: "nitro_pcr1", Value: m["pcr01"]},
		{Name: "nitro_pcr2", Value: m["pcr02"]},
	}, extra...)...)
	require.NoError(t, err)
	return rv
}

// appraiseNitro appraises claims of format nitro.Format through New and
// Appraise, as the composite appraiser does.
func appraiseNitro(t *testing.T, rv *ReferenceValues, m map[string]any, unsafe ...verify.UnsafeSwitch) *verify.PolicyResult {
	t.Helper()
	p, err := New(rv)
	require.NoError(t, err)
	in := verify.PolicyInput{Submod: "cpu0", Format: nitro.Format, Claims: m, Now: now, Unsafe: unsafe}
	r, err := p.Appraise(context.Background(), in)
	require.NoError(t, err)
	for _, c := range r.Checks {
		require.NotEmpty(t, c.ID)
		require.NotEmpty(t, c.Title, c.ID)
		require.False(t, !c.OK && c.Value.Tier() == ear.StatusAffirming, "failed check %s sets an affirming claim %d", c.ID, c.Value)
	}
	return r
}

// The real Dstack document, bound to its report data, with PCR0–2 pinned:
// affirming.
func TestNitroAffirming(t *testing.T) {
	m := dstackClaims(t)
	r := appraiseNitro(t, nitroRV(t, m), m)
	require.Equal(t, ear.StatusAffirming, r.Status(), "vector %v checks %+v", r.TrustVector, r.Checks)
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	wantVector(t, r, ear.Configuration, ear.NoConfigVulns)
	wantVector(t, r, ear.RuntimeOpaque, ear.NoClaim)
	wantVector(t, r, ear.InstanceIdentity, ear.TrustworthyInstance)
	c := check(t, r, "nitro.pcr0")
	assert.True(t, c.OK)
	assert.Equal(t, "pcr00", c.Claim)
	assert.Equal(t, m["pcr00"], c.Actual)
	// Upper-case hex pins match too.
	up, err := FromEntries(Entry{Name: "nitro_pcr0", Value: strings.ToUpper(m["pcr00"].(string))},
		Entry{Name: "nitro_pcr1", Value: m["pcr01"]}, Entry{Name: "nitro_pcr2", Value: m["pcr02"]})
	require.NoError(t, err)
	assert.Equal(t, ear.StatusAffirming, appraiseNitro(t, up, m).Status())
}

// Unpinned PCRs never affirm: executables unrecognized, status warning; and
// no configuration claim is made for a non-debug enclave whose image (which
// holds its configuration) no reference value names.
func TestNitroUnpinned(t *testing.T) {
	m := dstackClaims(t)
	for name, rv := range map[string]*ReferenceValues{
		"none": nil,
		"PCR2 missing": func() *ReferenceValues {
			rv, err := FromEntries(Entry{Name: "nitro_pcr0", Value: m["pcr00"]}, Entry{Name: "nitro_pcr1", Value: m["pcr01"]})
			require.NoError(t, err)
			return rv
		}(),
	} {
		r := appraiseNitro(t, rv, m)
		assert.Equal(t, ear.StatusWarning, r.Status(), name)
		wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
		wantVector(t, r, ear.Configuration, ear.NoClaim)
		c := check(t, r, "nitro.configuration")
		assert.False(t, c.OK, name)
		assert.Contains(t, c.Reason, "no reference value vouches", name)
	}
	// The same enclave with PCR0–2 pinned: its configuration is vouched for.
	r := appraiseNitro(t, nitroRV(t, m), m)
	wantVector(t, r, ear.Configuration, ear.NoConfigVulns)
	assert.True(t, check(t, r, "nitro.configuration").OK)
}

// A pinned PCR that differs contraindicates, required or optional.
func TestNitroMismatch(t *testing.T) {
	m := dstackClaims(t)
	other := strings.Repeat("ab", 48)
	for name, rv := range map[string]*ReferenceValues{
		"PCR1": func() *ReferenceValues {
			rv, err := FromEntries(Entry{Name: "nitro_pcr0", Value: m["pcr00"]}, Entry{Name: "nitro_pcr1", Value: other}, Entry{Name: "nitro_pcr2", Value: m["pcr02"]})
			require.NoError(t, err)
			return rv
		}(),
		"PCR8":        nitroRV(t, m, Entry{Name: "nitro_pcr8", Value: other}),
		"PCR4 (role)": nitroRV(t, m, Entry{Name: "nitro_pcr4", Value: other}),
	} {
		r := appraiseNitro(t, rv, m)
		assert.Equal(t, ear.StatusContraindicated, r.Status(), name)
		wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	}
	// A matching optional pin keeps the boot approved.
	r := appraiseNitro(t, nitroRV(t, m, Entry{Name: "nitro_pcr8", Value: m["pcr08"]}), m)
	assert.Equal(t, ear.StatusAffirming, r.Status())
	assert.Contains(t, check(t, r, "nitro.executables").Reason, "1 more")
}

// The real debug-mode document is refused, even with its zero PCRs pinned.
func TestNitroDebugRefused(t *testing.T) {
	m, unsafe := nitroClaims(t, "dstack-attest_nitro_attestation_dbg.bin", time.Date(2025, 12, 25, 8, 20, 46, 0, time.UTC), nil)
	require.Equal(t, true, m["debug"])
	r := appraiseNitro(t, nitroRV(t, m), m, unsafe...)
	assert.Equal(t, ear.StatusContraindicated, r.Status())
	wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	assert.False(t, check(t, r, "nitro.debug").OK)
	assert.False(t, check(t, r, "nitro.pcr0_set").OK)
	for _, c := range r.Checks {
		assert.NotEqual(t, "nitro.executables", c.ID, "a debug enclave's boot is never approved")
	}
}

// A document verified without report data is not bound to a session: the
// unsafe switch keeps it from affirming even with every PCR pinned.
func TestNitroUnbound(t *testing.T) {
	m, unsafe := nitroClaims(t, "nsm-qvl_nitro_attestation.bin", time.Date(2025, 12, 25, 13, 15, 37, 0, time.UTC), nil)
	require.NotEmpty(t, unsafe)
	r := appraiseNitro(t, nitroRV(t, m), m, unsafe...)
	assert.NotEqual(t, ear.StatusAffirming, r.Status())
	wantVector(t, r, ear.Configuration, ear.UnsafeConfig)
	assert.False(t, check(t, r, "binding").OK)
	// The typed switches come from the claims (verify.UnsafeSwitchesOf), the
	// one list the policy reads.
	assert.Equal(t, []verify.UnsafeSwitch{verify.UnsafeMissingReportData}, unsafe)
}

// Claims without the verifier's signer or PCRs never affirm.
func TestNitroMissingClaims(t *testing.T) {
	m := dstackClaims(t)
	rv := nitroRV(t, m)
	for _, k := range []string{"signer", "pcr00", "pcr02", "debug"} {
		cl := make(map[string]any, len(m))
		for kk, v := range m {
			cl[kk] = v
		}
		delete(cl, k)
		r := appraiseNitro(t, rv, cl)
		assert.NotEqual(t, ear.StatusAffirming, r.Status(), "without %s", k)
	}
}
