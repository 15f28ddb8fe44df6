package collateral

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkCacheGetWarm measures a cache hit on a real PCK CRL. It reports
// x-baseline against fetching the same bytes from a loopback server on every
// call (what a verifier without a cache does, the best case of a network
// round trip) and x-floor against one ECDSA P-256 verification, the
// uncacheable work of a verification (spec/performance.md).
func BenchmarkCacheGetWarm(b *testing.B) {
	crl := readFile(b, "pck_crl.der")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=86400")
		w.Write(crl)
	}))
	defer srv.Close()
	f := &HTTPFetcher{MaxRetries: -1}
	ctx := context.Background()
	url := srv.URL + "/pckcrl"

	// Sub-measurements are timed in-line: testing.Benchmark cannot run inside
	// a running benchmark (it waits for the lock the outer one holds).
	baseline := timePerOp(200, func() {
		if _, err := f.Fetch(ctx, url); err != nil {
			b.Fatal(err)
		}
	})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("quote"))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
	floor := timePerOp(200, func() {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			b.Fatal("verify failed")
		}
	})

	c := NewCache(CacheOptions{})
	fetch := FetchFunc(f, url, pinned, nil)
	if _, _, err := c.Get(ctx, url, pinned, fetch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		e, _, err := c.Get(ctx, url, pinned, fetch)
		if err != nil || len(e.Data) != len(crl) {
			b.Fatal(err)
		}
	}
	ours := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(baseline/ours, "x-baseline")
	b.ReportMetric(ours/floor, "x-floor")
}

// BenchmarkCacheGetParallel measures hits from all cores on a working set of
// keys, for lock contention.
func BenchmarkCacheGetParallel(b *testing.B) {
	c := NewCache(CacheOptions{})
	ctx := context.Background()
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("https://pcs.example/tcb?fmspc=", i)
		fetch := func(context.Context) (Entry, error) {
			return Entry{Data: make([]byte, 4096), NotAfter: pinned.Add(time.Hour)}, nil
		}
		if _, _, err := c.Get(ctx, keys[i], pinned, fetch); err != nil {
			b.Fatal(err)
		}
	}
	miss := func(context.Context) (Entry, error) { return Entry{}, errors.New("unexpected miss") }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := c.Get(ctx, keys[i%len(keys)], pinned, miss); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// timePerOp returns the mean nanoseconds of n calls of op.
func timePerOp(n int, op func()) float64 {
	start := time.Now()
	for range n {
		op()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}
