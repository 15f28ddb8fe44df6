package redisstore_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/serve/redisstore"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// redisKey is the Redis key of item key under prefix, as the package doc
// lays them out (kind "c1" entries, "cl" fetch locks).
func redisKey(prefix, kind, key string) string {
	h := sha256.Sum256([]byte(key))
	return prefix + ":" + kind + ":" + hex.EncodeToString(h[:])
}

// newCollateral returns a collateral store on r under a prefix of its own.
func newCollateral(t *testing.T, r *redisServer, maxEntryBytes int64) (*redisstore.Collateral, *redis.Client, string) {
	t.Helper()
	c := r.client(t)
	prefix := fmt.Sprintf("c%d", prefixes.Add(1))
	s, err := redisstore.NewCollateral(c, prefix, maxEntryBytes)
	require.NoError(t, err)
	return s, c, prefix
}

// An entry round-trips with its headers and times; its Redis TTL ends at
// its NotAfter, never later; an entry already expired is not stored; an
// entry expiring earlier does not replace one expiring later; an entry
// over the bound is refused (ErrLimit) and drops the one in place; an entry
// altered in Redis, or filed under another key, is not served.
func TestCollateralStore(t *testing.T) {
	r := startRedis(t)
	s, c, prefix := newCollateral(t, r, 1024)
	ctx := context.Background()
	now := time.Now()
	key := "https://pcs.example/tdx/certification/v4/tcb?fmspc=00806F050000"
	e := collateral.Entry{Data: []byte("tcb info"), Header: http.Header{"Tcb-Info-Issuer-Chain": {"chain"}},
		NotAfter: now.Add(90 * time.Second).Round(0), FetchedAt: now.Round(0)}
	require.NoError(t, s.Put(ctx, key, e))
	got, ok, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, e.Data, got.Data)
	require.Equal(t, e.Header, got.Header)
	require.True(t, e.NotAfter.Equal(got.NotAfter), "%v != %v", e.NotAfter, got.NotAfter)
	require.True(t, e.FetchedAt.Equal(got.FetchedAt))

	ek := redisKey(prefix, "c1", key)
	requireTTLWithin(t, c, ek, e.NotAfter)
	keys, err := c.Keys(ctx, prefix+":*").Result() // the test may scan; the store never does
	require.NoError(t, err)
	require.Equal(t, []string{ek}, keys, "one hashed key, no part of the URL in it")

	// Already expired: not stored, and nothing else happens.
	require.NoError(t, s.Put(ctx, "expired", collateral.Entry{Data: []byte("x"), NotAfter: now.Add(-time.Second)}))
	_, ok, err = s.Get(ctx, "expired")
	require.NoError(t, err)
	require.False(t, ok)
	require.Zero(t, c.Exists(ctx, redisKey(prefix, "c1", "expired")).Val())

	// An older fetch does not replace a newer one.
	older := e
	older.Data, older.NotAfter = []byte("older"), now.Add(30*time.Second)
	require.NoError(t, s.Put(ctx, key, older))
	got, _, err = s.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "tcb info", string(got.Data))
	newer := e
	newer.Data, newer.NotAfter = []byte("newer"), now.Add(time.Hour)
	require.NoError(t, s.Put(ctx, key, newer))
	got, _, err = s.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "newer", string(got.Data))
	requireTTLWithin(t, c, ek, newer.NotAfter)
	require.Greater(t, c.PTTL(ctx, ek).Val(), 90*time.Second)

	// Altered in Redis: refused (and the Cache treats it as a miss).
	require.NoError(t, c.HSet(ctx, ek, "d", "forged").Err())
	_, ok, err = s.Get(ctx, key)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.False(t, ok)
	// Filed under another key's hash: absent.
	require.NoError(t, s.Put(ctx, key, newer))
	fields, err := c.HGetAll(ctx, ek).Result()
	require.NoError(t, err)
	other := redisKey(prefix, "c1", "other")
	require.NoError(t, c.HSet(ctx, other, fields).Err())
	_, ok, err = s.Get(ctx, "other")
	require.NoError(t, err)
	require.False(t, ok)

	// Over the bound: refused, and the entry in place is dropped.
	big := e
	big.Data = make([]byte, 1024)
	require.ErrorIs(t, s.Put(ctx, key, big), verify.ErrLimit)
	_, ok, err = s.Get(ctx, key)
	require.NoError(t, err)
	require.False(t, ok)
	// An entry made larger in Redis than the bound is not read.
	require.NoError(t, s.Put(ctx, key, e))
	require.NoError(t, c.HSet(ctx, ek, "d", strings.Repeat("x", 2048)).Err())
	_, _, err = s.Get(ctx, key)
	require.ErrorIs(t, err, verify.ErrLimit)

	require.NoError(t, s.Delete(ctx, key))
	require.Zero(t, c.Exists(ctx, ek).Val())
	_, err = redisstore.NewCollateral(nil, "", 0)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// Every field of an entry is bounded before Redis sends it: an entry whose
