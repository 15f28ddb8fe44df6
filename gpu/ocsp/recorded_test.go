package ocsp_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

// A recorded DER answer whose last byte happens to be an ASCII white-space
// byte (about one signature in forty) is kept byte for byte, by memory and
// directory sources alike.
func TestRecordedDERTrailingWhitespaceByte(t *testing.T) {
	root, rootKey := gputest.NewRoot()
	leafKey := gputest.NewKey()
	leaf := gputest.Sign(&x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, &leafKey.PublicKey, root, rootKey)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var der []byte
	for i := 0; i < 5000 && der == nil; i++ {
		d, err := xocsp.CreateResponse(root, root, xocsp.Response{Status: xocsp.Good, SerialNumber: leaf.SerialNumber,
			ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		if last := d[len(d)-1]; bytes.IndexByte([]byte(" \t\n\v\f\r"), last) >= 0 {
			der = d
		}
	}
	if der == nil {
		t.Fatal("no response ending in a white-space byte was minted")
	}
	if _, err := ocsp.VerifyResponse(der, leaf, root, nil, now, 0); err != nil {
		t.Fatalf("minted response: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "leaf.der"), der, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "leaf.b64"), []byte(base64.StdEncoding.EncodeToString(der)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mem, err := ocsp.NewMemorySource(der)
	if err != nil {
		t.Fatalf("memory source: %v", err)
	}
	ds, err := ocsp.NewFSSource(os.DirFS(dir))
	if err != nil {
		t.Fatalf("directory source: %v", err)
	}
	for name, src := range map[string]ocsp.Source{"memory": mem, "directory": ds} {
		got, err := src.Fetch(context.Background(), ocsp.Query{Cert: leaf, Issuer: root})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, der) {
			t.Fatalf("%s: recorded answer altered: %d bytes stored, %d returned", name, len(der), len(got))
		}
	}
}

// GEN-04: an answer is usable while thisUpdate − skew ≤ now < nextUpdate +
// skew, the same whether it was just fetched or comes from the cache.
func TestNextUpdateBoundaryCachedAndFresh(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := gputest.NewDeviceResponder(p)
	defer r.Close()
	signedAt := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	r.Now = signedAt // thisUpdate = signedAt − 1 min, nextUpdate = signedAt + 24 h
	next := signedAt.Add(24 * time.Hour)
	for _, skew := range []time.Duration{0, time.Minute, -time.Minute} {
		src, err := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		warm, _ := ocsp.NewChecker(src, ocsp.WithClockSkew(skew))
		if _, err := warm.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, signedAt); err != nil {
			t.Fatalf("skew %v: %v", skew, err)
		}
		last, end := next.Add(skew-time.Second), next.Add(skew)
		for name, chk := range map[string]*ocsp.Checker{"cached": warm, "fresh": nil} {
			if chk == nil {
				chk, _ = ocsp.NewChecker(src, ocsp.WithClockSkew(skew))
			}
			if _, err := chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, last); err != nil {
				t.Fatalf("skew %v, %s, one second before nextUpdate+skew: %v", skew, name, err)
			}
		}
		for name, chk := range map[string]*ocsp.Checker{"cached": warm, "fresh": nil} {
			if chk == nil {
				chk, _ = ocsp.NewChecker(src, ocsp.WithClockSkew(skew))
			}
			if _, err := chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, end); !errors.Is(err, verify.ErrExpired) {
				t.Fatalf("skew %v, %s, at nextUpdate+skew: expected ErrExpired, got %v", skew, name, err)
			}
		}
	}
}

// GPU-12: a delegated responder must be certified by the issuer of the
// certificate asked about, not by another CA of the same chain (one that
// NVIDIA's reference tools accept): the issuer's issuer, the root, or the
// asked-about CA certificate itself.
func TestDelegatedResponderFromOtherChainCA(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	cert, issuer := p.Certs[1], p.Certs[2] // BROM, provisioner ICA
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	respNotAfter := now.Add(time.Hour)
	answer := func(by int) []byte {
		key := gputest.NewKey()
		resp := gputest.Sign(&x509.Certificate{
			SerialNumber: big.NewInt(1000 + int64(by)), Subject: pkix.Name{CommonName: "delegated responder"},
			NotBefore: now.Add(-time.Hour), NotAfter: respNotAfter,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		}, &key.PublicKey, p.Certs[by], p.Keys[by])
		der, err := xocsp.CreateResponse(issuer, resp, xocsp.Response{Status: xocsp.Good, SerialNumber: cert.SerialNumber,
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour), Certificate: resp}, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	if _, err := ocsp.VerifyResponse(answer(2), cert, issuer, nil, now, 0); err != nil {
		t.Fatalf("responder certified by the issuer: %v", err)
	}
	for name, by := range map[string]int{"asked-about CA": 1, "issuer's issuer": 3, "root": 4} {
		if _, err := ocsp.VerifyResponse(answer(by), cert, issuer, nil, now, 0); !errors.Is(err, verify.ErrCollateral) || errors.Is(err, verify.ErrRevoked) {
			t.Errorf("responder certified by the %s: expected ErrCollateral, not ErrRevoked, got %v", name, err)
		}
	}
	// The right delegate, expired one second before the verification time.
	respNotAfter = now.Add(-time.Second)
	if _, err := ocsp.VerifyResponse(answer(2), cert, issuer, nil, now, 0); !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrExpired) || errors.Is(err, verify.ErrRevoked) {
		t.Errorf("expired delegated responder: expected ErrCollateral and ErrExpired, got %v", err)
	}
}
