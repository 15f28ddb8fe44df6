package collateral

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

var t0 = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)

// source is a fetch function that counts its calls and returns what next says.
type source struct {
	calls atomic.Int64
	next  func(ctx context.Context, call int) (Entry, error)
}

func (s *source) fetch(ctx context.Context) (Entry, error) {
	return s.next(ctx, int(s.calls.Add(1)))
}

func fixed(data string, notAfter time.Time) *source {
	return &source{next: func(context.Context, int) (Entry, error) {
		return Entry{Data: []byte(data), NotAfter: notAfter}, nil
	}}
}

func failing(err error) *source {
	return &source{next: func(context.Context, int) (Entry, error) { return Entry{}, err }}
}

func TestCacheHonoursNotAfterThenRefreshes(t *testing.T) {
	c := NewCache(CacheOptions{})
	ctx := context.Background()
	gen := 0
	src := &source{next: func(context.Context, int) (Entry, error) {
		gen++
		return Entry{Data: []byte(fmt.Sprint("v", gen)), NotAfter: t0.Add(time.Duration(gen) * time.Hour)}, nil
	}}
	for _, tc := range []struct {
		now   time.Time
		data  string
		calls int64
	}{
		{t0, "v1", 1},
		{t0.Add(30 * time.Minute), "v1", 1},
		{t0.Add(time.Hour), "v1", 1}, // now == NotAfter is still valid
		{t0.Add(time.Hour + time.Nanosecond), "v2", 2},
		{t0.Add(2 * time.Hour), "v2", 2},
		{t0.Add(3 * time.Hour), "v3", 3},
	} {
		e, stale, err := c.Get(ctx, "k", tc.now, src.fetch)
		if err != nil || stale {
			t.Fatalf("at %v: unexpected stale=%v err=%v", tc.now, stale, err)
		}
		if string(e.Data) != tc.data || src.calls.Load() != tc.calls {
			t.Fatalf("at %v: expected %s after %d fetches, got %s after %d", tc.now, tc.data, tc.calls, e.Data, src.calls.Load())
		}
	}
}

func TestCacheSetsFetchedAt(t *testing.T) {
	c := NewCache(CacheOptions{})
	e, _, err := c.Get(context.Background(), "k", t0, fixed("x", t0.Add(time.Hour)).fetch)
	if err != nil || !e.FetchedAt.Equal(t0) {
		t.Fatalf("expected FetchedAt %v, got %v (%v)", t0, e.FetchedAt, err)
	}
}

func TestCacheStaleOnlyWithinBound(t *testing.T) {
	store := NewMemoryStore(10, 1<<20)
	c := NewCache(CacheOptions{Store: store, MaxStale: time.Hour})
	ctx := context.Background()
	if _, _, err := c.Get(ctx, "k", t0, fixed("old", t0.Add(time.Hour)).fetch); err != nil {
		t.Fatal(err)
	}
	down := failing(errors.New("connection refused"))
	// Within NotAfter: no fetch at all.
	if e, stale, err := c.Get(ctx, "k", t0.Add(time.Hour), down.fetch); err != nil || stale || string(e.Data) != "old" {
		t.Fatalf("within NotAfter: expected fresh old, got %q stale=%v %v", e.Data, stale, err)
	}
	if down.calls.Load() != 0 {
		t.Fatalf("within NotAfter the source must not be called, got %d calls", down.calls.Load())
	}
	// Past NotAfter, within MaxStale: the refresh is tried, fails, stale is served.
	for _, now := range []time.Time{t0.Add(time.Hour + time.Second), t0.Add(2 * time.Hour)} {
		e, stale, err := c.Get(ctx, "k", now, down.fetch)
		if err != nil || !stale || string(e.Data) != "old" {
			t.Fatalf("at %v: expected stale old, got %q stale=%v %v", now, e.Data, stale, err)
		}
	}
	if down.calls.Load() != 2 {
		t.Fatalf("each stale Get must try a refresh: expected 2 calls, got %d", down.calls.Load())
	}
	// Past NotAfter+MaxStale: error, never the entry.
	e, stale, err := c.Get(ctx, "k", t0.Add(2*time.Hour+time.Nanosecond), down.fetch)
	if !errors.Is(err, verify.ErrCollateral) || stale || e.Data != nil {
		t.Fatalf("beyond the bound: expected ErrCollateral and no entry, got %q stale=%v %v", e.Data, stale, err)
	}
}

