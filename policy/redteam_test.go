package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// Red-team tests: each failed before the fix it names (reference values the
// default rules read leniently, or not at all, turned a restriction off).

// A floor written with a leading zero was read by fmt.Sscan as octal and
// stopped at the first non-octal digit: "09" was 0 and "010" was 8, so an
// SNP firmware below the written floor was not refused.
func TestRedteamFloorsReadAsWritten(t *testing.T) {
	for _, floor := range []string{"09", "010", "0x9"} {
		rv, err := FromEntries(snpPinnedEntries()[:1]...)
		require.NoError(t, err)
		floorRV, err := FromEntries(Entry{Name: "snp_min_tcb_snp", Value: floor})
		require.NoError(t, err)
		p, err := New(rv.Merge(floorRV))
		require.NoError(t, err, floor)
		cl := snpClaims() // reported, launch and committed SNP SVN 8
		r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatSNP, Claims: cl, Now: now})
		require.NoError(t, err)
		assert.Equal(t, ear.ContraindicatedHardware, r.TrustVector[ear.Hardware], "floor %q: SVN 8 is below it", floor)
		assert.NotEqual(t, ear.StatusAffirming, r.Status(), floor)
	}
	// Text after the number was ignored ("9abc" read as 9): now refused.
	for _, floor := range []string{"9abc", "9 10", "1_0", "-1", "+9", "0b1001", "nine"} {
		rv, err := FromEntries(Entry{Name: "snp_min_tcb_snp", Value: floor}, Entry{Name: "sgx_min_isv_svn", Value: "1"})
		require.NoError(t, err)
		_, err = New(rv)
		assert.ErrorIs(t, err, verify.ErrConfig, "snp_min_tcb_snp %q", floor)
	}
}

// A misspelt name was ignored, so the restriction it meant to add was off:
// snp_required_mitigation (no s) left the mitigation vectors unappraised
// and the report affirmed.
func TestRedteamMisspeltNameRefused(t *testing.T) {
	for _, name := range []string{"snp_required_mitigation", "tdx_forbidden_advisory_id", "tdx_min_tcb_dates",
		"mrtd", "rtmr_4", "tpm_pcr24", "tpm_pcr7", "snp_min_tcb_ucode", "nitro_pcr5", "warnonly", "MR_TD"} {
		rv, err := FromEntries(append(tdxEntries(), Entry{Name: name, Value: "0x1"})...)
		require.NoError(t, err)
		p, err := New(rv)
		assert.ErrorIs(t, err, verify.ErrConfig, name)
		assert.Nil(t, p, name)
	}
	// warn_only must name a value the rules read: a misspelt one would
	// leave the real pin strict (safe) but hides the mistake.
	rv, err := FromEntries(append(tdxEntries(), Entry{Name: "warn_only", Value: "mrtd"})...)
	require.NoError(t, err)
	_, err = New(rv)
	assert.ErrorIs(t, err, verify.ErrConfig)
}

// The rules read the first value of a single-valued name: merging a newer
// document that raises a floor behind an older one kept the older floor.
func TestRedteamSingleValuedNamesTakeOneValue(t *testing.T) {
	old, err := FromEntries(Entry{Name: "snp_min_tcb_snp", Value: 8})
	require.NoError(t, err)
	raised, err := FromEntries(Entry{Name: "snp_min_tcb_snp", Value: 22})
	require.NoError(t, err)
	_, err = New(old.Merge(raised))
	require.ErrorIs(t, err, verify.ErrConfig)
	for _, e := range [][]Entry{
		{{Name: "snp_allow_migration_agent", Value: []any{"false", "true"}}},
		{{Name: "tdx_min_tcb_date", Value: []any{"2024-01-01T00:00:00Z", "2025-06-01T00:00:00Z"}}},
		{{Name: "snp_required_mitigations", Value: []any{"0x1", "0x3"}}},
		{{Name: "gpu_min_driver_version", Value: []any{"535.0", "550.90.07"}}},
	} {
		rv, err := FromEntries(e...)
		require.NoError(t, err)
		_, err = New(rv)
		assert.ErrorIs(t, err, verify.ErrConfig, "%v", e)
	}
	// The same value twice is no contradiction.
	same, err := FromEntries(Entry{Name: "snp_min_tcb_snp", Value: []any{8, "8"}})
	require.NoError(t, err)
	_, err = New(same)
	require.NoError(t, err)
}

