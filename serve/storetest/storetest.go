// Package storetest checks that a serve.Store keeps its contract: one
// winner among concurrent takes of a nonce, used and unknown nonces told
// apart, caller nonces accepted once, versioned documents, change
// notifications. Store implementations run it from their tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/serve"
)

// Run runs every check on stores made by newStore (a fresh, empty store
// each call, or one whose keys do not collide with earlier calls').
func Run(t *testing.T, newStore func(t *testing.T) serve.Store) {
	t.Run("TakeOnce", func(t *testing.T) { TakeOnce(t, newStore(t)) })
	t.Run("Documents", func(t *testing.T) { Documents(t, newStore(t)) })
	t.Run("Watch", func(t *testing.T) { Watch(t, newStore(t)) })
}

// TakeOnce issues a nonce and takes it from 64 goroutines: exactly one gets
// its meta, the others ErrNonceUsed; a nonce never issued is
// ErrNonceUnknown; a caller nonce is accepted once.
func TakeOnce(t *testing.T, s serve.Store) {
	ctx := context.Background()
	if err := s.IssueNonce(ctx, "n1", []byte("meta"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.IssueNonce(ctx, "n1", nil, time.Minute); !errors.Is(err, serve.ErrNonceExists) {
		t.Fatalf("second issue of one nonce: %v, expected ErrNonceExists", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins [][]byte
	var others []error
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := s.TakeNonce(ctx, "n1", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins = append(wins, m)
			} else {
				others = append(others, err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 || string(wins[0]) != "meta" {
		t.Fatalf("64 concurrent takes: %d winners %q, expected 1 with the meta", len(wins), wins)
	}
	for _, err := range others {
		if !errors.Is(err, serve.ErrNonceUsed) {
			t.Fatalf("losing take: %v, expected ErrNonceUsed", err)
		}
	}
	if _, err := s.TakeNonce(ctx, "never-issued", time.Minute); !errors.Is(err, serve.ErrNonceUnknown) {
		t.Fatalf("take of a nonce never issued: %v, expected ErrNonceUnknown", err)
	}
	if err := s.UseNonce(ctx, "caller", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx, "caller", time.Minute); !errors.Is(err, serve.ErrNonceUsed) {
		t.Fatalf("second use of a caller nonce: %v, expected ErrNonceUsed", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// Documents checks versions: each put is the next version, Document returns
// the last, an absent document is ErrNotFound.
func Documents(t *testing.T, s serve.Store) {
	ctx := context.Background()
	if _, err := s.Document(ctx, "absent"); !errors.Is(err, serve.ErrNotFound) {
		t.Fatalf("absent document: %v, expected ErrNotFound", err)
	}
	for i := int64(1); i <= 3; i++ {
		v, err := s.PutDocument(ctx, "doc", fmt.Appendf(nil, "body %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if v != i {
			t.Fatalf("put %d: version %d", i, v)
		}
	}
	d, err := s.Document(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 || string(d.Body) != "body 3" {
		t.Fatalf("document: version %d %q, expected 3 %q", d.Version, d.Body, "body 3")
	}
	// Concurrent writers: no version lost or given twice.
	var wg sync.WaitGroup
	seen := make(chan int64, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.PutDocument(ctx, "race", []byte("x"))
			if err != nil {
				t.Error(err)
				return
			}
			seen <- v
		}()
	}
	wg.Wait()
	close(seen)
	got := map[int64]bool{}
	for v := range seen {
		if got[v] {
			t.Fatalf("version %d given twice", v)
		}
		got[v] = true
	}
	if len(got) != 32 || !got[1] || !got[32] {
		t.Fatalf("32 concurrent puts: versions %v", got)
	}
}

// Watch subscribes and writes until a notification naming the document
// arrives, then cancels the watch.
func Watch(t *testing.T, s serve.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 64)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func(name string) { got <- name }) }()
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		// The subscription starts asynchronously: write until one is seen.
		if _, err := s.PutDocument(context.Background(), "watched", []byte("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-got:
			seen = n == "watched"
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no change notification within 10 s")
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watch ended with %v, expected context.Canceled", err)
	}
}
