package snp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	sevverify "github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// benchCase is one report verified by ours and by go-sev-guest on the same bytes.
type benchCase struct {
	report   []byte
	certs    []byte // the endorsement key, DER
	exp      verify.Expectations
	ours     *snp.Verifier
	baseline func() error
	vekKey   *ecdsa.PublicKey
}

// BenchmarkVerify measures a warm verification (chains and CRL cached) next
// to go-sev-guest's verify.SnpAttestation on the same report and
// certificates, and to one P-384 signature check, the floor no cache can
// remove. Metrics: x-baseline = baseline/ours (higher is better), x-floor =
// ours/floor (1.0 is the floor), both from per-iteration medians; ns/op
// covers all three together.
func BenchmarkVerify(b *testing.B) {
	b.Run("real-milan", func(b *testing.B) { runBench(b, realCase(b, snp.WithProduct(snp.Milan))) })
	b.Run("real-milan-product-from-vcek", func(b *testing.B) { runBench(b, realCase(b)) })
	b.Run("minted-genoa-crl", func(b *testing.B) { runBench(b, mintedCase(b)) })
}

// runBench interleaves ours, the baseline and the floor in every iteration,
// timing each in-loop, so that all three see the same machine load.
func runBench(b *testing.B, c benchCase) {
	ctx := context.Background()
	if _, err := c.ours.VerifyReport(ctx, c.report, c.certs, c.exp); err != nil {
		b.Fatal(err)
	}
	if err := c.baseline(); err != nil {
		b.Fatalf("baseline: %v", err)
	}
	r, _ := snp.ParseReport(c.report)
	d := sha512.Sum384(r.Signed())
	sr, ss := leBig(r.SignatureR[:48]), leBig(r.SignatureS[:48])
	var ours, base, floor []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.ours.VerifyReport(ctx, c.report, c.certs, c.exp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := c.baseline(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if !ecdsa.Verify(c.vekKey, d[:], sr, ss) {
			b.Fatal("floor signature does not verify")
		}
		t3 := time.Now()
		ours, base, floor = append(ours, t1.Sub(t0)), append(base, t2.Sub(t1)), append(floor, t3.Sub(t2))
	}
	// Medians: the machine is shared, and a preemption must not decide a ratio.
	o, bs, fl := median(ours), median(base), median(floor)
	b.ReportMetric(float64(bs)/float64(o), "x-baseline")
	b.ReportMetric(float64(o)/float64(fl), "x-floor")
	b.ReportMetric(float64(o)/1e3, "ours-µs")
	b.ReportMetric(float64(bs)/1e3, "baseline-µs")
	b.ReportMetric(float64(fl)/1e3, "floor-µs")
}

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

func realCase(b *testing.B, opts ...snp.Option) benchCase {
	report, vcekDER := read(b, "gsg-attestation.bin"), read(b, "gsg-vcek.der")
	v, err := snp.NewVerifier(append(opts, snp.WithoutRevocationUnsafe())...)
	if err != nil {
		b.Fatal(err)
	}
	roots, err := snp.DefaultRoots(snp.Milan)
	if err != nil {
		b.Fatal(err)
	}
	vcek, err := x509.ParseCertificate(vcekDER)
	if err != nil {
		b.Fatal(err)
	}
	gsg := sevverify.Options{
		DisableCertFetching: true,
		Now:                 gsgTime,
		TrustedRoots: map[string][]*trust.AMDRootCerts{"Milan": {{
			ProductLine:  "Milan",
			ProductCerts: &trust.ProductCerts{Ask: roots.ASK, Ark: roots.ARK, Asvk: roots.ASVK},
		}}},
		Product: &spb.SevProduct{Name: spb.SevProduct_SEV_PRODUCT_MILAN},
	}
	return benchCase{
		report: report, certs: vcekDER, ours: v, vekKey: vcek.PublicKey.(*ecdsa.PublicKey),
		exp:      verify.Expectations{ReportData: reportDataOf(b, report), Now: gsgTime},
		baseline: baselineFn(b, report, vcekDER, gsg),
	}
}

func mintedCase(b *testing.B) benchCase {
	p, err := snptest.NewPKI(snp.Genoa)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := p.Sign(snptest.Report{ReportData: nonce})
	if err != nil {
		b.Fatal(err)
	}
	crlDER, err := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	if err != nil {
		b.Fatal(err)
	}
	mem := snp.NewMemorySource()
	mem.AddCRL(snp.Genoa, snp.SigningKeyVCEK, crlDER)
	v, err := snp.NewVerifier(snp.WithTrustedRoots(p.Roots()), snp.WithKDS(mem))
	if err != nil {
		b.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		b.Fatal(err)
	}
	opts := sevverify.Options{
		DisableCertFetching: true,
		CheckRevocations:    true,
		Now:                 now,
		TrustedRoots: map[string][]*trust.AMDRootCerts{"Genoa": {{
			ProductLine:  "Genoa",
			ProductCerts: &trust.ProductCerts{Ask: p.ASK, Ark: p.ARK, Asvk: p.ASVK},
			CRL:          crl,
		}}},
		Product: &spb.SevProduct{Name: spb.SevProduct_SEV_PRODUCT_GENOA},
	}
	return benchCase{
		report: raw, certs: p.VCEK.Raw, ours: v, vekKey: &p.VCEKKey.PublicKey,
		exp:      exp(),
		baseline: baselineFn(b, raw, p.VCEK.Raw, opts),
	}
}

// baselineFn verifies with go-sev-guest the way a careful user would: the
// report parsed per call and the options copied per call (the library
// mutates them).
func baselineFn(b *testing.B, report, vcek []byte, opts sevverify.Options) func() error {
	return func() error {
		r, err := abi.ReportToProto(report)
		if err != nil {
			return err
		}
		att := &spb.Attestation{Report: r, CertificateChain: &spb.CertificateChain{VcekCert: vcek}}
		o := opts
		return sevverify.SnpAttestation(att, &o)
	}
}

// BenchmarkVerifyCold constructs everything per iteration, as a caller
// without a long-lived verifier would, next to go-sev-guest on the same bytes
// (whose options, like our embedded roots, are built once per process): a
// new Verifier, so no chain, CRL or certificate is cached. x-baseline =
// baseline/ours (higher is better), from per-iteration medians.
//
// real-milan uses the embedded roots, which are parsed and checked once per
// process. minted-genoa-crl passes its own roots with WithTrustedRoots and a
// RootCache made once per process, as the baseline's TrustedRoots are, so
// the roots' own signatures (ARK, ASK and ASVK) are checked once, not per
// verifier; minted-genoa-crl-uncached passes no RootCache, and every
// verifier checks them again. Both check the CRL, as the baseline does with
// CheckRevocations.
func BenchmarkVerifyCold(b *testing.B) {
	b.Run("real-milan", func(b *testing.B) {
		report, vcekDER := read(b, "gsg-attestation.bin"), read(b, "gsg-vcek.der")
		c := realCase(b, snp.WithProduct(snp.Milan))
		runCold(b, c, func() (*snp.Verifier, error) {
			return snp.NewVerifier(snp.WithProduct(snp.Milan), snp.WithoutRevocationUnsafe())
		}, report, vcekDER)
	})
	cache, err := snp.NewRootCache(8)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("minted-genoa-crl", func(b *testing.B) { mintedCold(b, snp.WithRootCache(cache)) })
	b.Run("minted-genoa-crl-uncached", func(b *testing.B) { mintedCold(b) })
}

// mintedCold runs a minted Genoa report with its CRL, cold, with the options
// to every verifier (extra).
func mintedCold(b *testing.B, extra ...snp.Option) {
	{
		p, err := snptest.NewPKI(snp.Genoa)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := p.Sign(snptest.Report{ReportData: nonce})
		if err != nil {
			b.Fatal(err)
		}
		crlDER, err := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
		if err != nil {
			b.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(crlDER)
		if err != nil {
			b.Fatal(err)
		}
		opts := sevverify.Options{
			DisableCertFetching: true, CheckRevocations: true, Now: now,
			TrustedRoots: map[string][]*trust.AMDRootCerts{"Genoa": {{
				ProductLine: "Genoa", ProductCerts: &trust.ProductCerts{Ask: p.ASK, Ark: p.ARK, Asvk: p.ASVK}, CRL: crl,
			}}},
			Product: &spb.SevProduct{Name: spb.SevProduct_SEV_PRODUCT_GENOA},
		}
		c := benchCase{report: raw, certs: p.VCEK.Raw, exp: exp(), baseline: baselineFn(b, raw, p.VCEK.Raw, opts)}
		runCold(b, c, func() (*snp.Verifier, error) {
			mem := snp.NewMemorySource()
			mem.AddCRL(snp.Genoa, snp.SigningKeyVCEK, crlDER)
			return snp.NewVerifier(append([]snp.Option{snp.WithTrustedRoots(p.Roots()), snp.WithKDS(mem)}, extra...)...)
		}, raw, p.VCEK.Raw)
	}
}

// runCold times newVerifier plus one verification against the baseline, in
// the same iteration so that both see the same machine load.
func runCold(b *testing.B, c benchCase, newVerifier func() (*snp.Verifier, error), report, certs []byte) {
	ctx := context.Background()
	var ours, bl []time.Duration
	for b.Loop() {
		t0 := time.Now()
		v, err := newVerifier()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.VerifyReport(ctx, report, certs, c.exp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := c.baseline(); err != nil {
			b.Fatal(err)
		}
		ours, bl = append(ours, t1.Sub(t0)), append(bl, time.Since(t1))
	}
	o, bs := median(ours), median(bl)
	b.ReportMetric(float64(bs)/float64(o), "x-baseline")
	b.ReportMetric(float64(o)/1e3, "ours-µs")
	b.ReportMetric(float64(bs)/1e3, "baseline-µs")
}
