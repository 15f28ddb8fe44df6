package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// downStore is a Store that fails every call while down is set, with an
// error naming an internal address, as a Redis client's does.
type downStore struct {
	serve.Store
	down atomic.Bool
}

const internalAddr = "10.9.8.7:6379"

func (d *downStore) err() error {
	return fmt.Errorf("redis use script: dial tcp %s: connect: connection refused", internalAddr)
}

func (d *downStore) NonceSecret(ctx context.Context) ([]byte, error) {
	if d.down.Load() {
		return nil, d.err()
	}
	return d.Store.NonceSecret(ctx)
}

func (d *downStore) UseNonce(ctx context.Context, n string, secret []byte, ttl time.Duration) error {
	if d.down.Load() {
		return d.err()
	}
	return d.Store.UseNonce(ctx, n, secret, ttl)
}

func (d *downStore) Ping(ctx context.Context) error {
	if d.down.Load() {
		return d.err()
	}
	return d.Store.Ping(ctx)
}

// A store that fails is a 503 whose Retry-After is Config.RetryAfter
// (before: always 1 s, whatever was configured) and whose answer does not
// name the store's address (before: the Redis error, address included,
// went to any unauthenticated caller); the log has the error under the
// request id.
func TestStoreDownAnswers(t *testing.T) {
	var logs syncBuffer
	st := &downStore{Store: serve.NewMemoryStore(nil)}
	w := newWorld(t, func(c *serve.Config) {
		c.Store = st
		c.RetryAfter = 7 * time.Second
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	body := w.asRequest(t, w.challenge(t), testbed.KBSEdits{})
	st.down.Store(true)
	for _, tc := range []struct {
		method, path string
		body         []byte
	}{
		{http.MethodPost, "/challenge", nil},
		{http.MethodPost, "/attestation", body},
	} {
		rec := w.do(t, tc.method, tc.path, tc.body, "X-Request-Id", "req-"+strings.Trim(tc.path, "/"))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s: %s", tc.path, rec.Body.String())
		assert.Equal(t, "7", rec.Header().Get("Retry-After"), tc.path)
		assert.NotContains(t, rec.Body.String(), internalAddr, tc.path)
		assert.Contains(t, rec.Body.String(), "store unavailable", tc.path)
	}
	rec := w.do(t, http.MethodGet, "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotContains(t, rec.Body.String(), internalAddr)
	assert.Contains(t, logs.String(), internalAddr)
	assert.Contains(t, logs.String(), `"request_id":"req-attestation"`)

	// Back up: the nonce was never consumed, so the same request attests.
	st.down.Store(false)
	rec = w.do(t, http.MethodPost, "/attestation", body)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// Retry-After is whole seconds rounded up, never 0.
func TestRetryAfterRounding(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Millisecond:        "1",
		time.Second:             "1",
		1500 * time.Millisecond: "2",
		time.Minute:             "60",
	} {
		st := &downStore{Store: serve.NewMemoryStore(nil)}
		w := newWorld(t, func(c *serve.Config) { c.Store = st; c.RetryAfter = d })
		st.down.Store(true)
		rec := w.do(t, http.MethodPost, "/challenge", nil)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, want, rec.Header().Get("Retry-After"), "%v", d)
	}
}

// The method label of attest_http_requests_total takes the standard
// methods and "other": before, every method a caller invented (any token
// is a valid method) added series to /metrics without bound.
func TestMetricsMethodLabelBounded(t *testing.T) {
	w := newWorld(t, nil)
	for i := range 50 {
		rec := w.do(t, fmt.Sprintf("X%04d", i), "/healthz", nil)
		require.NotEqual(t, http.StatusOK, rec.Code)
	}
	w.do(t, "X0000", "/no-such-route", nil)
	require.Equal(t, http.StatusOK, w.do(t, http.MethodGet, "/healthz", nil).Code)
	m := w.do(t, http.MethodGet, "/metrics", nil).Body.String()
	assert.NotContains(t, m, `method="X00`)
	var n int
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, "attest_http_requests_total{") && strings.Contains(line, `method="other"`) {
			var v int
			_, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			require.NoError(t, err)
			n += v
		}
	}
	assert.Equal(t, 51, n)
	assert.Contains(t, m, `attest_http_requests_total{code="200",method="GET",route="GET /healthz"}`)
}

