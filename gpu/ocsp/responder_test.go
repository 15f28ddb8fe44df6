package ocsp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	_ "crypto/sha512" // SHA-384 for re-signing
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

var respNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// responderPKI is a BROM certificate, its issuer and a spare CA with the
// issuer's key under another name.
type responderPKI struct {
	p            *gputest.PKI
	cert, issuer *x509.Certificate
	issuerKey    *ecdsa.PrivateKey
	twin         *x509.Certificate
}

func newResponderPKI() responderPKI {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := responderPKI{p: p, cert: p.Certs[1], issuer: p.Certs[2], issuerKey: p.Keys[2]}
	r.twin = gputest.Sign(&x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "twin of the issuer"},
		NotBefore: respNow.Add(-time.Hour), NotAfter: respNow.Add(time.Hour), IsCA: true, BasicConstraintsValid: true},
		&r.issuerKey.PublicKey, nil, r.issuerKey)
	return r
}

func (r responderPKI) template() xocsp.Response {
	return xocsp.Response{Status: xocsp.Good, SerialNumber: r.cert.SerialNumber,
		ThisUpdate: respNow.Add(-time.Minute), NextUpdate: respNow.Add(2 * time.Hour)}
}

// The ResponderID must name the key that signed the answer; the CertID must
// name the issuer asked about. Each is checked on its own.
func TestResponderIDAndCertID(t *testing.T) {
	r := newResponderPKI()
	create := func(certIDIssuer, named *x509.Certificate) []byte {
		der, err := xocsp.CreateResponse(certIDIssuer, named, r.template(), r.issuerKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	if _, err := ocsp.VerifyResponse(create(r.issuer, r.issuer), r.cert, r.issuer, nil, respNow, 0); err != nil {
		t.Fatal(err)
	}
	// Signed by the issuer's key, CertID right, ResponderID names another CA.
	_, err := ocsp.VerifyResponse(create(r.issuer, r.twin), r.cert, r.issuer, nil, respNow, 0)
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrChain) || errors.Is(err, verify.ErrRevoked) || !strings.Contains(err.Error(), "ResponderID name") {
		t.Errorf("ResponderID naming another CA: %v", err)
	}
	// ResponderID right, CertID names the twin (same key, other name).
	_, err = ocsp.VerifyResponse(create(r.twin, r.issuer), r.cert, r.issuer, nil, respNow, 0)
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrChain) || errors.Is(err, verify.ErrRevoked) || !strings.Contains(err.Error(), "CertID") {
		t.Errorf("CertID naming another CA: %v", err)
	}
}

