package snp_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// measurement is the launch measurement the policy tests mint and pin.
var measurement = [48]byte{0x4d, 0x45, 0x41, 0x53}

// pinnedSNP pins the launch measurement and every TCB floor to the PKI's TCB.
func pinnedSNP(p *snptest.PKI) []policy.Entry {
	return []policy.Entry{
		{Name: "snp_launch_measurement", Value: hex.EncodeToString(measurement[:])},
		{Name: "snp_min_tcb_bootloader", Value: int(p.TCB.Bootloader)},
		{Name: "snp_min_tcb_tee", Value: int(p.TCB.TEE)},
		{Name: "snp_min_tcb_snp", Value: int(p.TCB.SNP)},
		{Name: "snp_min_tcb_microcode", Value: int(p.TCB.Microcode)},
	}
}

// appraiseReport mints r, verifies it with the real verifier and appraises
// its claims with the default policy over rvs.
func appraiseReport(t *testing.T, r snptest.Report, rvs ...policy.Entry) *verify.PolicyResult {
	t.Helper()
	f := pkis(t)
	p := f.pki[snp.Milan]
	if r.Measurement == ([48]byte{}) {
		r.Measurement = measurement
	}
	c, err := f.verifier(t).Verify(context.Background(), mint(t, p, r), exp())
	require.NoError(t, err)
	rv, err := policy.FromEntries(rvs...)
	require.NoError(t, err)
	pol, err := policy.New(rv)
	require.NoError(t, err)
	res, err := pol.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: verify.FormatSNP, Claims: c.Map(), Now: now})
	require.NoError(t, err)
	return res
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

// setTCB returns a Mutate that writes t at the report offset off
// (0x38 CURRENT_TCB, 0x1E0 COMMITTED_TCB, 0x1F0 LAUNCH_TCB).
func setTCB(off int, t snp.TCB) func([]byte) {
	return func(b []byte) { binary.LittleEndian.PutUint64(b[off:], t.Encode(snp.Milan)) }
}

type snpCase struct {
	name string
	r    snptest.Report
	rvs  []policy.Entry // added to pinnedSNP, replacing its entries of the same name
	cat  ear.Category
	want ear.TrustClaim
}

func runSNPCases(t *testing.T, cases []snpCase) {
	t.Helper()
	base := pinnedSNP(pkis(t).pki[snp.Milan])
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rvs []policy.Entry
			for _, e := range base {
				if !slices.ContainsFunc(tc.rvs, func(o policy.Entry) bool { return o.Name == e.Name }) {
					rvs = append(rvs, e)
				}
			}
			r := appraiseReport(t, tc.r, append(rvs, tc.rvs...)...)
			assert.Equal(t, tc.want, r.TrustVector[tc.cat], failedChecks(r))
			if tc.want.Tier() == ear.StatusAffirming {
				assert.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))
			} else {
				assert.NotEqual(t, ear.StatusAffirming, r.Status())
			}
		})
	}
}

func TestPolicyPinnedSNPAffirms(t *testing.T) {
	r := appraiseReport(t, snptest.Report{}, pinnedSNP(pkis(t).pki[snp.Milan])...)
	require.Equal(t, ear.StatusAffirming, r.Status(), failedChecks(r))
	assert.Equal(t, ear.ApprovedBoot, r.TrustVector[ear.Executables])
	assert.Equal(t, ear.GenuineHardware, r.TrustVector[ear.Hardware])
	assert.Equal(t, ear.NoConfigVulns, r.TrustVector[ear.Configuration])
}

// SNP-11: a report requested from VMPL 1..3 is refused unless
// snp_allowed_vmpls lists its VMPL.
func TestSNP11VMPLPolicy(t *testing.T) {
	allow := policy.Entry{Name: "snp_allowed_vmpls", Value: []any{0, 2}}
	runSNPCases(t, []snpCase{
		{"VMPL 0", snptest.Report{VMPL: 0}, nil, ear.Configuration, ear.NoConfigVulns},
		{"VMPL 1", snptest.Report{VMPL: 1}, nil, ear.Configuration, ear.UnsupportableConfig},
		{"VMPL 2", snptest.Report{VMPL: 2}, nil, ear.Configuration, ear.UnsupportableConfig},
		{"VMPL 3", snptest.Report{VMPL: 3}, nil, ear.Configuration, ear.UnsupportableConfig},
		{"VMPL 2 allowed", snptest.Report{VMPL: 2}, []policy.Entry{allow}, ear.Configuration, ear.NoConfigVulns},
		{"VMPL 3 not in the allowed list", snptest.Report{VMPL: 3}, []policy.Entry{allow}, ear.Configuration, ear.UnsupportableConfig},
		{"VMPL 0 not in the allowed list", snptest.Report{VMPL: 0}, []policy.Entry{{Name: "snp_allowed_vmpls", Value: 1}}, ear.Configuration, ear.UnsupportableConfig},
	})
}

