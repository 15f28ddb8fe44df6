package collateral

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/trustfactory/attest/verify"
)

// Defaults used by NewCache for zero options.
const (
	DefaultFetchTimeout         = 2 * time.Minute
	DefaultMaxConcurrentFetches = 16
)

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Store keeps the entries; nil means NewMemoryStore(0, 0).
	Store Store
	// MaxStale is how long past its NotAfter an entry may still be served when
	// a refresh fails; zero (the default) never serves stale entries.
	MaxStale time.Duration
	// FetchTimeout bounds a fetch shared by concurrent callers, which runs
	// detached from any one caller's cancellation; zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxConcurrentFetches bounds the fetches in flight at once across all
	// keys (keys often derive from unauthenticated evidence, so a flood of
	// distinct ones must not become a flood of outgoing requests); a fetch
	// waits for a slot within its FetchTimeout. Zero means
	// DefaultMaxConcurrentFetches.
	MaxConcurrentFetches int
	// Logger receives store failures and stale serving; nil means silent.
	Logger *slog.Logger
	// Observer receives one CacheEvent per Get (hit, miss, stale); nil
	// means the Store's when it implements CacheObserver (see
	// ObserveStore), else none.
	Observer CacheObserver
	// LockTimeout, when the Store is a Locker, is both how long a fetch
	// holds the item's fetch lock at most and how long a Get waits for
	// another process's fetch before fetching itself; zero means
	// DefaultLockTimeout. A fetch that outlasts it may be repeated by a
	// waiter: it costs a fetch, never a wrong answer.
	LockTimeout time.Duration
}

// Cache sits in front of any collateral source. Create it with NewCache; it is
// safe for concurrent use.
type Cache struct {
	store        Store
	maxStale     time.Duration
	fetchTimeout time.Duration
	log          *slog.Logger
	obs          CacheObserver // nil: none
	lockTimeout  time.Duration
	group        singleflight.Group
	slots        chan struct{} // one token per fetch in flight
}

