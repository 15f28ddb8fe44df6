package ocsp

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// cachedSource keeps raw answers of another source, once they verify as the
// Checker verifies them (VerifyResponse at the cache's clock), in a
// collateral.Cache until they stop being usable (nextUpdate, or a delegated
// responder's expiry): an HTTPSource with a Store. Cached answers cannot
// echo a fresh nonce, so a cachedSource never asks for one; freshness rests
// on thisUpdate/nextUpdate, which the Checker verifies at the caller's time.
type cachedSource struct {
	inner Source
	cache *collateral.Cache
	now   func() time.Time
}

// newCachedSource puts cache in front of inner; now is the clock of the
// cache's expiry.
func newCachedSource(inner Source, cache *collateral.Cache, now func() time.Time) *cachedSource {
	return &cachedSource{inner: inner, cache: cache, now: now}
}

// SendsNonce is false: a cached answer cannot carry the nonce of a later request.
func (s *cachedSource) SendsNonce() bool { return false }

// Fetch returns the cached answer for q.Cert, fetching it from the inner
// source when absent or past its nextUpdate.
func (s *cachedSource) Fetch(ctx context.Context, q Query) ([]byte, error) {
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
