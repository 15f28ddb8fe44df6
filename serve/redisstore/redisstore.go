// Package redisstore is a serve.Store on Redis (6.2 or later) or Valkey, so
// that any number of stateless replicas of the attestation service share
// one-time nonces and reference values.
//
// Nonces: issuing one stores nothing (package serve signs it with the
// nonce secret). The secret is one key, created once by whichever replica
// asks first (set-if-absent, in a script, so every replica gets the one
// that won); it has no TTL. A use is a script that checks the caller's
// secret is still the stored one and sets a "used" marker with SET NX and
// a TTL (the nonce's remaining validity): of any number of concurrent uses
// exactly one sets it. Rotating the secret is deleting its key (DEL
// <prefix>:nonce-secret): the next request creates a new one, and nonces
// issued under the old one are refused; so are they after a Redis restart
// without persistence, which loses the used markers with the secret. A
// restart or failover that keeps the secret may still lose recent used
// markers (RDB snapshots, appendfsync everysec, a replica behind its
// primary), so the secret is bound to the server run that stored it: a
// second key holds that server's run_id (INFO server), and both scripts
// replace the secret when the server running them has another run_id
// (every restart, a promoted replica). Nonces issued before a restart are
// then refused whether or not Redis persists its data.
// Anyone who can read the secret can mint nonces: protect the Redis as the
// service's own state. The Redis must not evict keys (maxmemory-policy
// noeviction; Store.CheckEviction, which attest serve runs at start): an
// evicted used marker lets its nonce be used again. Documents: one hash per
// document, {version, body}, written by a script that increments the
// version, stores the body and publishes the document's name in one step
// (PutDocumentIf's script also compares the version first, so that a
// read-modify-write such as the policy index loses no concurrent update);
// replicas subscribe to the channel and poll (pub/sub loses messages across
// reconnects). Every command names one key: no KEYS scans. Any Redis restart
// or failover loses outstanding nonces (their secret), whose attestations
// then fail (closed); a restart without persistence also loses the
// documents: keep the reference values' source of truth elsewhere too.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/verify"
)

// DefaultPrefix prefixes every key and the notification channel.
const DefaultPrefix = "attest"

// Store is a serve.Store on a Redis client. It does not own the client.
type Store struct {
	c      *redis.Client
	prefix string
}

// New returns a store on c whose keys start with prefix + ":" (empty:
// DefaultPrefix), so that several services can share one Redis. Give c
// ContextTimeoutEnabled (as Open does), or a stalled Redis holds each
// call for the client's read timeout, past the service's request timeout.
func New(c *redis.Client, prefix string) (*Store, error) {
	if c == nil {
		return nil, verify.Errorf(verify.ErrConfig, "redisstore: nil client")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{c: c, prefix: prefix}, nil
}

// Open connects to the Redis at url (redis:// or rediss://, as
// redis.ParseURL reads it) and returns the store and the client to close.
// The client honours the deadline of each call's context: a Redis that
// stalls mid-request (paused, swapping, a network that drops packets)
// holds a request no longer than the request's own time limit, where the
// client's default would wait its read timeout whatever the context said.
func Open(url, prefix string) (*Store, *redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		// A url.Error quotes the whole URL, its password included: keep
		// only what is wrong with it.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, verify.Errorf(verify.ErrConfig, "redisstore: the Redis URL: %v", err)
	}
	o.ContextTimeoutEnabled = true
	c := redis.NewClient(o)
	s, err := New(c, prefix)
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return s, c, nil
}

// CheckEviction refuses (verify.ErrConfig) a Redis whose maxmemory-policy
// evicts keys: under memory pressure it may drop a used nonce's marker
// (volatile-ttl drops the shortest-lived keys first, which the markers
// are), and that nonce is then accepted again until it expires. Only
// noeviction keeps every marker (a full Redis then refuses writes, and
// attestations fail closed). Call it once at start: it reads INFO memory.
func (s *Store) CheckEviction(ctx context.Context) error {
	info, err := s.c.Info(ctx, "memory").Result()
	if err != nil {
		return wrap("INFO memory", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory_policy:"); ok {
			if v != "noeviction" {
				return verify.Errorf(verify.ErrConfig, "redisstore: maxmemory-policy %s evicts keys, used-nonce markers among them, which lets a nonce be used again: set maxmemory-policy noeviction", v)
			}
			return nil
		}
	}
	return verify.Errorf(verify.ErrConfig, "redisstore: INFO memory does not report maxmemory_policy: cannot tell whether the server evicts used-nonce markers")
}

