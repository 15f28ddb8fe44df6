package collateral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "1.5", "99999999999999999999",
		"Fri, 02 Jan 2026 03:04:35 GMT", "Friday, 02-Jan-26 03:04:35 GMT", "Fri Jan  2 03:04:35 2026", "soon"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if !ok && d != 0 {
			t.Fatalf("%q: not ok but %v", v, d)
		}
		if d < 0 || d > maxRetryAfterSeconds*time.Second {
			t.Fatalf("%q: wait %v out of bounds", v, d)
		}
	})
}

func FuzzNotAfterFromHeader(f *testing.F) {
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	// Headers as Intel PCS, AMD KDS and NVIDIA's services send them.
	f.Add("public, max-age=86400", "", "", "")
	f.Add("max-age=3600", "120", "", "Tue, 01 Jul 2025 00:00:00 GMT")
	f.Add("", "", "Wed, 02 Jul 2025 00:00:00 GMT", "Tue, 01 Jul 2025 00:00:00 GMT")
	f.Add("no-cache", "", "0", "")
	f.Add("max-age=1, max-age=2", "x", "Fri, 01 Jan 2100 00:00:00 GMT", "bad")
	f.Fuzz(func(t *testing.T, cc, age, expires, date string) {
		h := http.Header{}
		for k, v := range map[string]string{"Cache-Control": cc, "Age": age, "Expires": expires, "Date": date} {
			if v != "" {
				h.Set(k, v)
			}
		}
		na, ok := NotAfterFromHeader(h, at)
		if !ok {
			if !na.IsZero() {
				t.Fatalf("not ok but %v", na)
			}
			return
		}
		if na.Before(at) || na.After(at.Add(maxFreshness)) {
			t.Fatalf("NotAfter %v outside [%v, %v]", na, at, at.Add(maxFreshness))
		}
	})
}

// FuzzCacheInvariants drives a Cache over a small store with a program of
// Gets at moving times against a source that succeeds, fails or returns
// expired items, and checks what may never happen: an entry served past its
// NotAfter unless marked stale within MaxStale, an entry with an error, store
// bounds broken.
func FuzzCacheInvariants(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0x10, 0x81, 0x42, 0xf3, 0x24, 0x95, 0x06, 0xe7})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 256 {
			prog = prog[:256]
		}
		const maxStale = 30 * time.Minute
		store := NewMemoryStore(3, 64)
		c := NewCache(CacheOptions{Store: store, MaxStale: maxStale})
		now := t0
		for i, op := range prog {
			now = now.Add(time.Duration(op>>4) * 7 * time.Minute)
			key := fmt.Sprint(op & 3)
			var fetch func(context.Context) (Entry, error)
			switch (op >> 2) & 3 {
			case 0:
				fetch = func(context.Context) (Entry, error) {
					return Entry{Data: make([]byte, int(op)%40), NotAfter: now.Add(time.Duration(op%5) * 10 * time.Minute)}, nil
				}
			case 1:
				fetch = func(context.Context) (Entry, error) { return Entry{}, errors.New("down") }
			case 2:
				fetch = func(context.Context) (Entry, error) {
					return Entry{Data: []byte("old"), NotAfter: now.Add(-time.Minute)}, nil
				}
			case 3:
				fetch = func(context.Context) (Entry, error) { return Entry{Data: []byte("x")}, nil }
			}
			e, stale, err := c.Get(context.Background(), key, now, fetch)
			switch {
			case err != nil:
				if e.Data != nil || stale || verify.KindOf(err) == nil {
					t.Fatalf("op %d: error %v with entry %q stale=%v", i, err, e.Data, stale)
				}
			case stale:
				if !now.After(e.NotAfter) || now.After(e.NotAfter.Add(maxStale)) {
					t.Fatalf("op %d: stale entry (NotAfter %v) served at %v", i, e.NotAfter, now)
				}
			default:
				if now.After(e.NotAfter) || e.NotAfter.IsZero() {
					t.Fatalf("op %d: expired entry (NotAfter %v) served fresh at %v", i, e.NotAfter, now)
				}
			}
			if n, b := store.Len(); n > 3 || b > 64 {
				t.Fatalf("op %d: store bounds broken: %d entries, %d bytes", i, n, b)
			}
		}
	})
}

// FuzzDirStoreGet: whatever an entry file holds (a truncated write by
// another program, a file copied by hand), Get returns an entry of that key,
// no entry, or an error; it never panics.
func FuzzDirStoreGet(f *testing.F) {
	f.Add([]byte(`{"key":"k","data":"YWJj","notAfter":"2025-07-01T12:00:00Z","fetchedAt":"2025-07-01T11:00:00Z"}`))
	f.Add([]byte(`{"key":"k","data":null,"header":{"A":["b"]}}`))
	f.Add([]byte(`{"key":"other"}`))
	f.Add([]byte(`{`))
	dir := f.TempDir()
	s, err := NewDirStore(dir, 0, 1<<16)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, fileName("k")), b, 0o600); err != nil {
			t.Fatal(err)
		}
		e, ok, err := s.Get(context.Background(), "k")
		if err != nil && ok {
			t.Fatalf("an error and an entry: %v", err)
		}
		if !ok && (e.Data != nil || !e.NotAfter.IsZero()) {
			t.Fatalf("no entry, yet %+v", e)
		}
	})
}
