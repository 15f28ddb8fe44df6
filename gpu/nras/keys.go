package nras

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// Bounds on a JWKS document. NVIDIA's holds about 32 keys of ~2 KiB each.
const (
	// MaxJWKSSize bounds a JWKS document.
	MaxJWKSSize = 1 << 20
	// MaxJWKSKeys bounds the keys of a JWKS document.
	MaxJWKSKeys = 256
)

// Structure caps of a JWKS document, checked before it is decoded:
// encoding/json allocates a value, and for an element of the wrong type an
// error, per element, so a megabyte of [0,0,…] in keys or in a key's x5c cost
// 65 to 84 times its size (TestWorstShapeParseJWKS). A key is 3 levels deep
// (keys, the key, its x5c) and holds about ten members and certificates.
const (
	maxJWKSDepth  = 8
	maxJWKSValues = 16 * MaxJWKSKeys
)

// KeySet is a parsed NRAS JWKS: P-384 public keys by key id. It is immutable
// and safe for concurrent use.
type KeySet struct {
	byKid map[string]*ecdsa.PublicKey
}

// Len returns the number of keys.
func (s *KeySet) Len() int { return len(s.byKid) }

// Key returns the key with id kid.
func (s *KeySet) Key(kid string) (*ecdsa.PublicKey, bool) {
	k, ok := s.byKid[kid]
	return k, ok
}

type jwkDoc struct {
	Kty string   `json:"kty"`
	Crv string   `json:"crv"`
	Kid string   `json:"kid"`
	X   string   `json:"x"`
	Y   string   `json:"y"`
	D   string   `json:"d"`
	Alg string   `json:"alg"`
	Use string   `json:"use"`
	X5C []string `json:"x5c"`
}

// ParseJWKS parses an NRAS JWKS document. Every key must be an EC P-384
// public key with a unique, non-empty kid; an alg other than ES384, a use
// other than "sig", private key material, or an x5c leaf holding another key
// is refused. The x5c chain itself is not validated: NVIDIA does not publish
// the CA that issues it, so the JWKS is trusted for where it came from (the
// configured document, or the NRAS URL over TLS). Errors are ErrMalformed,
// ErrLimit or ErrUnsupported.
func ParseJWKS(doc []byte) (*KeySet, error) {
	if len(doc) > MaxJWKSSize {
		return nil, verify.Errorf(verify.ErrLimit, "jwks: expected at most %d bytes, got %d", MaxJWKSSize, len(doc))
	}
	if err := jsonbound.Check(doc, "jwks", maxJWKSDepth, maxJWKSValues); err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "jwks: %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "jwks: no keys")
	}
	if len(set.Keys) > MaxJWKSKeys {
		return nil, verify.Errorf(verify.ErrLimit, "jwks: expected at most %d keys, got %d", MaxJWKSKeys, len(set.Keys))
	}
	ks := &KeySet{byKid: make(map[string]*ecdsa.PublicKey, len(set.Keys))}
	for i, raw := range set.Keys {
		var d jwkDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "jwks key %d: %v", i, err)
		}
		k, err := parseJWK(d)
		if err != nil {
			return nil, verify.Errorf(verify.KindOf(err), "jwks key %d (kid %q): %w", i, d.Kid, err)
		}
		if _, dup := ks.byKid[d.Kid]; dup {
			return nil, verify.Errorf(verify.ErrMalformed, "jwks key %d: kid %q appears twice", i, d.Kid)
		}
		ks.byKid[d.Kid] = k
	}
	return ks, nil
}

func parseJWK(d jwkDoc) (*ecdsa.PublicKey, error) {
	switch {
	case d.Kid == "":
		return nil, verify.Errorf(verify.ErrMalformed, "kid: empty")
	case d.D != "":
		return nil, verify.Errorf(verify.ErrMalformed, "private key material in a trust set")
	case d.Kty != "EC" || d.Crv != "P-384":
		return nil, verify.Errorf(verify.ErrUnsupported, "expected kty EC crv P-384, got kty %q crv %q", d.Kty, d.Crv)
	case d.Alg != "" && d.Alg != "ES384":
		return nil, verify.Errorf(verify.ErrUnsupported, "alg: expected ES384, got %q", d.Alg)
	case d.Use != "" && d.Use != "sig":
		return nil, verify.Errorf(verify.ErrUnsupported, "use: expected \"sig\", got %q", d.Use)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(d.X)
	if err != nil || len(x) != 48 {
		return nil, verify.Errorf(verify.ErrMalformed, "x: expected 48 bytes of base64url (err %v)", err)
	}
	y, err := base64.RawURLEncoding.Strict().DecodeString(d.Y)
	if err != nil || len(y) != 48 {
		return nil, verify.Errorf(verify.ErrMalformed, "y: expected 48 bytes of base64url (err %v)", err)
	}
	point := append(append([]byte{4}, x...), y...)
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), point)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "point: %v", err)
	}
	if len(d.X5C) > 0 {
		der, err := base64.StdEncoding.DecodeString(d.X5C[0])
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "x5c[0]: %v", err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "x5c[0]: %v", err)
		}
		if !key.Equal(cert.PublicKey) {
			return nil, verify.Errorf(verify.ErrMalformed, "the x5c leaf certificate (%s) holds a different key than the JWK", cert.Subject)
		}
	}
	return key, nil
}