func TestCacheNoStaleByDefault(t *testing.T) {
	c := NewCache(CacheOptions{})
	ctx := context.Background()
	if _, _, err := c.Get(ctx, "k", t0, fixed("old", t0.Add(time.Hour)).fetch); err != nil {
		t.Fatal(err)
	}
	_, stale, err := c.Get(ctx, "k", t0.Add(time.Hour+time.Second), failing(errors.New("down")).fetch)
	if !errors.Is(err, verify.ErrCollateral) || stale {
		t.Fatalf("expected ErrCollateral without stale serving, got stale=%v %v", stale, err)
	}
}

func TestCacheErrorKinds(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
		want []error
	}{
		{"plain", errors.New("down"), []error{verify.ErrCollateral}},
		{"limit", verify.Errorf(verify.ErrLimit, "too big"), []error{verify.ErrLimit}},
		{"notfound", verify.Errorf(verify.ErrCollateral, "absent: %w", ErrNotFound), []error{verify.ErrCollateral, ErrNotFound}},
		{"malformed", verify.Errorf(verify.ErrMalformed, "bad"), []error{verify.ErrMalformed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(CacheOptions{})
			e, stale, err := c.Get(ctx, "k", t0, failing(tc.err).fetch)
			if stale || e.Data != nil {
				t.Fatalf("expected no entry, got %q stale=%v", e.Data, stale)
			}
			for _, k := range tc.want {
				if !errors.Is(err, k) {
					t.Errorf("expected %v in %v", k, err)
				}
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("cause lost: %v", err)
			}
			if verify.KindOf(err) != verify.KindOf(verify.Wrap(verify.ErrCollateral, tc.err)) {
				t.Errorf("kind: expected %v, got %v", verify.KindOf(tc.err), verify.KindOf(err))
			}
		})
	}
}

func TestCacheRejectsExpiredOrUnboundedFetch(t *testing.T) {
	ctx := context.Background()
	for name, src := range map[string]*source{
		"expired":     fixed("x", t0.Add(-time.Second)),
		"no NotAfter": fixed("x", time.Time{}),
	} {
		t.Run(name, func(t *testing.T) {
			store := NewMemoryStore(10, 1<<20)
			c := NewCache(CacheOptions{Store: store})
			_, _, err := c.Get(ctx, "k", t0, src.fetch)
			if !errors.Is(err, verify.ErrCollateral) {
				t.Fatalf("expected ErrCollateral, got %v", err)
			}
			if n, _ := store.Len(); n != 0 {
				t.Fatalf("a rejected entry was stored")
			}
		})
	}
}

func TestCacheCoalescesConcurrentGets(t *testing.T) {
	c := NewCache(CacheOptions{})
	release := make(chan struct{})
	started := make(chan struct{})
	src := &source{next: func(ctx context.Context, call int) (Entry, error) {
		if call == 1 {
			close(started)
		}
		<-release
		return Entry{Data: []byte("shared"), NotAfter: t0.Add(time.Hour)}, nil
	}}
	const n = 50
	var wg sync.WaitGroup
	results := make([]Entry, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _, errs[i] = c.Get(context.Background(), "k", t0, src.fetch)
		}()
	}
	<-started
	time.Sleep(20 * time.Millisecond) // let the others join the flight
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || string(results[i].Data) != "shared" {
			t.Fatalf("get %d: %q %v", i, results[i].Data, errs[i])
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Fatalf("fetches: expected 1, got %d", got)
	}
	// Every caller owns its bytes.
	results[0].Data[0] = 'X'
	if string(results[1].Data) != "shared" {
		t.Fatal("callers share the returned Data")
	}
	e, _, _ := c.Get(context.Background(), "k", t0, src.fetch)
	if string(e.Data) != "shared" {
		t.Fatal("a caller's change reached the store")
	}
}

