package tdx_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// pinnedTDX pins every TDX reference value of the default policy to the
// quote s: MRTD, RTMR0..3, MRSEAM, XFAM.
func pinnedTDX(s tdxtest.QuoteSpec) []policy.Entry {
	b := &s.Body
	return []policy.Entry{
		{Name: "mr_td", Value: hex.EncodeToString(b.MRTD[:])},
		{Name: "rtmr_0", Value: hex.EncodeToString(b.RTMR[0][:])},
		{Name: "rtmr_1", Value: hex.EncodeToString(b.RTMR[1][:])},
		{Name: "rtmr_2", Value: hex.EncodeToString(b.RTMR[2][:])},
		{Name: "rtmr_3", Value: hex.EncodeToString(b.RTMR[3][:])},
		{Name: "mr_seam", Value: hex.EncodeToString(b.MRSEAM[:])},
		{Name: "xfam", Value: hex.EncodeToString(b.XFAM[:])},
	}
}

// appraiseQuote verifies the minted quote s with the real verifier and
// appraises its claims with the default policy over rvs.
func appraiseQuote(t *testing.T, f *fixture, v *tdx.Verifier, s tdxtest.QuoteSpec, rvs ...policy.Entry) *verify.PolicyResult {
	t.Helper()
	c, err := verifyQuote(t, v, f.pki.Quote(s), exp())
	require.NoError(t, err)
	rv, err := policy.FromEntries(rvs...)
	require.NoError(t, err)
	p, err := policy.New(rv)
	require.NoError(t, err)
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: verify.FormatTDX, Claims: c.Map(), Now: tdxtest.VerifyTime()})
	require.NoError(t, err)
	return r
}

func setAttributes(s *tdxtest.QuoteSpec, attr uint64) {
	binary.LittleEndian.PutUint64(s.Body.TDAttributes[:], attr)
}

func failedChecks(r *verify.PolicyResult) []string {
	var ids []string
	for _, c := range r.Checks {
		if !c.OK {
			ids = append(ids, c.ID+": "+c.Reason)
		}
	}
	return ids
}

// The minted default TD, every reference value pinned, is affirmed: the
// baseline the cases below differ from by one field.
func TestPolicyPinnedTDAffirms(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	s := f.pki.DefaultQuote(nonce)
	r := appraiseQuote(t, f, v, s, pinnedTDX(s)...)
	require.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))
	assert.Equal(t, ear.ApprovedRuntime, r.TrustVector[ear.Executables])
	assert.Equal(t, ear.ApprovedConfig, r.TrustVector[ear.Configuration])
	assert.Equal(t, ear.GenuineHardware, r.TrustVector[ear.Hardware])
}

// TDX-17: reserved TUD bits (7:1) and undefined SEC bits are refused, even
// with the attributes pinned exactly, and whatever the debug bit says.
func TestTDX17ReservedTDAttributes(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	for _, tc := range []struct {
		name  string
		attr  uint64
		exact bool // pin tdx_td_attributes to the quote's own value
	}{
		{"TUD bit 1", tdx.TDAttrSEPTVEDisable | 1<<1, false},
		{"TUD bit 7", tdx.TDAttrSEPTVEDisable | 1<<7, false},
		{"TUD bit 3 pinned exactly", tdx.TDAttrSEPTVEDisable | 1<<3, true},
		{"TUD bit 2 with debug", tdx.TDAttrSEPTVEDisable | tdx.TDAttrDebug | 1<<2, true},
		{"undefined SEC bit 8", tdx.TDAttrSEPTVEDisable | 1<<8, false},
		{"undefined SEC bit 40 pinned exactly", tdx.TDAttrSEPTVEDisable | 1<<40, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.pki.DefaultQuote(nonce)
			setAttributes(&s, tc.attr)
			rvs := pinnedTDX(s)
			if tc.exact {
				rvs = append(rvs, policy.Entry{Name: "tdx_td_attributes", Value: hex.EncodeToString(s.Body.TDAttributes[:])})
			}
			r := appraiseQuote(t, f, v, s, rvs...)
			assert.Equal(t, ear.UnsupportableConfig, r.TrustVector[ear.Configuration], failedChecks(r))
			assert.Equal(t, ear.StatusContraindicated, r.Status())
			assert.Contains(t, failedChecks(r)[0], "tdx.")
			var reserved bool
			for _, c := range r.Checks {
				reserved = reserved || (c.ID == "tdx.td_attributes.reserved" && !c.OK)
			}
			assert.True(t, reserved, "the reserved-bit rule refused it")
		})
	}
}

