package policy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	mrtd  = "b8b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	rtmr1 = "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
	akfp  = "afafafafafafafafafafafafafafafafafafafafafafafafafafafafafafafaf" // an AK fingerprint (SHA-256)
	xfam  = "e702060000000000"
)

// tdxClaims is a flat claim map in the shape the tdx verifier emits.
func tdxClaims() map[string]any {
	return map[string]any{
		"quote.body.mr_td":         mrtd,
		"quote.body.rtmr_0":        strings.Repeat("00", 48),
		"quote.body.rtmr_1":        rtmr1,
		"quote.body.rtmr_2":        strings.Repeat("22", 48),
		"quote.body.rtmr_3":        strings.Repeat("00", 48),
		"quote.body.mr_seam":       strings.Repeat("5e", 48),
		"quote.body.xfam":          xfam,
		"quote.body.tcb_svn":       "04010200000000000000000000000000",
		"td_attributes.debug":      false,
		"quote.body.td_attributes": "0000001000000000", // SEPT_VE_DISABLE
		"quote.body.mr_config_id":  strings.Repeat("00", 48),
		"tcb_status":               "UpToDate",
		"tcb_date":                 "2025-08-13T00:00:00Z",
		"advisory_ids":             []string{"INTEL-SA-00837"},
		"report_data":              strings.Repeat("ab", 64),
		"unsafe":                   []string{},
	}
}

func tdxRV(t *testing.T, extra ...Entry) *ReferenceValues {
	t.Helper()
	rv, err := FromEntries(append([]Entry{
		{Name: "mr_td", Value: []any{mrtd}},
		{Name: "rtmr_0", Value: strings.Repeat("00", 48)},
		{Name: "rtmr_1", Value: rtmr1},
		{Name: "rtmr_2", Value: strings.Repeat("22", 48)},
		{Name: "xfam", Value: xfam},
	}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func appraise(t *testing.T, rv *ReferenceValues, f verify.Format, claims map[string]any, unsafe ...verify.UnsafeSwitch) *verify.PolicyResult {
	t.Helper()
	p, err := New(rv)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: f, Claims: claims, Now: now, Unsafe: unsafe})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Checks) == 0 || r.PolicyID == "" {
		t.Fatalf("no checks or policy id: %+v", r)
	}
	for _, c := range r.Checks {
		if c.ID == "" || c.Title == "" {
			t.Fatalf("unexplained check %+v", c)
		}
		if !c.OK && c.Value.Tier() == ear.StatusAffirming {
			t.Fatalf("failed check %s sets an affirming claim %d", c.ID, c.Value)
		}
	}
	return r
}

func check(t *testing.T, r *verify.PolicyResult, id string) verify.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s in %+v", id, r.Checks)
	return verify.Check{}
}

func wantVector(t *testing.T, r *verify.PolicyResult, cat ear.Category, want ear.TrustClaim) {
	t.Helper()
	if got := r.TrustVector[cat]; got != want {
		t.Fatalf("%s = %d, want %d; checks: %+v", cat, got, want, r.Checks)
	}
}

func TestTDXAffirming(t *testing.T) {
	r := appraise(t, tdxRV(t), verify.FormatTDX, tdxClaims())
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("status %s, vector %v, checks %+v", r.Status(), r.TrustVector, r.Checks)
	}
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	wantVector(t, r, ear.Configuration, ear.ApprovedConfig)
	wantVector(t, r, ear.RuntimeOpaque, ear.EncryptedMemory)
	wantVector(t, r, ear.InstanceIdentity, ear.TrustworthyInstance)
	c := check(t, r, "tdx.mr_td")
	if !c.OK || c.Actual != mrtd || c.Expected != mrtd || c.Claim != "quote.body.mr_td" || c.Category != ear.Executables {
		t.Fatalf("mr_td check %+v", c)
	}
	// Hex compares case-insensitively.
	cl := tdxClaims()
	cl["quote.body.mr_td"] = strings.ToUpper(mrtd)
	if r := appraise(t, tdxRV(t), verify.FormatTDX, cl); r.Status() != ear.StatusAffirming {
		t.Fatalf("upper-case hex: %s", r.Status())
	}
}

