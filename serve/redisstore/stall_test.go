package redisstore_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/serve/redisstore"
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