// A ResponderID by key hash (RFC 6960 byKey: SHA-1 of the subject public
// key bits) must hash the signer's key.
func TestResponderIDByKeyHash(t *testing.T) {
	r := newResponderPKI()
	der, err := xocsp.CreateResponse(r.issuer, r.issuer, r.template(), r.issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(r.issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	right := sha1.Sum(spki.PublicKey.Bytes)
	if _, err := ocsp.VerifyResponse(byKeyHash(t, der, right[:], r.issuerKey), r.cert, r.issuer, nil, respNow, 0); err != nil {
		t.Fatalf("key hash of the signer: %v", err)
	}
	wrong := sha1.Sum([]byte("another key"))
	_, err = ocsp.VerifyResponse(byKeyHash(t, der, wrong[:], r.issuerKey), r.cert, r.issuer, nil, respNow, 0)
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrChain) || errors.Is(err, verify.ErrRevoked) || !strings.Contains(err.Error(), "key hash") {
		t.Errorf("key hash of another key: %v", err)
	}
}

// byKeyHash re-signs an OCSP response from x/crypto/ocsp (which names its
// responder by name only) with a byKey ResponderID.
func byKeyHash(t *testing.T, der, keyHash []byte, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	type responseBytes struct {
		Type     asn1.ObjectIdentifier
		Response []byte
	}
	type response struct {
		Status asn1.Enumerated
		Bytes  responseBytes `asn1:"explicit,tag:0"`
	}
	type basic struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}
	type tbs struct {
		ResponderID asn1.RawValue
		ProducedAt  time.Time `asn1:"generalized"`
		Responses   asn1.RawValue
	}
	var resp response
	var b basic
	var d tbs
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(resp.Bytes.Response, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(b.TBS.FullBytes, &d); err != nil {
		t.Fatal(err)
	}
	octets, err := asn1.Marshal(keyHash)
	if err != nil {
		t.Fatal(err)
	}
	d.ResponderID = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: octets}
	tbsDER, err := asn1.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	hash := map[string]crypto.Hash{"1.2.840.10045.4.3.2": crypto.SHA256, "1.2.840.10045.4.3.3": crypto.SHA384}[b.Algorithm.Algorithm.String()]
	if hash == 0 {
		t.Fatalf("signature algorithm %v", b.Algorithm.Algorithm)
	}
	hh := hash.New()
	hh.Write(tbsDER)
	sig, err := key.Sign(rand.Reader, hh.Sum(nil), hash)
	if err != nil {
		t.Fatal(err)
	}
	b.TBS = asn1.RawValue{FullBytes: tbsDER}
	b.Signature = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	if resp.Bytes.Response, err = asn1.Marshal(b); err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A delegated responder's answer is usable only while the responder's own
// certificate is valid, even when nextUpdate is later; a responder without
// id-kp-OCSPSigning is refused.
func TestDelegatedResponderBoundsAnswer(t *testing.T) {
	r := newResponderPKI()
	delegate := func(notAfter time.Time, eku []x509.ExtKeyUsage) []byte {
		key := gputest.NewKey()
		resp := gputest.Sign(&x509.Certificate{
			SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "delegated responder"},
			NotBefore: respNow.Add(-time.Hour), NotAfter: notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
		}, &key.PublicKey, r.issuer, r.issuerKey)
		tmpl := r.template()
		tmpl.Certificate = resp
		der, err := xocsp.CreateResponse(r.issuer, resp, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	signing := []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	short := respNow.Add(30 * time.Minute).Truncate(time.Second)
	a, err := ocsp.VerifyResponse(delegate(short, signing), r.cert, r.issuer, nil, respNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ValidUntil.Equal(short) || !a.NextUpdate.Equal(respNow.Add(2*time.Hour)) {
		t.Errorf("ValidUntil %v (want the responder's notAfter %v), nextUpdate %v", a.ValidUntil, short, a.NextUpdate)
	}
	long := respNow.Add(24 * time.Hour)
	if a, err := ocsp.VerifyResponse(delegate(long, signing), r.cert, r.issuer, nil, respNow, 0); err != nil || !a.ValidUntil.Equal(a.NextUpdate) {
		t.Errorf("long-lived responder: ValidUntil %v, nextUpdate %v, %v", a.ValidUntil, a.NextUpdate, err)
	}
	for name, eku := range map[string][]x509.ExtKeyUsage{"no EKU": nil, "server auth": {x509.ExtKeyUsageServerAuth}} {
		_, err := ocsp.VerifyResponse(delegate(long, eku), r.cert, r.issuer, nil, respNow, 0)
		if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrChain) || errors.Is(err, verify.ErrRevoked) {
			t.Errorf("responder with %s: %v", name, err)
		}
	}
}

// An HTTPSource with a Store (its cached source) keeps only what the Checker would accept: an answer from a
// delegate without id-kp-OCSPSigning is fetched again every time, and a
// delegated answer is kept no longer than its responder's certificate.
func TestCachedSourceChecksLikeTheChecker(t *testing.T) {
	r := newResponderPKI()
	answer := func(notAfter time.Time, eku []x509.ExtKeyUsage) []byte {
		key := gputest.NewKey()
		resp := gputest.Sign(&x509.Certificate{
			SerialNumber: big.NewInt(4343), Subject: pkix.Name{CommonName: "delegated responder"},
			NotBefore: respNow.Add(-time.Hour), NotAfter: notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
		}, &key.PublicKey, r.issuer, r.issuerKey)
		tmpl := r.template()
		tmpl.Certificate = resp
		der, err := xocsp.CreateResponse(r.issuer, resp, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	q := ocsp.Query{Cert: r.cert, Issuer: r.issuer}
	now := respNow
	clock := func() time.Time { return now }
	inner := &countingDER{der: answer(respNow.Add(time.Hour), nil)}
	cs, _ := ocsp.NewCachedSource(inner, nil, clock)
	for i := 0; i < 2; i++ {
		if _, err := cs.Fetch(context.Background(), q); !errors.Is(err, verify.ErrCollateral) {
			t.Fatalf("delegate without OCSPSigning: %v", err)
		}
	}
	if inner.n != 2 {
		t.Fatalf("delegate without OCSPSigning: fetched %d times, want 2 (never cached)", inner.n)
	}
	// nextUpdate is two hours away, the responder expires in 30 minutes.
	inner = &countingDER{der: answer(respNow.Add(30*time.Minute), []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning})}
	cs, _ = ocsp.NewCachedSource(inner, nil, clock)
	if _, err := cs.Fetch(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	now = respNow.Add(20 * time.Minute)
	if _, err := cs.Fetch(context.Background(), q); err != nil || inner.n != 1 {
		t.Fatalf("within the responder's validity: %v, fetched %d times", err, inner.n)
	}
	now = respNow.Add(40 * time.Minute)
	_, _ = cs.Fetch(context.Background(), q)
	if inner.n != 2 {
		t.Fatalf("past the responder's validity: fetched %d times, want 2 (entry expired)", inner.n)
	}
}

type countingDER struct {
	der []byte
	n   int
}

func (c *countingDER) Fetch(context.Context, ocsp.Query) ([]byte, error) { c.n++; return c.der, nil }
