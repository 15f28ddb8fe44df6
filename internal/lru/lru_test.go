package lru

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](2)
	now := time.Unix(1000, 0)
	c.Add("a", 1, time.Time{})
	c.Add("b", 2, time.Time{})
	if _, ok := c.Get("a", now); !ok { // a is now most recent
		t.Fatal("a missing")
	}
	c.Add("c", 3, time.Time{})
	if _, ok := c.Get("b", now); ok {
		t.Fatal("b should have been evicted")
	}
	if v, ok := c.Get("a", now); !ok || v != 1 {
		t.Fatalf("a = %d,%v", v, ok)
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
}

func TestExpiryIsCheckedAgainstCallerTime(t *testing.T) {
	c := New[int, string](4)
	exp := time.Unix(2000, 0)
	c.Add(1, "x", exp)
	if _, ok := c.Get(1, exp); !ok {
		t.Fatal("entry must be valid at its expiry instant")
	}
	if _, ok := c.Get(1, exp.Add(time.Second)); ok {
		t.Fatal("entry must be gone after expiry")
	}
	if c.Len() != 0 {
		t.Fatal("expired entry not removed")
	}
}

func TestConcurrentUseStaysBounded(t *testing.T) {
	c := New[string, int](16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := strconv.Itoa(g*1000 + i%40)
				c.Add(k, i, time.Time{})
				c.Get(k, time.Time{})
				if i%7 == 0 {
					c.Remove(k)
				}
			}
		}(g)
	}
	wg.Wait()
	if n := c.Len(); n > 16 {
		t.Fatalf("cache grew to %d entries, bound is 16", n)
	}
}

func TestZeroTimeNeverServesExpiringEntry(t *testing.T) {
	c := New[string, int](4)
	c.Add("expiring", 1, time.Unix(2000, 0))
	c.Add("forever", 2, time.Time{})
	// A caller without a time cannot check an expiry: the entry must not be
	// served, however far past its expiry the real time is.
	if v, ok := c.Get("expiring", time.Time{}); ok {
		t.Fatalf("entry with an expiry served for the zero time: %d", v)
	}
	if v, ok := c.Get("forever", time.Time{}); !ok || v != 2 {
		t.Fatalf("entry without expiry: got %d,%v, want 2,true", v, ok)
	}
	if _, ok := c.Get("expiring", time.Unix(1999, 0)); !ok {
		t.Fatal("a zero-time lookup must not drop an entry that is still valid for timed callers")
	}
}

func TestAddReplacesExpiry(t *testing.T) {
	c := New[string, int](2)
	c.Add("k", 1, time.Unix(1000, 0))
	c.Add("k", 2, time.Unix(3000, 0))
	if v, ok := c.Get("k", time.Unix(2000, 0)); !ok || v != 2 {
		t.Fatalf("got %d,%v after re-adding with a later expiry, want 2,true", v, ok)
	}
	c.Add("k", 3, time.Unix(1000, 0))
	if v, ok := c.Get("k", time.Unix(2000, 0)); ok {
		t.Fatalf("got %d after re-adding with an earlier expiry, want a miss", v)
	}
}
