package collateral

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// fastFetcher returns a fetcher whose waits are short enough for tests. Its
// per-attempt timeout stays generous: on a loaded machine under -race a TLS
// handshake to a loopback server can take longer than half a second, and an
// attempt that times out is retried, which would change the hit counts the
// tests assert. Tests of stalls set their own short timeout.
func fastFetcher() *HTTPFetcher {
	return &HTTPFetcher{
		Timeout:       10 * time.Second,
		MaxRetries:    2,
		MinBackoff:    time.Millisecond,
		MaxBackoff:    4 * time.Millisecond,
		MaxRetryAfter: 50 * time.Millisecond,
		MaxBodyBytes:  1024,
	}
}

// countingTransport counts the requests sent through it.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// server starts an httptest server running h and counting its hits.
func server(t *testing.T, h func(w http.ResponseWriter, r *http.Request, hit int)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, int(hits.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestFetchOK(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if got := r.Header.Get("User-Agent"); got != "attest-test" {
			t.Errorf("User-Agent: expected attest-test, got %q", got)
		}
		w.Header().Set("X-Test", "1")
		w.Write([]byte("collateral bytes"))
	})
	f := fastFetcher()
	f.UserAgent = "attest-test"
	resp, err := f.Fetch(context.Background(), srv.URL+"/tcb")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(resp.Body) != "collateral bytes" || resp.Header.Get("X-Test") != "1" {
		t.Fatalf("unexpected response %d %q %v", resp.StatusCode, resp.Body, resp.Header)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}
}

func TestFetchRetriesServerErrorThenSucceeds(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, hit int) {
		if hit < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	resp, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "ok" || hits.Load() != 3 {
		t.Fatalf("expected body ok after 3 hits, got %q after %d", resp.Body, hits.Load())
	}
}

func TestFetchServerErrorGivesUp(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	resp, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if resp != nil || !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("expected ErrCollateral and no response, got %v, %v", resp, err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatalf("a 500 must not look like absence: %v", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("error should name the status: %v", err)
	}
	if hits.Load() != 3 { // first attempt + MaxRetries 2
		t.Fatalf("hits: expected 3, got %d", hits.Load())
	}
}

func TestFetchNotFoundIsNotRetried(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.NotFound(w, r)
	})
	_, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("expected ErrNotFound and ErrCollateral, got %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}
}

func TestFetchOtherClientErrorIsNotRetried(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Error(w, "no", http.StatusForbidden)
	})
	_, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if !errors.Is(err, verify.ErrCollateral) || errors.Is(err, ErrNotFound) {
		t.Fatalf("expected ErrCollateral without ErrNotFound, got %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}
}

func TestFetchRateLimitedRetryAfterZero(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, hit int) {
		if hit == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	})
	resp, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "ok" || hits.Load() != 2 {
		t.Fatalf("expected ok after 2 hits, got %q after %d", resp.Body, hits.Load())
	}
}

func TestFetchRetryAfterIsHonouredAndCapped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		value  func() string
	}{
		{"seconds", http.StatusTooManyRequests, func() string { return "1" }},
		{"date", http.StatusTooManyRequests, func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }},
		{"huge", http.StatusTooManyRequests, func() string { return "99999999999999999999999" }},
		{"503 seconds", http.StatusServiceUnavailable, func() string { return "2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var last atomic.Int64
			var maxGap atomic.Int64
			srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, hit int) {
				now := time.Now().UnixNano()
				if prev := last.Swap(now); prev != 0 {
					maxGap.Store(max(maxGap.Load(), now-prev))
				}
				if hit == 1 {
					w.Header().Set("Retry-After", tc.value())
					http.Error(w, "slow down", tc.status)
					return
				}
				w.Write([]byte("ok"))
			})
			f := fastFetcher()
			f.MaxRetryAfter = 150 * time.Millisecond
			start := time.Now()
			if _, err := f.Fetch(context.Background(), srv.URL); err != nil {
				t.Fatal(err)
			}
			if hits.Load() != 2 {
				t.Fatalf("hits: expected 2, got %d", hits.Load())
			}
			// The server asked for at least a second; the fetcher waits the cap,
			// which is far longer than its own back-off (≤ 4 ms).
			if gap := time.Duration(maxGap.Load()); gap < 150*time.Millisecond {
				t.Errorf("wait between attempts: expected ≥ 150ms (the cap), got %v", gap)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("wait was not capped: %v", el)
			}
		})
	}
}

func TestFetchStallTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	// Attempts are counted where they start, in the client: on a loaded
	// machine a 30 ms attempt can time out before the server sees it.
	var attempts atomic.Int64
	f := fastFetcher()
	f.Client = &http.Client{Transport: countingTransport{next: http.DefaultTransport, n: &attempts}}
	f.Timeout = 30 * time.Millisecond
	f.MaxRetries = 1
	_, err := f.Fetch(context.Background(), srv.URL)
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expected ErrCollateral wrapping a deadline, got %v", err)
	}
	if attempts.Load() != 2 {
		t.Fatalf("attempts: expected 2 (stalls are retried), got %d", attempts.Load())
	}
}

func TestFetchStallInBodyTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	f := fastFetcher()
	f.Timeout = 30 * time.Millisecond
	f.MaxRetries = -1
	_, err := f.Fetch(context.Background(), srv.URL)
	if !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("expected ErrCollateral, got %v", err)
	}
}

func TestFetchOversizeBody(t *testing.T) {
	for _, declared := range []bool{true, false} {
		t.Run("declared="+strconv.FormatBool(declared), func(t *testing.T) {
			srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				body := strings.Repeat("A", 1025)
				if declared {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				} else {
					w.(http.Flusher).Flush() // chunked: no length known up front
				}
				w.Write([]byte(body))
			})
			_, err := fastFetcher().Fetch(context.Background(), srv.URL)
			if !errors.Is(err, verify.ErrLimit) {
				t.Fatalf("expected ErrLimit, got %v", err)
			}
			if hits.Load() != 1 {
				t.Fatalf("hits: expected 1 (a cap is not retried), got %d", hits.Load())
			}
		})
	}
}

func TestFetchBodyAtCap(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Write([]byte(strings.Repeat("A", 1024)))
	})
	resp, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if err != nil || len(resp.Body) != 1024 {
		t.Fatalf("expected 1024 bytes, got %v", err)
	}
}

func TestFetchGarbageIsPassedThrough(t *testing.T) {
	// The fetcher moves bytes; judging them is the caller's job.
	garbage := []byte{0x00, 0xff, 0x30, 0x82, 0xde, 0xad}
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Write(garbage)
	})
	resp, err := fastFetcher().Fetch(context.Background(), srv.URL)
	if err != nil || string(resp.Body) != string(garbage) {
		t.Fatalf("expected the garbage bytes back, got %x, %v", resp.Body, err)
	}
}

func TestFetchContextCancelledDuringBackoff(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Error(w, "boom", http.StatusBadGateway)
	})
	f := fastFetcher()
	f.MinBackoff, f.MaxBackoff = time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for hits.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := f.Fetch(ctx, srv.URL)
	if !errors.Is(err, verify.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("expected ErrCanceled wrapping Canceled, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("cancellation did not interrupt the back-off")
	}
}

func TestFetchDeadlineShorterThanBackoffFailsAtOnce(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Error(w, "boom", http.StatusBadGateway)
	})
	f := fastFetcher()
	f.MinBackoff, f.MaxBackoff = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := f.Fetch(ctx, srv.URL)
	if !errors.Is(err, verify.ErrCollateral) || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("expected ErrCollateral about the deadline, got %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}
}

