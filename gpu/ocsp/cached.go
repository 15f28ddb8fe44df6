package ocsp

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// CachedSource keeps raw answers of another source, once they verify as the
// Checker verifies them (VerifyResponse at the cache's clock), in a
// collateral.Cache until they stop being usable (nextUpdate, or a delegated
// responder's expiry), so that many verifiers, or restarts with a
// persistent store, share one fetch per certificate. Cached answers cannot
// echo a fresh nonce, so a CachedSource never asks for one; freshness rests
// on thisUpdate/nextUpdate, which the Checker verifies at the caller's time.
type CachedSource struct {
	inner Source
	cache *collateral.Cache
	now   func() time.Time
}

// NewCachedSource puts cache in front of inner (nil cache: a private
// in-memory one). now is the clock the cache's expiry uses (nil: time.Now).
func NewCachedSource(inner Source, cache *collateral.Cache, now func() time.Time) (*CachedSource, error) {
	if inner == nil {
		return nil, verify.Errorf(verify.ErrConfig, "ocsp: cached source: nil inner source")
	}
	if cache == nil {
		cache = collateral.NewCache(collateral.CacheOptions{Store: collateral.NewMemoryStore(1024, 16<<20)})
	}
	if now == nil {
		now = time.Now
	}
	return &CachedSource{inner: inner, cache: cache, now: now}, nil
}

// SendsNonce is false: a cached answer cannot carry the nonce of a later request.
func (s *CachedSource) SendsNonce() bool { return false }

// Fetch returns the cached answer for q.Cert, fetching it from the inner
// source when absent or past its nextUpdate.
func (s *CachedSource) Fetch(ctx context.Context, q Query) ([]byte, error) {
	k := cacheKey(q.Cert, q.Issuer)
	key := "ocsp:" + hex.EncodeToString(k[:])
	e, _, err := s.cache.Get(ctx, key, s.now(), func(ctx context.Context) (collateral.Entry, error) {
		der, err := s.inner.Fetch(ctx, q)
		if err != nil {
			return collateral.Entry{}, err
		}
		// Only an answer the Checker would accept is kept, until it stops
		// being usable (bytes that do not verify are never cached, and a
		// forged nextUpdate cannot pin one); the Checker verifies it again,
		// at the caller's time, on every use.
		a, err := VerifyResponse(der, q.Cert, q.Issuer, nil, s.now(), defaultSkew)
		if err != nil {
			return collateral.Entry{}, verify.Errorf(verify.ErrCollateral, "OCSP answer for %q: %w", q.Cert.Subject.CommonName, err)
		}
		return collateral.Entry{Data: der, NotAfter: a.ValidUntil, FetchedAt: s.now()}, nil
	})
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, fmt.Errorf("cached OCSP source: %w", err))
	}
	return e.Data, nil
}
