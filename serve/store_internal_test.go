package serve

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

// A MemoryStore at its bound refuses uses only while it holds that many
// unexpired markers, and does work proportional to the markers that
// expire, never to the markers it holds: a flood of refused uses at the
// bound examines none, and expiry examines each marker once.
func TestMemoryStoreFloodExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemoryStore(func() time.Time { return now })
	m.max = 1 << 12
	for i := range m.max {
		ttl := time.Hour
		if i%2 == 1 {
			ttl = time.Minute
		}
		if err := m.UseNonce(ctx, fmt.Sprint("n", i), nil, ttl); err != nil {
			t.Fatalf("use %d of %d: %v", i, m.max, err)
		}
	}
	for i := range 1000 {
		if err := m.UseNonce(ctx, fmt.Sprint("flood", i), nil, time.Minute); !errors.Is(err, verify.ErrLimit) {
			t.Fatalf("use at the bound of %d unexpired markers: %v, expected ErrLimit", m.max, err)
		}
	}
	if m.examined != 0 {
		t.Fatalf("1000 refused uses at the bound examined %d markers, expected 0 (none expired)", m.examined)
	}
	if err := m.UseNonce(ctx, "n0", nil, time.Minute); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("used nonce at the bound: %v, expected ErrNonceUsed", err)
	}

	now = now.Add(2 * time.Minute) // the odd half expires
	for i := range 1000 {
		if err := m.UseNonce(ctx, fmt.Sprint("after", i), nil, time.Minute); err != nil {
			t.Fatalf("use %d after half the markers expired: %v", i, err)
		}
	}
	if want := uint64(m.max / 2); m.examined != want {
		t.Fatalf("1000 uses after %d markers expired examined %d markers, expected %d (each expired one once)", m.max/2, m.examined, want)
	}
	if got, want := m.Len(), m.max/2+1000; got != want {
		t.Fatalf("remembered %d markers, expected %d", got, want)
	}
	if err := m.UseNonce(ctx, "n1", nil, time.Minute); err != nil {
		t.Fatalf("an expired nonce used again: %v, expected success", err)
	}
	if err := m.UseNonce(ctx, "n1", nil, time.Minute); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("the same nonce a second time: %v, expected ErrNonceUsed", err)
	}
	if err := m.UseNonce(ctx, "n2", nil, time.Minute); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("a nonce of the unexpired half: %v, expected ErrNonceUsed", err)
	}
}

// A clock that goes back leaves a marker re-set in the heap twice: the
// older entry, popped first, must not forget the newer marker.
func TestMemoryStoreClockBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemoryStore(func() time.Time { return now })
	if err := m.UseNonce(ctx, "a", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := m.UseNonce(ctx, "a", nil, time.Hour); err != nil {
		t.Fatal(err) // expired: accepted again, now until +1h
	}
	now = now.Add(time.Minute)
	if err := m.UseNonce(ctx, "a", nil, time.Hour); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("a nonce re-used within its new TTL: %v, expected ErrNonceUsed", err)
	}
	if m.Len() != 1 || len(m.expiries) != 1 {
		t.Fatalf("%d markers, %d heap entries; expected 1 and 1", m.Len(), len(m.expiries))
	}
}

// BenchmarkMemoryStoreAtBound uses nonces on a store holding
// MaxMemoryNonces-1 unexpired markers, each use's marker expiring before
// the next: every use runs at the bound.
func BenchmarkMemoryStoreAtBound(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemoryStore(func() time.Time { return now })
	for i := range MaxMemoryNonces - 1 {
		if err := m.UseNonce(ctx, fmt.Sprint("n", i), nil, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Microsecond)
		if err := m.UseNonce(ctx, fmt.Sprint("b", i), nil, time.Nanosecond); err != nil {
			b.Fatal(err)
		}
	}
}