// POL-08: missing reference values leave executables unrecognized (warning), never affirming.
func TestPOL08TDXMissingReferenceValues(t *testing.T) {
	r := appraise(t, nil, verify.FormatTDX, tdxClaims())
	if r.Status() != ear.StatusWarning {
		t.Fatalf("status %s, want warning", r.Status())
	}
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
	if c := check(t, r, "tdx.mr_td"); c.OK || !strings.Contains(c.Reason, "no reference value") {
		t.Fatalf("%+v", c)
	}
}

// Expired reference values are absent.
func TestTDXExpiredReferenceValues(t *testing.T) {
	past := now.Add(-time.Hour)
	future := now.Add(time.Hour)
	rv, err := FromEntries(Entry{Name: "mr_td", Value: mrtd, Expiration: &past}, Entry{Name: "xfam", Value: xfam})
	if err != nil {
		t.Fatal(err)
	}
	r := appraise(t, rv, verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
	if c := check(t, r, "tdx.mr_td"); !strings.Contains(c.Reason, "1 expired") {
		t.Fatalf("reason %q", c.Reason)
	}
	if r.Status() == ear.StatusAffirming {
		t.Fatal("expired reference value affirmed")
	}
	// An expired value does not count even next to a live one that differs.
	rv, _ = FromEntries(Entry{Name: "mr_td", Value: mrtd, Expiration: &past}, Entry{Name: "mr_td", Value: strings.Repeat("00", 48), Expiration: &future})
	r = appraise(t, rv, verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	r = appraise(t, tdxRV(t, Entry{Name: "mr_td", Value: strings.Repeat("00", 48), Expiration: &past}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)
}

func TestTDXMismatch(t *testing.T) {
	cl := tdxClaims()
	cl["quote.body.mr_td"] = strings.Repeat("00", 48)
	r := appraise(t, tdxRV(t), verify.FormatTDX, cl)
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	if r.Status() != ear.StatusContraindicated {
		t.Fatal(r.Status())
	}
	c := check(t, r, "tdx.mr_td")
	if c.OK || c.Actual != strings.Repeat("00", 48) || c.Expected != mrtd {
		t.Fatalf("%+v", c)
	}
	cl = tdxClaims()
	cl["quote.body.rtmr_1"] = strings.Repeat("99", 48)
	r = appraise(t, tdxRV(t), verify.FormatTDX, cl)
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	if c := check(t, r, "tdx.rtmr_1"); c.OK {
		t.Fatalf("%+v", c)
	}
}

// POL-09: a warn-only pin that mismatches gives a warning, never affirming.
func TestPOL09WarnOnly(t *testing.T) {
	cl := tdxClaims()
	cl["quote.body.mr_td"] = strings.Repeat("00", 48)
	cl["quote.body.xfam"] = "0000000000000000"
	r := appraise(t, tdxRV(t, Entry{Name: "warn_only", Value: []any{"mr_td", "xfam"}}), verify.FormatTDX, cl)
	if r.Status() != ear.StatusWarning {
		t.Fatalf("status %s", r.Status())
	}
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
	wantVector(t, r, ear.Configuration, ear.UnsafeConfig)
	if c := check(t, r, "tdx.mr_td"); c.OK || !strings.Contains(c.Reason, "warn-only") {
		t.Fatalf("%+v", c)
	}
	// Only the named rules are relaxed.
	r = appraise(t, tdxRV(t, Entry{Name: "warn_only", Value: "xfam"}), verify.FormatTDX, cl)
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	// A matching warn-only pin still affirms.
	r = appraise(t, tdxRV(t, Entry{Name: "warn_only", Value: "mr_td"}), verify.FormatTDX, tdxClaims())
	if r.Status() != ear.StatusAffirming {
		t.Fatal(r.Status())
	}
}

func TestTDXDebug(t *testing.T) {
	cl := tdxClaims()
	cl["td_attributes.debug"] = true
	r := appraise(t, tdxRV(t), verify.FormatTDX, cl)
	wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
	wantVector(t, r, ear.RuntimeOpaque, ear.VisibleMemory)
	if r.Status() != ear.StatusContraindicated {
		t.Fatal(r.Status())
	}
}

func TestTDXTCBStatus(t *testing.T) {
	cases := []struct {
		status string
		extra  []Entry
		want   ear.TrustClaim
	}{
		{"UpToDate", nil, ear.GenuineHardware},
		{"OutOfDate", nil, ear.UnsafeHardware},
		{"SWHardeningNeeded", nil, ear.UnsafeHardware},
		{"Revoked", nil, ear.ContraindicatedHardware},
		{"SomethingNew", nil, ear.ContraindicatedHardware},
		{"SWHardeningNeeded", []Entry{{Name: "tdx_accepted_tcb_status", Value: []any{"UpToDate", "SWHardeningNeeded"}}}, ear.GenuineHardware},
		{"OutOfDate", []Entry{{Name: "tdx_tolerated_tcb_status", Value: "SWHardeningNeeded"}}, ear.ContraindicatedHardware},
	}
	for _, c := range cases {
		cl := tdxClaims()
		cl["tcb_status"] = c.status
		r := appraise(t, tdxRV(t, c.extra...), verify.FormatTDX, cl)
		wantVector(t, r, ear.Hardware, c.want)
	}
	cl := tdxClaims()
	delete(cl, "tcb_status")
	r := appraise(t, tdxRV(t), verify.FormatTDX, cl)
	wantVector(t, r, ear.Hardware, ear.UnrecognizedHardware)
}

func TestTDXMinimumDateAndAdvisories(t *testing.T) {
	r := appraise(t, tdxRV(t, Entry{Name: "tdx_min_tcb_date", Value: "2025-01-01T00:00:00Z"}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	r = appraise(t, tdxRV(t, Entry{Name: "tdx_min_tcb_date", Value: "2026-01-01T00:00:00Z"}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.ContraindicatedHardware)
	for _, bad := range []Entry{{Name: "tdx_min_tcb_date", Value: "yesterday"}, {Name: "tdx_min_tee_tcb_svn", Value: "zz"}} {
		// Refused when the policy is built, before any evidence.
		p, err := New(tdxRV(t, bad))
		if !errors.Is(err, verify.ErrConfig) || p != nil {
			t.Fatalf("bad reference value %v: %v, %v", bad, p, err)
		}
	}
	for _, bad := range []Entry{{Name: "snp_min_tcb_snp", Value: "eight"}} {
		// Refused when the policy is built, before any evidence.
		p, err := New(tdxRV(t, bad))
		if !errors.Is(err, verify.ErrConfig) || p != nil {
			t.Fatalf("bad reference value %v: %v, %v", bad, p, err)
		}
	}
	for _, bad := range []Entry{{Name: "gpu_min_driver_version", Value: "latest"}} {
		// Refused when the policy is built, before any evidence.
		p, err := New(tdxRV(t, bad))
		if !errors.Is(err, verify.ErrConfig) || p != nil {
			t.Fatalf("bad reference value %v: %v, %v", bad, p, err)
		}
	}
	r = appraise(t, tdxRV(t, Entry{Name: "tdx_min_tee_tcb_svn", Value: "04010200000000000000000000000000"}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	r = appraise(t, tdxRV(t, Entry{Name: "tdx_min_tee_tcb_svn", Value: "03010300"}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.ContraindicatedHardware)
	if c := check(t, r, "tdx.tee_tcb_svn"); !strings.Contains(c.Reason, "component 2") {
		t.Fatalf("%+v", c)
	}
	r = appraise(t, tdxRV(t, Entry{Name: "tdx_forbidden_advisory_ids", Value: []any{"INTEL-SA-00837"}}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.ContraindicatedHardware)
	r = appraise(t, tdxRV(t, Entry{Name: "tdx_forbidden_advisory_ids", Value: []any{"INTEL-SA-01000"}}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	r = appraise(t, tdxRV(t, Entry{Name: "mr_seam", Value: strings.Repeat("00", 48)}), verify.FormatTDX, tdxClaims())
	wantVector(t, r, ear.Hardware, ear.ContraindicatedHardware)
}

// POL-06: unsafe switches cap the result at warning and are recorded. The
// rule reads the typed list only: claims named like a switch are no switch.
func TestUnsafeSwitches(t *testing.T) {
	r := appraise(t, tdxRV(t), verify.FormatTDX, tdxClaims(), verify.UnsafeMissingReportData)
	if r.Status() != ear.StatusWarning {
		t.Fatalf("status %s", r.Status())
	}
	if c := check(t, r, "unsafe"); c.OK || !strings.Contains(c.Actual, string(verify.UnsafeMissingReportData)) {
		t.Fatalf("%+v", c)
	}
	wantVector(t, r, ear.InstanceIdentity, ear.NoClaim)
	r = appraise(t, tdxRV(t), verify.FormatTDX, tdxClaims(), "tdx.WithoutCollateralUnsafe", "tdx.WithoutCRLsUnsafe")
	wantVector(t, r, ear.Configuration, ear.UnsafeConfig)
	if c := check(t, r, "unsafe"); c.Actual != "tdx.WithoutCollateralUnsafe, tdx.WithoutCRLsUnsafe" {
		t.Fatalf("%+v", c)
	}
	for _, k := range []string{"unsafe", "skip_ocsp_unsafe", "x-AllowUnSafe"} {
		cl := tdxClaims()
		cl[k] = true
		r = appraise(t, tdxRV(t), verify.FormatTDX, cl)
		if c := check(t, r, "unsafe"); !c.OK {
			t.Fatalf("claim %q taken for a switch: %+v", k, c)
		}
	}
}

// POL-07: a rule that reads a claim the verifier did not prove never passes.
func TestPOL07UnverifiedClaimsAbsent(t *testing.T) {
	for _, k := range []string{"quote.body.mr_td", "quote.body.rtmr_1", "quote.body.xfam", "td_attributes.debug"} {
		cl := tdxClaims()
		delete(cl, k)
		r := appraise(t, tdxRV(t), verify.FormatTDX, cl)
		if r.Status() == ear.StatusAffirming {
			t.Fatalf("claim %s absent, still affirming", k)
		}
	}
	// Wrong types do not pass either.
	cl := tdxClaims()
	cl["td_attributes.debug"] = "no"
	if r := appraise(t, tdxRV(t), verify.FormatTDX, cl); r.Status() == ear.StatusAffirming {
		t.Fatal("non-boolean debug claim affirmed")
	}
	cl = tdxClaims()
	cl["quote.body.mr_td"] = map[string]any{"x": mrtd}
	if r := appraise(t, tdxRV(t), verify.FormatTDX, cl); r.Status() == ear.StatusAffirming {
		t.Fatal("object mr_td affirmed")
	}
}

func snpClaims() map[string]any {
	m := map[string]any{
		"measurement":                   strings.Repeat("4d", 48),
		"host_data":                     strings.Repeat("00", 32),
		"policy_debug_allowed":          false,
		"policy_migrate_ma":             false,
		"reported_tcb_bootloader":       3,
		"reported_tcb_tee":              0,
		"reported_tcb_snp":              8,
		"reported_tcb_microcode":        115,
		"report_data":                   strings.Repeat("ab", 64),
		"vmpl":                          0,
		"chip_id_masked":                false,
		"platform_info":                 "0x25",
		"platform_info_reserved":        "0x0",
		"platform_alias_check_complete": true,
	}
	for _, which := range []string{"launch", "committed", "current"} {
		for _, part := range []string{"bootloader", "tee", "snp", "microcode"} {
			m[which+"_tcb_"+part] = m["reported_tcb_"+part]
		}
	}
	return m
}

func TestSNP(t *testing.T) {
	rv, _ := FromEntries(
		Entry{Name: "snp_launch_measurement", Value: strings.Repeat("4d", 48)},
		Entry{Name: "snp_min_tcb_bootloader", Value: 3}, Entry{Name: "snp_min_tcb_tee", Value: 0}, Entry{Name: "snp_min_tcb_snp", Value: 8},
		Entry{Name: "snp_min_tcb_microcode", Value: 115})
	r := appraise(t, rv, verify.FormatSNP, snpClaims())
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("%s %+v", r.Status(), r.Checks)
	}
	cl := snpClaims()
	cl["reported_tcb_microcode"] = 114
	r = appraise(t, rv, verify.FormatSNP, cl)
	wantVector(t, r, ear.Hardware, ear.ContraindicatedHardware)
	cl = snpClaims()
	cl["policy_debug_allowed"] = true
	r = appraise(t, rv, verify.FormatSNP, cl)
	wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
	cl = snpClaims()
	cl["policy_migrate_ma"] = true
	r = appraise(t, rv, verify.FormatSNP, cl)
	wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
	// No minimum TCB pinned: hardware not affirmed.
	rv2, _ := FromEntries(Entry{Name: "snp_launch_measurement", Value: strings.Repeat("4d", 48)})
	r = appraise(t, rv2, verify.FormatSNP, snpClaims())
	wantVector(t, r, ear.Hardware, ear.UnsafeHardware)
}

// Azure SEV-SNP VM: the SEV-SNP rules judge the paravisor, the PCR rules
// the guest's boot; both must be pinned, and the AK must be bound.
func TestAzureSNP(t *testing.T) {
	claims := func() map[string]any {
		cl := snpClaims()
		cl["pcr00"] = strings.Repeat("00", 32)
		cl["pcr04"] = strings.Repeat("44", 32)
		cl["pcr11"] = strings.Repeat("11", 32)
		cl["ak.trust"] = "bound"
		cl["secure_boot.enabled"] = true
		cl["hcl_report_session_bound"] = true
		return cl
	}
	snpOnly, _ := FromEntries(
		Entry{Name: "snp_launch_measurement", Value: strings.Repeat("4d", 48)},
		Entry{Name: "snp_min_tcb_bootloader", Value: 3}, Entry{Name: "snp_min_tcb_tee", Value: 0}, Entry{Name: "snp_min_tcb_snp", Value: 8},
		Entry{Name: "snp_min_tcb_microcode", Value: 115})
	r := appraise(t, snpOnly, verify.FormatAzureSNP, claims())
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime) // the guest's boot is not pinned
	both, _ := FromEntries(
		Entry{Name: "snp_launch_measurement", Value: strings.Repeat("4d", 48)},
		Entry{Name: "snp_min_tcb_bootloader", Value: 3}, Entry{Name: "snp_min_tcb_tee", Value: 0}, Entry{Name: "snp_min_tcb_snp", Value: 8},
		Entry{Name: "snp_min_tcb_microcode", Value: 115}, Entry{Name: "tpm_pcr04", Value: strings.Repeat("44", 32)},
		Entry{Name: "tpm_pcr00", Value: strings.Repeat("00", 32)}, Entry{Name: "tpm_pcr11", Value: strings.Repeat("11", 32)})
	r = appraise(t, both, verify.FormatAzureSNP, claims())
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("%s %+v", r.Status(), r.Checks)
	}
	cl := claims()
	cl["pcr04"] = strings.Repeat("45", 32)
	wantVector(t, appraise(t, both, verify.FormatAzureSNP, cl), ear.Executables, ear.ContraindicatedRuntime)
	cl = claims()
	cl["measurement"] = strings.Repeat("4e", 48)
	wantVector(t, appraise(t, both, verify.FormatAzureSNP, cl), ear.Executables, ear.ContraindicatedRuntime)
	cl = claims()
	cl["ak.trust"] = "pinned-key"
	wantVector(t, appraise(t, both, verify.FormatAzureSNP, cl), ear.Hardware, ear.UnrecognizedHardware)
	cl = claims()
	cl["policy_debug_allowed"] = true
	wantVector(t, appraise(t, both, verify.FormatAzureSNP, cl), ear.Configuration, ear.UnsupportableConfig)
	cl = claims()
	cl["secure_boot.enabled"] = false
	r = appraise(t, both, verify.FormatAzureSNP, cl)
	wantVector(t, r, ear.Configuration, ear.UnsafeConfig)
	if !slices.ContainsFunc(r.Checks, func(c verify.Check) bool { return c.ID == "az.secure_boot" && !c.OK }) {
		t.Fatalf("no az.secure_boot check: %+v", r.Checks)
	}
	// No AK trust claim at all.
	cl = claims()
	delete(cl, "ak.trust")
	wantVector(t, appraise(t, both, verify.FormatAzureSNP, cl), ear.Hardware, ear.UnrecognizedHardware)
	// The guest's PCRs pinned, the paravisor's measurement not.
	pcrOnly, _ := FromEntries(Entry{Name: "tpm_pcr04", Value: strings.Repeat("44", 32)},
		Entry{Name: "snp_min_tcb_bootloader", Value: 3}, Entry{Name: "snp_min_tcb_tee", Value: 0}, Entry{Name: "snp_min_tcb_snp", Value: 8},
		Entry{Name: "snp_min_tcb_microcode", Value: 115})
	wantVector(t, appraise(t, pcrOnly, verify.FormatAzureSNP, claims()), ear.Executables, ear.UnrecognizedRuntime)
	// No word on the SEV-SNP report's freshness: not affirmed.
	cl = claims()
	delete(cl, "hcl_report_session_bound")
	wantVector(t, appraise(t, both, verify.FormatAzureSNP, cl), ear.Hardware, ear.UnsafeHardware)
	// Version 1 evidence: the SEV-SNP report is not bound to the session.
	cl = claims()
	cl["hcl_report_session_bound"] = false
	r = appraise(t, both, verify.FormatAzureSNP, cl)
	wantVector(t, r, ear.Hardware, ear.UnsafeHardware)
	if r.Status() == ear.StatusAffirming {
		t.Fatal("version 1 evidence affirmed")
	}
}

func chain(status string) map[string]any {
	return map[string]any{"x-nvidia-cert-status": "valid", "x-nvidia-cert-ocsp-status": status}
}

// gpuClaims has the names the gpu verifier emits (NVIDIA claims v3).
func gpuClaims() map[string]any {
	return map[string]any{
		"measres":                     "success",
		"x-nvidia-gpu-driver-version": "550.90.07",
		"x-nvidia-gpu-vbios-version":  "96.00.9F.00.01",
		"x-nvidia-gpu-attestation-report-cert-chain-fwid-match": true,
		"x-nvidia-gpu-attestation-report-cert-chain":            chain("good"),
		"x-nvidia-gpu-driver-rim-signature-verified":            true,
		"x-nvidia-gpu-driver-rim-version-match":                 true,
		"x-nvidia-gpu-driver-rim-cert-chain":                    chain("good"),
		"x-nvidia-gpu-vbios-rim-signature-verified":             true,
		"x-nvidia-gpu-vbios-rim-version-match":                  true,
		"x-nvidia-gpu-vbios-rim-cert-chain":                     chain("good"),
		"eat_nonce":                                             strings.Repeat("ab", 32),
	}
}

func TestGPU(t *testing.T) {
	rv, _ := FromEntries(Entry{Name: "allowed_driver_versions", Value: []any{"550.90.07"}},
		Entry{Name: "allowed_vbios_versions", Value: []any{"96.00.9f.00.01"}})
	r := appraise(t, rv, verify.FormatGPU, gpuClaims())
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("%s %+v", r.Status(), r.Checks)
	}
	wantVector(t, r, ear.Configuration, ear.ApprovedConfig)
	wantVector(t, r, ear.Executables, ear.ApprovedRuntime)
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	// Without version pins the RIMs still decide executables.
	r = appraise(t, nil, verify.FormatGPU, gpuClaims())
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("%s %+v", r.Status(), r.Checks)
	}
	wantVector(t, r, ear.Configuration, ear.NoConfigVulns)

	mut := func(k string, v any) map[string]any {
		cl := gpuClaims()
		if v == nil {
			delete(cl, k)
		} else {
			cl[k] = v
		}
		return cl
	}
	cases := []struct {
		name  string
		cl    map[string]any
		cat   ear.Category
		want  ear.TrustClaim
		check string
	}{
		{"measurement mismatch", mut("measres", "fail"), ear.Executables, ear.ContraindicatedRuntime, "gpu.measurements"},
		{"no RIM comparison", mut("measres", "not-run"), ear.Executables, ear.UnrecognizedRuntime, "gpu.measurements"},
		{"measres absent", mut("measres", nil), ear.Executables, ear.UnrecognizedRuntime, "gpu.measurements"},
		{"driver RIM signature", mut("x-nvidia-gpu-driver-rim-signature-verified", false), ear.Executables, ear.ContraindicatedRuntime, "gpu.driver_rim.signature-verified"},
		{"VBIOS RIM version", mut("x-nvidia-gpu-vbios-rim-version-match", nil), ear.Executables, ear.ContraindicatedRuntime, "gpu.vbios_rim.version-match"},
		{"RIM revoked", mut("x-nvidia-gpu-vbios-rim-cert-chain", chain("revoked")), ear.Executables, ear.ContraindicatedRuntime, "gpu.vbios_rim.ocsp"},
		{"RIM OCSP not checked", mut("x-nvidia-gpu-driver-rim-cert-chain", chain("not-checked")), ear.Executables, ear.UnrecognizedRuntime, "gpu.driver_rim.ocsp"},
		{"OCSP revoked", mut("x-nvidia-gpu-attestation-report-cert-chain", chain("revoked")), ear.Hardware, ear.ContraindicatedHardware, "gpu.ocsp"},
		{"OCSP unknown", mut("x-nvidia-gpu-attestation-report-cert-chain", chain("unknown")), ear.Hardware, ear.UnsafeHardware, "gpu.ocsp"},
		{"OCSP missing", mut("x-nvidia-gpu-attestation-report-cert-chain", chain("missing")), ear.Hardware, ear.UnsafeHardware, "gpu.ocsp"},
		{"OCSP not checked", mut("x-nvidia-gpu-attestation-report-cert-chain", chain("not-checked")), ear.Hardware, ear.UnsafeHardware, "gpu.ocsp"},
		{"OCSP absent", mut("x-nvidia-gpu-attestation-report-cert-chain", nil), ear.Hardware, ear.UnsafeHardware, "gpu.ocsp"},
		{"FWID absent", mut("x-nvidia-gpu-attestation-report-cert-chain-fwid-match", nil), ear.Hardware, ear.UnrecognizedHardware, "gpu.fwid"},
		{"FWID not matched", mut("x-nvidia-gpu-attestation-report-cert-chain-fwid-match", false), ear.Hardware, ear.UnrecognizedHardware, "gpu.fwid"},
		{"driver not allowed", mut("x-nvidia-gpu-driver-version", "535.86.09"), ear.Configuration, ear.UnsupportableConfig, "gpu.driver_version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := appraise(t, rv, verify.FormatGPU, c.cl)
			wantVector(t, r, c.cat, c.want)
			if r.Status() == ear.StatusAffirming {
				t.Fatal("affirming")
			}
			if ch := check(t, r, c.check); ch.OK || ch.Reason == "" {
				t.Fatalf("%+v", ch)
			}
		})
	}
	// FWID not required by policy.
	rv3, _ := FromEntries(Entry{Name: "gpu_require_fwid", Value: false})
	r = appraise(t, rv3, verify.FormatGPU, mut("x-nvidia-gpu-attestation-report-cert-chain-fwid-match", false))
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	// Minimum versions compare numerically, field by field.
	rv4, _ := FromEntries(Entry{Name: "gpu_min_driver_version", Value: "550.100"}, Entry{Name: "gpu_min_vbios_version", Value: "96.00.5E.00.01"})
	r = appraise(t, rv4, verify.FormatGPU, gpuClaims())
	wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
	if c := check(t, r, "gpu.min_vbios_version"); !c.OK {
		t.Fatalf("%+v", c)
	}
	// Unsafe verifier options cap the GPU at warning.
	r = appraise(t, nil, verify.FormatGPU, gpuClaims(), "gpu.WithoutRevocationUnsafe")
	wantVector(t, r, ear.Configuration, ear.UnsafeConfig)
}

func TestSwitch(t *testing.T) {
	cl := map[string]any{
		"measres":                      "success",
		"x-nvidia-switch-bios-version": "96.10.55.00.01",
		"x-nvidia-switch-attestation-report-cert-chain-fwid-match": true,
		"x-nvidia-switch-attestation-report-cert-chain":            chain("good"),
		"x-nvidia-switch-bios-rim-signature-verified":              true,
		"x-nvidia-switch-bios-rim-version-match":                   true,
		"x-nvidia-switch-bios-rim-cert-chain":                      chain("good"),
	}
	r := appraise(t, nil, verify.FormatNVSwitch, cl)
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("%s %+v", r.Status(), r.Checks)
	}
	rv, _ := FromEntries(Entry{Name: "allowed_switch_bios_versions", Value: "96.10.6D.00.01"})
	r = appraise(t, rv, verify.FormatNVSwitch, cl)
	wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
}

func TestTPM(t *testing.T) {
	cl := map[string]any{"pcr00": strings.Repeat("00", 32), "pcr04": strings.Repeat("44", 32), "pcr11": strings.Repeat("11", 32),
		"ak.trust": "pinned-key", "ak.fingerprint": akfp, "secure_boot.enabled": true}
	r := appraise(t, nil, verify.FormatTPM, cl)
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
	wantVector(t, r, ear.Hardware, ear.GenuineHardware)
	rv, _ := FromEntries(Entry{Name: "tpm_pcr00", Value: strings.Repeat("00", 32)}, Entry{Name: "tpm_pcr04", Value: strings.Repeat("44", 32)},
		Entry{Name: "tpm_pcr11", Value: strings.Repeat("11", 32)}, Entry{Name: "trusted_aks", Value: akfp})
	r = appraise(t, rv, verify.FormatTPM, cl)
	if r.Status() != ear.StatusAffirming {
		t.Fatalf("%s %+v", r.Status(), r.Checks)
	}
	cl["pcr11"] = strings.Repeat("12", 32)
	r = appraise(t, rv, verify.FormatTPM, cl)
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
	cl["pcr11"] = strings.Repeat("11", 32)
	cl["ak.fingerprint"] = "other"
	r = appraise(t, rv, verify.FormatTPM, cl)
	wantVector(t, r, ear.Hardware, ear.UnrecognizedHardware)
	delete(cl, "ak.trust")
	cl["ak.fingerprint"] = akfp
	r = appraise(t, rv, verify.FormatTPM, cl)
	wantVector(t, r, ear.Hardware, ear.UnrecognizedHardware)
	cl["ak.trust"] = "certificate"
	cl["secure_boot.enabled"] = false
	r = appraise(t, rv, verify.FormatTPM, cl)
	wantVector(t, r, ear.Configuration, ear.UnsafeConfig)
	cl["secure_boot.enabled"] = true
	if r = appraise(t, rv, verify.FormatTPM, cl, "tpm.WithSHA1Unsafe"); r.Status() != ear.StatusWarning {
		t.Fatalf("SHA-1 bank: %s", r.Status())
	}
}

// POL-05: evidence of a format without rules (a "sample" TEE) is rejected.
func TestUnknownFormat(t *testing.T) {
	p, _ := New(nil)
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: "sample", Claims: map[string]any{"svn": "1"}, Now: now})
	if !errors.Is(err, verify.ErrUnsupported) || r != nil {
		t.Fatalf("%v %v", r, err)
	}
	if _, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatTDX, Now: now}); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Appraise(ctx, verify.PolicyInput{Format: verify.FormatTDX, Claims: tdxClaims(), Now: now}); !errors.Is(err, verify.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: expected ErrCanceled, got %v", err)
	}
}

func TestPolicyID(t *testing.T) {
	a, _ := New(tdxRV(t))
	b, _ := New(tdxRV(t, Entry{Name: "rtmr_2", Value: strings.Repeat("22", 48)}))
	if a.ID() == b.ID() || !strings.HasPrefix(a.ID(), "attest-default/") {
		t.Fatalf("%s %s", a.ID(), b.ID())
	}
	c, _ := New(nil, WithID("bank-prod-v3"))
	if c.ID() != "bank-prod-v3" {
		t.Fatal(c.ID())
	}
	if _, err := New(nil, WithID("")); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
}