func (s *Store) secretKey() string       { return s.prefix + ":nonce-secret" }
func (s *Store) secretRunKey() string    { return s.prefix + ":nonce-secret-run" }
func (s *Store) usedKey(n string) string { return s.prefix + ":u:" + n }
func (s *Store) docKey(n string) string  { return s.prefix + ":d:" + n }
func (s *Store) channel() string         { return s.prefix + ":changes" }

// wrap marks a Redis failure as the store's.
func wrap(op string, err error) error {
	return fmt.Errorf("redis %s: %w", op, err)
}

// runIDLua sets the local run to the run_id of the Redis server running
// the script (INFO server; callable from scripts, whose effects, not the
// commands, are replicated). It changes on every restart and differs on a
// promoted replica.
const runIDLua = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if not run then
  return redis.error_reply('INFO server reports no run_id')
end
`

// secretScript: KEYS[1] the secret, KEYS[2] the run_id of the server that
// stored it; ARGV[1] a fresh secret. Returns the stored secret, storing
// ARGV[1] (and this server's run_id) first when there is none or when it
// was stored by another server run: a restart from an RDB or AOF, or a
// promoted replica, may keep the secret but lose the used markers written
// after the last snapshot, fsync or replicated write, and those nonces
// must not be usable again. GET then SET in one step: one round trip, and
// SET NX GET needs Redis 7.
var secretScript = redis.NewScript(runIDLua + `
local v = redis.call('GET', KEYS[1])
if v and redis.call('GET', KEYS[2]) == run then
  return v
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], run)
return ARGV[1]
`)

// NonceSecret implements serve.Store.
func (s *Store) NonceSecret(ctx context.Context) ([]byte, error) {
	v, err := secretScript.Run(ctx, s.c, []string{s.secretKey(), s.secretRunKey()}, serve.NewNonceSecret()).Text()
	if err != nil {
		return nil, wrap("secret script", err)
	}
	return []byte(v), nil
}

// useScript: KEYS[1] the secret, KEYS[2] the run_id of the server that
// stored it, KEYS[3] the nonce's used marker; ARGV[1] the marker's TTL in
// milliseconds, ARGV[2] the caller's secret ("": none to check), ARGV[3] a
// fresh secret. When the secret was stored by another server run (see
// secretScript), the markers of its nonces may be lost: the script
// replaces it with ARGV[3] first, so every nonce signed before is refused
// (2). Replies 1 to the one caller that sets the marker, 0 when it was set
// before, 2 when the stored secret is not the caller's.
var useScript = redis.NewScript(runIDLua + `
if redis.call('GET', KEYS[2]) ~= run then
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], run)
end
if ARGV[2] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 2
end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
  return 1
end
return 0
`)

// UseNonce implements serve.Store. The server-run check, the secret check
// and the marker are one script, so that a Redis restart between a
// server's MAC check and its use cannot let a nonce whose marker it lost
// through.
func (s *Store) UseNonce(ctx context.Context, nonce string, secret []byte, ttl time.Duration) error {
	if secret != nil && len(secret) == 0 {
		return wrap("use", errors.New("empty nonce secret"))
	}
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	keys := []string{s.secretKey(), s.secretRunKey(), s.usedKey(nonce)}
	code, err := useScript.Run(ctx, s.c, keys, ms, secret, serve.NewNonceSecret()).Int64()
	if err != nil {
		return wrap("use script", err)
	}
	switch code {
	case 1:
		return nil
	case 0:
		return serve.ErrNonceUsed
	case 2:
		return serve.ErrSecretChanged
	}
	return wrap("use script", fmt.Errorf("reply code %d", code))
}

// putScript increments the version, stores the body and publishes the
// name, atomically.
var putScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'body', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return v`)

