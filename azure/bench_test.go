package azure_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	sevverify "github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/snp"
)

// BenchmarkVerify measures a warm verification of the real Azure sample
// (VCEK chain cached) next to a baseline doing the same cryptographic job
// with upstream code on the same bytes: go-sev-guest's SnpAttestation on the
// paravisor's report and VCEK, SHA-256 of the runtime data, and a standard
// library RSA check of the quote (no Go library verifies the HCL report as a
// whole). The floor is the two signatures no cache can remove: the report's
// P-384 ECDSA and the quote's RSA-2048. Metrics: x-baseline = baseline/ours,
// x-floor = ours/floor, from per-iteration medians.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	real := readReal(b)
	v := realVerifier(b)
	exp := realExp()
	ev, err := azure.DecodeEvidence(real)
	if err != nil {
		b.Fatal(err)
	}
	hcl, ak := hclAK(b, ev.HCLReport)
	vcek, err := x509.ParseCertificate(ev.VCEK)
	if err != nil {
		b.Fatal(err)
	}
	roots, err := snp.DefaultRoots(snp.Milan)
	if err != nil {
		b.Fatal(err)
	}
	gsg := sevverify.Options{
		DisableCertFetching: true,
		Now:                 realTime,
		TrustedRoots: map[string][]*trust.AMDRootCerts{"Milan": {{
			ProductLine:  "Milan",
			ProductCerts: &trust.ProductCerts{Ask: roots.ASK, Ark: roots.ARK, Asvk: roots.ASVK},
		}}},
		Product: &spb.SevProduct{Name: spb.SevProduct_SEV_PRODUCT_MILAN},
	}
	baseline := func() error {
		// What a caller of upstream code has to do: decode, verify the
		// report, check the runtime data hash, verify the quote.
		var j struct {
			HCL string `json:"hcl_report"`
		}
		if err := json.Unmarshal(real, &j); err != nil {
			return err
		}
		r, err := abi.ReportToProto(hcl.HWReport)
		if err != nil {
			return err
		}
		o := gsg
		if err := sevverify.SnpAttestation(&spb.Attestation{Report: r, CertificateChain: &spb.CertificateChain{VcekCert: ev.VCEK}}, &o); err != nil {
			return err
		}
		if h := sha256.Sum256(hcl.RuntimeData); string(h[:]) != string(r.ReportData[:32]) {
			return errMismatch
		}
		h := sha256.Sum256(ev.Quote.Message)
		return rsa.VerifyPKCS1v15(ak, crypto.SHA256, h[:], ev.Quote.Signature)
	}
	report, err := snp.ParseReport(hcl.HWReport)
	if err != nil {
		b.Fatal(err)
	}
	d := sha512.Sum384(report.Signed())
	sr, ss := leBig(report.SignatureR[:48]), leBig(report.SignatureS[:48])
	qh := sha256.Sum256(ev.Quote.Message)
	floor := func() error {
		if !ecdsa.Verify(vcek.PublicKey.(*ecdsa.PublicKey), d[:], sr, ss) {
			return errMismatch
		}
		return rsa.VerifyPKCS1v15(ak, crypto.SHA256, qh[:], ev.Quote.Signature)
	}
	if _, err := v.Verify(ctx, real, exp); err != nil {
		b.Fatal(err)
	}
	if err := baseline(); err != nil {
		b.Fatalf("baseline: %v", err)
	}
	if err := floor(); err != nil {
		b.Fatalf("floor: %v", err)
	}
	var ours, base, fl []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := v.Verify(ctx, real, exp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := baseline(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := floor(); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		ours, base, fl = append(ours, t1.Sub(t0)), append(base, t2.Sub(t1)), append(fl, t3.Sub(t2))
	}
	o, bs, f := median(ours), median(base), median(fl)
	b.ReportMetric(float64(bs)/float64(o), "x-baseline")
	b.ReportMetric(float64(o)/float64(f), "x-floor")
	b.ReportMetric(float64(o)/1e3, "ours-µs")
	b.ReportMetric(float64(bs)/1e3, "baseline-µs")
	b.ReportMetric(float64(f)/1e3, "floor-µs")
}

// hclAK parses an HCL report and returns it with its runtime data's AK, the
// key of the vTPM quote that the benchmarks' floors verify.
func hclAK(b *testing.B, raw []byte) (*azure.HCLReport, *rsa.PublicKey) {
	b.Helper()
	hcl, err := azure.ParseHCLReport(raw)
	if err != nil {
		b.Fatal(err)
	}
	rd, err := azure.ParseRuntimeData(hcl.RuntimeData)
	if err != nil {
		b.Fatal(err)
	}
	ak, err := rd.AK()
	if err != nil {
		b.Fatal(err)
	}
	return hcl, ak
}

type mismatch struct{}

func (mismatch) Error() string { return "mismatch" }

var errMismatch error = mismatch{}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func leBig(le []byte) *big.Int {
	be := make([]byte, len(le))
	for i, x := range le {
		be[len(le)-1-i] = x
	}
	return new(big.Int).SetBytes(be)
}
