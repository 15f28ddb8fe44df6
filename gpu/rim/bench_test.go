package rim_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/trustfactory/attest/gpu/rim"
)

// BenchmarkVerify times the verification of V1's driver RIM cold (empty
// cache: scan, parse, chain, canonicalization, digest, signature, manifest)
// and warm (cached by ID and SHA-256 of the bytes), beside the baseline a Go
// user has today (goxmldsig with a raw→DER shim plus a crypto/x509 chain
// check, no strict profile, no manifest) and the floor of the GPU path (one
// P-384 signature check), all in the same run.
//
// Metrics: x-baseline = baseline / warm, x-cold-baseline = baseline / cold,
// x-floor = warm / P-384 verify.
func BenchmarkVerify(b *testing.B) {
	doc := mustRead(b, td+"v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	ctx := context.Background()

	// Sub-measurements are timed in-loop: testing.Benchmark cannot run
	// inside a running benchmark (both take the benchmark lock).
	cold := perOp(b, func() error {
		v, err := rim.NewVerifier()
		if err != nil {
			return err
		}
		_, err = v.Verify(ctx, doc, v1Time)
		return err
	})
	warmV := newVerifier(b)
	if _, err := warmV.Verify(ctx, doc, v1Time); err != nil {
		b.Fatal(err)
	}
	warm := perOp(b, func() error {
		_, err := warmV.Verify(ctx, doc, v1Time)
		return err
	})
	base := perOp(b, func() error { return baselineVerify(doc) })
	floor := perOp(b, p384Verifier(b))

	// The reported loop is the warm path.
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := warmV.Verify(ctx, doc, v1Time); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ns := func(d time.Duration) float64 { return float64(d) }
	b.ReportMetric(ns(cold)/1e3, "cold-µs")
	b.ReportMetric(ns(warm)/1e3, "warm-µs")
	b.ReportMetric(ns(base)/1e3, "baseline-µs")
	b.ReportMetric(ns(floor)/1e3, "p384-µs")
	b.ReportMetric(ns(base)/ns(warm), "x-baseline")
	b.ReportMetric(ns(base)/ns(cold), "x-cold-baseline")
	b.ReportMetric(ns(warm)/ns(floor), "x-floor")
}

// baselineVerify is the approach a Go user would take with goxmldsig alone:
// convert the raw signature to DER, trust the first embedded certificate
// after checking its chain with crypto/x509, and let goxmldsig validate.
func baselineVerify(doc []byte) error {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return err
	}
	sv := d.Root().FindElement("./Signature/SignatureValue")
	raw, err := base64.StdEncoding.DecodeString(sv.Text())
	if err != nil {
		return err
	}
	var bld cryptobyte.Builder
	bld.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddASN1BigInt(new(big.Int).SetBytes(raw[:48]))
		c.AddASN1BigInt(new(big.Int).SetBytes(raw[48:]))
	})
	sv.SetText(base64.StdEncoding.EncodeToString(bld.BytesOrPanic()))
	var certs []*x509.Certificate
	for _, e := range d.Root().FindElements("./Signature/KeyInfo/X509Data/X509Certificate") {
		der, err := base64.StdEncoding.DecodeString(e.Text())
		if err != nil {
			return err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		certs = append(certs, c)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(rim.NVIDIARoot())
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: v1Time}); err != nil {
		return err
	}
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs[:1]})
	vctx.Clock = dsig.NewFakeClockAt(v1Time)
	_, err = vctx.Validate(d.Root())
	return err
}

// p384Verifier returns one P-384 signature check over a SHA-384 digest.
func p384Verifier(b *testing.B) func() error {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h := sha512.Sum384([]byte("report"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		b.Fatal(err)
	}
	return func() error {
		if !ecdsa.VerifyASN1(&key.PublicKey, h[:], sig) {
			return errors.New("P-384 verification failed")
		}
		return nil
	}
}

// perOp times fn, doubling the iteration count until a run takes 200 ms.
func perOp(b *testing.B, fn func() error) time.Duration {
	for n := 1; ; n *= 2 {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		if el := time.Since(start); el >= 200*time.Millisecond || n >= 1<<20 {
			return el / time.Duration(n)
		}
	}
}
