package collateral

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// GEN-06: a redirect is never followed. Each case counts the requests every
// server involved received: exactly one, to the first, whatever the 3xx
// leads to, and the fetch fails once with ErrCollateral (not retried: a
// retrying fetcher would show more than one hit).
func TestGEN06RedirectsAreNotFollowed(t *testing.T) {
	var target atomic.Int64 // hits on the host a redirect points to
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.Add(1)
		w.Write([]byte("from elsewhere"))
	}))
	t.Cleanup(other.Close)

	tests := []struct {
		name     string
		tls      bool
		location func(self string) string
		status   int
	}{
		{"loop", false, func(self string) string { return self + "/again" }, http.StatusFound},
		{"loop-permanent", false, func(self string) string { return self + "/again" }, http.StatusPermanentRedirect},
		{"cross-host", false, func(string) string { return other.URL + "/tcb" }, http.StatusMovedPermanently},
		{"https-to-http", true, func(string) string { return other.URL + "/tcb" }, http.StatusTemporaryRedirect},
		{"same-host-https", true, func(self string) string { return self + "/moved" }, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.Store(0)
			var hits atomic.Int64
			var self string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				http.Redirect(w, r, tt.location(self), tt.status)
			})
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			t.Cleanup(srv.Close)
			self = srv.URL
			f := fastFetcher()
			if tt.tls {
				pool := x509.NewCertPool()
				pool.AddCert(srv.Certificate())
				f.TLSConfig = &tls.Config{RootCAs: pool}
			}
			_, err := f.Fetch(context.Background(), srv.URL+"/tcb")
			require.ErrorIs(t, err, verify.ErrCollateral)
			require.NotErrorIs(t, err, ErrNotFound)
			require.Contains(t, err.Error(), "not followed")
			require.NotContains(t, err.Error(), "giving up", "a redirect is not retried")
			require.Equal(t, int64(1), hits.Load(), "requests to the redirecting server")
			require.Equal(t, int64(0), target.Load(), "requests to the redirect target")
		})
	}
}

// A caller's own http.Client, which would follow redirects, is used without
// its redirect policy; the caller's client itself is left as it was.
func TestGEN06CallerClientDoesNotFollow(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	client := srv.Client()
	f := fastFetcher()
	f.Client = client
	_, err := f.Fetch(context.Background(), srv.URL)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.Equal(t, int64(1), hits.Load())
	require.Nil(t, client.CheckRedirect, "the caller's client is not modified")

	// The same loop through a default net/http client: the cost avoided.
	hits.Store(0)
	_, err = client.Get(srv.URL)
	require.Error(t, err)
	require.Equal(t, int64(10), hits.Load())
}

// The redirect target named in the error carries no password.
func TestGEN06RedirectErrorRedactsLocation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://user:hunter2@mirror.example/"+strings.Repeat("x", 1000))
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	_, err := fastFetcher().Fetch(context.Background(), srv.URL)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.NotContains(t, err.Error(), "hunter2")
	require.Contains(t, err.Error(), "mirror.example")
	require.Less(t, len(err.Error()), 600)
}
