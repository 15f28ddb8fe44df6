package collateral

import (
	"context"
	"time"
)

// Locker is implemented by stores that several processes share (a Redis
// store, say), so that when the replicas of a service miss the same item at
// once the vendor sees one fetch, not one per replica. A Cache over a
// Locker, on a miss, takes the item's fetch lock before fetching; a Cache
// that finds the lock taken waits for the holder's entry to appear in the
// store, reading it again at short intervals, and fetches itself when the
// lock lapses or after CacheOptions.LockTimeout, whichever comes first (so
// a holder that died or hangs delays the others by at most that). The lock
// only saves fetches: correctness never depends on it, since every entry is
// checked by its users whoever fetched it.
//
// Implementations must be safe for concurrent use by several processes.
type Locker interface {
	// TryLock takes the fetch lock of key for at most ttl if nobody holds
	// it, and returns the function that releases it; ok is false when
	// another holder has the lock. unlock releases only the lock this call
	// took (not one taken by another holder after ttl passed), and may be
	// called once.
	TryLock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error)
}

// Bounds of the wait for another process's fetch.
const (
	// DefaultLockTimeout is the default CacheOptions.LockTimeout.
	DefaultLockTimeout = 10 * time.Second
	// lockPollMin and lockPollMax bound the interval at which a waiter
	// reads the store again (doubling from the first to the second).
	lockPollMin = 10 * time.Millisecond
	lockPollMax = 200 * time.Millisecond
	// unlockTimeout bounds the release of a lock, which runs detached.
	unlockTimeout = 2 * time.Second
)

// lockOrWait is the fetch-lock protocol of fill (see Locker): it returns
// an entry another process stored meanwhile (fresh at now), or the unlock
// function of the lock taken (nil when the store has no lock, the lock
// failed, or the wait ended: then the caller fetches without it).
func (c *Cache) lockOrWait(ctx context.Context, key string, now time.Time) (Entry, bool, func()) {
	l, ok := c.store.(Locker)
	if !ok {
		return Entry{}, false, nil
	}
	fresh := func() (Entry, bool) {
		cur, ok, err := c.store.Get(ctx, key)
		return cur, err == nil && ok && !now.After(cur.NotAfter)
	}
	// Waiting is measured on the real clock: it bounds a delay, it
	// judges no validity.
	deadline := time.Now().Add(c.lockTimeout)
	delay := lockPollMin
	for {
		unlock, taken, err := l.TryLock(ctx, key, c.lockTimeout)
		if err != nil {
			c.log.WarnContext(ctx, "collateral fetch lock failed; fetching without it", "key", ShownURL(key), "err", err)
			return Entry{}, false, nil
		}
		if taken {
			release := func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
				defer cancel()
				if err := unlock(uctx); err != nil {
					c.log.WarnContext(ctx, "collateral fetch unlock failed; the lock lapses by itself", "key", ShownURL(key), "err", err)
				}
			}
			// Another process may have stored the item and released the
			// lock between our read of the store and our lock.
			if e, ok := fresh(); ok {
				release()
				return e, true, nil
			}
			return Entry{}, false, release
		}
		left := time.Until(deadline)
		if left <= 0 {
			c.log.WarnContext(ctx, "collateral fetch lock still held by another process; fetching", "key", ShownURL(key), "waited", c.lockTimeout)
			return Entry{}, false, nil
		}
		if err := sleep(ctx, min(delay, left)); err != nil {
			return Entry{}, false, nil // the fetch then fails on ctx
		}
		delay = min(2*delay, lockPollMax)
		if e, ok := fresh(); ok {
			return e, true, nil
		}
	}
}
