package ocsp

import (
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// NewCachedSource gives the tests the store-backed source of an HTTPSource
// over any inner source (nil cache: a private one; nil clock: time.Now).
func NewCachedSource(inner Source, cache *collateral.Cache, now func() time.Time) (*cachedSource, error) {
	if inner == nil {
		return nil, verify.Errorf(verify.ErrConfig, "ocsp: cached source: nil inner source")
	}
	if cache == nil {
		cache = collateral.NewCache(collateral.CacheOptions{})
	}
	if now == nil {
		now = time.Now
	}
	return newCachedSource(inner, cache, now), nil
}
