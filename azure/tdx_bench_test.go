package azure_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
	"time"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
)

// BenchmarkVerifyTDX measures a warm verification of the real Azure TDX
// parts (PCK chain and collateral cached) against its floor, the two
// signatures no cache can remove: the TD quote's P-256 ECDSA by the
// attestation key and the vTPM quote's RSA-2048. No Go library verifies
// az-tdx-vtpm, so there is no baseline. Metric: x-floor = ours/floor, from
// per-iteration medians.
func BenchmarkVerifyTDX(b *testing.B) {
	ctx := context.Background()
	pki := tdxtest.NewPKI()
	v := tdxVerifier(b, pki)
	evJSON := realTDX(b, pki, realTDXDir+"hcl-report.bin")
	exp := realTDXExp()
	ev, err := azure.DecodeTDXEvidence(evJSON)
	if err != nil {
		b.Fatal(err)
	}
	q, err := tdx.ParseQuote(ev.TDQuote)
	if err != nil {
		b.Fatal(err)
	}
	_, ak := hclAK(b, ev.HCLReport)
	attKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, q.AttestationKey[:]...))
	if err != nil {
		b.Fatal(err)
	}
	r, s := new(big.Int).SetBytes(q.Signature[:32]), new(big.Int).SetBytes(q.Signature[32:])
	floor := func() error {
		d := sha256.Sum256(q.Signed)
		if !ecdsa.Verify(attKey, d[:], r, s) {
			return errMismatch
		}
		h := sha256.Sum256(ev.Quote.Message)
		return rsa.VerifyPKCS1v15(ak, crypto.SHA256, h[:], ev.Quote.Signature)
	}
	if _, err := v.Verify(ctx, evJSON, exp); err != nil {
		b.Fatal(err)
	}
	if err := floor(); err != nil {
		b.Fatalf("floor: %v", err)
	}
	var ours, fl []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := v.Verify(ctx, evJSON, exp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := floor(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		ours, fl = append(ours, t1.Sub(t0)), append(fl, t2.Sub(t1))
	}
	o, f := median(ours), median(fl)
	b.ReportMetric(float64(o)/float64(f), "x-floor")
	b.ReportMetric(float64(o)/1e3, "ours-µs")
	b.ReportMetric(float64(f)/1e3, "floor-µs")
}