func TestFetchAlreadyCancelled(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Write([]byte("ok"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fastFetcher().Fetch(ctx, srv.URL)
	if !errors.Is(err, verify.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("expected ErrCanceled wrapping Canceled, got %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("hits: expected 0, got %d", hits.Load())
	}
}

func TestFetchConnectionRefusedIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	_, err := fastFetcher().Fetch(context.Background(), url)
	if !errors.Is(err, verify.ErrCollateral) || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("expected ErrCollateral after 3 attempts, got %v", err)
	}
}

func TestFetchBadURL(t *testing.T) {
	for _, u := range []string{"", "file:///etc/passwd", "ftp://x/y", "http://", "::", "https:///path"} {
		_, err := fastFetcher().Fetch(context.Background(), u)
		if !errors.Is(err, verify.ErrConfig) {
			t.Errorf("%q: expected ErrConfig, got %v", u, err)
		}
	}
}

func TestFetchZeroValueFetcher(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get("User-Agent") != DefaultUserAgent {
			t.Errorf("User-Agent: expected %q, got %q", DefaultUserAgent, r.Header.Get("User-Agent"))
		}
		w.Write([]byte("ok"))
	})
	var f HTTPFetcher
	resp, err := f.Fetch(context.Background(), srv.URL)
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("expected ok, got %v", err)
	}
}

func TestBackoffBounds(t *testing.T) {
	f := &HTTPFetcher{MinBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond}
	for attempt, hi := range []time.Duration{10, 20, 40, 80, 80, 80} {
		hi *= time.Millisecond
		for range 50 {
			d := f.backoff(attempt)
			if d < hi/2 || d > hi {
				t.Fatalf("attempt %d: back-off %v outside [%v, %v]", attempt, d, hi/2, hi)
			}
		}
	}
	if d := f.backoff(1000); d > 80*time.Millisecond {
		t.Fatalf("attempt 1000: back-off %v above the cap", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{" 5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", maxRetryAfterSeconds * time.Second, true},
		{"9999999999", maxRetryAfterSeconds * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},
		{"Friday, 02-Jan-26 03:04:35 GMT", 30 * time.Second, true}, // RFC 850
		{"Fri Jan  2 03:04:35 2026", 30 * time.Second, true},       // asctime
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Fri, 02 Jan 2026 25:04:35 GMT", 0, false},
	} {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q): expected %v %v, got %v %v", tc.in, tc.want, tc.ok, got, ok)
		}
	}
}

func TestFetchUntrustedTLSIsNotRetried(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok"))
	}))
	// The server's own log line about the failed handshake is noise here.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	f := fastFetcher() // default client: the test server's certificate is not trusted
	_, err := f.Fetch(context.Background(), srv.URL)
	var certErr *tls.CertificateVerificationError
	if !errors.Is(err, verify.ErrCollateral) || !errors.As(err, &certErr) {
		t.Fatalf("expected ErrCollateral with a certificate error, got %v", err)
	}
	if strings.Contains(err.Error(), "giving up") {
		t.Fatalf("a certificate failure must not be retried: %v", err)
	}
	// With the server's certificate in TLSConfig's root pool the same fetch
	// succeeds (a fetcher's fields are fixed at first use: a new one).
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f = fastFetcher()
	f.TLSConfig = &tls.Config{RootCAs: pool}
	if resp, err := f.Fetch(context.Background(), srv.URL); err != nil || string(resp.Body) != "ok" {
		t.Fatalf("trusted: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits: expected 1, got %d", hits.Load())
	}
}

func TestFetchErrorsHidePasswords(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		// The credentials still reach the server.
		if user, pass, ok := r.BasicAuth(); !ok || user != "user" || pass != "hunter2" {
			t.Errorf("basic auth: got %q %q %v", user, pass, ok)
		}
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	for _, raw := range []string{u, "ftp://user:hunter2@host/x", "http://user:hunter2@host/%zz"} {
		_, err := fastFetcher().Fetch(context.Background(), raw)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password or is nil: %v", raw, err)
		}
	}
}

func TestFetchCompressedBombHitsCap(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(make([]byte, 1<<20)) // 1 MiB of zeros, about 1 KiB compressed
	zw.Close()
	bomb := buf.Bytes()
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("expected the transport to offer gzip, got %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(bomb)))
		w.Write(bomb)
	})
	f := fastFetcher() // cap 1024 bytes, checked on the decompressed stream
	_, err := f.Fetch(context.Background(), srv.URL)
	if !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("expected ErrLimit, got %v", err)
	}
	if !strings.Contains(err.Error(), "body exceeds the cap") {
		t.Fatalf("expected the cap to hit on the decompressed stream, got %v", err)
	}
}

