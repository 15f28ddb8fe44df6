package collateral

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

// fetcherFunc adapts a function to Fetcher.
type fetcherFunc func(ctx context.Context, url string) (*Response, error)

func (f fetcherFunc) Fetch(ctx context.Context, url string) (*Response, error) { return f(ctx, url) }

func TestFetchFuncHeaderLifetime(t *testing.T) {
	f := fetcherFunc(func(_ context.Context, url string) (*Response, error) {
		return &Response{StatusCode: 200, Header: http.Header{"Cache-Control": {"max-age=600"}}, Body: []byte(url)}, nil
	})
	e, err := FetchFunc(f, "https://kds.example/vcek", t0, nil)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Data) != "https://kds.example/vcek" || !e.NotAfter.Equal(t0.Add(10*time.Minute)) || !e.FetchedAt.Equal(t0) {
		t.Fatalf("unexpected entry %q NotAfter %v FetchedAt %v", e.Data, e.NotAfter, e.FetchedAt)
	}
}

func TestFetchFuncErrors(t *testing.T) {
	noHeaders := fetcherFunc(func(context.Context, string) (*Response, error) {
		return &Response{StatusCode: 200, Body: []byte("x")}, nil
	})
	nilResp := fetcherFunc(func(context.Context, string) (*Response, error) { return nil, nil })
	down := fetcherFunc(func(context.Context, string) (*Response, error) {
		return nil, verify.Errorf(verify.ErrCollateral, "GET: %w", ErrNotFound)
	})
	badBody := func(*Response) (time.Time, error) { return time.Time{}, verify.Errorf(verify.ErrMalformed, "bad CRL") }
	for _, tc := range []struct {
		name     string
		f        Fetcher
		notAfter func(*Response) (time.Time, error)
		want     []error
	}{
		{"no freshness headers", noHeaders, nil, []error{verify.ErrCollateral}},
		{"nil response", nilResp, nil, []error{verify.ErrCollateral}},
		{"nil fetcher", nil, nil, []error{verify.ErrConfig}},
		{"fetch error kept", down, nil, []error{verify.ErrCollateral, ErrNotFound}},
		{"notAfter error kept", noHeaders, badBody, []error{verify.ErrMalformed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := FetchFunc(tc.f, "https://x/y", t0, tc.notAfter)(context.Background())
			if e.Data != nil {
				t.Fatalf("expected no entry, got %q", e.Data)
			}
			for _, k := range tc.want {
				if !errors.Is(err, k) {
					t.Errorf("expected %v in %v", k, err)
				}
			}
		})
	}
}

func TestCacheInvalidate(t *testing.T) {
	c := NewCache(CacheOptions{})
	src := fixed("x", t0.Add(time.Hour))
	ctx := context.Background()
	for range 2 {
		if _, _, err := c.Get(ctx, "k", t0, src.fetch); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Invalidate(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(ctx, "absent"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(ctx, "k", t0, src.fetch); err != nil {
		t.Fatal(err)
	}
	if src.calls.Load() != 2 {
		t.Fatalf("fetches: expected 2 (one after Invalidate), got %d", src.calls.Load())
	}
	if err := NewCache(CacheOptions{Store: brokenStore{}}).Invalidate(ctx, "k"); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("store without Delete: expected ErrConfig, got %v", err)
	}
}

func TestCacheLaterWaiterGetsNoExpiredEntry(t *testing.T) {
	// A caller at a later time joins a fetch started for an earlier time; the
	// result is fresh for the first caller only.
	c := NewCache(CacheOptions{})
	release, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	src := &source{next: func(_ context.Context, call int) (Entry, error) {
		once.Do(func() { close(started) })
		<-release
		return Entry{Data: []byte("x"), NotAfter: t0.Add(time.Hour)}, nil
	}}
	var wg sync.WaitGroup
	var errEarly, errLate error
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _, errEarly = c.Get(context.Background(), "k", t0, src.fetch)
	}()
	<-started
	go func() {
		defer wg.Done()
		_, _, errLate = c.Get(context.Background(), "k", t0.Add(2*time.Hour), src.fetch)
	}()
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if errEarly != nil {
		t.Fatalf("early caller: %v", errEarly)
	}
	// The late caller either joined the flight (expired for it) or ran its own
	// fetch (expired at its time): an error either way, never the entry.
	if !errors.Is(errLate, verify.ErrCollateral) {
		t.Fatalf("late caller: expected ErrCollateral, got %v", errLate)
	}
}

func TestCacheConcurrentStale(t *testing.T) {
	c := NewCache(CacheOptions{MaxStale: time.Hour})
	ctx := context.Background()
	if _, _, err := c.Get(ctx, "k", t0, fixed("old", t0.Add(time.Minute)).fetch); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	down := &source{next: func(context.Context, int) (Entry, error) {
		<-release
		return Entry{}, errors.New("connection reset")
	}}
	const n = 20
	var wg sync.WaitGroup
	var bad sync.Map
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, stale, err := c.Get(ctx, "k", t0.Add(30*time.Minute), down.fetch)
			if err != nil || !stale || string(e.Data) != "old" {
				bad.Store(i, err)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	bad.Range(func(k, v any) bool {
		t.Errorf("get %v: expected stale old, got %v", k, v)
		return true
	})
	if got := down.calls.Load(); got < 1 || got > n {
		t.Fatalf("fetches: got %d", got)
	}
}

func TestCacheDistinctKeysDoNotCoalesce(t *testing.T) {
	c := NewCache(CacheOptions{})
	src := &source{next: func(context.Context, int) (Entry, error) {
		return Entry{Data: []byte("x"), NotAfter: t0.Add(time.Hour)}, nil
	}}
	var wg sync.WaitGroup
	for _, k := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.Get(context.Background(), k, t0, src.fetch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if src.calls.Load() != 4 {
		t.Fatalf("fetches: expected 4, got %d", src.calls.Load())
	}
}

func TestCacheBoundedByStore(t *testing.T) {
	store := NewMemoryStore(2, 1<<20)
	c := NewCache(CacheOptions{Store: store})
	src := fixed("x", t0.Add(time.Hour))
	for _, k := range []string{"a", "b", "c", "a"} {
		if _, _, err := c.Get(context.Background(), k, t0, src.fetch); err != nil {
			t.Fatal(err)
		}
	}
	// a was evicted by c, so it was fetched twice.
	if src.calls.Load() != 4 {
		t.Fatalf("fetches: expected 4, got %d", src.calls.Load())
	}
	if n, _ := store.Len(); n != 2 {
		t.Fatalf("entries: expected 2, got %d", n)
	}
}

func TestCacheOversizeEntryServedNotStored(t *testing.T) {
	store := NewMemoryStore(10, 8)
	c := NewCache(CacheOptions{Store: store})
	src := fixed("0123456789", t0.Add(time.Hour))
	for range 2 {
		e, _, err := c.Get(context.Background(), "k", t0, src.fetch)
		if err != nil || string(e.Data) != "0123456789" {
			t.Fatalf("expected the entry, got %q %v", e.Data, err)
		}
	}
	if src.calls.Load() != 2 {
		t.Fatalf("fetches: expected 2 (nothing stored), got %d", src.calls.Load())
	}
}

func TestFetchSendsExtraHeaders(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get("Ocp-Apim-Subscription-Key") != "secret" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	})
	f := fastFetcher()
	if _, err := f.Fetch(context.Background(), srv.URL); !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("without the key: expected ErrCollateral, got %v", err)
	}
	f.Header = http.Header{"Ocp-Apim-Subscription-Key": {"secret"}}
	if _, err := f.Fetch(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
}