// rawGet sends GET path on c (keep-alive) and returns the response.
func rawGet(t *testing.T, c net.Conn, path string) *http.Response {
	t.Helper()
	_, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// Serve holds at most MaxConnections connections: one more is answered
// 503 with Retry-After and closed, and is served again once a slot frees.
// Before, http.Server took any number of connections (each a goroutine
// and its buffers), idle ones and those on routes MaxInFlight does not
// cover included.
func TestConnectionLimit(t *testing.T) {
	w := newWorld(t, func(c *serve.Config) { c.MaxInFlight = 1; c.MaxConnections = 2; c.RetryAfter = 3 * time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.srv.Serve(ctx, ln) }()
	addr := ln.Addr().String()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		return c
	}
	held := []net.Conn{dial(), dial()}
	for _, c := range held {
		require.Equal(t, http.StatusOK, rawGet(t, c, "/healthz").StatusCode)
	}
	extra := dial()
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"))
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(b), "limit 2")
	_ = extra.Close()

	require.NoError(t, held[0].Close())
	require.Eventually(t, func() bool {
		c := dial()
		defer c.Close()
		_, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond, "a freed slot serves again")
	m := rawGet(t, held[1], "/metrics")
	require.Equal(t, http.StatusOK, m.StatusCode)
	_ = held[1].Close()
	metrics := w.do(t, http.MethodGet, "/metrics", nil).Body.String()
	assert.Contains(t, metrics, `attest_http_rejected_total{reason="connections"}`)
	cancel()
	require.NoError(t, <-served)
}

// A connection bound below MaxInFlight, or negative, is a contradiction.
func TestConnectionLimitConfig(t *testing.T) {
	bed := sharedBed(t)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "k")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	for _, c := range []serve.Config{
		{MaxConnections: -1},
		{MaxConnections: 10},                  // below the default MaxInFlight, 64
		{MaxConnections: 10, MaxInFlight: 11}, // below MaxInFlight
	} {
		c.Registry, c.Signer, c.Store = reg, signer, serve.NewMemoryStore(nil)
		_, err := serve.New(context.Background(), c)
		require.ErrorIs(t, err, verify.ErrConfig, "%d/%d", c.MaxConnections, c.MaxInFlight)
	}
}

// The admin token: the scheme is case-insensitive and may be followed by
// several spaces (RFC 9110, RFC 6750: "bearer <token>" was refused
// before); a token in the query string, another scheme, a token that
// differs in one byte, a prefix or an extension of it are all refused.
func TestAdminAuthorizationVariants(t *testing.T) {
	w := newWorld(t, nil)
	for _, tc := range []struct {
		header string
		code   int
	}{
		{"Bearer " + adminToken, http.StatusOK},
		{"bearer " + adminToken, http.StatusOK},
		{"BEARER " + adminToken, http.StatusOK},
		{"Bearer   " + adminToken, http.StatusOK},
		{"", http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer" + adminToken, http.StatusUnauthorized},
		{"Basic " + adminToken, http.StatusUnauthorized},
		{"Bearer " + adminToken[:len(adminToken)-1], http.StatusUnauthorized},
		{"Bearer " + adminToken + "x", http.StatusUnauthorized},
		{"Bearer " + adminToken[:len(adminToken)-1] + "X", http.StatusUnauthorized},
		{"Bearer " + adminToken + " " + adminToken, http.StatusUnauthorized},
	} {
		var hdr []string
		if tc.header != "" {
			hdr = []string{"Authorization", tc.header}
		}
		rec := w.do(t, http.MethodGet, "/reference-value", nil, hdr...)
		assert.Equal(t, tc.code, rec.Code, "%q: %s", tc.header, rec.Body.String())
	}
	for _, q := range []string{"access_token", "token", "admin_token"} {
		rec := w.do(t, http.MethodGet, "/reference-value?"+q+"="+adminToken, nil)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, q)
	}
}

