package tdx_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// crlWithoutNextUpdate mints a CRL by issuer that omits the optional
// nextUpdate field (x509.CreateRevocationList always writes one).
func crlWithoutNextUpdate(t *testing.T, issuer tdxtest.Key, this time.Time) []byte {
	t.Helper()
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(issuer.Cert.RawSubject, &rdn); err != nil {
		t.Fatal(err)
	}
	alg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}} // ecdsa-with-SHA256
	tbs := struct {
		Version    int
		Signature  pkix.AlgorithmIdentifier
		Issuer     pkix.RDNSequence
		ThisUpdate time.Time
	}{1, alg, rdn, this.UTC()}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(tbsDER)
	sig, err := ecdsa.SignASN1(rand.Reader, issuer.Private, d[:])
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// A CRL without nextUpdate has no end of validity: it must be refused, and
// it must not erase the end of validity of the other collateral items (the
// TCB info's nextUpdate) from the window checked at verification time.
func TestCRLWithoutNextUpdate(t *testing.T) {
	for _, which := range []string{"pck", "root"} {
		t.Run(which, func(t *testing.T) {
			f := newFixture(t)
			c := f.pki.DefaultCollateral()
			if which == "pck" {
				c.PCKCRL = crlWithoutNextUpdate(t, f.pki.PCKCA, tdxtest.IssueDate())
			} else {
				c.RootCACRL = crlWithoutNextUpdate(t, f.pki.Root, tdxtest.IssueDate())
			}
			f.setCollateral(c)
			quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
			for _, now := range []time.Time{tdxtest.NextUpdate().Add(24 * time.Hour), tdxtest.VerifyTime()} {
				e := exp()
				e.Now = now
				cl, err := verifyQuote(t, f.verifier(t), quote, e)
				if !errors.Is(err, verify.ErrCollateral) || cl != nil {
					t.Fatalf("at %s: got claims %v, err %v; want ErrCollateral", now, cl != nil, err)
				}
			}
		})
	}
}

// The CRL numbers in the claims come from the verified CRLs.
func TestCRLNumbersInClaims(t *testing.T) {
	f := newFixture(t)
	c := f.pki.DefaultCollateral()
	c.PCKCRL = tdxtest.CRLAt(f.pki.PCKCA, tdxtest.IssueDate(), tdxtest.NextUpdate(), big.NewInt(77))
	f.setCollateral(c)
	cl, err := verifyQuote(t, f.verifier(t), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	if err != nil {
		t.Fatal(err)
	}
	if cl.TCB.Status != tdx.StatusUpToDate || !cl.TCB.CRLsChecked || cl.TCB.PCKCRLNumber != "1" || cl.TCB.RootCRLNumber != "1" {
		t.Fatalf("CRL claims: checked %v, numbers %q %q", cl.TCB.CRLsChecked, cl.TCB.PCKCRLNumber, cl.TCB.RootCRLNumber)
	}
}

// A verified collateral set is cached no longer than every certificate of its
// issuer chains is valid, the pinned root included: a warm verification must
// not accept what a cold one refuses.
func TestCollateralCacheBoundedByIssuerRoot(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	rootEnd := tdxtest.VerifyTime().Add(24 * time.Hour)
	// The same root key and name, pinned in a second, shorter-lived certificate.
	tmpl := *p.Root.Cert
	tmpl.NotAfter = rootEnd
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &p.Root.Private.PublicKey, p.Root.Private)
	if err != nil {
		t.Fatal(err)
	}
	shortRoot, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	c := p.DefaultCollateral()
	signing := tdxtest.PEM(p.TCBSigner.Cert, shortRoot)
	c.TCBInfoIssuerChain, c.QEIdentityIssuerChain = signing, signing
	c.PCKCRLIssuerChain = tdxtest.PEM(p.PCKCA.Cert, shortRoot)
	f.setCollateral(c)
	v := f.verifier(t, tdx.WithTrustedRoots(p.Root.Cert, shortRoot))
	quote := p.Quote(p.DefaultQuote(nonce))
	if _, err := verifyQuote(t, v, quote, exp()); err != nil {
		t.Fatal(err)
	}
	e := exp()
	e.Now = rootEnd.Add(time.Hour)
	// Cold: the short root has expired.
	cl, err := verifyQuote(t, f.verifier(t, tdx.WithTrustedRoots(p.Root.Cert, shortRoot)), quote, e)
	if !errors.Is(err, verify.ErrExpired) || cl != nil {
		t.Fatalf("cold: claims %v, err %v; want ErrExpired", cl != nil, err)
	}
	// Warm: the same answer from the cache.
	cl, err = verifyQuote(t, v, quote, e)
	if !errors.Is(err, verify.ErrExpired) || cl != nil {
		t.Fatalf("warm: claims %v, err %v; want ErrExpired", cl != nil, err)
	}
}

// A CRL verifies whether it comes as DER, PEM or hex-encoded DER; a PEM that
// is not exactly one X509 CRL block, and any item over the size cap, is
// refused.
func TestCRLEncodings(t *testing.T) {
	f := newFixture(t)
	der := f.pki.DefaultCollateral().PCKCRL
	pemCRL := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	broken := []byte("-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n")
	for name, tc := range map[string]struct {
		crl  []byte
		kind error
	}{
		"DER":               {der, nil},
		"PEM":               {pemCRL, nil},
		"PEM with spaces":   {append(append([]byte("\n "), pemCRL...), "\n\n"...), nil},
		"hex":               {[]byte(hex.EncodeToString(der)), nil},
		"upper-case hex":    {[]byte(strings.ToUpper(hex.EncodeToString(der))), nil},
		"two PEM CRLs":      {append(bytes.Clone(pemCRL), pemCRL...), verify.ErrCollateral},
		"broken then good":  {append(bytes.Clone(broken), pemCRL...), verify.ErrCollateral},
		"BEGIN without END": {append([]byte("-----BEGIN X509 CRL-----\nMIIB\n"), pemCRL...), verify.ErrCollateral},
		"PEM certificate":   {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), verify.ErrCollateral},
		"PEM then text":     {append(bytes.Clone(pemCRL), "junk"...), verify.ErrCollateral},
		"odd hex":           {[]byte(hex.EncodeToString(der))[1:], verify.ErrCollateral},
		"over the cap":      {append(bytes.Clone(der), make([]byte, 1<<20)...), verify.ErrLimit},
	} {
		t.Run(name, func(t *testing.T) {
			c := f.pki.DefaultCollateral()
			c.PCKCRL = tc.crl
			f.setCollateral(c)
			cl, err := verifyQuote(t, f.verifier(t), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
			if tc.kind == nil {
				if err != nil || !cl.TCB.CRLsChecked {
					t.Fatalf("%v", err)
				}
				return
			}
			if !errors.Is(err, tc.kind) || cl != nil {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			// A bad CRL is the collateral source's fault, not the evidence's.
			if k := verify.KindOf(err); k != tc.kind {
				t.Fatalf("KindOf = %v, want %v", k, tc.kind)
			}
		})
	}
}

// A signed collateral item over the size cap is refused before it is parsed.
func TestCollateralItemCap(t *testing.T) {
	f := newFixture(t)
	c := f.pki.DefaultCollateral()
	c.TCBInfo = append(bytes.Clone(c.TCBInfo), bytes.Repeat([]byte(" "), 1<<20)...)
	f.setCollateral(c)
	if _, err := verifyQuote(t, f.verifier(t), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp()); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}
}
