package collateral_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/trustfactory/attest/collateral"
)

// A verifier asks the cache for an item at its verification time; the cache
// fetches over HTTP only when the stored copy has expired.
func ExampleCache_Get() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprint(w, "signed collateral")
	}))
	defer srv.Close()

	fetcher := &collateral.HTTPFetcher{Timeout: 5 * time.Second, MaxRetries: 2}
	cache := collateral.NewCache(collateral.CacheOptions{MaxStale: 24 * time.Hour})
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) // verify.Expectations.Now

	// In a verifier, pass a notAfter function that parses and verifies the
	// bytes and returns their own nextUpdate; nil falls back to the headers.
	for _, at := range []time.Time{now, now.Add(30 * time.Minute)} {
		e, stale, err := cache.Get(context.Background(), srv.URL, at, collateral.FetchFunc(fetcher, srv.URL, at, nil))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s, stale=%v, until %s\n", e.Data, stale, e.NotAfter.Format(time.RFC3339))
	}
	// Output:
	// signed collateral, stale=false, until 2025-07-01T01:00:00Z
	// signed collateral, stale=false, until 2025-07-01T01:00:00Z
}

// HTTPFetcher separates "absent" from "unavailable".
func ExampleHTTPFetcher_Fetch() {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()

	_, err := (&collateral.HTTPFetcher{}).Fetch(context.Background(), srv.URL+"/vcek")
	fmt.Println(errors.Is(err, collateral.ErrNotFound))
	// Output: true
}