// withNonce rewrites the primary's structured nonce of an attestation
// request: the evidence then binds another nonce than the one it claims.
func withNonce(t *testing.T, body []byte, nonce string) []byte {
	t.Helper()
	var req map[string]any
	require.NoError(t, json.Unmarshal(body, &req))
	vr := req["verification_requests"].([]any)[0].(map[string]any)
	vr["runtime_data"].(map[string]any)["structured"].(map[string]any)["nonce"] = nonce
	b, err := json.Marshal(req)
	require.NoError(t, err)
	return b
}

// With CallerNonces, a request whose evidence does not bind its nonce
// records nothing: before, every made-up nonce was remembered as used for
// an hour on arrival, so anyone could fill the store (a MemoryStore at its
// bound then refused every attestation with 503; a Redis grew without
// end). A request the appraisal vouches for records its nonce once: the
// replay and all but one of concurrent copies are refused.
func TestCallerNonceFloodStoresNothing(t *testing.T) {
	st := serve.NewMemoryStore(nil)
	w := newWorld(t, func(c *serve.Config) { c.Store = st; c.CallerNonces = true })
	genuine := w.asRequest(t, "kbs-owned-nonce-00000000000000000000000000", testbed.KBSEdits{})
	for i := range 20 {
		nonce := fmt.Sprintf("made-up-nonce-%030d", i)
		rec := w.do(t, http.MethodPost, "/attestation", withNonce(t, genuine, nonce))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, ear.StatusContraindicated, w.verifyToken(t, rec.Body.Bytes(), nonce).OverallStatus())
	}
	require.Zero(t, st.Len(), "markers of nonces nothing vouched for")

	recs := make([]int, 8)
	var wg sync.WaitGroup
	for i := range recs {
		wg.Go(func() { recs[i] = w.do(t, http.MethodPost, "/attestation", genuine).Code })
	}
	wg.Wait()
	slices.Sort(recs)
	require.Equal(t, []int{200, 409, 409, 409, 409, 409, 409, 409}, recs)
	require.Equal(t, 1, st.Len())
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", genuine), http.StatusConflict, "used", "nonce used")
}

// countingStore counts NonceSecret calls in flight and blocks them until
// released.
type countingStore struct {
	serve.Store
	block           chan struct{}
	inFlight, calls atomic.Int64
	maxInFlight     atomic.Int64
}

