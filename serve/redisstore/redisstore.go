// Package redisstore is a serve.Store on Redis (6.2 or later) or Valkey, so
// that any number of stateless replicas of the attestation service share
// one-time nonces and reference values.
//
// Nonces: SET NX with a TTL issues, GETDEL consumes (of any number of
// concurrent takes exactly one gets the value), and a "used" marker with a
// TTL tells a replay from a nonce never issued. Documents: one hash per
// document, {version, body}, written by a script that increments the
// version, stores the body and publishes the document's name in one step;
// replicas subscribe to the channel and poll (pub/sub loses messages across
// reconnects). Every command names one key: no KEYS scans. A Redis restart
// without persistence loses outstanding nonces, whose attestations then
// fail (closed); keep the reference values' source of truth elsewhere too.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

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
// DefaultPrefix), so that several services can share one Redis.
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
func Open(url, prefix string) (*Store, *redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, verify.Errorf(verify.ErrConfig, "redisstore: %v", err)
	}
	c := redis.NewClient(o)
	s, err := New(c, prefix)
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return s, c, nil
}

func (s *Store) nonceKey(n string) string { return s.prefix + ":n:" + n }
func (s *Store) usedKey(n string) string  { return s.prefix + ":u:" + n }
func (s *Store) docKey(n string) string   { return s.prefix + ":d:" + n }
func (s *Store) channel() string          { return s.prefix + ":changes" }

// wrap marks a Redis failure as the store's.
func wrap(op string, err error) error {
	return fmt.Errorf("redis %s: %w", op, err)
}

// IssueNonce implements serve.Store.
func (s *Store) IssueNonce(ctx context.Context, nonce string, meta []byte, ttl time.Duration) error {
	ok, err := s.c.SetNX(ctx, s.nonceKey(nonce), meta, ttl).Result()
	if err != nil {
		return wrap("SET NX", err)
	}
	if !ok {
		return serve.ErrNonceExists
	}
	return nil
}

// TakeNonce implements serve.Store. One script takes the nonce and leaves
// the "used" marker atomically: of any number of concurrent takes exactly
// one wins, and every other one, at any moment, sees the marker and is told
// the nonce was used (with a GETDEL followed by a SET, a take that fell
// between the two was told "unknown").
func (s *Store) TakeNonce(ctx context.Context, nonce string, usedTTL time.Duration) ([]byte, error) {
	ms := usedTTL.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	res, err := takeScript.Run(ctx, s.c, []string{s.nonceKey(nonce), s.usedKey(nonce)}, ms).Slice()
	if err != nil {
		return nil, wrap("take script", err)
	}
	if len(res) == 0 {
		return nil, wrap("take script", fmt.Errorf("empty reply"))
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		if len(res) != 2 {
			return nil, wrap("take script", fmt.Errorf("reply of %d elements", len(res)))
		}
		meta, ok := res[1].(string)
		if !ok {
			return nil, wrap("take script", fmt.Errorf("value of type %T", res[1]))
		}
		return []byte(meta), nil
	case 2:
		return nil, serve.ErrNonceUsed
	case 0:
		return nil, serve.ErrNonceUnknown
	default:
		return nil, wrap("take script", fmt.Errorf("reply code %v", res[0]))
	}
}

// takeScript: KEYS[1] the issued nonce, KEYS[2] its used marker, ARGV[1]
// the marker's TTL in milliseconds. Replies {1, value} to the one caller
// that takes the nonce, {2} once it was used, {0} for a nonce never issued
// (or expired).
var takeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
  return {1, v}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {2}
end
return {0}
`)

// UseNonce implements serve.Store.
func (s *Store) UseNonce(ctx context.Context, nonce string, ttl time.Duration) error {
	ok, err := s.c.SetNX(ctx, s.usedKey(nonce), 1, ttl).Result()
	if err != nil {
		return wrap("SET NX", err)
	}
	if !ok {
		return serve.ErrNonceUsed
	}
	return nil
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

// Document implements serve.Store.
func (s *Store) Document(ctx context.Context, name string) (serve.Document, error) {
	vals, err := s.c.HMGet(ctx, s.docKey(name), "version", "body").Result()
	if err != nil {
		return serve.Document{}, wrap("HMGET", err)
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
