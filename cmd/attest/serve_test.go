package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The README's serve example: attest serve on the embedded sample, the
// sample's TD quote attested the way the README's curl does, a token that
// verifies with the served JWKS and the sample's nonce; the same request
// again is refused (one-time nonce); the server stops cleanly.
func TestServeSample(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- runServe(ctx, []string{"--listen", "127.0.0.1:0"}, nil, &stdout, &stderr) }()
	var base string
	require.Eventually(t, func() bool {
		_, addr, ok := strings.Cut(stdout.String(), "listening on ")
		base = strings.TrimSpace(addr)
		return ok && strings.HasSuffix(stdout.String(), "\n")
	}, 20*time.Second, 10*time.Millisecond, stderr.String())
	require.Contains(t, stderr.String(), "WARNING: signing with a key generated")
	require.Contains(t, stderr.String(), "embedded SAMPLE")

	sample, err := fs.Sub(samplesFS, "samples/composite")
	require.NoError(t, err)
	ev, err := fs.ReadFile(sample, "tdx-evidence.json")
	require.NoError(t, err)
	rd, err := fs.ReadFile(sample, "runtime-data.json")
	require.NoError(t, err)
	body := fmt.Sprintf(`{"verification_requests":[{"tee":"tdx","evidence":%q,"runtime_data":{"structured":%s}}],"policy_ids":[]}`,
		base64.RawURLEncoding.EncodeToString(bytes.TrimSpace(ev)), rd)
	post := func() (int, []byte) {
		resp, err := http.Post(base+"/attestation", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	status, tok := post()
	require.Equal(t, http.StatusOK, status, string(tok))

	resp, err := http.Get(base + "/.well-known/jwks.json")
	require.NoError(t, err)
	jwks, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	ks, err := token.ParseJWKS(jwks)
	require.NoError(t, err)
	v, err := token.NewVerifier(ks)
	require.NoError(t, err)
	var rt struct{ Nonce string }
	require.NoError(t, json.Unmarshal(rd, &rt))
	r, err := v.Verify(context.Background(), tok, token.Expectations{Now: sampleTime().Add(time.Minute), Nonce: []byte(rt.Nonce)})
	require.NoError(t, err)
	require.NoError(t, kbs.Decide(r))

	status, msg := post()
	require.Equal(t, http.StatusConflict, status, string(msg))

	cancel()
	require.Equal(t, exitOK, <-code, stderr.String())
	http.DefaultClient.CloseIdleConnections()
}

// Bad flags are usage errors.
func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--listen", "256.0.0.1:1"}, {"--key", "/does/not/exist"}, {"--store", "mysql://x"}, {"--store", "redis://h:notaport"}} {
		var stdout, stderr syncBuffer
		require.Equal(t, exitUsage, runServe(context.Background(), args, nil, &stdout, &stderr), "%v: %s", args, stderr.String())
	}
}

// With --online the registry's sources keep collateral in the store given
// (Redis with --store redis://…) and report to the server's collateral
// metrics.
func TestServeOnlineConfig(t *testing.T) {
	store := collateral.NewMemoryStore(0, 0)
	cfg, err := serveConfig(serveOptions{online: true}, slog.New(slog.DiscardHandler), io.Discard, store)
	require.NoError(t, err)
	require.NotNil(t, cfg.Registry)
	require.NotNil(t, cfg.CollateralMetrics)
}
