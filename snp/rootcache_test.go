package snp_test

import (
	"crypto/x509"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// ownRoots returns a copy of r whose certificates are parsed anew, so that a
// test may spoil their fields without touching the shared fixture.
func ownRoots(t testing.TB, r snp.Roots) snp.Roots {
	t.Helper()
	cp := snp.Roots{Product: r.Product}
	for _, x := range []struct {
		src *x509.Certificate
		dst **x509.Certificate
	}{{r.ARK, &cp.ARK}, {r.ASK, &cp.ASK}, {r.ASVK, &cp.ASVK}} {
		if x.src == nil {
			continue
		}
		c, err := x509.ParseCertificate(x.src.Raw)
		require.NoError(t, err)
		*x.dst = c
	}
	return cp
}

// Verifiers sharing a RootCache verify every product's VCEK and VLEK
// evidence as verifiers without one do, and a verifier built from a warm
// cache does not check the roots again: it allocates a small fraction of
// what one that checks three RSA-4096 signatures per product does.
func TestRootCacheSharesCheckedRoots(t *testing.T) {
	f := pkis(t)
	cache, err := snp.NewRootCache(8)
	require.NoError(t, err)
	build := func(opts ...snp.Option) *snp.Verifier {
		v, err := snp.NewVerifier(append([]snp.Option{snp.WithTrustedRoots(f.roots()...), snp.WithKDS(f.mem)}, opts...)...)
		require.NoError(t, err)
		return v
	}
	for name, v := range map[string]*snp.Verifier{
		"first":    build(snp.WithRootCache(cache)),
		"second":   build(snp.WithRootCache(cache)),
		"uncached": build(),
	} {
		for _, prod := range snp.Products() {
			for _, key := range []snp.SigningKey{snp.SigningKeyVCEK, snp.SigningKeyVLEK} {
				c := claimsOf(t, v, mint(t, f.pki[prod], snptest.Report{SigningKey: key}), exp())
				require.Equal(t, string(prod), c["product"], "%s %s %s", name, prod, key)
			}
		}
	}
	warm := testing.AllocsPerRun(20, func() { build(snp.WithRootCache(cache)) })
	cold := testing.AllocsPerRun(3, func() { build() })
	// Budget: the options, the pinned set and five empty LRU caches; the
	// checks of three products' roots allocate thousands of times.
	require.LessOrEqual(t, warm, 100.0, "allocations of a verifier from a warm cache")
	require.Greater(t, cold, 10*warm, "allocations of a verifier that checks its roots (warm: %.0f)", warm)
}

// Roots a RootCache holds do not vouch for other bytes: each bad set is
// refused with ErrConfig through a warm cache, again on a second try (a
// failure is not remembered), and the good set still works afterwards.
func TestRootCacheRefusesBadRoots(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	rogue, err := snptest.NewPKI(snp.Genoa, snptest.Options{FreshRootKeys: true})
	require.NoError(t, err)
	cache, err := snp.NewRootCache(4)
	require.NoError(t, err)
	_, err = snp.NewVerifier(snp.WithTrustedRoots(p.Roots()), snp.WithRootCache(cache))
	require.NoError(t, err)
	damaged := ownRoots(t, p.Roots())
	damaged.ARK.Raw = append([]byte(nil), damaged.ARK.Raw[:len(damaged.ARK.Raw)-1]...)
	for name, r := range map[string]snp.Roots{
		"ASVK as ASK":           {Product: snp.Genoa, ARK: p.ARK, ASK: p.ASVK},
		"ASK as ASVK":           {Product: snp.Genoa, ARK: p.ARK, ASVK: p.ASK},
		"swapped":               {Product: snp.Genoa, ARK: p.ARK, ASK: p.ASVK, ASVK: p.ASK},
		"ASK of another ARK":    {Product: snp.Genoa, ARK: p.ARK, ASK: rogue.ASK},
		"ARK of another ASK":    {Product: snp.Genoa, ARK: rogue.ARK, ASK: p.ASK, ASVK: p.ASVK},
		"no ARK":                {Product: snp.Genoa, ASK: p.ASK},
		"ARK DER truncated":     damaged,
		"other product's roots": {Product: snp.Genoa, ARK: f.pki[snp.Milan].ARK, ASK: p.ASK},
	} {
		for try := range 2 {
			v, err := snp.NewVerifier(snp.WithTrustedRoots(r), snp.WithRootCache(cache))
			if !errors.Is(err, verify.ErrConfig) || v != nil {
				t.Errorf("%s, try %d: err = %v, want ErrConfig", name, try, err)
			}
		}
	}
	v, err := snp.NewVerifier(snp.WithTrustedRoots(p.Roots()), snp.WithRootCache(cache), snp.WithKDS(f.mem))
	require.NoError(t, err)
	claimsOf(t, v, mint(t, p, snptest.Report{}), exp())
}

// A verifier holds certificates parsed from the DER of the roots it was
// given: fields a caller changes, before or after construction, without
// changing the DER reach neither it nor the roots a RootCache shares.
func TestTrustedRootsAreParsedFromDER(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	ev := mint(t, p, snptest.Report{})
	cache, err := snp.NewRootCache(2)
	require.NoError(t, err)
	for _, opts := range [][]snp.Option{nil, {snp.WithRootCache(cache)}} {
		r := ownRoots(t, p.Roots())
		v, err := snp.NewVerifier(append([]snp.Option{snp.WithTrustedRoots(r), snp.WithKDS(f.mem)}, opts...)...)
		require.NoError(t, err)
		// Spoil the caller's copy: keys swapped, the ASK made no CA.
		r.ARK.PublicKey, r.ASK.PublicKey = r.ASK.PublicKey, r.ARK.PublicKey
		r.ASK.IsCA = false
		claimsOf(t, v, ev, exp())
		// The spoiled fields with the original DER: the DER is what counts.
		again, err := snp.NewVerifier(append([]snp.Option{snp.WithTrustedRoots(r), snp.WithKDS(f.mem)}, opts...)...)
		require.NoError(t, err)
		claimsOf(t, again, ev, exp())
	}
}

func TestRootCacheOptions(t *testing.T) {
	_, err := snp.NewRootCache(0)
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = snp.NewVerifier(snp.WithRootCache(nil))
	require.ErrorIs(t, err, verify.ErrConfig)
	// With the embedded roots a cache is allowed and unused.
	cache, err := snp.NewRootCache(1)
	require.NoError(t, err)
	_, err = snp.NewVerifier(snp.WithRootCache(cache))
	require.NoError(t, err)
	// A cache of one set, alternated between two products' roots, evicts
	// and checks again; each verifier trusts only its own product.
	f := pkis(t)
	for range 2 {
		for _, prod := range []snp.Product{snp.Milan, snp.Genoa} {
			v, err := snp.NewVerifier(snp.WithTrustedRoots(f.pki[prod].Roots()), snp.WithRootCache(cache), snp.WithKDS(f.mem))
			require.NoError(t, err)
			claimsOf(t, v, mint(t, f.pki[prod], snptest.Report{}), exp())
			other := snp.Genoa
			if prod == snp.Genoa {
				other = snp.Milan
			}
			check(t, v, mint(t, f.pki[other], snptest.Report{}), exp(), verify.ErrChain)
		}
	}
}

// Verifiers built concurrently from one cache, and verifying at once, agree
// (run with -race).
func TestRootCacheConcurrent(t *testing.T) {
	f := pkis(t)
	cache, err := snp.NewRootCache(4)
	require.NoError(t, err)
	ev := mint(t, f.pki[snp.Turin], snptest.Report{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			v, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithRootCache(cache), snp.WithKDS(f.mem))
			if err == nil {
				_, err = v.Verify(t.Context(), ev, exp())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
