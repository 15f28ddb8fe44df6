// Package storetest checks that a serve.Store keeps its contract: one
// nonce secret that every caller agrees on, one winner among concurrent
// uses of a nonce, a use refused under a secret the store no longer has,
// caller nonces accepted once, used nonces forgotten after their TTL,
// versioned documents, compare-and-set writes that lose no concurrent
// update, change notifications. Store implementations run it
// from their tests.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	t.Run("DocumentsIf", func(t *testing.T) { DocumentsIf(t, newStore(t)) })
	t.Run("BoundedSet", func(t *testing.T) { BoundedSet(t, newStore(t)) })
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

// DocumentsIf checks compare-and-set writes: version 0 creates an absent
// document, a stale version is ErrVersionConflict and stores nothing, and
// of 32 concurrent writers naming the current version exactly one wins.
func DocumentsIf(t *testing.T, s serve.Store) {
	ctx := context.Background()
	if _, err := s.PutDocumentIf(ctx, "cas", []byte("a"), 1); !errors.Is(err, serve.ErrVersionConflict) {
		t.Fatalf("PutDocumentIf version 1 of an absent document: %v, expected ErrVersionConflict", err)
	}
	v, err := s.PutDocumentIf(ctx, "cas", []byte("a"), 0)
	if err != nil || v != 1 {
		t.Fatalf("PutDocumentIf version 0 of an absent document: version %d, %v; expected 1", v, err)
	}
	if _, err := s.PutDocumentIf(ctx, "cas", []byte("b"), 0); !errors.Is(err, serve.ErrVersionConflict) {
		t.Fatalf("PutDocumentIf version 0 of a present document: %v, expected ErrVersionConflict", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins []string
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf("w%d", i)
			_, err := s.PutDocumentIf(ctx, "cas", []byte(body), 1)
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, body)
				mu.Unlock()
			case !errors.Is(err, serve.ErrVersionConflict):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("32 concurrent PutDocumentIf on version 1: %d won (%v), expected exactly 1", len(wins), wins)
	}
	d, err := s.Document(ctx, "cas")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 2 || string(d.Body) != wins[0] {
		t.Fatalf("after the race: version %d %q, expected 2 %q (the winner's)", d.Version, d.Body, wins[0])
	}
}

// BoundedSet adds members to a set document (a JSON array) from 24
// goroutines at once, each a read and a PutDocumentIf retried on
// conflict, as the service keeps its policy index: with room for all,
// every member is present; with room for 16, exactly 16 are, and exactly
// the 16 adds that reported success.
func BoundedSet(t *testing.T, s serve.Store) {
	const n = 24
	for _, limit := range []int{64, 16} {
		name := fmt.Sprintf("set-%d", limit)
		added := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := addBounded(s, name, fmt.Sprintf("m%02d", i), limit)
				if err != nil {
					t.Error(err)
				}
				added[i] = ok
			}()
		}
		wg.Wait()
		d, err := s.Document(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		var members []string
		if err := json.Unmarshal(d.Body, &members); err != nil {
			t.Fatal(err)
		}
		if want := min(n, limit); len(members) != want {
			t.Fatalf("%d concurrent bounded adds, limit %d: %d members %v, expected %d", n, limit, len(members), members, want)
		}
		for i, ok := range added {
			if ok != slices.Contains(members, fmt.Sprintf("m%02d", i)) {
				t.Fatalf("limit %d: member m%02d reported added=%v, present in %v", limit, i, ok, members)
			}
		}
	}
}

// addBounded adds member to the set document name unless it holds limit
// members already, with a compare-and-set retried on conflict (each
// conflict is another writer's success, so it ends).
func addBounded(s serve.Store, name, member string, limit int) (bool, error) {
	ctx := context.Background()
	for range 4 * limit {
		var members []string
		var version int64
		d, err := s.Document(ctx, name)
		switch {
		case errors.Is(err, serve.ErrNotFound):
		case err != nil:
			return false, err
		default:
			version = d.Version
			if err := json.Unmarshal(d.Body, &members); err != nil {
				return false, err
			}
		}
		if slices.Contains(members, member) {
			return true, nil
		}
		if len(members) >= limit {
			return false, nil
		}
		b, _ := json.Marshal(append(members, member))
		_, err = s.PutDocumentIf(ctx, name, b, version)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, serve.ErrVersionConflict) {
			return false, err
		}
	}
	return false, fmt.Errorf("adding %s to %s: still conflicting after %d tries", member, name, 4*limit)
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
