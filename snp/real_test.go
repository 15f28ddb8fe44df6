package snp_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

const td = "../testdata/snp/"

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(td + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Clocks inside the validity of the real samples (see testdata/snp/README.md).
var (
	gsgTime     = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // VCEK 2022-09-24..2029-09-24
	trusteeTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // VCEK 2023-01-24..2030; VLEK 2024-12-10..2025-12-10
)

func newOffline(t testing.TB, opts ...snp.Option) *snp.Verifier {
	t.Helper()
	v, err := snp.NewVerifier(append([]snp.Option{snp.WithoutRevocationUnsafe()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func reportDataOf(t testing.TB, report []byte) []byte {
	t.Helper()
	r, err := snp.ParseReport(report)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(r.ReportData[:])
}

func TestRealGoSevGuestMilan(t *testing.T) {
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	rd := reportDataOf(t, report)
	for _, tc := range []struct {
		name string
		opts []snp.Option
	}{
		{"product from VCEK", nil},
		{"product configured", []snp.Option{snp.WithProduct(snp.Milan)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newOffline(t, tc.opts...)
			c, err := v.VerifyReport(context.Background(), report, vcek, verify.Expectations{ReportData: rd, Now: gsgTime})
			if err != nil {
				t.Fatal(err)
			}
			m := c.Map()
			want := map[string]any{
				"product": "Milan", "signing_key": "VCEK", "version": 2, "vmpl": 0,
				"policy_debug_allowed": true, "policy_smt_allowed": true, "policy_migrate_ma": false,
				"policy_single_socket": false, "reported_tcb_bootloader": 2, "reported_tcb_tee": 0,
				"reported_tcb_snp": 5, "reported_tcb_microcode": 68, "revocation_checked": false,
				"reported_tcb": "0x4405000000000002", "endorsement_product_name": "Milan-B0",
			}
			for k, w := range want {
				if m[k] != w {
					t.Errorf("claim %s = %v (%T), want %v", k, m[k], m[k], w)
				}
			}
			if m["report_data"] != hex.EncodeToString(rd) {
				t.Errorf("report_data claim = %v", m["report_data"])
			}
			if u, _ := m[verify.ClaimUnsafe].([]string); !slices.Contains(u, string(snp.UnsafeWithoutRevocation)) {
				t.Error("unsafe revocation switch does not show in the claims")
			}
		})
	}
}

func TestRealGoSevGuestRejections(t *testing.T) {
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	rd := reportDataOf(t, report)
	v := newOffline(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		report []byte
		certs  []byte
		exp    verify.Expectations
		kind   error
	}{
		{"expired VCEK", report, vcek, verify.Expectations{ReportData: rd, Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, verify.ErrExpired},
		{"not yet valid", report, vcek, verify.Expectations{ReportData: rd, Now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, verify.ErrChain},
		{"wrong nonce", report, vcek, verify.Expectations{ReportData: []byte("another nonce"), Now: gsgTime}, verify.ErrFreshness},
		{"no nonce", report, vcek, verify.Expectations{Now: gsgTime}, verify.ErrConfig},
		{"measurement flipped", flip(report, 0x90), vcek, verify.Expectations{ReportData: rd, Now: gsgTime}, verify.ErrSignature},
		{"no VCEK, no source", report, nil, verify.Expectations{ReportData: rd, Now: gsgTime}, verify.ErrCollateral},
		{"Trustee VCEK for another chip", report, read(t, "test-vcek.der"), verify.Expectations{ReportData: rd, Now: gsgTime}, verify.ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.VerifyReport(ctx, tc.report, tc.certs, tc.exp)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
		})
	}
}

func TestRealGoSevGuestWrongProduct(t *testing.T) {
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	v := newOffline(t, snp.WithProduct(snp.Genoa))
	_, err := v.VerifyReport(context.Background(), report, vcek, verify.Expectations{ReportData: reportDataOf(t, report), Now: gsgTime})
	if !errors.Is(err, verify.ErrChain) {
		t.Fatalf("Milan report verified as Genoa: err = %v", err)
	}
}

func TestRealTrusteeVCEK(t *testing.T) {
	report, vcek := read(t, "test-report.bin"), read(t, "test-vcek.der")
	v := newOffline(t)
	c, err := v.VerifyReport(context.Background(), report, vcek, verify.Expectations{ReportData: reportDataOf(t, report), Now: trusteeTime})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["product"] != "Milan" || m["signing_key"] != "VCEK" || m["reported_tcb_snp"] != 8 || m["reported_tcb_microcode"] != 115 {
		t.Errorf("claims: %v", m)
	}
}

func TestRealTrusteeJSONMatchesBinary(t *testing.T) {
	js, report := read(t, "trustee-e2e-evidence.json"), read(t, "test-report.bin")
	ev, err := snp.DecodeEvidence(js)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Report.Raw(), report) {
		t.Fatalf("JSON evidence re-encodes to different bytes than test-report.bin")
	}
	v := newOffline(t, snp.WithKDS(memVCEK(t, report, read(t, "test-vcek.der"))), snp.WithProduct(snp.Milan))
	c, err := v.Verify(context.Background(), js, verify.Expectations{ReportData: reportDataOf(t, report), Now: trusteeTime})
	if err != nil {
		t.Fatal(err)
	}
	if c.Map()["policy_debug_allowed"] != false {
		t.Errorf("claims: %v", c.Map())
	}
}

func memVCEK(t testing.TB, report, vcek []byte) *snp.MemorySource {
	t.Helper()
	r, err := snp.ParseReport(report)
	if err != nil {
		t.Fatal(err)
	}
	m := snp.NewMemorySource()
	m.AddVCEK(snp.Milan, r.ChipID[:], snp.DecodeTCB(snp.Milan, r.ReportedTCB), vcek)
	return m
}

func TestRealTrusteeVLEK(t *testing.T) {
	report, vlek := read(t, "test-vlek-report.bin"), read(t, "test-vlek.der")
	v := newOffline(t)
	c, err := v.VerifyReport(context.Background(), report, vlek, verify.Expectations{ReportData: reportDataOf(t, report), Now: trusteeTime})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["signing_key"] != "VLEK" || m["version"] != 3 || m["vmpl"] != 1 || m["product"] != "Milan" {
		t.Errorf("claims: %v", m)
	}
	// Firmware 1.55.29 sets SMT_EN, TSME_EN, ECC_EN and ALIAS_CHECK_COMPLETE
	// (0x27); TIO_EN is not defined for a version 3 report, so it is absent.
	for name, want := range map[string]any{
		"platform_info": "0x27", "platform_info_reserved": "0x0",
		"platform_smt_enabled": true, "platform_tsme_enabled": true, "platform_ecc_enabled": true,
		"platform_rapl_disabled": false, "platform_ciphertext_hiding_enabled": false,
		"platform_alias_check_complete": true, "current_version": "1.55.29",
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	if _, ok := m["platform_tio_enabled"]; ok {
		t.Error("platform_tio_enabled present in a version 3 report")
	}
	// The VLEK expired on 2025-12-10.
	_, err = v.VerifyReport(context.Background(), report, vlek, verify.Expectations{ReportData: reportDataOf(t, report), Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.Is(err, verify.ErrExpired) {
		t.Fatalf("expired VLEK: err = %v", err)
	}
	// A VLEK-signed report with only a VCEK: no fallback.
	_, err = v.VerifyReport(context.Background(), report, read(t, "test-vcek.der"), verify.Expectations{ReportData: reportDataOf(t, report), Now: trusteeTime})
	if !errors.Is(err, verify.ErrChain) {
		t.Fatalf("VLEK report with VCEK: err = %v", err)
	}
}

func TestRealTrusteeInvalidVCEKs(t *testing.T) {
	report := read(t, "test-report.bin")
	v := newOffline(t)
	for _, name := range []string{"test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der"} {
		t.Run(name, func(t *testing.T) {
			c, err := v.VerifyReport(context.Background(), report, read(t, name), verify.Expectations{ReportData: reportDataOf(t, report), Now: trusteeTime})
			if err == nil || c != nil {
				t.Fatalf("invalid VCEK accepted")
			}
			if k := verify.KindOf(err); k != verify.ErrChain && k != verify.ErrBinding {
				t.Fatalf("err = %v (kind %v), want a chain or binding failure", err, k)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0x01
	return c
}

func TestRegistryDetectsSNP(t *testing.T) {
	v := newOffline(t)
	reg, err := verify.NewRegistry(v)
	if err != nil {
		t.Fatal(err)
	}
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	table, err := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVCEK(), Data: vcek}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range [][]byte{report, append(bytes.Clone(report), table...), read(t, "trustee-e2e-evidence.json")} {
		if f, err := reg.Detect(ev); err != nil || f != verify.FormatSNP {
			t.Fatalf("Detect = %q, %v", f, err)
		}
	}
	c, err := reg.Verify(context.Background(), "", append(bytes.Clone(report), table...), verify.Expectations{ReportData: reportDataOf(t, report), Now: gsgTime})
	if err != nil || c.Format() != verify.FormatSNP {
		t.Fatalf("registry verify: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for name, opt := range map[string]snp.Option{
		"nil source":    snp.WithKDS(nil),
		"bad product":   snp.WithProduct("Naples"),
		"empty product": snp.WithProduct(""),
		"no roots":      snp.WithTrustedRoots(),
		"zero cache":    snp.WithCacheSize(0),
		"roots w/o ARK": snp.WithTrustedRoots(snp.Roots{Product: snp.Milan}),
	} {
		if _, err := snp.NewVerifier(opt); !errors.Is(err, verify.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
	// A lower-case product name means the same product.
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	v := newOffline(t, snp.WithProduct("milan"))
	if _, err := v.VerifyReport(context.Background(), report, vcek, verify.Expectations{ReportData: reportDataOf(t, report), Now: gsgTime}); err != nil {
		t.Fatal(err)
	}
	// Roots whose intermediate the ARK did not sign are refused at construction.
	milan, _ := snp.DefaultRoots(snp.Milan)
	genoa, _ := snp.DefaultRoots(snp.Genoa)
	if _, err := snp.NewVerifier(snp.WithTrustedRoots(snp.Roots{Product: snp.Milan, ARK: milan.ARK, ASK: genoa.ASK})); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("mismatched roots: %v", err)
	}
}

func TestEvidenceLimits(t *testing.T) {
	v := newOffline(t)
	big := make([]byte, snp.MaxEvidenceSize+1)
	copy(big, read(t, "test-report.bin"))
	if _, err := v.Verify(context.Background(), big, verify.Expectations{ReportData: []byte{1}}); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("oversized evidence: %v", err)
	}
	if _, err := v.VerifyReport(context.Background(), read(t, "test-report.bin"), make([]byte, 300<<10), verify.Expectations{ReportData: []byte{1}}); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("oversized certificates: %v", err)
	}
}

func TestClaimsOnlyFromSignedBytes(t *testing.T) {
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	ev, err := snp.DecodeEvidence(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.AddCertificates(vcek); err != nil {
		t.Fatal(err)
	}
	ev.Report.Policy &^= snp.PolicyDebug // edited after parsing: not signed
	ev.Report.VMPL = 3
	c, err := newOffline(t).VerifyEvidence(context.Background(), ev, verify.Expectations{ReportData: reportDataOf(t, report), Now: gsgTime})
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Map(); m["policy_debug_allowed"] != true || m["vmpl"] != 0 {
		t.Fatalf("claims follow edited fields: debug %v vmpl %v", m["policy_debug_allowed"], m["vmpl"])
	}
}
