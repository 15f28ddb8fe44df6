package collateral

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/trustfactory/attest/verify"
)

// ErrNotFound marks an error for a source that answered that the item does not
// exist (HTTP 404). It is never retried. Errors matching it also match
// verify.ErrCollateral.
var ErrNotFound = errors.New("collateral not found")

// Defaults used by HTTPFetcher for zero fields.
const (
	DefaultTimeout       = 20 * time.Second
	DefaultMaxRetries    = 3
	DefaultMinBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff    = 8 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultMaxBodyBytes  = 8 << 20
	DefaultUserAgent     = "attest-collateral/1"
)

// Response is a fetched item.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Fetcher gets a URL. HTTPFetcher is the production one; tests use httptest
// servers (through an HTTPFetcher) or their own in-memory Fetcher.
type Fetcher interface {
	Fetch(ctx context.Context, url string) (*Response, error)
}

// HTTPFetcher fetches collateral over HTTP(S) with GET (Fetch) or POST
// (Post, for idempotent queries). Each attempt is
// bounded by Timeout. Network errors, stalls, 408, 429 and 5xx are retried
// up to MaxRetries times, waiting an exponential back-off with jitter or, when
// the server sends Retry-After (seconds or an HTTP date), that long capped at
// MaxRetryAfter; a wait that would pass ctx's deadline is not started. A 404
// is reported at once as ErrNotFound; other statuses fail at once; a body
// over MaxBodyBytes fails with verify.ErrLimit.
//
// Redirects are never followed, whatever Client says: vendor collateral
// services answer directly, and a followed redirect could lead a fetch to
// another host, from https to http, or round a loop of requests. A 3xx
// answer is one failed fetch of kind verify.ErrCollateral, not retried, whose
// error names the status and the redirect target. Point the base URL of a
// source at the final location instead.
//
// Zero fields take the Default* values; the zero HTTPFetcher is ready to use.
// Its fields are read on first use and must not be changed afterwards (nor
// may an HTTPFetcher be copied once used). Validate reports contradictory
// fields; every fetch fails with its error too. It is safe for concurrent
// use.
type HTTPFetcher struct {
	// Client sends the requests; nil means a client of the fetcher's own,
	// with a clone of http.DefaultTransport using TLSConfig. The fetcher
	// uses a copy of Client with its own redirect policy (none followed).
	Client *http.Client
	// TLSConfig configures TLS for the fetcher's own client, for example a
	// RootCAs pool holding the CA of an on-premises PCCS, or client
	// certificates. It is cloned on first use. Setting it together with
	// Client is a contradiction (verify.ErrConfig): configure the TLS of
	// Client's transport instead.
	TLSConfig *tls.Config
	// Timeout bounds each attempt, body included.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt; zero means
	// DefaultMaxRetries, a negative value means no retry.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential back-off between
	// attempts (each wait is drawn at random in its upper half, for jitter).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps the wait a server may ask for with Retry-After.
	MaxRetryAfter time.Duration
	// MaxBodyBytes caps a response body; a larger one fails with verify.ErrLimit.
	MaxBodyBytes int64
	// UserAgent is sent with every request (default DefaultUserAgent).
	// Setting a User-Agent in Header as well is a contradiction.
	UserAgent string
	// Header holds extra request headers (for example a PCCS or RIM service
	// API key); they are never logged.
	Header http.Header
	// Logger receives retries at debug level; nil means silent.
	Logger *slog.Logger
	// Observer receives one FetchEvent per attempt (status, Retry-After,
	// bytes, duration), for metrics; nil means none, at no cost.
	Observer FetchObserver

	once   sync.Once
	client *http.Client // Client or the fetcher's own, never following redirects
	err    error        // Validate's answer, fixed on first use
}

// Validate reports a contradiction between the fields, with kind
// verify.ErrConfig: TLSConfig with Client, a User-Agent both in UserAgent
// and Header, MinBackoff above MaxBackoff, or a negative Timeout,
// MaxBodyBytes, MaxRetryAfter or back-off. Sources call it when they are
// built, so that a misconfigured fetcher fails at construction.
func (f *HTTPFetcher) Validate() error {
	f.once.Do(f.setup)
	return f.err
}