// A status list that accepted Revoked made a revoked TCB hardware 2
// (WithAcceptedTCBStatus refused it; the reference value did not), and a
// status both accepted and tolerated was decided by rule order.
func TestRedteamStatusListsChecked(t *testing.T) {
	rv, err := FromEntries(append(tdxRV(t).entries(), Entry{Name: "tdx_accepted_tcb_status", Value: []any{"UpToDate", "Revoked"}})...)
	require.NoError(t, err)
	_, err = New(rv)
	require.ErrorIs(t, err, verify.ErrConfig)

	rv, err = FromEntries(Entry{Name: "snp_accepted_tcb_status", Value: "UpToDate"}, Entry{Name: "snp_tolerated_tcb_status", Value: []any{"OutOfDate", "uptodate"}})
	require.NoError(t, err)
	_, err = New(rv)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// Pins the rules can never match (wrong length, blanks, not hex) were
// accepted and made every appraisal fail closed with a reason that blamed
// the evidence: now the mistake is named when the policy is built.
func TestRedteamPinsOfTheirFieldsForm(t *testing.T) {
	for _, e := range []Entry{
		{Name: "mr_td", Value: strings.Repeat("ab", 47)},
		{Name: "mr_td", Value: strings.Repeat("ab", 49)},
		{Name: "mr_td", Value: " " + mrtd},
		{Name: "mr_td", Value: mrtd + "\n"},
		{Name: "mr_td", Value: "  "},
		{Name: "rtmr_1", Value: strings.Repeat("zz", 48)},
		{Name: "snp_launch_measurement", Value: strings.Repeat("00", 32)},
		{Name: "snp_host_data", Value: strings.Repeat("00", 48)},
		{Name: "sgx_mr_enclave", Value: strings.Repeat("00", 48)},
		{Name: "tpm_pcr04", Value: strings.Repeat("00", 31)},
		{Name: "nitro_pcr0", Value: strings.Repeat("00", 32)},
		{Name: "trusted_aks", Value: "ak1"},
		{Name: "xfam", Value: "e7020600"},
		{Name: "snp_allowed_vmpls", Value: "4"},
		{Name: "snp_require_author_key", Value: "yes"},
		{Name: "gpu_require_fwid", Value: "no"},
		{Name: "tdx_min_tee_tcb_svn", Value: ""},
		{Name: "snp_required_platform_info", Value: "0"},
		{Name: "sgx_isv_prod_id", Value: "0x10"}, // the claim is decimal text: never equal
		{Name: "sgx_isv_prod_id", Value: "007"},
	} {
		rv, err := FromEntries(e)
		if err != nil { // empty values are refused by the document reader already
			assert.ErrorIs(t, err, verify.ErrMalformed, "%v", e)
			continue
		}
		_, err = New(rv)
		assert.ErrorIs(t, err, verify.ErrConfig, "%v", e)
	}
	// The 0x prefix the comparison ignores is accepted, as are upper-case
	// hex and every PCR bank.
	for _, e := range []Entry{
		{Name: "mr_td", Value: "0x" + strings.ToUpper(mrtd)},
		{Name: "tpm_pcr00", Value: strings.Repeat("00", 20)},
		{Name: "tpm_pcr23", Value: strings.Repeat("00", 48)},
		{Name: "snp_required_platform_info", Value: "0x4"},
		{Name: "snp_min_tcb_fmc", Value: "0x1"},
	} {
		rv, err := FromEntries(e)
		require.NoError(t, err)
		_, err = New(rv)
		assert.NoError(t, err, "%v", e)
	}
}

// entries returns rv's values as entries (without expiries), for tests that
// extend a helper's reference values.
func (rv *ReferenceValues) entries() []Entry {
	var out []Entry
	for _, n := range rv.Names() {
		for _, v := range rv.byName[n] {
			out = append(out, Entry{Name: n, Value: v.text})
		}
	}
	return out
}

// POL-08 for every TEE, not only TDX: without reference values no CPU TEE
// is affirmed, each for want of its boot pins (executables 33). NVIDIA GPUs
// are the documented exception (policy.New): NVIDIA's signed RIMs are
// their reference values.
func TestRedteamPOL08NoReferenceValuesEveryTEE(t *testing.T) {
	tpm := map[string]any{"pcr00": strings.Repeat("00", 32), "pcr04": strings.Repeat("44", 32), "pcr11": strings.Repeat("11", 32),
		"ak.trust": "pinned-key", "ak.fingerprint": akfp, "secure_boot.enabled": true}
	for _, c := range []struct {
		f      verify.Format
		claims map[string]any
	}{
		{verify.FormatTDX, tdxClaims()},
		{verify.FormatSNP, snpClaims()},
		{verify.FormatTPM, tpm},
		{verify.FormatSGX, sgxMinted(t, "UpToDate", nil)},
		{verify.FormatNitro, dstackClaims(t)},
	} {
		r := appraise(t, nil, c.f, c.claims)
		assert.NotEqual(t, ear.StatusAffirming, r.Status(), c.f)
		assert.Equal(t, ear.UnrecognizedRuntime, r.TrustVector[ear.Executables], c.f)
		for _, ch := range r.Checks {
			assert.False(t, !ch.OK && ch.Value.Tier() == ear.StatusAffirming, "%s: failed check %s affirms", c.f, ch.ID)
		}
	}
	r := appraise(t, nil, verify.FormatGPU, gpuClaims())
	assert.Equal(t, ear.StatusAffirming, r.Status(), "GPU: appraised against NVIDIA's RIMs")
	assert.Equal(t, ear.NoConfigVulns, r.TrustVector[ear.Configuration], "GPU: no version pinned")
}

// An "aael" claim the rules could not read (another type, a key without
// "/", an entry that is not text) listed no event, and no event passes
// every list: the runtime events went unchecked and the executables stayed
// approved. A null claim also counted as a log, skipping the check that an
// extended RTMR3 without a log is unrecognized.
func TestRedteamAAELUnreadableIsNoPass(t *testing.T) {
	allowed := Entry{Name: "aael_allowed", Value: "image-rs CreateContainer docker.io/library/alpine"}
	rtmr3 := strings.Repeat("33", 48) // extended by events nobody listed
	for name, claim := range map[string]any{
		"typed map":      map[string][]string{"image-rs/CreateContainer": {"docker.io/evil/miner"}},
		"key without /":  map[string]any{"image-rs CreateContainer": []any{"docker.io/evil/miner"}},
		"number content": map[string]any{"image-rs/CreateContainer": []any{1}},
		"object list":    map[string]any{"image-rs/CreateContainer": map[string]any{"0": "docker.io/evil/miner"}},
		"text":           "image-rs CreateContainer docker.io/evil/miner",
		"null":           nil,
	} {
		cl := tdxClaims()
		cl["quote.body.rtmr_3"] = rtmr3
		cl["aael"] = claim
		r := appraise(t, tdxRV(t, allowed), verify.FormatTDX, cl)
		assert.NotEqual(t, ear.StatusAffirming, r.Status(), name)
		assert.False(t, check(t, r, "aael.allowed").OK, name)
		assert.Equal(t, ear.UnrecognizedRuntime, r.TrustVector[ear.Executables], name)
	}
	// The verifiers' shape still passes when listed.
	cl := tdxClaims()
	cl["quote.body.rtmr_3"] = rtmr3
	cl["aael"] = map[string]any{"image-rs/CreateContainer": []any{"docker.io/library/alpine"}}
	r := appraise(t, tdxRV(t, allowed), verify.FormatTDX, cl)
	assert.True(t, check(t, r, "aael.allowed").OK)
	assert.Equal(t, ear.StatusAffirming, r.Status())
}

// A forbidden-advisory list was held to an advisory_ids claim the rules
// could not read (or to none) as to an empty one: nothing was forbidden.
func TestRedteamAdvisoriesUnreadableIsNoPass(t *testing.T) {
	forbid := Entry{Name: "tdx_forbidden_advisory_ids", Value: "INTEL-SA-00837"}
	for name, claim := range map[string]any{
		"map":    map[string]any{"0": "INTEL-SA-00837"},
		"number": 837,
		"mixed":  []any{"INTEL-SA-00001", 837},
		"absent": nil,
	} {
		cl := tdxClaims()
		if claim == nil {
			delete(cl, "advisory_ids")
		} else {
			cl["advisory_ids"] = claim
		}
		r := appraise(t, tdxRV(t, forbid), verify.FormatTDX, cl)
		assert.NotEqual(t, ear.StatusAffirming, r.Status(), name)
		assert.Equal(t, ear.UnrecognizedHardware, r.TrustVector[ear.Hardware], name)
	}
	cl := tdxClaims()
	cl["advisory_ids"] = []any{}
	r := appraise(t, tdxRV(t, forbid), verify.FormatTDX, cl)
	assert.Equal(t, ear.StatusAffirming, r.Status())
	cl["advisory_ids"] = []string{"INTEL-SA-00837"}
	r = appraise(t, tdxRV(t, forbid), verify.FormatTDX, cl)
	assert.Equal(t, ear.ContraindicatedHardware, r.TrustVector[ear.Hardware])
}
