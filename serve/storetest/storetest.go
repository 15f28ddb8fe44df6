// Package storetest checks that a serve.Store keeps its contract: one
// nonce secret that every caller agrees on, one winner among concurrent
// uses of a nonce, a use refused under a secret the store no longer has,
// caller nonces accepted once, used nonces forgotten after their TTL,
// versioned documents, change notifications. Store implementations run it
// from their tests.
package storetest

import (
	"bytes"
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
	t.Run("Secret", func(t *testing.T) { Secret(t, newStore(t)) })
	t.Run("UseOnce", func(t *testing.T) { UseOnce(t, newStore(t)) })
	t.Run("Forget", func(t *testing.T) { Forget(t, newStore(t)) })
	t.Run("Documents", func(t *testing.T) { Documents(t, newStore(t)) })
	t.Run("Watch", func(t *testing.T) { Watch(t, newStore(t)) })
}

// Secret asks for the nonce secret from 16 goroutines at once on a fresh
// store: all get the same secret of at least serve.MinNonceSecretSize
// bytes, and so does a later call.
func Secret(t *testing.T, s serve.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([][]byte, 16)
	errs := make([]error, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.NonceSecret(ctx)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(got[i]) < serve.MinNonceSecretSize || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("concurrent NonceSecret calls: %d-byte secret %x, first caller got %x (all must agree, at least %d bytes)",
				len(got[i]), got[i], got[0], serve.MinNonceSecretSize)
		}
	}
	again, err := s.NonceSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, got[0]) {
		t.Fatalf("NonceSecret changed between calls: %x, then %x", got[0], again)
	}
}

// UseOnce uses one nonce from 64 goroutines: exactly one succeeds, the
// others get ErrNonceUsed, as does a later use. A use under a secret that
// is not the store's is ErrSecretChanged and records nothing. A caller
// nonce (nil secret) is accepted once.
func UseOnce(t *testing.T, s serve.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	secret, err := s.NonceSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	var others []error
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.UseNonce(ctx, "n1", secret, time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				others = append(others, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("64 concurrent uses of one nonce: %d succeeded, expected 1", wins)
	}
	for _, err := range others {
		if !errors.Is(err, serve.ErrNonceUsed) {
			t.Fatalf("losing use: %v, expected ErrNonceUsed", err)
		}
	}
	if err := s.UseNonce(ctx, "n1", secret, time.Minute); !errors.Is(err, serve.ErrNonceUsed) {
		t.Fatalf("later use of a used nonce: %v, expected ErrNonceUsed", err)
	}

	other := bytes.Repeat([]byte{0x5a}, serve.MinNonceSecretSize)
	if err := s.UseNonce(ctx, "n2", other, time.Minute); !errors.Is(err, serve.ErrSecretChanged) {
		t.Fatalf("use under another secret: %v, expected ErrSecretChanged", err)
	}
	if err := s.UseNonce(ctx, "n2", secret, time.Minute); err != nil {
		t.Fatalf("use after a refused use under another secret: %v, expected success (the refused use records nothing)", err)
	}

	if err := s.UseNonce(ctx, "caller", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx, "caller", nil, time.Minute); !errors.Is(err, serve.ErrNonceUsed) {
		t.Fatalf("second use of a caller nonce: %v, expected ErrNonceUsed", err)
	}
}

// Forget checks that a used nonce is forgotten once its TTL has passed (a
// service nonce has expired by then, so nothing needs the record).
func Forget(t *testing.T, s serve.Store) {
	ctx := context.Background()
	if err := s.UseNonce(ctx, "brief", nil, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.UseNonce(ctx, "brief", nil, time.Minute)
		if err == nil {
			return
		}
		if !errors.Is(err, serve.ErrNonceUsed) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("a nonce used with a 50 ms TTL was still remembered 10 s later")
		}
		time.Sleep(20 * time.Millisecond)
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