// TDX-18: feature bits and XFAM other than the default expectation are
// refused unless a reference value allow-lists them exactly.
func TestTDX18FeatureBits(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	const septVE = tdx.TDAttrSEPTVEDisable
	for _, tc := range []struct {
		name string
		edit func(*tdxtest.QuoteSpec)
		// allow is the reference value that allow-lists the change.
		allow func(tdxtest.QuoteSpec) policy.Entry
		// unpinXFAM drops the xfam pin so the default XFAM rule applies.
		unpinXFAM bool
	}{
		{"SEPT_VE_DISABLE clear", func(s *tdxtest.QuoteSpec) { setAttributes(s, 0) }, pinAttributes, false},
		{"PKS", func(s *tdxtest.QuoteSpec) { setAttributes(s, septVE|tdx.TDAttrPKS) }, pinAttributes, false},
		{"KL", func(s *tdxtest.QuoteSpec) { setAttributes(s, septVE|tdx.TDAttrKL) }, pinAttributes, false},
		{"PERFMON", func(s *tdxtest.QuoteSpec) { setAttributes(s, septVE|tdx.TDAttrPerfmon) }, pinAttributes, false},
		{"MIGRATABLE", func(s *tdxtest.QuoteSpec) { setAttributes(s, septVE|tdx.TDAttrMigratable) }, pinAttributes, false},
		{"XFAM bit 3 (outside fixed0)", func(s *tdxtest.QuoteSpec) { s.Body.XFAM[0] |= 1 << 3 }, pinXFAM, true},
		{"XFAM bit 1 clear (fixed1)", func(s *tdxtest.QuoteSpec) { s.Body.XFAM[0] &^= 1 << 1 }, pinXFAM, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.pki.DefaultQuote(nonce)
			tc.edit(&s)
			rvs := pinnedTDX(s)
			if tc.unpinXFAM {
				rvs = rvs[:len(rvs)-1]
			}
			r := appraiseQuote(t, f, v, s, rvs...)
			assert.Equal(t, ear.UnsupportableConfig, r.TrustVector[ear.Configuration], failedChecks(r))
			assert.Equal(t, ear.StatusContraindicated, r.Status())

			r = appraiseQuote(t, f, v, s, append(rvs, tc.allow(s))...)
			assert.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))
			assert.Equal(t, ear.ApprovedConfig, r.TrustVector[ear.Configuration])
		})
	}
	// The default TD without an xfam pin: within the fixed bits, not approved, still affirming.
	s := f.pki.DefaultQuote(nonce)
	rvs := pinnedTDX(s)
	r := appraiseQuote(t, f, v, s, rvs[:len(rvs)-1]...)
	assert.Equal(t, ear.NoConfigVulns, r.TrustVector[ear.Configuration], failedChecks(r))
	// An exact attributes pin the TD does not match is refused.
	r = appraiseQuote(t, f, v, s, append(rvs, policy.Entry{Name: "tdx_td_attributes", Value: "0000001040000000"})...)
	assert.Equal(t, ear.UnsupportableConfig, r.TrustVector[ear.Configuration], failedChecks(r))
}

func pinAttributes(s tdxtest.QuoteSpec) policy.Entry {
	return policy.Entry{Name: "tdx_td_attributes", Value: hex.EncodeToString(s.Body.TDAttributes[:])}
}

// pinXFAM re-adds the xfam pin that the case dropped.
func pinXFAM(s tdxtest.QuoteSpec) policy.Entry {
	return policy.Entry{Name: "xfam", Value: hex.EncodeToString(s.Body.XFAM[:])}
}

// TDX-22: a v5 quote naming a service TD (non-zero MRSERVICETD) is refused
// unless tdx_mr_servicetd lists it; a zero MRSERVICETD binds none.
func TestTDX22ServiceTD(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	v5 := func(service byte) tdxtest.QuoteSpec {
		s := f.pki.DefaultQuote(nonce)
		s.Header.Version = 5
		s.BodyType = 3
		for i := range s.Body.MRServiceTD {
			s.Body.MRServiceTD[i] = service
		}
		return s
	}
	s := v5(0)
	r := appraiseQuote(t, f, v, s, pinnedTDX(s)...)
	require.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))

	s = v5(0x99)
	r = appraiseQuote(t, f, v, s, pinnedTDX(s)...)
	assert.Equal(t, ear.UnsupportableConfig, r.TrustVector[ear.Configuration], failedChecks(r))
	assert.Equal(t, ear.StatusContraindicated, r.Status())

	another := v5(0x77)
	other := policy.Entry{Name: "tdx_mr_servicetd", Value: hex.EncodeToString(another.Body.MRServiceTD[:])}
	r = appraiseQuote(t, f, v, s, append(pinnedTDX(s), other)...)
	assert.Equal(t, ear.UnsupportableConfig, r.TrustVector[ear.Configuration], failedChecks(r))

	allowed := policy.Entry{Name: "tdx_mr_servicetd", Value: hex.EncodeToString(s.Body.MRServiceTD[:])}
	r = appraiseQuote(t, f, v, s, append(pinnedTDX(s), allowed)...)
	assert.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))
}

