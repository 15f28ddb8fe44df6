package collateral

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// eventRecorder keeps the events it observes.
type eventRecorder struct {
	mu     sync.Mutex
	fetch  []FetchEvent
	caches []CacheEvent
}

func (r *eventRecorder) ObserveFetch(_ context.Context, e FetchEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetch = append(r.fetch, e)
}

func (r *eventRecorder) ObserveCache(_ context.Context, e CacheEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caches = append(r.caches, e)
}

func (r *eventRecorder) fetches() []FetchEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]FetchEvent(nil), r.fetch...)
}

func (r *eventRecorder) cacheResults() []CacheResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CacheResult
	for _, e := range r.caches {
		out = append(out, e.Result)
	}
	return out
}

// A 429 with Retry-After then a 200 are two attempts: one rate-limited
// event naming the status and the wait asked for, then a success with the
// body's size; a 404 is one not-found event. The host never carries the
// URL's password.
func TestFetchObserver(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, hit int) {
		switch {
		case r.URL.Path == "/absent":
			http.NotFound(w, r)
		case hit == 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			_, _ = w.Write([]byte("collateral"))
		}
	})
	rec := &eventRecorder{}
	f := fastFetcher()
	f.Observer = rec
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	u.User = url.UserPassword("user", "secret")
	resp, err := f.Fetch(context.Background(), u.String()+"/item")
	require.NoError(t, err)
	require.Equal(t, "collateral", string(resp.Body))
	require.Equal(t, int64(2), hits.Load())

	ev := rec.fetches()
	require.Len(t, ev, 2)
	require.Equal(t, FetchRateLimited, ev[0].Result)
	require.Equal(t, http.StatusTooManyRequests, ev[0].StatusCode)
	require.Equal(t, 1, ev[0].Attempt)
	require.Error(t, ev[0].Err)
	require.Equal(t, FetchOK, ev[1].Result)
	require.Equal(t, http.StatusOK, ev[1].StatusCode)
	require.Equal(t, 2, ev[1].Attempt)
	require.Equal(t, int64(len("collateral")), ev[1].Bytes)
	require.NoError(t, ev[1].Err)
	for _, e := range ev {
		require.Equal(t, http.MethodGet, e.Method)
		require.Equal(t, u.Host, e.Host)
		require.NotContains(t, e.Host, "secret")
	}

	_, err = f.Fetch(context.Background(), srv.URL+"/absent")
	require.ErrorIs(t, err, ErrNotFound)
	ev = rec.fetches()[2:]
	require.Len(t, ev, 1)
	require.Equal(t, FetchNotFound, ev[0].Result)
	require.Equal(t, http.StatusNotFound, ev[0].StatusCode)
}

// An attempt without an answer is an error event with status 0; Retry-After
// is reported as the server asked (before the fetcher's cap).
func TestFetchObserverNoAnswer(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, hit int) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	rec := &eventRecorder{}
	f := fastFetcher()
	f.MaxRetries = -1
	f.Observer = rec
	_, err := f.Fetch(context.Background(), srv.URL)
	require.ErrorIs(t, err, verify.ErrCollateral)
	ev := rec.fetches()
	require.Len(t, ev, 1)
	require.Equal(t, FetchError, ev[0].Result)
	require.Equal(t, http.StatusServiceUnavailable, ev[0].StatusCode)
	require.Equal(t, 7*time.Second, ev[0].RetryAfter)

	srv.Close()
	_, err = f.Fetch(context.Background(), srv.URL)
	require.ErrorIs(t, err, verify.ErrCollateral)
	ev = rec.fetches()[1:]
	require.Len(t, ev, 1)
	require.Equal(t, FetchError, ev[0].Result)
	require.Zero(t, ev[0].StatusCode)
}