// NotAfter, FetchedAt or sum was made a megabyte long in Redis (the
// entry's size bound covers only key, body and headers) is refused as a
// bad entry (ErrCollateral) and deleted, and the megabyte never crosses
// the wire (Redis's own output counter).
func TestCollateralFieldBounds(t *testing.T) {
	r := startRedis(t)
	s, c, prefix := newCollateral(t, r, 1024)
	ctx := context.Background()
	now := time.Now()
	key := "https://pcs.example/sgx/certification/v4/pckcrl?ca=platform"
	e := collateral.Entry{Data: []byte("crl"), NotAfter: now.Add(time.Hour).Round(0), FetchedAt: now.Round(0)}
	ek := redisKey(prefix, "c1", key)
	huge := strings.Repeat("9", 1<<20)
	for _, field := range []string{"na", "fa", "s"} {
		require.NoError(t, s.Put(ctx, key, e))
		require.NoError(t, c.HSet(ctx, ek, field, huge).Err())
		before := netOutput(t, c)
		_, ok, err := s.Get(ctx, key)
		sent := netOutput(t, c) - before
		require.ErrorIs(t, err, verify.ErrCollateral, field)
		require.False(t, ok, field)
		assert.Contains(t, err.Error(), "field "+field+" of 1048576 bytes")
		assert.Less(t, sent, int64(64<<10), "%s: Redis sent %d bytes for one Get", field, sent)
		require.Zero(t, c.Exists(ctx, ek).Val(), "%s: the bad entry is deleted", field)
	}
	// A fresh Put is served again.
	require.NoError(t, s.Put(ctx, key, e))
	_, ok, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)
}

// netOutput is the Redis server's total_net_output_bytes.
func netOutput(t *testing.T, c *redis.Client) int64 {
	info, err := c.Info(context.Background(), "stats").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_net_output_bytes:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("INFO stats has no total_net_output_bytes")
	return 0
}

// An entry no replica can use (altered in Redis, or filed under another
// key's hash) must not block a fresh one: a Put that expires earlier than
// it still replaces it, or every replica would fetch from the vendor on
// every Get until the unusable entry's NotAfter (years, if forged).
func TestCollateralUnusableEntryIsReplaced(t *testing.T) {
	r := startRedis(t)
	s, c, prefix := newCollateral(t, r, 1024)
	ctx := context.Background()
	now := time.Now()
	key := "https://pcs.example/sgx/certification/v4/pckcrl?ca=platform"
	late := collateral.Entry{Data: []byte("crl"), NotAfter: now.Add(24 * time.Hour).Round(0), FetchedAt: now.Round(0)}
	fresh := collateral.Entry{Data: []byte("fresh crl"), NotAfter: now.Add(time.Hour).Round(0), FetchedAt: now.Round(0)}

	// Altered in Redis.
	require.NoError(t, s.Put(ctx, key, late))
	ek := redisKey(prefix, "c1", key)
	require.NoError(t, c.HSet(ctx, ek, "d", "forged").Err())
	_, ok, err := s.Get(ctx, key)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.False(t, ok)
	require.NoError(t, s.Put(ctx, key, fresh))
	got, ok, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "fresh crl", string(got.Data))

	// Filed under another key's hash.
	require.NoError(t, s.Put(ctx, key, late))
	fields, err := c.HGetAll(ctx, ek).Result()
	require.NoError(t, err)
	require.NoError(t, c.HSet(ctx, redisKey(prefix, "c1", "other"), fields).Err())
	_, ok, err = s.Get(ctx, "other")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.Put(ctx, "other", fresh))
	got, ok, err = s.Get(ctx, "other")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "fresh crl", string(got.Data))
}

