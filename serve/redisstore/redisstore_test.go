package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/serve/redisstore"
	"github.com/trustfactory/attest/serve/storetest"
	"github.com/trustfactory/attest/verify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// RequireEnv makes a missing redis-server a failure instead of a skip (CI).
const RequireEnv = "ATTEST_REQUIRE_REDIS"

// redisServer is a redis-server started for one test on a free loopback port.
type redisServer struct {
	addr string
	dir  string
	port int
	cmd  *exec.Cmd
}

// startRedis starts redis-server on 127.0.0.1 without persistence, or
// skips the test when the binary is absent (fails with ATTEST_REQUIRE_REDIS=1).
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not found: install it (Debian: apt-get install redis-server) to run the Redis store tests"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s; %s=1 requires them", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	r := &redisServer{addr: "127.0.0.1:" + strconv.Itoa(port), dir: t.TempDir(), port: port}
	r.start(t, bin)
	return r
}

func (r *redisServer) start(t *testing.T, bin string) {
	t.Helper()
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--protected-mode", "yes", "--logfile", filepath.Join(r.dir, "redis.log"))
	require.NoError(t, r.cmd.Start())
	cmd := r.cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			t.Fatalf("redis-server on %s did not answer PING within 5 s:\n%s", r.addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart kills the server (SIGKILL: no save at shutdown) and starts a
// fresh one on the same port and dir: every key is lost, unless a SAVE wrote
// a snapshot, which the new server loads (the keys as of that SAVE).
func (r *redisServer) restart(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Kill())
	_ = r.cmd.Wait()
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err)
	r.start(t, bin)
}

// client returns a client closed at the end of the test.
func (r *redisServer) client(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var prefixes atomic.Int64

// The store keeps the serve.Store contract on a real Redis.
func TestStore(t *testing.T) {
	r := startRedis(t)
	c := r.client(t)
	storetest.Run(t, func(t *testing.T) serve.Store {
		s, err := redisstore.New(c, fmt.Sprintf("t%d", prefixes.Add(1)))
		require.NoError(t, err)
		return s
	})
}

// A Redis that evicts keys under memory pressure may evict a used
// nonce's marker (volatile-ttl evicts the shortest-lived first: the
// markers), and the nonce is then accepted again: such a Redis is refused.
func TestCheckEviction(t *testing.T) {
	r := startRedis(t)
	c := r.client(t)
	ctx := context.Background()
	s, err := redisstore.New(c, "")
	require.NoError(t, err)
	require.NoError(t, s.CheckEviction(ctx), "redis-server's default is noeviction")
	for _, policy := range []string{"volatile-ttl", "allkeys-lru", "volatile-lru", "allkeys-random"} {
		require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", policy).Err())
		err := s.CheckEviction(ctx)
		require.ErrorIs(t, err, verify.ErrConfig, policy)
		require.Contains(t, err.Error(), policy)
	}
	require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, s.CheckEviction(ctx))
}

// Used markers carry their TTL; a restart without persistence loses the
// nonce secret with the markers: a new secret is created, and a use under
// the old one is refused (ErrSecretChanged), never accepted.
func TestStoreExpiryAndRestart(t *testing.T) {
	r := startRedis(t)
	c := r.client(t)
	s, err := redisstore.New(c, "")
	require.NoError(t, err)
	ctx := context.Background()
	secret, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.NoError(t, s.UseNonce(ctx, "short", secret, 50*time.Millisecond))
	ttl, err := c.PTTL(ctx, "attest:u:short").Result()
	require.NoError(t, err)
	require.Positive(t, ttl)
	require.LessOrEqual(t, ttl, 50*time.Millisecond)
	require.Eventually(t, func() bool { return c.Exists(ctx, "attest:u:short").Val() == 0 }, 5*time.Second, 10*time.Millisecond)
	stored, err := c.TTL(ctx, "attest:nonce-secret").Result()
	require.NoError(t, err)
	require.Equal(t, time.Duration(-1), stored, "the nonce secret must not expire")

	require.NoError(t, s.UseNonce(ctx, "used-before-restart", secret, time.Minute))
	r.restart(t)
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 30*time.Second, 10*time.Millisecond)
	// Before any replica asks for the new secret, and after.
	require.ErrorIs(t, s.UseNonce(ctx, "used-before-restart", secret, time.Minute), serve.ErrSecretChanged)
	fresh, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.NotEqual(t, secret, fresh)
	require.ErrorIs(t, s.UseNonce(ctx, "used-before-restart", secret, time.Minute), serve.ErrSecretChanged)
}

