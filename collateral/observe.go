package collateral

import (
	"context"
	"time"
)

// FetchResult classifies one attempt of an HTTPFetcher.
type FetchResult string

// The results of a fetch attempt.
const (
	// FetchOK: a 2xx answer whose body was read within the cap.
	FetchOK FetchResult = "ok"
	// FetchNotFound: a 404 answer (ErrNotFound).
	FetchNotFound FetchResult = "not_found"
	// FetchRateLimited: a 429 answer.
	FetchRateLimited FetchResult = "rate_limited"
	// FetchError: anything else (no answer, another status, a body over
	// the cap, a redirect not followed).
	FetchError FetchResult = "error"
)

// FetchEvent describes one attempt of an HTTPFetcher (a fetch retried twice
// gives three events). It carries no request header, body or password.
type FetchEvent struct {
	// Method is GET (Fetch) or POST (Post).
	Method string
	// Host is the host (and port, if the URL has one) of the URL: the
	// collateral source. It never holds the URL's user information.
	Host string
	// Attempt counts the attempts of one fetch from 1.
	Attempt int
	// Result classifies the attempt.
	Result FetchResult
	// StatusCode is the HTTP status of the answer; 0 when there was none.
	StatusCode int
	// RetryAfter is the wait the server asked for with Retry-After (before
	// the fetcher's cap); zero when it asked for none.
	RetryAfter time.Duration
	// Bytes is the length of the body read (0 unless Result is FetchOK).
	Bytes int64
	// Duration is the time the attempt took, body included.
	Duration time.Duration
	// Err is the attempt's error; nil when Result is FetchOK.
	Err error
}

// FetchObserver receives one FetchEvent per attempt of an HTTPFetcher, for
// metrics or tracing. ObserveFetch is called on the fetching goroutine once
// the attempt is over: it must be safe for concurrent use, return quickly
// and not keep ctx. Code outside this module may implement it.
type FetchObserver interface {
	ObserveFetch(ctx context.Context, e FetchEvent)
}

// CacheResult classifies one Cache.Get.
type CacheResult string

// The results of a Cache.Get.
const (
	// CacheHit: the store held a fresh entry, at once or after waiting for
	// another process's fetch (see Locker); nothing was fetched.
	CacheHit CacheResult = "hit"
	// CacheMiss: the entry was fetched (by this call or a concurrent one
	// of the same key it shared), successfully or not.
	CacheMiss CacheResult = "miss"
	// CacheStale: the fetch failed and a stale entry was served within
	// CacheOptions.MaxStale.
	CacheStale CacheResult = "stale"
)

// CacheEvent describes one Cache.Get that got as far as the store (a call
// refused for a bad argument or a done context gives none).
type CacheEvent struct {
	// Key is the cache key: for a URL key, its redacted form (ShownURL).
	// Keys may derive from evidence: do not use them as metric labels.
	Key string
	// Result classifies the call.
	Result CacheResult
	// Err is the call's error; nil when it returned an entry.
	Err error
}

// CacheObserver receives one CacheEvent per Cache.Get, for metrics.
// ObserveCache is called on the caller's goroutine: it must be safe for
// concurrent use, return quickly and not keep ctx. Code outside this module
// may implement it.
type CacheObserver interface {
	ObserveCache(ctx context.Context, e CacheEvent)
}

// ObserveStore returns s reporting to o the Get results of every Cache built
// over it (CacheOptions.Observer, when nil, takes the store's). Sources
// build their Caches themselves from the Store they are given, so this is
// how their hits and misses reach a caller's metrics. The store returned
// keeps the Deleter and Locker abilities of s, and no other: it is s for
// every operation. A nil o returns s.
func ObserveStore(s Store, o CacheObserver) Store {
	if o == nil || s == nil {
		return s
	}
	base := observedStore{Store: s, o: o}
	d, canDelete := s.(Deleter)
	l, canLock := s.(Locker)
	switch {
	case canDelete && canLock:
		return struct {
			observedStore
			Deleter
			Locker
		}{base, d, l}
	case canDelete:
		return struct {
			observedStore
			Deleter
		}{base, d}
	case canLock:
		return struct {
			observedStore
			Locker
		}{base, l}
	}
	return base
}

// observedStore is a Store that is also the CacheObserver of the Caches
// built over it.
type observedStore struct {
	Store
	o CacheObserver
}

func (s observedStore) ObserveCache(ctx context.Context, e CacheEvent) { s.o.ObserveCache(ctx, e) }