func (c *countingStore) NonceSecret(ctx context.Context) ([]byte, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	c.calls.Add(1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if c.block != nil {
		<-c.block
	}
	return c.Store.NonceSecret(ctx)
}

// Concurrent challenges share one read of the store's secret: before,
// each unauthenticated POST /challenge ran its own (a script on the Redis
// every replica shares), so a flood of challenges was a flood of scripts.
func TestChallengesShareSecretReads(t *testing.T) {
	st := &countingStore{Store: serve.NewMemoryStore(nil)}
	w := newWorld(t, func(c *serve.Config) { c.Store = st })
	st.block = make(chan struct{})
	const n = 32
	codes := make(chan int, n)
	for range n {
		go func() { codes <- w.do(t, http.MethodPost, "/challenge", nil).Code }()
	}
	require.Eventually(t, func() bool { return st.inFlight.Load() == 1 }, 10*time.Second, time.Millisecond)
	// Give the others time to arrive: they must join the read in flight,
	// not start their own.
	require.Never(t, func() bool { return st.inFlight.Load() > 1 }, 300*time.Millisecond, 5*time.Millisecond)
	close(st.block)
	for range n {
		require.Equal(t, http.StatusOK, <-codes)
	}
	assert.Equal(t, int64(1), st.maxInFlight.Load())
	assert.Less(t, st.calls.Load(), int64(n), "store reads for %d challenges", n)
}

// A client that sends its attestation body slowly does not hold an
// attestation slot while the server waits for its bytes: with MaxInFlight
// 1 and one body stalled mid-way, another attestation is served. Before,
// the slot was taken before the body was read, so MaxInFlight clients
// trickling their bodies turned every attestation away (503) for as long
// as the server waited.
func TestSlowBodyHoldsNoSlot(t *testing.T) {
	w := newWorld(t, func(c *serve.Config) { c.MaxInFlight = 1 })
	body := w.asRequest(t, w.challenge(t), testbed.KBSEdits{})
	pr, pw := io.Pipe()
	slow := httptest.NewRequest(http.MethodPost, "/attestation", pr)
	slow.ContentLength = int64(len(body))
	done := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, slow)
		done <- rec.Code
	}()
	_, err := pw.Write(body[:10]) // returns once the handler has read them
	require.NoError(t, err)

	rec := w.do(t, http.MethodPost, "/attestation", w.asRequest(t, w.challenge(t), testbed.KBSEdits{}))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	_, err = pw.Write(body[10:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.Equal(t, http.StatusOK, <-done)
}

// A body is read as it arrives, never ahead of it: a Content-Length the
// client does not keep allocates no more than the first chunk (before,
// the announced length was allocated whole at once, MaxBody per stalled
// connection). Short and long bodies are refused either way.
func TestBodyAllocationFollowsBytes(t *testing.T) {
	w := newWorld(t, nil)
	pr, pw := io.Pipe()
	req := httptest.NewRequest(http.MethodPost, "/attestation", pr)
	req.ContentLength = serve.DefaultMaxBody
	done := make(chan *httptest.ResponseRecorder, 1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	go func() {
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		done <- rec
	}()
	_, err := pw.Write([]byte(`{"verification_requests":`))
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(serve.DefaultMaxBody/2), "bytes allocated for a body of which 26 bytes came")
	require.NoError(t, pw.Close())
	rec := <-done
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "shorter than its Content-Length")

	long := httptest.NewRequest(http.MethodPost, "/attestation", strings.NewReader(`{"a":1}   `))
	long.ContentLength = 7
	rec = httptest.NewRecorder()
	w.h.ServeHTTP(rec, long)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "longer than its Content-Length")
}

// Policy ids and paths with traversal, escapes, NUL, unicode and 10 KB of
// id are refused (upload: 400 naming policy_id) or name no policy (read:
// 404, or the mux's redirect to the cleaned path, which is one too; a
// valid id such as "policies" is stored under "policy/policies", never
// the index document):
// through a real listener, so that the path is unescaped as in
// production. Nothing is stored under them.
func TestPolicyIDTricks(t *testing.T) {
	w := newWorld(t, withRego(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path string, body []byte) (int, string) {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	for _, id := range []string{"../default_cpu", "a/b", "a%2fb", "a\x00b", ".hidden", "ünïcode", "a b", strings.Repeat("a", 10<<10), "default_cpu\n"} {
		code, body := send(http.MethodPost, "/policy", upload(id, lowGPU))
		assert.Equal(t, http.StatusBadRequest, code, "%q: %s", id, body)
		assert.Contains(t, body, "policy_id", "%q", id)
	}
	for _, path := range []string{"/policy/..%2fpolicies", "/policy/..%2F..%2Freference-value", "/policy/%00", "/policy/default_cpu%00",
		"/policy/%C3%BCn", "/policy/" + strings.Repeat("a", 10<<10), "/policy/default_cpu%2f..", "/policy/./default_cpu/.."} {
		code, body := send(http.MethodGet, path, nil)
		assert.Contains(t, []int{http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect}, code, "%s: %s", path, body)
		assert.NotContains(t, body, `"policy":`, path)
	}
	code, body := send(http.MethodGet, "/policy", nil)
	require.Equal(t, http.StatusOK, code)
	for _, id := range []string{"hidden", "cred", "ünï", "a b"} {
		assert.NotContains(t, body, id)
	}
	cancel()
	require.NoError(t, <-served)
	client.CloseIdleConnections()
}

// Every route that takes a body, through a real listener: a body of
// exactly its limit is read (whatever the answer, not 413), one byte more
// is 413 with or without a Content-Length (chunked), and JSON nested
// 10,000 deep is refused without a 5xx.
func TestBodyLimitsEveryRoute(t *testing.T) {
	const maxBody = 64 << 10
	w := newWorld(t, func(c *serve.Config) { c.MaxBody = maxBody; c.PolicyEngine = regoEngine(t) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	send := func(path string, body []byte, chunked bool) (int, string) {
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			// No length known (a client request's 0 with a body means
			// unknown): sent chunked.
			r = io.MultiReader(r)
		}
		req, err := http.NewRequest(http.MethodPost, base+path, r)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	pad := func(n int) []byte { // a JSON object of exactly n bytes
		return append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), n-len(`{"pad":""}`))...), `"}`...)
	}
	for path, limit := range map[string]int{"/attestation": maxBody, "/challenge": serve.MaxChallengeParams, "/policy": maxBody, "/reference-value": maxBody} {
		for _, chunked := range []bool{false, true} {
			code, body := send(path, pad(limit), chunked)
			assert.NotEqual(t, http.StatusRequestEntityTooLarge, code, "%s at the limit (chunked %v): %s", path, chunked, body)
			assert.Less(t, code, 500, "%s: %s", path, body)
			code, body = send(path, pad(limit+1), chunked)
			assert.Equal(t, http.StatusRequestEntityTooLarge, code, "%s over the limit (chunked %v): %s", path, chunked, body)
		}
		deep := append(bytes.Repeat([]byte("["), 10000), bytes.Repeat([]byte("]"), 10000)...)
		if len(deep) > limit {
			deep = deep[:0]
			deep = append(append(deep, bytes.Repeat([]byte("["), limit/2-1)...), bytes.Repeat([]byte("]"), limit/2-1)...)
		}
		code, body := send(path, deep, false)
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, code, "%s nested: %s", path, body)
	}
	cancel()
	require.NoError(t, <-served)
	http.DefaultClient.CloseIdleConnections()
}