// PutDocument implements serve.Store.
func (s *Store) PutDocument(ctx context.Context, name string, body []byte) (int64, error) {
	v, err := putScript.Run(ctx, s.c, []string{s.docKey(name)}, body, s.channel(), name).Int64()
	if err != nil {
		return 0, wrap("script", err)
	}
	return v, nil
}

// putIfScript: KEYS[1] the document; ARGV[1] the body, ARGV[2] the
// channel, ARGV[3] the name, ARGV[4] the version the caller read (0:
// absent). Stores the body as the next version and publishes the name
// only while the current version is ARGV[4], in one step; replies the new
// version, or -1 (nothing stored) when the version differs. A hash without
// both fields is absent, as Document reads it.
var putIfScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'version', 'body')
local v = 0
if cur[1] and cur[2] then
  v = tonumber(cur[1])
end
if v ~= tonumber(ARGV[4]) then
  return -1
end
v = v + 1
redis.call('HSET', KEYS[1], 'version', v, 'body', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return v`)

// PutDocumentIf implements serve.Store: the compare and the write are one
// script, so of concurrent writers naming one version exactly one wins.
func (s *Store) PutDocumentIf(ctx context.Context, name string, body []byte, version int64) (int64, error) {
	v, err := putIfScript.Run(ctx, s.c, []string{s.docKey(name)}, body, s.channel(), name, version).Int64()
	if err != nil {
		return 0, wrap("put-if script", err)
	}
	if v < 0 {
		return 0, fmt.Errorf("redis: document %s: version is not %d: %w", name, version, serve.ErrVersionConflict)
	}
	return v, nil
}

// MaxDocumentSize bounds the body of a document Document reads: the
// largest request body package serve accepts (kbs.MaxRequestSize). A
// larger one was not written by a server (a hand edit, another program
// on the same prefix) and is refused before Redis sends it.
const MaxDocumentSize = kbs.MaxRequestSize

// getScript: KEYS[1] the document; ARGV[1] the size bound. Replies
// {version, body} (nils when absent), or an error when the body is over
// the bound, checked with HSTRLEN before the body is sent.
var getScript = redis.NewScript(`
local n = redis.call('HSTRLEN', KEYS[1], 'body')
if n > tonumber(ARGV[1]) then
  return redis.error_reply('document body of ' .. n .. ' bytes, limit ' .. ARGV[1])
end
return redis.call('HMGET', KEYS[1], 'version', 'body')`)

// Document implements serve.Store. A body over MaxDocumentSize is a
// verify.ErrLimit error, refused without being read.
func (s *Store) Document(ctx context.Context, name string) (serve.Document, error) {
	vals, err := getScript.Run(ctx, s.c, []string{s.docKey(name)}, MaxDocumentSize).Slice()
	if err != nil {
		if strings.Contains(err.Error(), "document body of") {
			return serve.Document{}, verify.Errorf(verify.ErrLimit, "redis: document %s: %v", name, err)
		}
		return serve.Document{}, wrap("get script", err)
	}
	if len(vals) != 2 {
		return serve.Document{}, fmt.Errorf("redis: document %s: %d values, expected 2", name, len(vals))
	}
	vs, ok1 := vals[0].(string)
	body, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return serve.Document{}, serve.ErrNotFound
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return serve.Document{}, fmt.Errorf("redis: document %s: version %q: %w", name, vs, err)
	}
	return serve.Document{Version: v, Body: []byte(body)}, nil
}

// Watch implements serve.Store: it subscribes to the change channel and
// calls changed for every message until ctx is done.
func (s *Store) Watch(ctx context.Context, changed func(name string)) error {
	ps := s.c.Subscribe(ctx, s.channel())
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return wrap("SUBSCRIBE", err)
	}
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return wrap("SUBSCRIBE", errors.New("channel closed"))
			}
			changed(m.Payload)
		}
	}
}

// Ping implements serve.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return wrap("PING", err)
	}
	return nil
}

var _ serve.Store = (*Store)(nil)
