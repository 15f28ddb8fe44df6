package sgx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	gverify "github.com/google/go-tdx-guest/verify"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// TestNoGoBaseline: go-tdx-guest, the Go baseline of package tdx, reads TDX
// quotes v4 only and refuses the real SGX quote, so BenchmarkVerify has no
// x-baseline. This test fails when it learns SGX, so that one is added.
func TestNoGoBaseline(t *testing.T) {
	err := gverify.RawTdxQuote(read(t, "dcapqvl_sgx_quote.dat"), &gverify.Options{})
	require.Error(t, err)
}

// BenchmarkVerify runs our warm verifier (platform and collateral cached) on
// dcap-qvl's SGX quote with its full collateral, and one P-256 verification
// as the floor, reporting x-floor = ours/floor. A warm verification checks
// one signature (the ISV report's; the QE report signature is part of the
// cached platform), so the floor is one ECDSA verification.
func BenchmarkVerify(b *testing.B) {
	quote := read(b, "dcapqvl_sgx_quote.dat")
	v := dcapVerifier(b)
	exp := verify.Expectations{ReportData: dcapRD, Now: dcapTime}
	ctx := context.Background()
	if _, err := v.Verify(ctx, quote, exp); err != nil {
		b.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256(quote[:432])
	sig, _ := ecdsa.SignASN1(rand.Reader, key, d[:])

	var tFloor, tOurs time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
			b.Fatal("floor")
		}
		t1 := time.Now()
		if _, err := v.Verify(ctx, quote, exp); err != nil {
			b.Fatal(err)
		}
		tFloor += t1.Sub(t0)
		tOurs += time.Since(t1)
	}
	n := float64(b.N)
	floor, ours := float64(tFloor.Nanoseconds())/n, float64(tOurs.Nanoseconds())/n
	b.ReportMetric(ours/floor, "x-floor")
	b.ReportMetric(floor, "floor-ns/op")
	b.ReportMetric(ours, "ours-ns/op")
}

// BenchmarkVerifyCold measures a verification with empty caches: a new
// verifier per iteration (PCK chain, QE report, collateral signatures and CRLs).
func BenchmarkVerifyCold(b *testing.B) {
	quote := read(b, "dcapqvl_sgx_quote.dat")
	exp := verify.Expectations{ReportData: dcapRD, Now: dcapTime}
	for i := 0; i < b.N; i++ {
		if _, err := dcapVerifier(b).Verify(context.Background(), quote, exp); err != nil {
			b.Fatal(err)
		}
	}
}