// A Cache reports a miss, then a hit, then (its refresh failing within
// MaxStale) a stale serving, to the observer of the store it was built
// over; ObserveStore keeps the store's ability to delete.
func TestCacheObserver(t *testing.T) {
	rec := &eventRecorder{}
	store := ObserveStore(NewMemoryStore(0, 0), rec)
	_, canDelete := store.(Deleter)
	require.True(t, canDelete)
	_, canLock := store.(Locker)
	require.False(t, canLock, "a memory store takes no locks, observed or not")
	c := NewCache(CacheOptions{Store: store, MaxStale: time.Hour})
	ctx := context.Background()
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	ok := func(context.Context) (Entry, error) {
		return Entry{Data: []byte("v"), NotAfter: now.Add(time.Minute)}, nil
	}
	fail := func(context.Context) (Entry, error) { return Entry{}, errors.New("down") }

	_, _, err := c.Get(ctx, "k", now, ok)
	require.NoError(t, err)
	_, _, err = c.Get(ctx, "k", now, fail)
	require.NoError(t, err)
	_, stale, err := c.Get(ctx, "k", now.Add(2*time.Minute), fail)
	require.NoError(t, err)
	require.True(t, stale)
	_, _, err = c.Get(ctx, "other", now, fail)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.Equal(t, []CacheResult{CacheMiss, CacheHit, CacheStale, CacheMiss}, rec.cacheResults())
	require.NoError(t, c.Invalidate(ctx, "k"))

	// An observer given in the options takes precedence over the store's.
	own := &eventRecorder{}
	c = NewCache(CacheOptions{Store: store, Observer: own})
	_, _, err = c.Get(ctx, "other", now, ok)
	require.NoError(t, err)
	require.Equal(t, []CacheResult{CacheMiss}, own.cacheResults())
	require.Len(t, rec.cacheResults(), 4)
}

// lockingStore is a Store shared by "processes" (Caches) in one test, with
// a fetch lock like a shared store's.
type lockingStore struct {
	*MemoryStore
	mu    sync.Mutex
	locks map[string]int64 // key → owner
	next  int64
	tries atomic.Int64
}

func newLockingStore() *lockingStore {
	return &lockingStore{MemoryStore: NewMemoryStore(0, 0), locks: map[string]int64{}}
}

func (s *lockingStore) TryLock(_ context.Context, key string, _ time.Duration) (func(context.Context) error, bool, error) {
	s.tries.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.locks[key]; held {
		return nil, false, nil
	}
	s.next++
	owner := s.next
	s.locks[key] = owner
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.locks[key] == owner {
			delete(s.locks, key)
		}
		return nil
	}, true, nil
}

// hold takes key's lock for a holder that never releases it.
func (s *lockingStore) hold(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locks[key] = -1
}

// Two Caches over one locking store (two replicas) missing the same key at
// once fetch it once: one takes the lock and fetches, the other waits for
// its entry. Both report the same bytes.
func TestCacheLockOneFetch(t *testing.T) {
	store := newLockingStore()
	a, b := NewCache(CacheOptions{Store: store}), NewCache(CacheOptions{Store: store})
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	var fetches atomic.Int64
	release := make(chan struct{})
	fetch := func(ctx context.Context) (Entry, error) {
		fetches.Add(1)
		select { // hold the lock until both caches are in Get
		case <-release:
		case <-ctx.Done():
		}
		return Entry{Data: []byte("item"), NotAfter: now.Add(time.Hour)}, nil
	}
	var wg sync.WaitGroup
	got := make([]string, 2)
	for i, c := range []*Cache{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, _, err := c.Get(context.Background(), "k", now, fetch)
			if err == nil {
				got[i] = string(e.Data)
			}
		}()
	}
	// Both caches missed and tried the lock; one holds it and is fetching.
	require.Eventually(t, func() bool { return fetches.Load() == 1 && store.tries.Load() >= 2 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.Equal(t, []string{"item", "item"}, got)
	require.Equal(t, int64(1), fetches.Load())
}

// A lock whose holder never releases it delays a Get by LockTimeout at
// most: then the Get fetches itself. A fetch that fails releases the lock.
func TestCacheLockHolderGone(t *testing.T) {
	store := newLockingStore()
	store.hold("k")
	c := NewCache(CacheOptions{Store: store, LockTimeout: 50 * time.Millisecond})
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	var fetches atomic.Int64
	e, _, err := c.Get(context.Background(), "k", now, func(context.Context) (Entry, error) {
		fetches.Add(1)
		return Entry{Data: []byte("mine"), NotAfter: now.Add(time.Hour)}, nil
	})
	require.NoError(t, err)
	require.Equal(t, "mine", string(e.Data))
	require.Equal(t, int64(1), fetches.Load())

	_, _, err = c.Get(context.Background(), "bad", now, func(context.Context) (Entry, error) { return Entry{}, errors.New("down") })
	require.ErrorIs(t, err, verify.ErrCollateral)
	store.mu.Lock()
	_, held := store.locks["bad"]
	store.mu.Unlock()
	require.False(t, held, "a failed fetch releases its lock")
}
