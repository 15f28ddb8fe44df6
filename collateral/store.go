package collateral

import (
	"container/list"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Entry is a cached item: raw bytes plus the instant after which it must be
// refreshed (a CRL's nextUpdate, a certificate's notAfter, a response's
// expiry), checked against the caller's time.
type Entry struct {
	Data      []byte
	Header    http.Header
	NotAfter  time.Time
	FetchedAt time.Time
}

// clone returns a deep copy of e, so that no two holders share Data or Header.
func (e Entry) clone() Entry {
	if e.Data != nil {
		e.Data = append([]byte(nil), e.Data...)
	}
	e.Header = e.Header.Clone()
	return e
}

// size is the memory an entry is accounted for in a MemoryStore.
func (e Entry) size(key string) int64 {
	n := int64(len(key)) + int64(len(e.Data))
	for k, vs := range e.Header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v))
		}
	}
	return n
}

// Store is where entries live: an interface so that a fleet of verifiers can
// share one store. Implementations must be safe for concurrent use and must
// not share memory between what they keep and the entries passed to Put or
// returned by Get (callers own those). A store does not judge validity: it returns
// entries whatever their NotAfter, so that a Cache can serve them stale.
type Store interface {
	// Get returns the entry for key and whether there is one.
	Get(ctx context.Context, key string) (Entry, bool, error)
	// Put stores e under key, replacing any previous entry.
	Put(ctx context.Context, key string, e Entry) error
}

// Deleter is implemented by stores that can drop an entry; Cache.Invalidate
// uses it.
type Deleter interface {
	Delete(ctx context.Context, key string) error
}

// Defaults used by NewMemoryStore for non-positive bounds.
const (
	DefaultMaxEntries = 4096
	DefaultMaxBytes   = 64 << 20
)

// MemoryStore is an in-process Store: a least-recently-used map bounded both
// in entries and in bytes (key, data and header). Create it with
// NewMemoryStore; it is safe for concurrent use.
type MemoryStore struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	ll         *list.List // front: most recently used; values are *memItem
	items      map[string]*list.Element
}

type memItem struct {
	key  string
	e    Entry
	size int64
}

// NewMemoryStore returns a MemoryStore holding at most maxEntries entries and
// maxBytes bytes; a non-positive bound takes DefaultMaxEntries or
// DefaultMaxBytes.
func NewMemoryStore(maxEntries int, maxBytes int64) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &MemoryStore{maxEntries: maxEntries, maxBytes: maxBytes, ll: list.New(), items: make(map[string]*list.Element)}
}

// Get returns a copy of the entry for key and marks it recently used.
func (s *MemoryStore) Get(_ context.Context, key string) (Entry, bool, error) {
	s.mu.Lock()
	el, ok := s.items[key]
	if !ok {
		s.mu.Unlock()
		return Entry{}, false, nil
	}
	s.ll.MoveToFront(el)
	e := el.Value.(*memItem).e
	s.mu.Unlock()
	// The stored Data and Header are never modified in place, so copying
	// outside the lock is safe.
	return e.clone(), true, nil
}

// Put stores a copy of e under key, evicting least recently used entries
// until both bounds hold. An entry larger than the byte bound on its own is
// refused with verify.ErrLimit (and any previous entry for key is dropped).
func (s *MemoryStore) Put(_ context.Context, key string, e Entry) error {
	size := e.size(key)
	if size > s.maxBytes {
		s.remove(key)
		return verify.Errorf(verify.ErrLimit, "collateral store: entry %q of %d bytes exceeds the store's cap of %d", key, size, s.maxBytes)
	}
	e = e.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		it := el.Value.(*memItem)
		s.bytes += size - it.size
		it.e, it.size = e, size
		s.ll.MoveToFront(el)
	} else {
		s.items[key] = s.ll.PushFront(&memItem{key: key, e: e, size: size})
		s.bytes += size
	}
	for s.ll.Len() > s.maxEntries || s.bytes > s.maxBytes {
		s.removeElement(s.ll.Back())
	}
	return nil
}

// Delete drops the entry for key, if any.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.remove(key)
	return nil
}

func (s *MemoryStore) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		s.removeElement(el)
	}
}

// Len returns the number of entries and the bytes they are accounted for.
func (s *MemoryStore) Len() (entries int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len(), s.bytes
}

func (s *MemoryStore) removeElement(el *list.Element) {
	it := el.Value.(*memItem)
	s.ll.Remove(el)
	delete(s.items, it.key)
	s.bytes -= it.size
}