// setup checks the fields and builds the client, once.
func (f *HTTPFetcher) setup() {
	switch {
	case f.Client != nil && f.TLSConfig != nil:
		f.err = verify.Errorf(verify.ErrConfig, "collateral HTTPFetcher: both Client and TLSConfig are set; configure the TLS of Client's transport instead")
	case f.UserAgent != "" && f.Header.Get("User-Agent") != "":
		f.err = verify.Errorf(verify.ErrConfig, "collateral HTTPFetcher: User-Agent set twice: UserAgent %q, Header %q", f.UserAgent, f.Header.Get("User-Agent"))
	case f.Timeout < 0 || f.MaxBodyBytes < 0 || f.MaxRetryAfter < 0 || f.MinBackoff < 0 || f.MaxBackoff < 0:
		f.err = verify.Errorf(verify.ErrConfig, "collateral HTTPFetcher: negative bound: Timeout %v, MaxBodyBytes %d, MaxRetryAfter %v, MinBackoff %v, MaxBackoff %v", f.Timeout, f.MaxBodyBytes, f.MaxRetryAfter, f.MinBackoff, f.MaxBackoff)
	case f.MinBackoff > 0 && f.MaxBackoff > 0 && f.MinBackoff > f.MaxBackoff:
		f.err = verify.Errorf(verify.ErrConfig, "collateral HTTPFetcher: MinBackoff %v above MaxBackoff %v", f.MinBackoff, f.MaxBackoff)
	}
	if f.err != nil {
		return
	}
	var c http.Client
	if f.Client != nil {
		c = *f.Client // a copy: the caller's client keeps its own redirect policy
	} else {
		t, ok := http.DefaultTransport.(*http.Transport)
		if ok {
			t = t.Clone()
		} else { // replaced by the program: start from the usual settings
			t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
		}
		if f.TLSConfig != nil {
			t.TLSClientConfig = f.TLSConfig.Clone()
		}
		c.Transport = t
	}
	c.CheckRedirect = refuseRedirect
	f.client = &c
}

// CloseIdleConnections closes the idle connections of the fetcher's client,
// for example when the fetcher is dropped.
func (f *HTTPFetcher) CloseIdleConnections() {
	if f.Validate() == nil {
		f.client.CloseIdleConnections()
	}
}

// refuseRedirect makes the client hand back a 3xx answer instead of following it.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// retryable marks an attempt error that a later attempt may not repeat.
type retryable struct {
	err        error
	retryAfter time.Duration // zero: use the back-off
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// Fetch gets rawURL, retrying transient failures. It returns the response of
// the first 2xx answer. A 404 fails at once with an error matching ErrNotFound
// and verify.ErrCollateral; a body larger than MaxBodyBytes fails with
// verify.ErrLimit; any other failure, after the retries, with
// verify.ErrCollateral. Cancelling ctx stops the retries and any wait, with
// an error of kind verify.ErrCanceled.
func (f *HTTPFetcher) Fetch(ctx context.Context, rawURL string) (*Response, error) {
	return f.do(ctx, request{method: http.MethodGet, url: rawURL})
}

// Poster sends a query with POST, for sources that must (an OCSP responder
// need not support GET). HTTPFetcher is one.
type Poster interface {
	Post(ctx context.Context, url, contentType string, body []byte) (*Response, error)
}

// Post sends body with POST and the given Content-Type, under the same
// rules as Fetch: retries, back-off, Retry-After, caps and redaction. Only
// for idempotent queries (an OCSP request), since a retry sends it again.
func (f *HTTPFetcher) Post(ctx context.Context, rawURL, contentType string, body []byte) (*Response, error) {
	return f.do(ctx, request{method: http.MethodPost, url: rawURL, contentType: contentType, body: body})
}

// request is one logical request, sent again on each attempt.
type request struct {
	method, url, contentType string
	body                     []byte
}

func (f *HTTPFetcher) do(ctx context.Context, rq request) (*Response, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rawURL := rq.url
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return nil, verify.Errorf(verify.ErrConfig, "collateral URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, verify.Errorf(verify.ErrConfig, "collateral URL %q: expected an http or https URL with a host, got scheme %q host %q", u.Redacted(), u.Scheme, u.Host)
	}
	// Errors and logs never show a password from the URL.
	shown := rq.method + " " + u.Redacted()
	retries := f.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}
	log := f.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for attempt := 0; ; attempt++ {
		resp, err := f.observed(ctx, rq, shown, u.Host, attempt+1)
		if err == nil {
			return resp, nil
		}
		var r *retryable
		if !errors.As(err, &r) {
			return nil, err
		}
		if cerr := verify.Canceled(ctx, shown); cerr != nil {
			return nil, fmt.Errorf("%w (last attempt: %w)", cerr, r.err)
		}
		if attempt >= retries {
			return nil, verify.Errorf(verify.ErrCollateral, "%s: giving up after %d attempts: %w", shown, attempt+1, r.err)
		}
		wait := f.backoff(attempt)
		if r.retryAfter > 0 {
			wait = min(r.retryAfter, f.maxRetryAfter())
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, verify.Errorf(verify.ErrCollateral, "%s: next attempt in %v would pass the deadline: %w", shown, wait, r.err)
		}
		log.DebugContext(ctx, "collateral fetch retry", "request", shown, "attempt", attempt+1, "wait", wait, "err", r.err)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (last attempt: %w)", verify.Canceled(ctx, shown), r.err)
		}
	}
}