// SNP-22: the snp_min_tcb_* floors apply to the reported, launch and
// committed TCB; a current TCB below the committed one is refused.
func TestSNP22TCBFloorsPolicy(t *testing.T) {
	tcb := pkis(t).pki[snp.Milan].TCB
	low := tcb
	low.Microcode--
	high := tcb
	high.SNP++
	runSNPCases(t, []snpCase{
		{"reported below the floor", snptest.Report{}, []policy.Entry{{Name: "snp_min_tcb_snp", Value: int(tcb.SNP) + 1}}, ear.Hardware, ear.ContraindicatedHardware},
		{"launch below the floor", snptest.Report{Mutate: setTCB(0x1F0, low)}, nil, ear.Hardware, ear.ContraindicatedHardware},
		{"committed below the floor", snptest.Report{Mutate: setTCB(0x1E0, low)}, nil, ear.Hardware, ear.ContraindicatedHardware},
		{"current below committed", snptest.Report{Mutate: setTCB(0x1E0, high)}, nil, ear.Hardware, ear.ContraindicatedHardware},
		{"launch above the floor", snptest.Report{Mutate: setTCB(0x1F0, high)}, nil, ear.Hardware, ear.GenuineHardware},
	})
}

// SNP-17: a masked (all-zero) CHIP_ID is not bound to the VCEK's chip: the
// hardware is not recognized unless snp_allow_masked_chip_id is true. A
// non-zero CHIP_ID that differs from the VCEK's is the verifier's ErrBinding.
func TestSNP17MaskedChipIDPolicy(t *testing.T) {
	runSNPCases(t, []snpCase{
		{"masked", snptest.Report{MaskChipID: true}, nil, ear.Hardware, ear.UnrecognizedHardware},
		{"masked allowed", snptest.Report{MaskChipID: true}, []policy.Entry{{Name: "snp_allow_masked_chip_id", Value: true}}, ear.Hardware, ear.GenuineHardware},
		{"masked, allowance false", snptest.Report{MaskChipID: true}, []policy.Entry{{Name: "snp_allow_masked_chip_id", Value: false}}, ear.Hardware, ear.UnrecognizedHardware},
		{"all-zero CHIP_ID without MASK_CHIP_KEY", snptest.Report{ChipID: &[64]byte{}}, nil, ear.Hardware, ear.UnrecognizedHardware},
	})
	f := pkis(t)
	other := f.pki[snp.Milan].ChipID
	other[0] ^= 0xff
	_, err := f.verifier(t).Verify(context.Background(), mint(t, f.pki[snp.Milan], snptest.Report{Measurement: measurement, ChipID: &other}), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
}

// SNP-30: with snp_required_mitigations, both mitigation vectors of a
// version 5 report must carry the bits; an older report cannot prove them.
// Without the reference value the vectors are not appraised.
func TestSNP30MitigationVectorsPolicy(t *testing.T) {
	req := []policy.Entry{{Name: "snp_required_mitigations", Value: "0x5"}}
	v5 := func(launch, current uint64) snptest.Report {
		return snptest.Report{Version: 5, LaunchMitVector: launch, CurrentMitVector: current}
	}
	runSNPCases(t, []snpCase{
		{"both carry the bits", v5(0x7, 0x5), req, ear.Hardware, ear.GenuineHardware},
		{"launch lacks a bit", v5(0x1, 0x5), req, ear.Hardware, ear.ContraindicatedHardware},
		{"current lacks a bit", v5(0x5, 0x4), req, ear.Hardware, ear.ContraindicatedHardware},
		{"version 3 report", snptest.Report{}, req, ear.Hardware, ear.ContraindicatedHardware},
		{"not required", v5(0, 0), nil, ear.Hardware, ear.GenuineHardware},
	})
	// A malformed mask is a misconfigured policy, not a pass.
	f := pkis(t)
	c, err := f.verifier(t).Verify(context.Background(), mint(t, f.pki[snp.Milan], v5(1, 1)), exp())
	require.NoError(t, err)
	rv, err := policy.FromEntries(policy.Entry{Name: "snp_required_mitigations", Value: "zero"})
	require.NoError(t, err)
	// policy.New refuses it before any evidence is appraised.
	_, err = policy.New(rv)
	require.ErrorIs(t, err, verify.ErrConfig)
	require.NotNil(t, c)
}

// SNP-26: a pinned ID key digest must match; snp_require_author_key
// requires an ID block signed with an author key.
func TestSNP26IDBlockPolicy(t *testing.T) {
	id := [48]byte{0x1d, 0x1d}
	pin := policy.Entry{Name: "snp_id_key_digest", Value: hex.EncodeToString(id[:])}
	author := policy.Entry{Name: "snp_require_author_key", Value: true}
	runSNPCases(t, []snpCase{
		{"ID key pinned, matches", snptest.Report{IDKeyDigest: id}, []policy.Entry{pin}, ear.Executables, ear.ApprovedBoot},
		{"ID key pinned, differs", snptest.Report{IDKeyDigest: [48]byte{0x1d}}, []policy.Entry{pin}, ear.Executables, ear.ContraindicatedRuntime},
		{"ID key pinned, no ID block", snptest.Report{}, []policy.Entry{pin}, ear.Executables, ear.ContraindicatedRuntime},
		{"ID key pinned warn-only, differs", snptest.Report{IDKeyDigest: [48]byte{0x1d}},
			[]policy.Entry{pin, {Name: "warn_only", Value: "snp_id_key_digest"}}, ear.Executables, ear.UnrecognizedRuntime},
		{"author key required, present", snptest.Report{IDKeyDigest: id, AuthorKeyEn: true}, []policy.Entry{pin, author}, ear.Executables, ear.ApprovedBoot},
		{"author key required, absent", snptest.Report{IDKeyDigest: id}, []policy.Entry{pin, author}, ear.Executables, ear.ContraindicatedRuntime},
	})
}

// SNP-07: a guest policy allowing a migration agent is refused unless
// snp_allow_migration_agent is true.
func TestSNP07MigrationAgentPolicy(t *testing.T) {
	ma := snptest.Report{Policy: snp.PolicySMT | snp.PolicyReservedMustBe1 | snp.PolicyMigrateMA}
	runSNPCases(t, []snpCase{
		{"migration agent", ma, nil, ear.Configuration, ear.UnsupportableConfig},
		{"migration agent allowed", ma, []policy.Entry{{Name: "snp_allow_migration_agent", Value: true}}, ear.Configuration, ear.NoConfigVulns},
	})
}

// The refusals through the whole pipeline (registry, appraiser, the KBS
// release rule): each is an ErrPolicy error; the pinned guest is released.
func TestSNPPolicyRefusalsAreErrPolicy(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Milan]
	reg, err := verify.NewRegistry(f.verifier(t))
	require.NoError(t, err)
	rv, err := policy.FromEntries(pinnedSNP(p)...)
	require.NoError(t, err)
	pol, err := policy.New(rv)
	require.NoError(t, err)
	a, err := verify.NewAppraiser(reg, pol)
	require.NoError(t, err)
	release := func(t *testing.T, r snptest.Report) error {
		t.Helper()
		r.Measurement = measurement
		o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatSNP, Evidence: mint(t, p, r), Expect: exp()}})
		require.NoError(t, err)
		return kbs.Decide(o.Result)
	}
	require.NoError(t, release(t, snptest.Report{}))
	low := p.TCB
	low.SNP--
	for name, r := range map[string]snptest.Report{
		"SNP-07 migration agent": {Policy: snp.PolicySMT | snp.PolicyReservedMustBe1 | snp.PolicyMigrateMA},
		"SNP-11 VMPL 1":          {VMPL: 1},
		"SNP-17 masked CHIP_ID":  {MaskChipID: true},
		"SNP-22 launch TCB":      {Mutate: setTCB(0x1F0, low)},
		"BadRAM alias check":     {Mutate: zeroPlatformInfo},
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, release(t, r), verify.ErrPolicy)
		})
	}
}