func TestFetchRetryCounts(t *testing.T) {
	for _, tc := range []struct {
		maxRetries int
		hits       int64
	}{{-1, 1}, {0, 1 + DefaultMaxRetries}, {1, 2}, {4, 5}} {
		t.Run(strconv.Itoa(tc.maxRetries), func(t *testing.T) {
			srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Error(w, "busy", http.StatusTooManyRequests) // no Retry-After: back-off
			})
			f := fastFetcher()
			f.MaxRetries = tc.maxRetries
			_, err := f.Fetch(context.Background(), srv.URL)
			if !errors.Is(err, verify.ErrCollateral) || !strings.Contains(err.Error(), "429") {
				t.Fatalf("expected ErrCollateral naming 429, got %v", err)
			}
			if hits.Load() != tc.hits {
				t.Fatalf("hits: expected %d, got %d", tc.hits, hits.Load())
			}
		})
	}
}

// A POST sends its body and content type again on every attempt, is retried
// like a GET, and its errors name the method and hide passwords.
func TestPostRetriesWithBody(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request, hit int) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/ocsp-request" || string(b) != "query" {
			t.Errorf("attempt %d: %s %q %q", hit, r.Method, r.Header.Get("Content-Type"), b)
		}
		if hit < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("answer"))
	})
	resp, err := fastFetcher().Post(context.Background(), srv.URL, "application/ocsp-request", []byte("query"))
	if err != nil || string(resp.Body) != "answer" || hits.Load() != 3 {
		t.Fatalf("got %v after %d hits: %v", resp, hits.Load(), err)
	}
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	f := fastFetcher()
	f.MaxRetries = -1
	hits.Store(0)
	_, err = f.Post(context.Background(), u, "application/ocsp-request", []byte("query"))
	if !errors.Is(err, verify.ErrCollateral) || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "POST ") {
		t.Fatalf("failed POST: %v", err)
	}
}

func TestHTTPFetcherValidate(t *testing.T) {
	tests := []struct {
		name string
		f    *HTTPFetcher
	}{
		{"client-and-tls", &HTTPFetcher{Client: &http.Client{}, TLSConfig: &tls.Config{}}},
		{"user-agent-twice", &HTTPFetcher{UserAgent: "a", Header: http.Header{"User-Agent": {"b"}}}},
		{"negative-timeout", &HTTPFetcher{Timeout: -time.Second}},
		{"negative-body-cap", &HTTPFetcher{MaxBodyBytes: -1}},
		{"backoff-inverted", &HTTPFetcher{MinBackoff: time.Second, MaxBackoff: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.f.Validate(), verify.ErrConfig)
			// Every fetch reports the same contradiction, before any request.
			_, err := tt.f.Fetch(context.Background(), "http://127.0.0.1:1/")
			require.ErrorIs(t, err, verify.ErrConfig)
		})
	}
	require.NoError(t, (&HTTPFetcher{}).Validate())
	require.NoError(t, (&HTTPFetcher{TLSConfig: &tls.Config{}, UserAgent: "u", Header: http.Header{"X-Api-Key": {"k"}}}).Validate())
}

// An on-premises PCCS: a private CA in TLSConfig, an API key header and a
// User-Agent of the caller's, all on the wire.
func TestFetchTLSRootsHeaderAndUserAgent(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "secret" || r.Header.Get("User-Agent") != "bank-kbs/2" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Write([]byte("collateral"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f := fastFetcher()
	f.TLSConfig = &tls.Config{RootCAs: pool}
	f.Header = http.Header{"X-Api-Key": {"secret"}}
	f.UserAgent = "bank-kbs/2"
	t.Cleanup(f.CloseIdleConnections)
	resp, err := f.Fetch(context.Background(), srv.URL)
	require.NoError(t, err)
	require.Equal(t, "collateral", string(resp.Body))

	// Without the header the server refuses: the header is what got through.
	g := fastFetcher()
	g.TLSConfig = &tls.Config{RootCAs: pool}
	g.UserAgent = "bank-kbs/2"
	t.Cleanup(g.CloseIdleConnections)
	_, err = g.Fetch(context.Background(), srv.URL)
	require.ErrorIs(t, err, verify.ErrCollateral)
}