// observed makes one attempt and reports it to the Observer, if any.
func (f *HTTPFetcher) observed(ctx context.Context, rq request, shown, host string, n int) (*Response, error) {
	if f.Observer == nil {
		resp, _, err := f.attempt(ctx, rq, shown)
		return resp, err
	}
	start := time.Now()
	resp, code, err := f.attempt(ctx, rq, shown)
	e := FetchEvent{Method: rq.method, Host: host, Attempt: n, StatusCode: code, Duration: time.Since(start), Err: err}
	var r *retryable
	if errors.As(err, &r) {
		e.RetryAfter = r.retryAfter
	}
	switch {
	case err == nil:
		e.Result, e.Bytes = FetchOK, int64(len(resp.Body))
	case code == http.StatusNotFound:
		e.Result = FetchNotFound
	case code == http.StatusTooManyRequests:
		e.Result = FetchRateLimited
	default:
		e.Result = FetchError
	}
	f.Observer.ObserveFetch(ctx, e)
	return resp, err
}

// attempt makes one request and returns the response, the HTTP status (0:
// no answer) and the error. Errors worth retrying come back as *retryable.
func (f *HTTPFetcher) attempt(ctx context.Context, rq request, shown string) (*Response, int, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var payload io.Reader
	if rq.body != nil {
		payload = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, rq.url, payload)
	if err != nil {
		return nil, 0, verify.Errorf(verify.ErrConfig, "%s: %w", shown, err)
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	ua := f.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType) // after Header, which must not double it
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			// The server's certificate will not verify on the next try either.
			return nil, 0, verify.Errorf(verify.ErrCollateral, "%s: %w", shown, err)
		}
		return nil, 0, &retryable{err: fmt.Errorf("%s: %w", shown, err)}
	}
	defer func() {
		// Drain a little so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
		resp.Body.Close()
	}()

	switch code := resp.StatusCode; {
	case code == http.StatusNotFound:
		return nil, resp.StatusCode, verify.Errorf(verify.ErrCollateral, "%s: status %d: %w", shown, code, ErrNotFound)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		var after time.Duration
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			// A zero wait means "now"; still pause for the back-off.
			after = d
		}
		return nil, resp.StatusCode, &retryable{err: fmt.Errorf("%s: status %d", shown, code), retryAfter: after}
	case code >= 300 && code <= 399:
		// Not followed (see HTTPFetcher): one failed fetch, not retried.
		return nil, resp.StatusCode, verify.Errorf(verify.ErrCollateral, "%s: status %d: redirect to %s not followed", shown, code, shownLocation(resp.Header.Get("Location")))
	case code < 200 || code > 299:
		return nil, resp.StatusCode, verify.Errorf(verify.ErrCollateral, "%s: expected status 2xx, got %d", shown, code)
	}

	max := f.MaxBodyBytes
	if max <= 0 {
		max = DefaultMaxBodyBytes
	}
	if resp.ContentLength > max {
		return nil, resp.StatusCode, verify.Errorf(verify.ErrLimit, "%s: body of %d bytes exceeds the cap of %d", shown, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, resp.StatusCode, &retryable{err: fmt.Errorf("%s: reading body: %w", shown, err)}
	}
	if int64(len(body)) > max {
		return nil, resp.StatusCode, verify.Errorf(verify.ErrLimit, "%s: body exceeds the cap of %d bytes", shown, max)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: body}, resp.StatusCode, nil
}

// shownLocation is a redirect target for an error: without a password, and
// bounded, since the server chose it.
func shownLocation(loc string) string {
	if loc == "" {
		return "(no Location)"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(unparsable Location)"
	}
	shown := u.Redacted()
	const max = 256
	if len(shown) > max {
		shown = shown[:max] + "…"
	}
	return fmt.Sprintf("%q", shown)
}

func (f *HTTPFetcher) maxRetryAfter() time.Duration {
	if f.MaxRetryAfter > 0 {
		return f.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

// backoff returns the wait before retry number attempt+1: MinBackoff doubled
// per attempt, capped at MaxBackoff, drawn at random in [d/2, d].
func (f *HTTPFetcher) backoff(attempt int) time.Duration {
	lo, hi := f.MinBackoff, f.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	if hi < lo {
		hi = lo
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// drainBytes is how much of an unread body is discarded before closing.
const drainBytes = 4 << 10

// maxRetryAfterSeconds bounds a parsed Retry-After so that it cannot overflow.
const maxRetryAfterSeconds = 365 * 24 * 3600

// ParseRetryAfter parses an HTTP Retry-After value, either delay seconds or an
// HTTP date, into the wait from now. A date in the past gives zero. It reports
// false for an empty or invalid value. Callers cap the result.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		return parseSeconds(v, maxRetryAfterSeconds*time.Second)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return min(d, maxRetryAfterSeconds*time.Second), true
}