// zeroPlatformInfo mints a PLATFORM_INFO of zero (snptest's default for
// version 3 and later is ALIAS_CHECK_COMPLETE).
func zeroPlatformInfo(b []byte) { binary.LittleEndian.PutUint64(b[0x40:], 0) }

// PLATFORM_INFO through the real verifier and the default policy: the bits
// current Turin firmware sets (bit 6 reserved) are affirmed; a platform whose
// firmware did not complete the BadRAM alias check, or a version 2 report
// that cannot say, is a hardware warning unless allowed; the masks appraise
// the other bits, one check each.
func TestSNPPlatformInfoPolicy(t *testing.T) {
	turin := snptest.Report{Version: 5, PlatformInfo: snptest.TurinPlatformInfo}
	allow := policy.Entry{Name: "snp_allow_no_alias_check", Value: true}
	runSNPCases(t, []snpCase{
		{"current firmware bits, bit 6 reserved", turin, nil, ear.Hardware, ear.GenuineHardware},
		{"alias check not done", snptest.Report{Mutate: zeroPlatformInfo}, nil, ear.Hardware, ear.UnsafeHardware},
		{"alias check not done, allowed", snptest.Report{Mutate: zeroPlatformInfo}, []policy.Entry{allow}, ear.Hardware, ear.GenuineHardware},
		{"version 2 report cannot state it", snptest.Report{Version: 2, NoCPUID: true}, nil, ear.Hardware, ear.UnsafeHardware},
		{"version 2 report, allowed", snptest.Report{Version: 2, NoCPUID: true}, []policy.Entry{allow}, ear.Hardware, ear.GenuineHardware},
		{"SMT forbidden, SMT on", turin, []policy.Entry{{Name: "snp_forbidden_platform_info", Value: "0x1"}}, ear.Hardware, ear.UnsafeHardware},
		{"ECC required, on", turin, []policy.Entry{{Name: "snp_required_platform_info", Value: "0x4"}}, ear.Hardware, ear.GenuineHardware},
		{"ciphertext hiding required, off", turin, []policy.Entry{{Name: "snp_required_platform_info", Value: "0x10"}}, ear.Hardware, ear.UnsafeHardware},
		{"reserved bit 6 forbidden", turin, []policy.Entry{{Name: "snp_forbidden_platform_info", Value: "0x40"}}, ear.Hardware, ear.UnsafeHardware},
	})
}