func TestCacheCancelledWaiterDoesNotCancelSharedFetch(t *testing.T) {
	c := NewCache(CacheOptions{})
	release := make(chan struct{})
	started := make(chan struct{})
	var fetchCtxErr atomic.Value
	src := &source{next: func(ctx context.Context, call int) (Entry, error) {
		close(started)
		<-release
		fetchCtxErr.Store(fmt.Sprint(ctx.Err()))
		return Entry{Data: []byte("ok"), NotAfter: t0.Add(time.Hour)}, nil
	}}
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() {
		_, _, err := c.Get(ctx1, "k", t0, src.fetch)
		done1 <- err
	}()
	<-started
	done2 := make(chan error, 1)
	var e2 Entry
	go func() {
		var err error
		e2, _, err = c.Get(context.Background(), "k", t0, src.fetch)
		done2 <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel1()
	if err := <-done1; !errors.Is(err, context.Canceled) || !errors.Is(err, verify.ErrCanceled) {
		t.Fatalf("cancelled waiter: expected ErrCanceled wrapping Canceled, got %v", err)
	}
	close(release)
	if err := <-done2; err != nil || string(e2.Data) != "ok" {
		t.Fatalf("other waiter: expected ok, got %q %v", e2.Data, err)
	}
	if got := fetchCtxErr.Load(); got != "<nil>" {
		t.Fatalf("the shared fetch saw its context end: %v", got)
	}
	if src.calls.Load() != 1 {
		t.Fatalf("fetches: expected 1, got %d", src.calls.Load())
	}
}

func TestCacheFetchTimeout(t *testing.T) {
	c := NewCache(CacheOptions{FetchTimeout: 20 * time.Millisecond})
	src := &source{next: func(ctx context.Context, _ int) (Entry, error) {
		<-ctx.Done()
		return Entry{}, ctx.Err()
	}}
	_, _, err := c.Get(context.Background(), "k", t0, src.fetch)
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expected ErrCollateral wrapping DeadlineExceeded, got %v", err)
	}
}

func TestCacheFetchKeepsContextValues(t *testing.T) {
	type ctxKey struct{}
	c := NewCache(CacheOptions{})
	var got any
	src := &source{next: func(ctx context.Context, _ int) (Entry, error) {
		got = ctx.Value(ctxKey{})
		return Entry{Data: []byte("x"), NotAfter: t0.Add(time.Hour)}, nil
	}}
	ctx := context.WithValue(context.Background(), ctxKey{}, "trace-1")
	if _, _, err := c.Get(ctx, "k", t0, src.fetch); err != nil {
		t.Fatal(err)
	}
	if got != "trace-1" {
		t.Fatalf("context value: expected trace-1, got %v", got)
	}
}

func TestCacheAlreadyCancelled(t *testing.T) {
	c := NewCache(CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := fixed("x", t0.Add(time.Hour))
	_, _, err := c.Get(ctx, "k", t0, src.fetch)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, verify.ErrCanceled) {
		t.Fatalf("expected ErrCanceled wrapping Canceled, got %v", err)
	}
	if src.calls.Load() != 0 {
		t.Fatal("fetch called with a cancelled context")
	}
}

func TestCacheFetchPanicIsAnError(t *testing.T) {
	c := NewCache(CacheOptions{})
	src := &source{next: func(context.Context, int) (Entry, error) { panic("bug in fetch") }}
	_, _, err := c.Get(context.Background(), "k", t0, src.fetch)
	if !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("expected ErrCollateral, got %v", err)
	}
}

func TestCacheConfigErrors(t *testing.T) {
	c := NewCache(CacheOptions{})
	ok := fixed("x", t0.Add(time.Hour)).fetch
	for name, call := range map[string]func() error{
		"empty key": func() error { _, _, err := c.Get(context.Background(), "", t0, ok); return err },
		"nil fetch": func() error { _, _, err := c.Get(context.Background(), "k", t0, nil); return err },
		"zero time": func() error { _, _, err := c.Get(context.Background(), "k", time.Time{}, ok); return err },
	} {
		if err := call(); !errors.Is(err, verify.ErrConfig) {
			t.Errorf("%s: expected ErrConfig, got %v", name, err)
		}
	}
}

// brokenStore fails every call.
type brokenStore struct{}

func (brokenStore) Get(context.Context, string) (Entry, bool, error) {
	return Entry{}, false, errors.New("store down")
}
func (brokenStore) Put(context.Context, string, Entry) error { return errors.New("store down") }

func TestCacheBrokenStoreStillFetches(t *testing.T) {
	c := NewCache(CacheOptions{Store: brokenStore{}})
	src := fixed("x", t0.Add(time.Hour))
	for range 2 {
		e, stale, err := c.Get(context.Background(), "k", t0, src.fetch)
		if err != nil || stale || string(e.Data) != "x" {
			t.Fatalf("expected x, got %q stale=%v %v", e.Data, stale, err)
		}
	}
	if src.calls.Load() != 2 {
		t.Fatalf("fetches: expected 2 (nothing cached), got %d", src.calls.Load())
	}
}

