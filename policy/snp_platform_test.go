package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

func snpPinnedEntries(extra ...Entry) []Entry {
	return append([]Entry{
		{Name: "snp_launch_measurement", Value: strings.Repeat("4d", 48)},
		{Name: "snp_min_tcb_bootloader", Value: 3}, {Name: "snp_min_tcb_tee", Value: 0}, {Name: "snp_min_tcb_snp", Value: 8},
		{Name: "snp_min_tcb_microcode", Value: 115},
	}, extra...)
}

func checkByID(r *verify.PolicyResult, id string) (verify.Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return verify.Check{}, false
}

// ALIAS_CHECK_COMPLETE (BadRAM): clear, or absent from a version 2 report,
// is a hardware warning unless snp_allow_no_alias_check is true.
func TestSNPAliasCheck(t *testing.T) {
	pinned, err := FromEntries(snpPinnedEntries()...)
	require.NoError(t, err)
	allowed, err := FromEntries(snpPinnedEntries(Entry{Name: "snp_allow_no_alias_check", Value: "true"})...)
	require.NoError(t, err)
	cases := []struct {
		name  string
		rv    *ReferenceValues
		claim any // nil: absent
		want  ear.TrustClaim
	}{
		{"set", pinned, true, ear.GenuineHardware},
		{"clear", pinned, false, ear.UnsafeHardware},
		{"absent (version 2)", pinned, nil, ear.UnsafeHardware},
		{"clear, allowed", allowed, false, ear.GenuineHardware},
		{"absent, allowed", allowed, nil, ear.GenuineHardware},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := snpClaims()
			delete(cl, "platform_alias_check_complete")
			if c.claim != nil {
				cl["platform_alias_check_complete"] = c.claim
			}
			r := appraise(t, c.rv, verify.FormatSNP, cl)
			wantVector(t, r, ear.Hardware, c.want)
			chk, ok := checkByID(r, "snp.alias_check")
			require.True(t, ok)
			assert.Equal(t, c.want != ear.UnsafeHardware, chk.OK)
			if !chk.OK {
				assert.Contains(t, chk.Reason, "CVE-2024-21944")
			}
		})
	}
	// The Azure rules judge the paravisor's report the same way.
	cl := snpClaims()
	cl["platform_alias_check_complete"] = false
	chk, ok := checkByID(appraise(t, pinned, verify.FormatAzureSNP, cl), "snp.alias_check")
	require.True(t, ok)
	assert.False(t, chk.OK)
	assert.Equal(t, ear.UnsafeHardware, chk.Value)
}

// snp_required_platform_info and snp_forbidden_platform_info: one check per
// named bit, saying why it matters; without them PLATFORM_INFO is recorded.
func TestSNPPlatformInfoMasks(t *testing.T) {
	cases := []struct {
		name    string
		extra   []Entry
		info    string
		want    ear.TrustClaim
		failing []string // check IDs that fail
		passing []string
	}{
		{name: "no masks: recorded", info: "0x65", want: ear.GenuineHardware, passing: []string{"snp.platform_info"}},
		{name: "SMT forbidden, SMT on", extra: []Entry{{Name: "snp_forbidden_platform_info", Value: "0x1"}}, info: "0x65",
			want: ear.UnsafeHardware, failing: []string{"snp.platform_info_bit0"}},
		{name: "SMT forbidden, SMT off", extra: []Entry{{Name: "snp_forbidden_platform_info", Value: "0x1"}}, info: "0x64",
			want: ear.GenuineHardware, passing: []string{"snp.platform_info_bit0"}},
		{name: "ECC, RAPL_DIS, ciphertext hiding required; ECC only", extra: []Entry{{Name: "snp_required_platform_info", Value: "0x1c"}}, info: "0x24",
			want: ear.UnsafeHardware, passing: []string{"snp.platform_info_bit2"}, failing: []string{"snp.platform_info_bit3", "snp.platform_info_bit4"}},
		{name: "all three set", extra: []Entry{{Name: "snp_required_platform_info", Value: "0x1c"}}, info: "0x3c",
			want: ear.GenuineHardware, passing: []string{"snp.platform_info_bit2", "snp.platform_info_bit3", "snp.platform_info_bit4"}},
		{name: "a reserved bit forbidden and set", extra: []Entry{{Name: "snp_forbidden_platform_info", Value: "0x100"}}, info: "0x125",
			want: ear.UnsafeHardware, failing: []string{"snp.platform_info_bit8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rv, err := FromEntries(snpPinnedEntries(c.extra...)...)
			require.NoError(t, err)
			cl := snpClaims()
			cl["platform_info"] = c.info
			r := appraise(t, rv, verify.FormatSNP, cl)
			wantVector(t, r, ear.Hardware, c.want)
			for _, id := range c.failing {
				chk, ok := checkByID(r, id)
				require.True(t, ok, id)
				assert.False(t, chk.OK, id)
				assert.NotEmpty(t, chk.Reason, id)
			}
			for _, id := range c.passing {
				chk, ok := checkByID(r, id)
				require.True(t, ok, id)
				assert.True(t, chk.OK, id)
			}
		})
	}
}