// POL-13: approved boot needs MRTD and RTMR0..2 pinned; with only MRTD (or
// some RTMRs) pinned, an arbitrary kernel, initrd or command line is
// unrecognized (33), never affirming. RTMR3 pinned too → approved runtime.
func TestPOL13TDXUnpinnedBoot(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	s := f.pki.DefaultQuote(nonce)
	for i := range s.Body.RTMR {
		for j := range s.Body.RTMR[i] {
			s.Body.RTMR[i][j] = byte(0x10*(i+1) + j%16) // a kernel nobody vouched for
		}
	}
	all := pinnedTDX(s) // mr_td, rtmr_0..3, mr_seam, xfam
	without := func(names ...string) []policy.Entry {
		var out []policy.Entry
		for _, e := range all {
			keep := true
			for _, n := range names {
				keep = keep && e.Name != n
			}
			if keep {
				out = append(out, e)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		rvs  []policy.Entry
		exe  ear.TrustClaim
	}{
		{"only mr_td", without("rtmr_0", "rtmr_1", "rtmr_2", "rtmr_3"), ear.UnrecognizedRuntime},
		{"rtmr_0 unpinned", without("rtmr_0"), ear.UnrecognizedRuntime},
		{"rtmr_1 unpinned", without("rtmr_1"), ear.UnrecognizedRuntime},
		{"rtmr_2 unpinned", without("rtmr_2", "rtmr_3"), ear.UnrecognizedRuntime},
		{"rtmr_3 alone", without("rtmr_0", "rtmr_1", "rtmr_2"), ear.UnrecognizedRuntime},
		{"boot registers pinned", without("rtmr_3"), ear.ApprovedBoot},
		{"all registers pinned", all, ear.ApprovedRuntime},
		{"rtmr_1 differs", append(without("rtmr_1"), policy.Entry{Name: "rtmr_1", Value: hex.EncodeToString(make([]byte, 48))}), ear.ContraindicatedRuntime},
		{"no mr_td", without("mr_td"), ear.UnrecognizedRuntime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := appraiseQuote(t, f, v, s, tc.rvs...)
			assert.Equal(t, tc.exe, r.TrustVector[ear.Executables], failedChecks(r))
			if tc.exe.Tier() != ear.StatusAffirming {
				assert.NotEqual(t, ear.StatusAffirming, r.Status())
			} else {
				assert.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))
			}
		})
	}
}

// The refusals above through the whole pipeline (registry, appraiser, the
// KBS release rule): each is an ErrPolicy error; the pinned TD is released.
func TestTDXPolicyRefusalsAreErrPolicy(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	reg, err := verify.NewRegistry(v)
	require.NoError(t, err)
	release := func(t *testing.T, s tdxtest.QuoteSpec, rvs []policy.Entry) error {
		t.Helper()
		rv, err := policy.FromEntries(rvs...)
		require.NoError(t, err)
		p, err := policy.New(rv)
		require.NoError(t, err)
		a, err := verify.NewAppraiser(reg, p)
		require.NoError(t, err)
		o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatTDX, Evidence: f.pki.Quote(s), Expect: exp()}})
		require.NoError(t, err)
		return kbs.Decide(o.Result)
	}
	good := f.pki.DefaultQuote(nonce)
	require.NoError(t, release(t, good, pinnedTDX(good)))
	for _, tc := range []struct {
		name string
		edit func(*tdxtest.QuoteSpec)
		rvs  func(tdxtest.QuoteSpec) []policy.Entry
	}{
		{"TDX-17 TUD bit", func(s *tdxtest.QuoteSpec) { setAttributes(s, tdx.TDAttrSEPTVEDisable|1<<5) }, pinnedTDX},
		{"TDX-18 PKS", func(s *tdxtest.QuoteSpec) { setAttributes(s, tdx.TDAttrSEPTVEDisable|tdx.TDAttrPKS) }, pinnedTDX},
		{"TDX-22 service TD", func(s *tdxtest.QuoteSpec) { s.Header.Version, s.BodyType, s.Body.MRServiceTD[0] = 5, 3, 1 }, pinnedTDX},
		{"POL-13 only MRTD", func(*tdxtest.QuoteSpec) {}, func(s tdxtest.QuoteSpec) []policy.Entry { return pinnedTDX(s)[:1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.pki.DefaultQuote(nonce)
			tc.edit(&s)
			require.ErrorIs(t, release(t, s, tc.rvs(s)), verify.ErrPolicy)
		})
	}
}
