package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/serve/redisstore"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// A Redis that stalls (here: SIGSTOP) fails a call with the caller's
// context error once its deadline passes: Open's client honours context
// deadlines. Before, it waited for its own read timeout (5 s) whatever
// the request's time limit: each of these calls took 5 s, not 200 ms.
func TestOpenHonoursContextDeadline(t *testing.T) {
	r := startRedis(t)
	s, c, err := redisstore.Open(fmt.Sprintf("redis://%s/0", r.addr), "stall")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.True(t, c.Options().ContextTimeoutEnabled)
	ctx := context.Background()
	require.NoError(t, s.Ping(ctx))

	require.NoError(t, r.cmd.Process.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { _ = r.cmd.Process.Signal(syscall.SIGCONT) })
	for name, call := range map[string]func(context.Context) error{
		"ping":   s.Ping,
		"secret": func(ctx context.Context) error { _, err := s.NonceSecret(ctx); return err },
		"use":    func(ctx context.Context) error { return s.UseNonce(ctx, "n", nil, time.Minute) },
	} {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := call(cctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
	}
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGCONT))
	require.NoError(t, s.Ping(ctx), "answers again once resumed")
}

// A replica whose Redis stalls mid-request (SIGSTOP) answers within its
// request timeout: 503 with the configured Retry-After, naming no Redis
// address, and not ready; once it resumes the nonce is used at most once
// (its stalled use may or may not have reached Redis), and a new one
// attests.
func TestReplicaRedisStalled(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "stall")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	s, c, err := redisstore.Open(fmt.Sprintf("redis://%s/0", r.addr), "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: s,
		Now: func() time.Time { return bed.Now }, Timeout: 300 * time.Millisecond, RetryAfter: 4 * time.Second, PollInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	rep := replica{srv}
	challenge := func() string {
		rec := rep.do(http.MethodPost, "/challenge", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Body.String()
	}
	body := asRequest(t, bed, challenge())

	require.NoError(t, r.cmd.Process.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { _ = r.cmd.Process.Signal(syscall.SIGCONT) })
	rec := rep.do(http.MethodPost, "/attestation", body)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Equal(t, "4", rec.Header().Get("Retry-After"))
	require.NotContains(t, rec.Body.String(), r.addr)
	rec = rep.do(http.MethodGet, "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.NotContains(t, rec.Body.String(), r.addr)

	require.NoError(t, r.cmd.Process.Signal(syscall.SIGCONT))
	require.Eventually(t, func() bool { return rep.do(http.MethodGet, "/readyz", nil).Code == http.StatusOK }, 10*time.Second, 10*time.Millisecond)
	// Whether the stalled use reached Redis before the client gave up is
	// the network's business: either it ran on resume (409) or it never
	// did (this is the first use). Never a second token for one nonce.
	rec = rep.do(http.MethodPost, "/attestation", body)
	require.Contains(t, []int{http.StatusOK, http.StatusConflict}, rec.Code)
	rec = rep.do(http.MethodPost, "/attestation", body)
	require.Equal(t, http.StatusConflict, rec.Code)
	rec = rep.do(http.MethodPost, "/attestation", asRequest(t, bed, challenge()))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// A Redis URL that does not parse is an ErrConfig error that does not
// repeat the URL's password (before, url.Parse's message quoted the whole
// URL, and attest serve printed it).
func TestOpenHidesPassword(t *testing.T) {
	for _, u := range []string{"redis://u:s3cret@h:notaport/0", "redis://u:s3cret@h:6379/x", "redis://:s3cret@[::1/0"} {
		_, _, err := redisstore.Open(u, "")
		require.ErrorIs(t, err, verify.ErrConfig, u)
		require.NotContains(t, err.Error(), "s3cret", u)
	}
}

// A stored document over MaxDocumentSize (a hand edit, another program on
// the prefix) is refused with ErrLimit before Redis sends it; before, it
// was read whole, whatever its size. Absent documents stay ErrNotFound.
func TestDocumentBounded(t *testing.T) {
	r := startRedis(t)
	c := r.client(t)
	s, err := redisstore.New(c, "docs")
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Document(ctx, "nope")
	require.ErrorIs(t, err, serve.ErrNotFound)
	v, err := s.PutDocument(ctx, "rv", []byte("small"))
	require.NoError(t, err)
	d, err := s.Document(ctx, "rv")
	require.NoError(t, err)
	require.Equal(t, serve.Document{Version: v, Body: []byte("small")}, d)

	require.NoError(t, c.HSet(ctx, "docs:d:rv", "body", strings.Repeat("x", redisstore.MaxDocumentSize+1)).Err())
	_, err = s.Document(ctx, "rv")
	require.ErrorIs(t, err, verify.ErrLimit)
	require.NoError(t, c.HSet(ctx, "docs:d:rv", "body", strings.Repeat("x", redisstore.MaxDocumentSize)).Err())
	d, err = s.Document(ctx, "rv")
	require.NoError(t, err)
	require.Len(t, d.Body, redisstore.MaxDocumentSize)
}