// The fetch lock is taken once; unlock releases only the lock it took.
func TestCollateralLock(t *testing.T) {
	r := startRedis(t)
	s, c, prefix := newCollateral(t, r, 0)
	ctx := context.Background()
	unlock, ok, err := s.TryLock(ctx, "item", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.TryLock(ctx, "item", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	pttl := c.PTTL(ctx, redisKey(prefix, "cl", "item")).Val()
	require.Positive(t, pttl)
	require.LessOrEqual(t, pttl, time.Minute)
	require.NoError(t, unlock(ctx))
	unlock2, ok, err := s.TryLock(ctx, "item", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, unlock(ctx)) // the first holder's: no effect on the second's lock
	require.Equal(t, int64(1), c.Exists(ctx, redisKey(prefix, "cl", "item")).Val())
	require.NoError(t, unlock2(ctx))
	require.Zero(t, c.Exists(ctx, redisKey(prefix, "cl", "item")).Val())
}

// vendor is a PCS (tdxtest) behind a handler that counts requests per path
// and answers 429 to the first rateLimited ones.
type vendor struct {
	*httptest.Server
	mu          sync.Mutex
	paths       map[string]int
	rateLimited int
}

func newVendor(t *testing.T, pcs *tdxtest.PCS, rateLimited int) *vendor {
	v := &vendor{paths: map[string]int{}, rateLimited: rateLimited}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.paths[r.URL.Path]++
		limited := v.rateLimited > 0
		if limited {
			v.rateLimited--
		}
		v.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		pcs.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(v.Close)
	return v
}

func (v *vendor) requests() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]int{}
	for p, n := range v.paths {
		out[p] = n
	}
	return out
}

// onlineRegistry is one replica's registry: TDX collateral from the vendor
// through a fetcher of its own and the Redis store.
func onlineRegistry(t *testing.T, bed *testbed.Bed, v *vendor, store collateral.Store, obs collateral.FetchObserver) *verify.Registry {
	t.Helper()
	reg, err := setup.NewRegistry(setup.Config{
		Online: &setup.Online{
			Fetcher:    &collateral.HTTPFetcher{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Observer: obs},
			Store:      store,
			TDXBaseURL: v.URL,
			PCCS:       true,
		},
		Roots: setup.Roots{TDX: []*x509.Certificate{bed.TDX.Root.Cert}},
	})
	require.NoError(t, err)
	return reg
}

// tdxItems are the four collateral items of a TDX quote on a PCCS.
var tdxItems = []string{"/tdx/certification/v4/tcb", "/tdx/certification/v4/qe/identity", "/sgx/certification/v4/pckcrl", "/sgx/certification/v4/rootcacrl"}