// selfSigned is a TLS certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attest-serve-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// With Config.TLS, Serve speaks HTTPS only (before, attest serve had no
// TLS at all, so the admin bearer token crossed the network in the
// clear): an HTTPS client is served, a plain-HTTP one is not, TLS below
// 1.2 is refused, and a connection past MaxConnections is closed before
// any handshake.
func TestServeTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	w := newWorld(t, func(c *serve.Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		c.MaxInFlight, c.MaxConnections = 1, 1
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.srv.Serve(ctx, ln) }()
	addr := ln.Addr().String()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	client := &http.Client{Transport: tr}
	resp, err := client.Get("https://" + addr + "/reference-value")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode) // served, over TLS
	tr.CloseIdleConnections()

	plain, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = fmt.Fprintf(plain, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	if resp, err := http.ReadResponse(bufio.NewReader(plain), nil); err == nil {
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, "plain HTTP served")
	}
	_ = plain.Close()

	// One TLS connection holds the only slot: the next is closed before
	// its handshake completes.
	var held *tls.Conn
	require.Eventually(t, func() bool { // once the plain connection's slot is free
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
		if err != nil {
			return false
		}
		held = c
		return true
	}, 10*time.Second, 10*time.Millisecond)
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	require.Error(t, err, "a handshake past MaxConnections")
	require.NoError(t, held.Close())

	old := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}
	require.Eventually(t, func() bool { // once the held connection's slot is free
		_, err := (&http.Client{Transport: old}).Get("https://" + addr + "/healthz")
		return err != nil && strings.Contains(err.Error(), "protocol version")
	}, 10*time.Second, 10*time.Millisecond, "TLS 1.1 refused")
	old.CloseIdleConnections()

	cancel()
	require.NoError(t, <-served)

	for name, bad := range map[string]*tls.Config{
		"no certificate": {},
		"TLS 1.0":        {Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10},
	} {
		bed := sharedBed(t)
		reg, err := bed.Registry()
		require.NoError(t, err)
		_, err = serve.New(context.Background(), serve.Config{Registry: reg, Signer: w.signer, Store: serve.NewMemoryStore(nil), TLS: bad})
		require.ErrorIs(t, err, verify.ErrConfig, name)
	}
}
