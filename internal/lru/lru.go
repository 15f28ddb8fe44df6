// Package lru is a small, bounded, concurrency-safe least-recently-used cache
// for verified objects (certificate chains, parsed collateral, verified RIMs).
// Entries may carry an expiry that Get checks against the caller's time. Get
// checks nothing else: an object that is also not valid before some instant
// (a certificate's notBefore) must have that checked by the caller on a hit,
// since callers may verify at earlier times than the one that filled the entry.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache is a bounded LRU map from K to V. The zero value is not usable; call New.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key      K
	val      V
	notAfter time.Time // zero: no expiry
}

// New returns a cache holding at most max entries (at least 1).
func New[K comparable, V any](max int) *Cache[K, V] {
	if max < 1 {
		max = 1
	}
	return &Cache[K, V]{max: max, ll: list.New(), items: make(map[K]*list.Element)}
}

// Get returns the value for k if present and, when it has an expiry, now is
// not after it. An expired entry is removed. A zero now cannot be checked
// against an expiry, so an entry that has one is not returned for it (and
// stays cached for callers that give a time).
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !e.notAfter.IsZero() && now.IsZero() {
		return zero, false
	}
	if !e.notAfter.IsZero() && now.After(e.notAfter) {
		c.ll.Remove(el)
		delete(c.items, k)
		return zero, false
	}
	c.ll.MoveToFront(el)
	return e.val, true
}

// Add stores v under k until notAfter (zero: no expiry), evicting the least
// recently used entry when full.
func (c *Cache[K, V]) Add(k K, v V, notAfter time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*entry[K, V])
		e.val, e.notAfter = v, notAfter
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&entry[K, V]{key: k, val: v, notAfter: notAfter})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*entry[K, V]).key)
	}
}

// Remove deletes k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.ll.Remove(el)
		delete(c.items, k)
	}
}

// Len returns the number of entries, expired ones included until touched.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