// keySource gives the key for a kid at a verification time.
type keySource interface {
	key(ctx context.Context, kid string, now time.Time) (*ecdsa.PublicKey, error)
}

// staticKeys is an offline JWKS given at construction.
type staticKeys struct{ set *KeySet }

func (s staticKeys) key(_ context.Context, kid string, _ time.Time) (*ecdsa.PublicKey, error) {
	if k, ok := s.set.Key(kid); ok {
		return k, nil
	}
	return nil, unknownKid(kid, s.set.Len(), "the configured JWKS")
}

// unknownKid is a signature failure: no trusted key can have made the
// signature, so the token is not authentic as far as we can tell. (A kid
// gone from the live JWKS makes archived tokens fail the same way: verify
// them with the JWKS captured at issue time.)
func unknownKid(kid string, n int, where string) error {
	return verify.Errorf(verify.ErrSignature, "header kid: %q is not among the %d keys of %s", kid, n, where)
}

// onlineKeys fetches the JWKS through a collateral cache, parses each
// distinct document once, and refetches at most every minRefetch when a kid
// is unknown (NVIDIA adds a key every hour or two).
type onlineKeys struct {
	url        string
	fetcher    collateral.Fetcher
	cache      *collateral.Cache
	ttl        time.Duration
	minRefetch time.Duration

	mu     sync.Mutex
	digest [32]byte
	parsed *KeySet
}

func (o *onlineKeys) fetch(ctx context.Context, now time.Time) (collateral.Entry, *KeySet, error) {
	notAfter := func(r *collateral.Response) (time.Time, error) {
		// Parse before caching so that a document that does not parse is
		// never stored.
		if _, err := ParseJWKS(r.Body); err != nil {
			return time.Time{}, verify.Errorf(verify.ErrCollateral, "NRAS JWKS %s: %w", o.url, err)
		}
		return now.Add(o.ttl), nil
	}
	e, _, err := o.cache.Get(ctx, o.url, now, collateral.FetchFunc(o.fetcher, o.url, now, notAfter))
	if err != nil {
		return collateral.Entry{}, nil, err
	}
	ks, err := o.parse(e.Data)
	if err != nil {
		return collateral.Entry{}, nil, err
	}
	return e, ks, nil
}

// parse returns the key set of doc, parsing it only when it differs from the
// last document seen. A store may hand back any bytes, so they are parsed
// (checked) before use, not trusted for having been cached.
func (o *onlineKeys) parse(doc []byte) (*KeySet, error) {
	d := sha256.Sum256(doc)
	o.mu.Lock()
	if o.parsed != nil && o.digest == d {
		ks := o.parsed
		o.mu.Unlock()
		return ks, nil
	}
	o.mu.Unlock()
	ks, err := ParseJWKS(doc)
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "NRAS JWKS %s: %w", o.url, err)
	}
	o.mu.Lock()
	o.digest, o.parsed = d, ks
	o.mu.Unlock()
	return ks, nil
}

func (o *onlineKeys) key(ctx context.Context, kid string, now time.Time) (*ecdsa.PublicKey, error) {
	e, ks, err := o.fetch(ctx, now)
	if err != nil {
		return nil, err
	}
	if k, ok := ks.Key(kid); ok {
		return k, nil
	}
	// The kid may be newer than the cached document. Refetch, but not more
	// often than minRefetch: kids come from unauthenticated tokens, and a
	// stream of invented ones must not become a stream of requests.
	if now.Sub(e.FetchedAt) < o.minRefetch {
		return nil, unknownKid(kid, ks.Len(), "the NRAS JWKS fetched at "+e.FetchedAt.UTC().Format(time.RFC3339))
	}
	if err := o.cache.Invalidate(ctx, o.url); err != nil {
		return nil, err
	}
	if _, ks, err = o.fetch(ctx, now); err != nil {
		return nil, err
	}
	if k, ok := ks.Key(kid); ok {
		return k, nil
	}
	return nil, unknownKid(kid, ks.Len(), "the NRAS JWKS just fetched")
}