// Unusable masks are a misconfigured policy (ErrConfig), not a verdict.
func TestSNPPlatformInfoBadReference(t *testing.T) {
	for _, entries := range [][]Entry{
		{{Name: "snp_required_platform_info", Value: "0"}},
		{{Name: "snp_forbidden_platform_info", Value: "smt"}},
		{{Name: "snp_required_platform_info", Value: "0x21"}, {Name: "snp_forbidden_platform_info", Value: "0x1"}},
		{{Name: "snp_allow_no_alias_check", Value: "maybe"}},
	} {
		rv, err := FromEntries(snpPinnedEntries(entries...)...)
		require.NoError(t, err)
		// Refused when the policy is built, before any evidence.
		p, err := New(rv)
		assert.True(t, errors.Is(err, verify.ErrConfig), "%v: err = %v", entries, err)
		assert.Nil(t, p)
	}
}

// Floors for some TCB components only left the others at any level (an old
// microcode under a pinned SNP firmware was genuine hardware): hardware is 2
// only when every component the report carries has a floor, fmc included
// on Turin.
func TestSNPEveryTCBComponentNeedsAFloor(t *testing.T) {
	measurement := Entry{Name: "snp_launch_measurement", Value: strings.Repeat("4d", 48)}
	floors := func(parts ...string) *ReferenceValues {
		e := []Entry{measurement}
		for _, p := range parts {
			e = append(e, Entry{Name: "snp_min_tcb_" + p, Value: 0})
		}
		rv, err := FromEntries(e...)
		require.NoError(t, err)
		return rv
	}
	turin := func() map[string]any {
		cl := snpClaims()
		for _, which := range []string{"reported", "launch", "committed", "current"} {
			cl[which+"_tcb_fmc"] = 1
		}
		return cl
	}
	cases := []struct {
		name     string
		rv       *ReferenceValues
		claims   map[string]any
		want     ear.TrustClaim
		unpinned string
	}{
		{"all four", floors("bootloader", "tee", "snp", "microcode"), snpClaims(), ear.GenuineHardware, ""},
		{"microcode missing", floors("bootloader", "tee", "snp"), snpClaims(), ear.UnsafeHardware, "microcode"},
		{"only snp", floors("snp"), snpClaims(), ear.UnsafeHardware, "bootloader, tee, microcode"},
		{"none", floors(), snpClaims(), ear.UnsafeHardware, ""},
		{"Turin without fmc floor", floors("bootloader", "tee", "snp", "microcode"), turin(), ear.UnsafeHardware, "fmc"},
		{"Turin with fmc floor", floors("bootloader", "tee", "snp", "microcode", "fmc"), turin(), ear.GenuineHardware, ""},
		{"fmc floor on a Milan report", floors("bootloader", "tee", "snp", "microcode", "fmc"), snpClaims(), ear.GenuineHardware, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := appraise(t, c.rv, verify.FormatSNP, c.claims)
			wantVector(t, r, ear.Hardware, c.want)
			if c.unpinned != "" {
				chk, ok := checkByID(r, "snp.hardware")
				require.True(t, ok)
				assert.False(t, chk.OK)
				assert.Contains(t, chk.Reason, c.unpinned)
			}
		})
	}
}