// A restart that keeps the secret but loses recent writes (here: an RDB
// snapshot taken between two uses, then a kill) restores the secret and the
// first used marker only. The secret is bound to the server run that stored
// it (run_id), so after the restart it is replaced: the nonce whose marker
// was lost cannot be used again, nor can the one whose marker survived, and
// a nonce under the new secret works once.
func TestStoreRestartFromSnapshot(t *testing.T) {
	r := startRedis(t)
	c := r.client(t)
	s, err := redisstore.New(c, "")
	require.NoError(t, err)
	ctx := context.Background()
	secret, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.NoError(t, s.UseNonce(ctx, "before-snapshot", secret, time.Hour))
	require.NoError(t, c.Save(ctx).Err())
	require.NoError(t, s.UseNonce(ctx, "after-snapshot", secret, time.Hour))
	same, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.Equal(t, secret, same, "no restart: the secret stays")

	r.restart(t)
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 30*time.Second, 10*time.Millisecond)
	// The snapshot came back: the old secret and the first marker only.
	// (The Store is not asked here, since any call would rotate the secret.)
	restored, err := c.Get(ctx, "attest:nonce-secret").Bytes()
	require.NoError(t, err)
	require.Equal(t, secret, restored, "the RDB must have restored the secret, else this test proves nothing")
	require.EqualValues(t, 1, c.Exists(ctx, "attest:u:before-snapshot").Val())
	require.EqualValues(t, 0, c.Exists(ctx, "attest:u:after-snapshot").Val(), "the marker written after SAVE must be lost")

	// Before any replica asks for the secret, and after.
	require.ErrorIs(t, s.UseNonce(ctx, "after-snapshot", secret, time.Hour), serve.ErrSecretChanged)
	require.ErrorIs(t, s.UseNonce(ctx, "before-snapshot", secret, time.Hour), serve.ErrSecretChanged)
	fresh, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.NotEqual(t, secret, fresh)
	require.ErrorIs(t, s.UseNonce(ctx, "after-snapshot", secret, time.Hour), serve.ErrSecretChanged)
	require.NoError(t, s.UseNonce(ctx, "after-restart", fresh, time.Hour))
	require.ErrorIs(t, s.UseNonce(ctx, "after-restart", fresh, time.Hour), serve.ErrNonceUsed)
	again, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.Equal(t, fresh, again, "the new secret is bound to this run and stays")
}

// The first call after a restart from a snapshot may be NonceSecret: it
// replaces the restored secret too, and the old nonces are refused.
func TestStoreRestartFromSnapshotSecretFirst(t *testing.T) {
	r := startRedis(t)
	c := r.client(t)
	s, err := redisstore.New(c, "p")
	require.NoError(t, err)
	ctx := context.Background()
	secret, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.NoError(t, c.Save(ctx).Err())
	require.NoError(t, s.UseNonce(ctx, "lost", secret, time.Hour))
	r.restart(t)
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, secret, []byte(c.Get(ctx, "p:nonce-secret").Val()), "the RDB must have restored the secret")
	fresh, err := s.NonceSecret(ctx)
	require.NoError(t, err)
	require.NotEqual(t, secret, fresh)
	require.ErrorIs(t, s.UseNonce(ctx, "lost", secret, time.Hour), serve.ErrSecretChanged)
	require.NoError(t, s.UseNonce(ctx, "lost", fresh, time.Hour), "the fresh secret's nonces are new ones")
}

// A store on an unreachable Redis returns errors, never a secret or a use.
func TestStoreDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	s, err := redisstore.New(c, "")
	require.NoError(t, err)
	ctx := context.Background()
	err = s.UseNonce(ctx, "n", nil, time.Minute)
	require.Error(t, err)
	require.NotErrorIs(t, err, serve.ErrNonceUsed)
	_, err = s.NonceSecret(ctx)
	require.Error(t, err)
	require.Error(t, s.Ping(ctx))
}

func TestOpen(t *testing.T) {
	_, _, err := redisstore.Open("http://nope", "")
	require.Error(t, err)
	s, c, err := redisstore.Open("redis://127.0.0.1:1/0", "x")
	require.NoError(t, err)
	require.NotNil(t, s)
	require.NoError(t, c.Close())
	_, err = redisstore.New(nil, "")
	require.Error(t, err)
}
