package tdx_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// GEN-04: validity bounds are inclusive. Collateral issued at IssueDate with
// nextUpdate NextUpdate verifies at both instants and fails one second
// outside them, on a fresh verifier and on one whose caches are warm.
func TestGEN04CollateralValidityBoundaries(t *testing.T) {
	f := newFixture(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	warm := f.verifier(t)
	if _, err := verifyQuote(t, warm, quote, exp()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"at issueDate", tdxtest.IssueDate(), true},
		{"at nextUpdate", tdxtest.NextUpdate(), true},
		{"one second before issueDate", tdxtest.IssueDate().Add(-time.Second), false},
		{"one second after nextUpdate", tdxtest.NextUpdate().Add(time.Second), false},
	} {
		for _, v := range []struct {
			name string
			warm bool
		}{{"cold", false}, {"warm", true}} {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				ver := f.verifier(t)
				if v.warm {
					ver = warm
				}
				e := exp()
				e.Now = c.now
				cl, err := verifyQuote(t, ver, quote, e)
				if c.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrExpired) || cl != nil {
					t.Fatalf("claims %v, err %v; want ErrCollateral and ErrExpired", cl != nil, err)
				}
			})
		}
	}
}

// WithExpiredCollateralUnsafe stretches the validity of collateral items,
// never of certificates: with a TCB signing certificate that expired inside
// the grace period, a warm verifier must refuse what a fresh one refuses.
func TestExpiredCollateralGraceNotForCertificates(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	signerEnd := tdxtest.NextUpdate().Add(12 * time.Hour)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *p.TCBSigner.Cert
	tmpl.SerialNumber = big.NewInt(777)
	tmpl.NotAfter = signerEnd
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, p.Root.Cert, &key.PublicKey, p.Root.Private)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p.TCBSigner = tdxtest.Key{Cert: cert, Private: key}
	f.setCollateral(p.DefaultCollateral())
	quote := p.Quote(p.DefaultQuote(nonce))
	grace := tdx.WithExpiredCollateralUnsafe(48 * time.Hour)
	warm := f.verifier(t, grace)
	if _, err := verifyQuote(t, warm, quote, exp()); err != nil {
		t.Fatal(err)
	}
	e := exp()
	e.Now = signerEnd.Add(time.Hour)
	for name, v := range map[string]*tdx.Verifier{"cold": f.verifier(t, grace), "warm": warm} {
		cl, err := verifyQuote(t, v, quote, e)
		if !errors.Is(err, verify.ErrExpired) || cl != nil {
			t.Fatalf("%s: claims %v, err %v; want ErrExpired", name, cl != nil, err)
		}
	}
	// Within the signer's validity the grace still applies, cold and warm.
	e.Now = signerEnd.Add(-time.Hour)
	for name, v := range map[string]*tdx.Verifier{"cold": f.verifier(t, grace), "warm": warm} {
		cl, err := verifyQuote(t, v, quote, e)
		if err != nil || !cl.TCB.Expired {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// A warm platform cache answers only from the PCK chain's notBefore on: a
// verification at an earlier time fails as a fresh verifier's does. Without
// collateral, whose issuer chains would also fail, only the PCK chain is
// judged.
func TestPlatformCacheBeforeNotBefore(t *testing.T) {
	f := newFixture(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	noCollateral := func() *tdx.Verifier {
		v, err := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithoutCollateralUnsafe())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	warm := noCollateral()
	if _, err := verifyQuote(t, warm, quote, exp()); err != nil {
		t.Fatal(err)
	}
	e := exp()
	e.Now = f.pki.NotBefore.Add(-time.Second)
	for _, v := range []struct {
		name string
		v    *tdx.Verifier
	}{{"cold", noCollateral()}, {"warm", warm}} {
		cl, err := verifyQuote(t, v.v, quote, e)
		if !errors.Is(err, verify.ErrChain) || !errors.Is(err, verify.ErrExpired) || cl != nil {
			t.Fatalf("%s: claims %v, err %v; want ErrChain and ErrExpired", v.name, cl != nil, err)
		}
	}
}