func TestCacheWithHTTPFetcher(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write([]byte("crl"))
	})
	f := fastFetcher()
	c := NewCache(CacheOptions{})
	get := func(now time.Time) (Entry, error) {
		e, _, err := c.Get(context.Background(), srv.URL, now, func(ctx context.Context) (Entry, error) {
			resp, err := f.Fetch(ctx, srv.URL)
			if err != nil {
				return Entry{}, err
			}
			na, ok := NotAfterFromHeader(resp.Header, now)
			if !ok {
				return Entry{}, errors.New("no freshness information")
			}
			return Entry{Data: resp.Body, Header: resp.Header, NotAfter: na}, nil
		})
		return e, err
	}
	for _, now := range []time.Time{t0, t0.Add(time.Minute), t0.Add(time.Hour)} {
		if e, err := get(now); err != nil || string(e.Data) != "crl" {
			t.Fatalf("at %v: %q %v", now, e.Data, err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}
	if _, err := get(t0.Add(time.Hour + time.Second)); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 {
		t.Fatalf("hits after expiry: expected 2, got %d", hits.Load())
	}
}

func TestCacheBoundsConcurrentFetches(t *testing.T) {
	c := NewCache(CacheOptions{MaxConcurrentFetches: 2})
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	src := &source{next: func(ctx context.Context, _ int) (Entry, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		return Entry{Data: []byte("x"), NotAfter: t0.Add(time.Hour)}, nil
	}}
	const keys = 8
	var wg sync.WaitGroup
	errs := make([]error, keys)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = c.Get(context.Background(), fmt.Sprint("vcek/", i), t0, src.fetch)
		}()
	}
	// Wait until the slots are taken, then let everything through.
	for inFlight.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := inFlight.Load(); got != 2 {
		t.Fatalf("fetches in flight: expected 2, got %d", got)
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if peak.Load() != 2 || src.calls.Load() != keys {
		t.Fatalf("expected peak 2 and %d fetches, got peak %d, %d fetches", keys, peak.Load(), src.calls.Load())
	}
}

func TestCacheFetchSlotWaitIsBounded(t *testing.T) {
	c := NewCache(CacheOptions{MaxConcurrentFetches: 1, FetchTimeout: 50 * time.Millisecond})
	release := make(chan struct{})
	started := make(chan struct{})
	slow := &source{next: func(ctx context.Context, _ int) (Entry, error) {
		close(started)
		<-release // holds its slot past its own timeout, like a source that ignores ctx
		return Entry{}, errors.New("slow source gave up")
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = c.Get(context.Background(), "a", t0, slow.fetch)
	}()
	<-started
	other := fixed("x", t0.Add(time.Hour))
	_, _, err := c.Get(context.Background(), "b", t0, other.fetch)
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expected ErrCollateral after waiting for a slot, got %v", err)
	}
	if other.calls.Load() != 0 {
		t.Fatal("fetch ran without a slot")
	}
	close(release)
	<-done
}

// recorder is a slog handler that keeps messages.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestCacheLogsStaleServing(t *testing.T) {
	rec := &recorder{}
	c := NewCache(CacheOptions{MaxStale: time.Hour, Logger: slog.New(rec)})
	ctx := context.Background()
	if _, _, err := c.Get(ctx, "k", t0, fixed("old", t0.Add(time.Minute)).fetch); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 0 {
		t.Fatalf("a fresh fetch logged: %v", rec.msgs)
	}
	if _, stale, _ := c.Get(ctx, "k", t0.Add(2*time.Minute), failing(errors.New("down")).fetch); !stale {
		t.Fatal("expected a stale entry")
	}
	if len(rec.msgs) != 1 || !strings.HasPrefix(rec.msgs[0], "WARN") || !strings.Contains(rec.msgs[0], "stale") {
		t.Fatalf("expected one warning about stale serving, got %v", rec.msgs)
	}
}

// Cache errors name their key, a URL without its password.
func TestCacheErrorsHidePasswords(t *testing.T) {
	c := NewCache(CacheOptions{})
	for _, key := range []string{"https://user:hunter2@pcs.example/tcb", "https://user:hunter2@pcs.example/%zz"} {
		_, _, err := c.Get(context.Background(), key, time.Now(), func(context.Context) (Entry, error) {
			return Entry{}, errors.New("unavailable")
		})
		if !errors.Is(err, verify.ErrCollateral) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v", key, err)
		}
	}
	if got := ShownURL("tdx/tcb/00906ED50000"); got != "tdx/tcb/00906ED50000" {
		t.Errorf("plain key shown as %q", got)
	}
}
