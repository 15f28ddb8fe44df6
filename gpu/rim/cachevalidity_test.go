package rim_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

// The cold path checks the validity of every embedded certificate, including
// an embedded copy of the root that only shares the pinned root's name and
// key. A cached manifest must not outlive any of them either.
func TestCacheBoundedByEmbeddedRoot(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	rootEnd := testTime.Add(time.Hour)
	tmpl := *p.Root
	tmpl.NotAfter = rootEnd
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &p.RootKey.PublicKey, p.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	shortRoot, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := rimtest.SignWith(rimtest.Unsigned(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(f.blocks, 64, driverActive...)}),
		p.SignerKey, []*x509.Certificate{p.Signer, p.L3, p.CA, shortRoot})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	later := rootEnd.Add(time.Hour)
	// Cold, on a fresh verifier.
	m, err := newVerifier(t, rim.WithRoots(p.Root)).Verify(ctx, doc, later)
	wantKind(t, m, err, verify.ErrExpired)
	// Warm, after a successful verification while the copy was valid.
	v := newVerifier(t, rim.WithRoots(p.Root))
	if _, err := v.Verify(ctx, doc, testTime); err != nil {
		t.Fatal(err)
	}
	m, err = v.Verify(ctx, doc, later)
	wantKind(t, m, err, verify.ErrExpired)
}