// Two replicas (two registries, each with its own fetcher and verifier
// caches, on one Redis) verifying the same quote concurrently make the
// vendor serve each collateral item exactly once; each item's entry
// expires in Redis no later than its NotAfter.
func TestCollateralReplicasFetchOnce(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	pcs := tdxtest.NewPCS(bed.TDXCollateral)
	defer pcs.Close()
	v := newVendor(t, pcs, 0)
	var regs []*verify.Registry
	prefix := fmt.Sprintf("c%d", prefixes.Add(1))
	for range 2 {
		s, err := redisstore.NewCollateral(r.client(t), prefix, 0)
		require.NoError(t, err)
		regs = append(regs, onlineRegistry(t, bed, v, s, nil))
	}
	rd := make([]byte, 64)
	copy(rd, "replicas")
	quote := bed.Quote(rd, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := regs[i%2].Verify(context.Background(), verify.FormatTDX, quote, verify.Expectations{ReportData: rd, Now: bed.Now})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := v.requests()
	for _, p := range tdxItems {
		require.Equal(t, 1, got[p], "vendor requests of %s (all: %v)", p, got)
	}
	require.Len(t, got, len(tdxItems))

	// Every entry's TTL ends no later than its NotAfter.
	c := r.client(t)
	keys, err := c.Keys(context.Background(), prefix+":c1:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, len(tdxItems))
	for _, k := range keys {
		na, err := c.HGet(context.Background(), k, "na").Result()
		require.NoError(t, err)
		notAfter, err := time.Parse(time.RFC3339Nano, na)
		require.NoError(t, err)
		requireTTLWithin(t, c, k, notAfter)
	}
}

// requireTTLWithin asserts that key has a TTL and that it ends at notAfter
// or before: its expiry instant (PEXPIRETIME, Unix milliseconds) is not
// after notAfter, and its PTTL is positive and not beyond notAfter on the
// millisecond clock Redis counts it with.
func requireTTLWithin(t *testing.T, c *redis.Client, key string, notAfter time.Time) {
	t.Helper()
	ctx := context.Background()
	until := time.Until(notAfter)
	pttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	require.Positive(t, pttl, key)
	require.LessOrEqual(t, pttl, until+time.Millisecond, "%s: the TTL ends at the entry's NotAfter, not later", key)
	at, err := c.Do(ctx, "PEXPIRETIME", key).Int64()
	require.NoError(t, err)
	require.LessOrEqual(t, at, notAfter.UnixMilli(), "%s: expires at %d ms, NotAfter %d ms", key, at, notAfter.UnixMilli())
}

// countingLocker counts the fetch-lock attempts on a store.
type countingLocker struct {
	*redisstore.Collateral
	tries atomic.Int64
}

func (l *countingLocker) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	l.tries.Add(1)
	return l.Collateral.TryLock(ctx, key, ttl)
}

// A fetch lock whose holder is gone never deadlocks a waiter: a lock left
// by a holder that hangs delays a Get by LockTimeout at most, a lock left
// by a holder that died lapses and is taken, and a holder whose fetch fails
// releases the lock to the waiter, which fetches itself.
func TestCollateralLockHolderFails(t *testing.T) {
	r := startRedis(t)
	s, c, prefix := newCollateral(t, r, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now()
	var fetches atomic.Int64
	fetch := func(context.Context) (collateral.Entry, error) {
		fetches.Add(1)
		return collateral.Entry{Data: []byte("mine"), NotAfter: now.Add(time.Hour)}, nil
	}

	// A hung holder: the lock stays an hour; the Get fetches after 100 ms.
	require.NoError(t, c.Set(ctx, redisKey(prefix, "cl", "hung"), "someone", time.Hour).Err())
	cache := collateral.NewCache(collateral.CacheOptions{Store: s, LockTimeout: 100 * time.Millisecond})
	e, _, err := cache.Get(ctx, "hung", now, fetch)
	require.NoError(t, err)
	require.Equal(t, "mine", string(e.Data))
	require.Equal(t, int64(1), fetches.Load())
	_, ok, err := s.Get(ctx, "hung")
	require.NoError(t, err)
	require.True(t, ok, "the waiter's fetch is stored for the others")

	// A dead holder: its lock lapses after 100 ms and the waiter takes it
	// (its own wait bound, an hour, is not what ends the wait).
	require.NoError(t, c.Set(ctx, redisKey(prefix, "cl", "dead"), "someone", 100*time.Millisecond).Err())
	patient := collateral.NewCache(collateral.CacheOptions{Store: s, LockTimeout: time.Hour})
	_, _, err = patient.Get(ctx, "dead", now, fetch)
	require.NoError(t, err)
	require.Equal(t, int64(2), fetches.Load())

	// A holder whose fetch fails: the other replica waits, then fetches.
	l := &countingLocker{Collateral: s}
	a := collateral.NewCache(collateral.CacheOptions{Store: l})
	b := collateral.NewCache(collateral.CacheOptions{Store: l})
	failed := make(chan error, 1)
	go func() {
		_, _, err := a.Get(ctx, "failing", now, func(ctx context.Context) (collateral.Entry, error) {
			// Hold the lock until b has tried it.
			for l.tries.Load() < 2 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			return collateral.Entry{}, errors.New("vendor down")
		})
		failed <- err
	}()
	require.Eventually(t, func() bool { return l.tries.Load() >= 1 }, 10*time.Second, time.Millisecond)
	e, _, err = b.Get(ctx, "failing", now, fetch)
	require.NoError(t, err)
	require.Equal(t, "mine", string(e.Data))
	require.ErrorIs(t, <-failed, verify.ErrCollateral)
	require.Equal(t, int64(3), fetches.Load())
	require.Zero(t, c.Exists(ctx, redisKey(prefix, "cl", "failing")).Val(), "both locks released")
}

// Through the served handler on the Redis store: an online attestation
// feeds the collateral metrics (fetches by source and result, cache
// lookups), and the vendor's 429 increments the rate-limited counter.
func TestCollateralMetrics(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	pcs := tdxtest.NewPCS(bed.TDXCollateral)
	defer pcs.Close()
	v := newVendor(t, pcs, 1)
	cm := serve.NewCollateralMetrics()
	cs, _, _ := newCollateral(t, r, 0)
	reg := onlineRegistry(t, bed, v, collateral.ObserveStore(cs, cm), cm)

	priv, _, err := token.GenerateKey(token.ES256, "metrics")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	rv, err := bed.ReferenceValues()
	require.NoError(t, err)
	doc := policy.Document{Version: policy.DocumentVersion}
	for _, n := range rv.Names() {
		doc.ReferenceValues = append(doc.ReferenceValues, policy.Entry{Name: n, Value: rv.Lookup(n, bed.Now)})
	}
	rvDoc, err := json.Marshal(doc)
	require.NoError(t, err)
	st, err := redisstore.New(r.client(t), fmt.Sprintf("m%d", prefixes.Add(1)))
	require.NoError(t, err)
	srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: st, ReferenceValues: rvDoc,
		Now: func() time.Time { return bed.Now }, PollInterval: time.Hour, CollateralMetrics: cm})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	rep := replica{srv}

	rec := rep.do(http.MethodPost, "/challenge", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = rep.do(http.MethodPost, "/attestation", asRequest(t, bed, rec.Body.String()))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	m := rep.do(http.MethodGet, "/metrics", nil).Body.String()
	host := strings.TrimPrefix(v.URL, "http://")
	for _, want := range []string{
		fmt.Sprintf(`attest_collateral_fetches_total{result="ok",source=%q} 4`, host),
		fmt.Sprintf(`attest_collateral_fetches_total{result="rate_limited",source=%q} 1`, host),
		fmt.Sprintf(`attest_upstream_rate_limited_total{source=%q} 1`, host),
		fmt.Sprintf(`attest_collateral_fetch_duration_seconds_count{source=%q} 5`, host),
		`attest_collateral_requests_total{result="miss"} 4`,
	} {
		require.Contains(t, m, want)
	}
	require.Equal(t, 5, sum(v.requests()), "four items, one of them asked twice")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