// NewCache returns a Cache configured by opts.
func NewCache(opts CacheOptions) *Cache {
	c := &Cache{store: opts.Store, maxStale: opts.MaxStale, fetchTimeout: opts.FetchTimeout, log: opts.Logger,
		obs: opts.Observer, lockTimeout: opts.LockTimeout}
	if c.store == nil {
		c.store = NewMemoryStore(0, 0)
	}
	if o, ok := c.store.(CacheObserver); ok && c.obs == nil {
		c.obs = o
	}
	if c.lockTimeout <= 0 {
		c.lockTimeout = DefaultLockTimeout
	}
	if c.maxStale < 0 {
		c.maxStale = 0
	}
	if c.fetchTimeout <= 0 {
		c.fetchTimeout = DefaultFetchTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	n := opts.MaxConcurrentFetches
	if n <= 0 {
		n = DefaultMaxConcurrentFetches
	}
	c.slots = make(chan struct{}, n)
	return c
}

// Get returns the entry for key if now is not after its NotAfter. Otherwise
// it calls fetch (concurrent Gets of the same key share one call), stores and
// returns the result. If the fetch fails and the previous entry satisfies
// now ≤ NotAfter+MaxStale, Get returns that entry with stale = true;
// otherwise the error, of kind verify.ErrCollateral unless the fetch error
// already has a kind. A fetched entry with a zero NotAfter, or one already
// past at now, is a failed fetch: it is never stored or served as fresh.
//
// The shared fetch runs with a context detached from the callers'
// cancellation (it keeps their values) and bounded by FetchTimeout, so one
// caller giving up does not fail the others; a caller whose ctx is done gets
// its error (verify.ErrCanceled) at once. fetch must not keep or modify the Data it returns after
// returning. The returned Entry belongs to the caller.
//
// When the Store is a Locker, a miss takes the item's fetch lock first, or
// waits for the process holding it (see Locker).
func (c *Cache) Get(ctx context.Context, key string, now time.Time, fetch func(ctx context.Context) (Entry, error)) (Entry, bool, error) {
	switch {
	case key == "":
		return Entry{}, false, verify.Errorf(verify.ErrConfig, "collateral cache: empty key")
	case fetch == nil:
		return Entry{}, false, verify.Errorf(verify.ErrConfig, "collateral cache: key %q: nil fetch function", key)
	case now.IsZero():
		return Entry{}, false, verify.Errorf(verify.ErrConfig, "collateral cache: key %q: zero verification time", key)
	}
	if err := verify.Canceled(ctx, fmt.Sprintf("collateral %q", ShownURL(key))); err != nil {
		return Entry{}, false, err
	}
	var fetched bool
	e, stale, err := c.get(ctx, key, now, fetch, &fetched)
	if c.obs != nil {
		result := CacheHit
		switch {
		case stale:
			result = CacheStale
		case fetched:
			result = CacheMiss
		}
		c.obs.ObserveCache(ctx, CacheEvent{Key: ShownURL(key), Result: result, Err: err})
	}
	return e, stale, err
}

// get is Get once the arguments are checked; it sets *fetched when the
// call went past the store to a fetch (its own or a shared one), whatever
// the outcome.
func (c *Cache) get(ctx context.Context, key string, now time.Time, fetch func(ctx context.Context) (Entry, error), fetched *bool) (Entry, bool, error) {
	old, found, err := c.store.Get(ctx, key)
	if err != nil {
		c.log.WarnContext(ctx, "collateral store get failed", "key", ShownURL(key), "err", err)
		found = false
	}
	if found && !now.After(old.NotAfter) {
		return old, false, nil
	}

	ch := c.group.DoChan(key, func() (any, error) {
		return c.fill(context.WithoutCancel(ctx), key, now, fetch)
	})
	var res singleflight.Result
	select {
	case <-ctx.Done():
		*fetched = true // gone to fetch, whatever becomes of it
		return Entry{}, false, verify.Canceled(ctx, fmt.Sprintf("collateral %q", ShownURL(key)))
	case res = <-ch:
	}
	err = res.Err
	// A failed flight went to fetch, or tried to; a successful one says
	// whether it found the entry in the store instead.
	*fetched = err != nil || res.Val.(filled).fetched
	if err == nil {
		e := res.Val.(filled).Entry
		if !now.After(e.NotAfter) {
			if res.Shared {
				e = e.clone()
			}
			return e, false, nil
		}
		// Fetched for another caller whose time was earlier.
		err = verify.Errorf(verify.ErrCollateral, "collateral %q: fetched entry expired at %s, before %s", ShownURL(key), e.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if found && c.maxStale > 0 && !now.After(old.NotAfter.Add(c.maxStale)) {
		c.log.WarnContext(ctx, "collateral refresh failed; serving stale entry", "key", ShownURL(key), "notAfter", old.NotAfter, "now", now, "err", err)
		return old, true, nil
	}
	return Entry{}, false, verify.Wrap(verify.ErrCollateral, fmt.Errorf("collateral %q: %w", ShownURL(key), err))
}

// filled is the result of fill: the entry, and whether it was fetched
// (rather than found in the store).
type filled struct {
	Entry
	fetched bool
}

// fill runs one shared fetch: it re-reads the store (another flight may have
// just filled it), takes the fetch lock or waits for another process's
// fetch when the store is a Locker, fetches, checks and stores.
func (c *Cache) fill(ctx context.Context, key string, now time.Time, fetch func(ctx context.Context) (Entry, error)) (f filled, err error) {
	defer func() {
		// A panicking fetch or store would otherwise crash the process from
		// the singleflight goroutine.
		if p := recover(); p != nil {
			f, err = filled{}, verify.Errorf(verify.ErrCollateral, "collateral %q: fetch panicked: %v", ShownURL(key), p)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, c.fetchTimeout)
	defer cancel()
	if cur, ok, gerr := c.store.Get(ctx, key); gerr == nil && ok && !now.After(cur.NotAfter) {
		return filled{Entry: cur}, nil
	}
	cur, found, unlock := c.lockOrWait(ctx, key, now)
	if found {
		return filled{Entry: cur}, nil
	}
	if unlock != nil {
		defer unlock()
	}
	e, err := c.fetchAndPut(ctx, key, now, fetch)
	return filled{Entry: e, fetched: true}, err
}

// fetchAndPut takes a fetch slot, fetches, checks and stores.
func (c *Cache) fetchAndPut(ctx context.Context, key string, now time.Time, fetch func(ctx context.Context) (Entry, error)) (Entry, error) {
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return Entry{}, verify.Errorf(verify.ErrCollateral, "collateral %q: waiting for one of %d fetch slots: %w", ShownURL(key), cap(c.slots), context.Cause(ctx))
	}
	e, err := fetch(ctx)
	if err != nil {
		return Entry{}, err
	}
	if e.NotAfter.IsZero() {
		return Entry{}, verify.Errorf(verify.ErrCollateral, "collateral %q: fetched entry has no NotAfter", ShownURL(key))
	}
	if now.After(e.NotAfter) {
		return Entry{}, verify.Errorf(verify.ErrCollateral, "collateral %q: fetched entry expired at %s, before %s", ShownURL(key), e.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if e.FetchedAt.IsZero() {
		e.FetchedAt = now
	}
	e = e.clone()
	if perr := c.store.Put(ctx, key, e); perr != nil {
		c.log.WarnContext(ctx, "collateral store put failed", "key", ShownURL(key), "err", perr)
	}
	return e, nil
}

// Invalidate drops the entry for key, for example after the bytes it holds
// failed verification, so that the next Get fetches again. It fails with
// verify.ErrConfig when the store cannot delete entries.
func (c *Cache) Invalidate(ctx context.Context, key string) error {
	d, ok := c.store.(Deleter)
	if !ok {
		return verify.Errorf(verify.ErrConfig, "collateral cache: store %T cannot delete entries", c.store)
	}
	if err := d.Delete(ctx, key); err != nil {
		return verify.Wrap(verify.ErrCollateral, fmt.Errorf("collateral cache: deleting %q: %w", key, err))
	}
	return nil
}

// shownKey is a cache key for errors: a URL key (the usual kind) without a
// password it may hold.
func ShownURL(key string) string {
	if !strings.Contains(key, "://") {
		return key
	}
	u, err := url.Parse(key)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
