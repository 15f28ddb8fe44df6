package gpu

import (
	"context"
	"errors"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/internal/coalesce"
	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// RIMProvider fetches the RIM named id, verifies it at now (signature, signer
// chain to the pinned RIM root) and checks that it describes version.
// NewRIMProvider is the implementation over the gpu/rim package. Whatever
// the provider checks, the verifier binds each manifest it returns to the
// requested ID and version with rim.Manifest.Expect, and compares the report
// with the golden values the manifest holds at that moment.
type RIMProvider interface {
	RIM(ctx context.Context, id, version string, now time.Time) (*rim.Manifest, error)
}

// DefaultRIMCacheTTL bounds how long a verified RIM is reused without
// fetching it again, so that a re-signed RIM is picked up.
const DefaultRIMCacheTTL = time.Hour

type rimProvider struct {
	v     *rim.Verifier
	src   rim.Source
	ttl   time.Duration
	cache *lru.Cache[string, *rim.Manifest]
	// inflight lets a composite's GPUs, which call for the same RIMs at
	// once, share one fetch and verification.
	inflight coalesce.Group[*rim.Manifest]
}

// NewRIMProvider verifies RIMs from src with v and caches verified manifests
// by ID and version until the earlier of their signer chain's expiry and ttl
// after the fetch (ttl ≤ 0: DefaultRIMCacheTTL). A nil v is the default
// rim.Verifier with the embedded NVIDIA RIM root.
func NewRIMProvider(v *rim.Verifier, src rim.Source, ttl time.Duration) (RIMProvider, error) {
	if src == nil {
		return nil, verify.Errorf(verify.ErrConfig, "gpu: nil RIM source")
	}
	if v == nil {
		var err error
		if v, err = rim.NewVerifier(); err != nil {
			return nil, err
		}
	}
	if ttl <= 0 {
		ttl = DefaultRIMCacheTTL
	}
	return &rimProvider{v: v, src: src, ttl: ttl, cache: lru.New[string, *rim.Manifest](256)}, nil
}

// cached reports whether RIM would answer id and version at now from the
// cache, without fetching or verifying.
func (p *rimProvider) cached(id, version string, now time.Time) bool {
	m, ok := p.cache.Get(id+"\x00"+version, now)
	return ok && !now.Before(m.NotBefore)
}

func (p *rimProvider) RIM(ctx context.Context, id, version string, now time.Time) (*rim.Manifest, error) {
	key := id + "\x00" + version
	if m, ok := p.cache.Get(key, now); ok && !now.Before(m.NotBefore) {
		return m, nil
	}
	// Shared only between callers asking at the same instant; a failure
	// caused by the context of the caller that ran it is not shared.
	flight := key + "\x00" + now.UTC().Format(time.RFC3339Nano)
	return p.inflight.Do(flight, func() (*rim.Manifest, error) {
		m, err := p.v.Fetch(ctx, p.src, id, version, now)
		if err != nil {
			return nil, err
		}
		exp := now.Add(p.ttl)
		if m.NotAfter.Before(exp) {
			exp = m.NotAfter
		}
		p.cache.Add(key, m, exp)
		return m, nil
	}, func(_ *rim.Manifest, err error) bool {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	})
}
