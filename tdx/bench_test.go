package tdx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gverify "github.com/google/go-tdx-guest/verify"

	"github.com/trustfactory/attest/verify"
)

// pcsGetter serves dcap-qvl's collateral to go-tdx-guest in the shapes of the
// Intel PCS URLs it requests.
type pcsGetter struct{ c *Collateral }

func (g pcsGetter) Get(u string) (map[string][]string, []byte, error) {
	h := func(name string, chain []byte) map[string][]string {
		return map[string][]string{http.CanonicalHeaderKey(name): {url.QueryEscape(string(chain))}}
	}
	switch {
	case strings.Contains(u, "/tdx/certification/v4/tcb"):
		return h("TCB-Info-Issuer-Chain", g.c.TCBInfoIssuerChain), g.c.TCBInfo, nil
	case strings.Contains(u, "/qe/identity"):
		return h("SGX-Enclave-Identity-Issuer-Chain", g.c.QEIdentityIssuerChain), g.c.QEIdentity, nil
	case strings.Contains(u, "/pckcrl"):
		return h("SGX-PCK-CRL-Issuer-Chain", g.c.PCKCRLIssuerChain), g.c.PCKCRL, nil
	case strings.Contains(u, "IntelSGXRootCA"):
		return map[string][]string{}, g.c.RootCACRL, nil
	}
	return nil, nil, fmt.Errorf("unexpected URL %s", u)
}

func baselineOptions(tb testing.TB, c *Collateral) *gverify.Options {
	pool := x509.NewCertPool()
	pool.AddCert(IntelSGXRootCA())
	return &gverify.Options{
		CheckRevocations: true, GetCollateral: true, Getter: pcsGetter{c}, TrustedRoots: pool,
		Now: &gverify.TimeSet{PckCertChain: dcapTime, TcbInfo: dcapTime, QeIdentity: dcapTime, PckCrl: dcapTime, RootCaCrl: dcapTime},
	}
}

// TestBaselineAgrees checks the benchmark's baseline passes on the same bytes.
func TestBaselineAgrees(t *testing.T) {
	c := dcapCollateral(t)
	o := *baselineOptions(t, c)
	if err := gverify.RawTdxQuote(read(t, "dcapqvl_tdx_quote.dat"), &o); err != nil {
		t.Fatalf("baseline: %v", err)
	}
}

// BenchmarkVerify runs go-tdx-guest (collateral + CRLs) and our warm verifier
// on dcap-qvl's quote and collateral, and one P-256 verification as the
// floor, reporting x-baseline = baseline/ours and x-floor = ours/floor.
func BenchmarkVerify(b *testing.B) {
	quote := read(b, "dcapqvl_tdx_quote.dat")
	c := dcapCollateral(b)
	base := baselineOptions(b, c)
	v := mustVerifier(b, WithCollateral(staticSource{c}))
	exp := verify.Expectations{ReportData: reportDataOf(b, quote), Now: dcapTime}
	ctx := context.Background()
	// Warm the caches.
	if _, err := v.Verify(ctx, quote, exp); err != nil {
		b.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256(quote[:632])
	sig, _ := ecdsa.SignASN1(rand.Reader, key, d[:])

	// Sub-measurements are timed in-loop: testing.Benchmark cannot run
	// inside a running benchmark.
	var tBase, tFloor, tOurs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		o := *base // go-tdx-guest mutates its options
		if err := gverify.RawTdxQuote(quote, &o); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
			b.Fatal("floor")
		}
		t2 := time.Now()
		if _, err := v.Verify(ctx, quote, exp); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		tBase += t1.Sub(t0)
		tFloor += t2.Sub(t1)
		tOurs += t3.Sub(t2)
	}
	n := float64(b.N)
	baseline, floor, ours := float64(tBase.Nanoseconds())/n, float64(tFloor.Nanoseconds())/n, float64(tOurs.Nanoseconds())/n
	b.ReportMetric(baseline/ours, "x-baseline")
	b.ReportMetric(ours/floor, "x-floor")
	b.ReportMetric(baseline, "baseline-ns/op")
	b.ReportMetric(floor, "floor-ns/op")
	b.ReportMetric(ours, "ours-ns/op")
}

// BenchmarkVerifyCold measures a verification with empty caches beside the
// baseline on the same bytes (x-baseline = baseline/ours).
func BenchmarkVerifyCold(b *testing.B) {
	quote := read(b, "dcapqvl_tdx_quote.dat")
	c := dcapCollateral(b)
	base := baselineOptions(b, c)
	exp := verify.Expectations{ReportData: reportDataOf(b, quote), Now: dcapTime}
	var tBase, tOurs time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		o := *base
		if err := gverify.RawTdxQuote(quote, &o); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		// A fresh Collateral: its digest is computed again.
		cc := &Collateral{TCBInfo: c.TCBInfo, TCBInfoIssuerChain: c.TCBInfoIssuerChain, QEIdentity: c.QEIdentity,
			QEIdentityIssuerChain: c.QEIdentityIssuerChain, PCKCRL: c.PCKCRL, PCKCRLIssuerChain: c.PCKCRLIssuerChain, RootCACRL: c.RootCACRL}
		v := mustVerifier(b, WithCollateral(staticSource{cc}))
		if _, err := v.Verify(context.Background(), quote, exp); err != nil {
			b.Fatal(err)
		}
		tBase += t1.Sub(t0)
		tOurs += time.Since(t1)
	}
	b.ReportMetric(float64(tBase)/float64(tOurs), "x-baseline")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "ours-ns/op")
}
