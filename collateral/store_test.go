package collateral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

func put(t *testing.T, s *MemoryStore, key, data string) {
	t.Helper()
	if err := s.Put(context.Background(), key, Entry{Data: []byte(data), NotAfter: t0}); err != nil {
		t.Fatal(err)
	}
}

func has(s *MemoryStore, key string) bool {
	_, ok, _ := s.Get(context.Background(), key)
	return ok
}

func TestMemoryStoreEntryBound(t *testing.T) {
	s := NewMemoryStore(3, 1<<20)
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	put(t, s, "c", "3")
	has(s, "a") // a is now the most recently used; b the least
	put(t, s, "d", "4")
	if has(s, "b") {
		t.Fatal("b should have been evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if !has(s, k) {
			t.Fatalf("%s should be present", k)
		}
	}
	if n, _ := s.Len(); n != 3 {
		t.Fatalf("entries: expected 3, got %d", n)
	}
}

func TestMemoryStoreByteBound(t *testing.T) {
	// Each entry is accounted key (1) + data (9) = 10 bytes.
	s := NewMemoryStore(100, 25)
	put(t, s, "a", "123456789")
	put(t, s, "b", "123456789")
	if n, b := s.Len(); n != 2 || b != 20 {
		t.Fatalf("expected 2 entries of 20 bytes, got %d, %d", n, b)
	}
	put(t, s, "c", "123456789")
	if has(s, "a") || !has(s, "b") || !has(s, "c") {
		t.Fatal("a should have been evicted by the byte bound")
	}
	// Replacing an entry re-accounts its size.
	put(t, s, "c", "1")
	if _, b := s.Len(); b != 12 {
		t.Fatalf("bytes after replacement: expected 12, got %d", b)
	}
	// Headers count: d is key 1 + data 1 + "X-Long" 6 + value 10 = 18 bytes,
	// so b (the least recently used) must go.
	h := http.Header{"X-Long": {strings.Repeat("h", 10)}}
	if err := s.Put(context.Background(), "d", Entry{Data: []byte("x"), Header: h}); err != nil {
		t.Fatal(err)
	}
	if _, b := s.Len(); b != 20 {
		t.Fatalf("bytes: expected 20, got %d", b)
	}
	if has(s, "b") || !has(s, "c") || !has(s, "d") {
		t.Fatal("header bytes were not accounted")
	}
}

func TestMemoryStoreOversizeEntry(t *testing.T) {
	s := NewMemoryStore(10, 16)
	put(t, s, "k", "small")
	err := s.Put(context.Background(), "k", Entry{Data: make([]byte, 16)})
	if !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("expected ErrLimit, got %v", err)
	}
	if has(s, "k") {
		t.Fatal("the previous entry for an oversize key must be dropped, not left to look current")
	}
	if n, b := s.Len(); n != 0 || b != 0 {
		t.Fatalf("expected an empty store, got %d entries, %d bytes", n, b)
	}
}

func TestMemoryStoreCopies(t *testing.T) {
	s := NewMemoryStore(0, 0)
	data := []byte("abc")
	h := http.Header{"A": {"1"}}
	if err := s.Put(context.Background(), "k", Entry{Data: data, Header: h, NotAfter: t0}); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X'
	h.Set("A", "2")
	e, _, _ := s.Get(context.Background(), "k")
	if string(e.Data) != "abc" || e.Header.Get("A") != "1" || !e.NotAfter.Equal(t0) {
		t.Fatalf("store kept the caller's memory: %q %v", e.Data, e.Header)
	}
	e.Data[0] = 'Y'
	e.Header.Set("A", "3")
	e2, _, _ := s.Get(context.Background(), "k")
	if string(e2.Data) != "abc" || e2.Header.Get("A") != "1" {
		t.Fatalf("Get returned the store's memory: %q %v", e2.Data, e2.Header)
	}
}

func TestMemoryStoreDefaults(t *testing.T) {
	s := NewMemoryStore(-1, -1)
	if s.maxEntries != DefaultMaxEntries || s.maxBytes != DefaultMaxBytes {
		t.Fatalf("defaults: got %d, %d", s.maxEntries, s.maxBytes)
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	s := NewMemoryStore(16, 1<<10)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint((g*7 + i) % 40)
				if i%3 == 0 {
					_ = s.Delete(context.Background(), k)
				}
				_ = s.Put(context.Background(), k, Entry{Data: make([]byte, i%50), NotAfter: t0.Add(time.Duration(i))})
				if e, ok, _ := s.Get(context.Background(), k); ok && len(e.Data) > 50 {
					t.Errorf("bad entry size %d", len(e.Data))
				}
			}
		}()
	}
	wg.Wait()
	n, b := s.Len()
	if n > 16 || b > 1<<10 {
		t.Fatalf("bounds broken: %d entries, %d bytes", n, b)
	}
	// The byte count matches what is stored.
	var sum int64
	for el := s.ll.Front(); el != nil; el = el.Next() {
		it := el.Value.(*memItem)
		sum += it.e.size(it.key)
	}
	if sum != b {
		t.Fatalf("accounted %d bytes, stored %d", b, sum)
	}
}
