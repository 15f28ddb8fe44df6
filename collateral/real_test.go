package collateral

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

// pinned is inside the validity of every item in testdata (see testdata/README.md).
var pinned = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pckPlatformCA returns the issuer of the real PCK CRL, checked against the
// root that travels with it in the test data.
func pckPlatformCA(t testing.TB) *x509.Certificate {
	t.Helper()
	rest := readFile(t, "pck_crl_issuer_chain.pem")
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) != 2 {
		t.Fatalf("issuer chain: expected 2 certificates, got %d", len(certs))
	}
	if err := certs[0].CheckSignatureFrom(certs[1]); err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// crlNotAfter parses and verifies a CRL and returns its nextUpdate, as a
// verifier's fetch function should before anything is cached.
func crlNotAfter(issuer *x509.Certificate) func(*Response) (time.Time, error) {
	return func(r *Response) (time.Time, error) {
		crl, err := x509.ParseRevocationList(r.Body)
		if err != nil {
			return time.Time{}, verify.Errorf(verify.ErrMalformed, "PCK CRL: %w", err)
		}
		if err := crl.CheckSignatureFrom(issuer); err != nil {
			return time.Time{}, verify.Errorf(verify.ErrSignature, "PCK CRL: issuer %q: %w", issuer.Subject, err)
		}
		if crl.NextUpdate.IsZero() {
			return time.Time{}, verify.Errorf(verify.ErrMalformed, "PCK CRL: no nextUpdate")
		}
		return crl.NextUpdate, nil
	}
}

func TestRealPCKCRLCachedUntilNextUpdate(t *testing.T) {
	pck, root := readFile(t, "pck_crl.der"), readFile(t, "root_ca_crl.der")
	issuer := pckPlatformCA(t)
	var serve atomic.Value
	serve.Store(pck)
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(serve.Load().([]byte))
	})
	url := srv.URL + "/sgx/certification/v4/pckcrl?ca=platform&encoding=der"
	f := fastFetcher()
	f.MaxBodyBytes = 1 << 20
	store := NewMemoryStore(0, 0)
	c := NewCache(CacheOptions{Store: store, MaxStale: 24 * time.Hour})
	get := func(now time.Time) (Entry, bool, error) {
		return c.Get(context.Background(), url, now, FetchFunc(f, url, now, crlNotAfter(issuer)))
	}
	nextUpdate := time.Date(2025, 7, 19, 10, 0, 35, 0, time.UTC)

	// Fresh: one fetch, then served from the store until nextUpdate inclusive.
	for _, now := range []time.Time{pinned, pinned.Add(24 * time.Hour), nextUpdate} {
		e, stale, err := get(now)
		if err != nil || stale {
			t.Fatalf("at %v: stale=%v %v", now, stale, err)
		}
		if string(e.Data) != string(pck) || !e.NotAfter.Equal(nextUpdate) || !e.FetchedAt.Equal(pinned) {
			t.Fatalf("at %v: unexpected entry (%d bytes, NotAfter %v, FetchedAt %v)", now, len(e.Data), e.NotAfter, e.FetchedAt)
		}
		if e.Header.Get("Content-Type") != "application/pkix-crl" {
			t.Fatalf("headers not kept: %v", e.Header)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}

	// Past nextUpdate the server still has only this CRL: the refresh yields
	// an expired item, which is never served fresh; the old one is served
	// stale within a day, then refused.
	e, stale, err := get(nextUpdate.Add(time.Second))
	if err != nil || !stale || string(e.Data) != string(pck) {
		t.Fatalf("just past nextUpdate: expected the stale CRL, got stale=%v %v", stale, err)
	}
	_, stale, err = get(nextUpdate.Add(24*time.Hour + time.Second))
	if !errors.Is(err, verify.ErrCollateral) || stale {
		t.Fatalf("beyond the stale bound: expected ErrCollateral, got stale=%v %v", stale, err)
	}
	if hits.Load() != 3 {
		t.Fatalf("hits: expected 3, got %d", hits.Load())
	}

	// Bytes that do not verify are never cached.
	for _, tc := range []struct {
		name string
		body []byte
		kind error
	}{
		{"garbage", []byte("<html>maintenance</html>"), verify.ErrMalformed},
		{"truncated", pck[:len(pck)-1], verify.ErrMalformed},
		{"wrong issuer", root, verify.ErrSignature},
		{"flipped signature", flip(pck, len(pck)-10), verify.ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := NewCache(CacheOptions{Store: NewMemoryStore(0, 0)})
			serve.Store(tc.body)
			e, stale, err := fresh.Get(context.Background(), url, pinned, FetchFunc(f, url, pinned, crlNotAfter(issuer)))
			if !errors.Is(err, tc.kind) || stale || e.Data != nil {
				t.Fatalf("expected %v and no entry, got stale=%v %v", tc.kind, stale, err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}
