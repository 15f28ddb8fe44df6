package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// DefaultMaxEntryBytes bounds one collateral entry (key, body and headers)
// when NewCollateral is given no bound: the same as a DirStore's.
const DefaultMaxEntryBytes = collateral.DefaultDirMaxEntryBytes

// Collateral is a collateral.Store on Redis shared by the replicas of a
// service, so that they share what any of them fetched, and a
// collateral.Locker, so that a collateral.Cache over it makes the vendors
// see one fetch per item, not one per replica (see collateral.Locker). It
// is also a collateral.Deleter. Create it with NewCollateral; it is safe
// for concurrent use and does not own its client.
//
// Layout: the entry of item key k is the hash <prefix>:c1:<hex SHA-256 of
// k> (the item key may be any length and hold anything; the hash repeats
// it, and an entry whose key differs is absent) with fields k, d (the
// body), h (the headers, JSON), na and fa (NotAfter and FetchedAt,
// RFC 3339), nam (NotAfter in Unix milliseconds) and s (the SHA-256 of the
// others: an entry that does not match it, or filed under another key's
// hash, is refused and deleted, so that a fresh Put replaces it). Its fetch lock is
// the string <prefix>:cl:<same hex>, holding a random owner token. Every
// command names one key: no KEYS scans, cluster-safe.
//
// Expiry: an entry's Redis TTL ends at its NotAfter (PEXPIREAT, rounded
// down to the millisecond), never later, so that Redis forgets an item when
// it must be refreshed; an entry whose NotAfter has passed on Redis's clock
// is not stored. Redis therefore never holds a stale entry, and a Cache
// over it serves nothing stale (CacheOptions.MaxStale) once the entry
// expired. A Put never replaces an entry with one that expires earlier (a
// slower replica's older fetch does not undo a newer one).
//
// What the store returns is not trusted for being stored: the verifiers
// check every entry's signatures and validity as they do for fetched bytes.
type Collateral struct {
	c             *redis.Client
	prefix        string
	maxEntryBytes int64
}

// NewCollateral returns a collateral store on c whose keys start with
// prefix + ":" (empty: DefaultPrefix), holding entries of at most
// maxEntryBytes bytes (non-positive: DefaultMaxEntryBytes).
func NewCollateral(c *redis.Client, prefix string, maxEntryBytes int64) (*Collateral, error) {
	if c == nil {
		return nil, verify.Errorf(verify.ErrConfig, "redisstore: nil client")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if maxEntryBytes <= 0 {
		maxEntryBytes = DefaultMaxEntryBytes
	}
	return &Collateral{c: c, prefix: prefix, maxEntryBytes: maxEntryBytes}, nil
}

// itemHash names an item key in Redis keys.
func itemHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func (s *Collateral) entryKey(key string) string { return s.prefix + ":c1:" + itemHash(key) }
func (s *Collateral) lockKey(key string) string  { return s.prefix + ":cl:" + itemHash(key) }

// digest is the integrity sum of an entry's fields, each length-prefixed.
func digest(fields ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// maxFieldBytes bounds each of an entry's small fields (na and fa, RFC 3339
// times of at most 35 bytes; s, 64 hex digits).
const maxFieldBytes = 64

// entryGetScript: KEYS[1] the entry, ARGV[1] the bound on its size, ARGV[2]
// the bound on each small field. Replies the size when it exceeds the bound
// (nothing is sent); {field, size} when a small field exceeds its bound
// (nothing is sent, and the entry, which no writer makes, is deleted in the
// same step, so that a fresh Put replaces it); else the fields. Every field
// is bounded before Redis sends any.
var entryGetScript = redis.NewScript(`
local n = redis.call('HSTRLEN', KEYS[1], 'k') + redis.call('HSTRLEN', KEYS[1], 'd') + redis.call('HSTRLEN', KEYS[1], 'h')
if n > tonumber(ARGV[1]) then
  return n
end
for _, f in ipairs({'na', 'fa', 's'}) do
  local m = redis.call('HSTRLEN', KEYS[1], f)
  if m > tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
    return {f, m}
  end
end
return redis.call('HMGET', KEYS[1], 'k', 'd', 'h', 'na', 'fa', 's')
`)

// Get implements collateral.Store.
func (s *Collateral) Get(ctx context.Context, key string) (collateral.Entry, bool, error) {
	res, err := entryGetScript.Run(ctx, s.c, []string{s.entryKey(key)}, s.maxEntryBytes, maxFieldBytes).Result()
	if err != nil {
		return collateral.Entry{}, false, wrap("collateral get script", err)
	}
	var vals []any
	switch r := res.(type) {
	case int64:
		return collateral.Entry{}, false, verify.Errorf(verify.ErrLimit, "redisstore: collateral entry %q of %d bytes exceeds the cap of %d", collateral.ShownURL(key), r, s.maxEntryBytes)
	case []any:
		if len(r) == 2 {
			return collateral.Entry{}, false, verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q: field %v of %v bytes, limit %d: dropped",
				collateral.ShownURL(key), r[0], r[1], maxFieldBytes)
		}
		vals = r
	default:
		return collateral.Entry{}, false, wrap("collateral get script", fmt.Errorf("reply of type %T", res))
	}
	if len(vals) != 6 {
		return collateral.Entry{}, false, wrap("collateral get script", fmt.Errorf("reply of %d elements", len(vals)))
	}
	f := make([]string, len(vals))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			// A missing field: no entry (or one being replaced).
			return collateral.Entry{}, false, nil
		}
		f[i] = str
	}
	k, data, header, na, fa, sum := f[0], f[1], f[2], f[3], f[4], f[5]
	if len(na) > maxFieldBytes || len(fa) > maxFieldBytes || len(sum) > maxFieldBytes {
		// The script bounds them; this holds whatever answered it.
		return collateral.Entry{}, false, verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q: na, fa or s over %d bytes", collateral.ShownURL(key), maxFieldBytes)
	}
	if k != key {
		s.drop(ctx, key, sum)
		return collateral.Entry{}, false, nil
	}
	if sum != digest(k, data, header, na, fa) {
		s.drop(ctx, key, sum)
		return collateral.Entry{}, false, verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q does not match its sum", collateral.ShownURL(key))
	}
	e := collateral.Entry{Data: []byte(data)}
	if err := json.Unmarshal([]byte(header), &e.Header); err != nil {
		s.drop(ctx, key, sum)
		return collateral.Entry{}, false, verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q: headers: %w", collateral.ShownURL(key), err)
	}
	if e.NotAfter, err = time.Parse(time.RFC3339Nano, na); err != nil {
		s.drop(ctx, key, sum)
		return collateral.Entry{}, false, verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q: NotAfter: %w", collateral.ShownURL(key), err)
	}
	if e.FetchedAt, err = time.Parse(time.RFC3339Nano, fa); err != nil {
		s.drop(ctx, key, sum)
		return collateral.Entry{}, false, verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q: FetchedAt: %w", collateral.ShownURL(key), err)
	}
	return e, true, nil
}

// dropScript deletes KEYS[1] while its sum field is still ARGV[1].
var dropScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 's') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// drop deletes the entry filed for key that Get found unusable (altered,
// or filed under another key's hash): no replica can use it, and left in
// place it would keep every Put that expires earlier out (see
// entryPutScript), so that each Get fetched again until its NotAfter. It
// deletes only while the entry is the one read (its sum unchanged), never
// one a Put stored since. Best effort: a failure leaves the entry, which
// Get goes on refusing.
func (s *Collateral) drop(ctx context.Context, key, sum string) {
	_ = dropScript.Run(ctx, s.c, []string{s.entryKey(key)}, sum).Err()
}

// entryPutScript: KEYS[1] the entry; ARGV[1] NotAfter in Unix milliseconds,
// ARGV[2..7] the fields k, d, h, na, fa, s. Replies 0 when NotAfter has
// passed on Redis's clock (nothing stored), 2 when the entry in place
// expires later (kept), 1 when stored, expiring at NotAfter.
var entryPutScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local na = tonumber(ARGV[1])
if na <= now then
  return 0
end
local old = redis.call('HGET', KEYS[1], 'nam')
if old and tonumber(old) > na then
  return 2
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'k', ARGV[2], 'd', ARGV[3], 'h', ARGV[4], 'na', ARGV[5], 'fa', ARGV[6], 's', ARGV[7], 'nam', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], na)
return 1
`)

// Put implements collateral.Store: it stores e until its NotAfter (see
// Collateral). An entry over the size bound is refused with
// verify.ErrLimit and any entry in place for key is dropped.
func (s *Collateral) Put(ctx context.Context, key string, e collateral.Entry) error {
	header, err := json.Marshal(e.Header)
	if err != nil {
		return verify.Errorf(verify.ErrCollateral, "redisstore: collateral entry %q: headers: %w", collateral.ShownURL(key), err)
	}
	if size := int64(len(key) + len(e.Data) + len(header)); size > s.maxEntryBytes {
		if err := s.Delete(ctx, key); err != nil {
			return err
		}
		return verify.Errorf(verify.ErrLimit, "redisstore: collateral entry %q of %d bytes exceeds the cap of %d", collateral.ShownURL(key), size, s.maxEntryBytes)
	}
	if e.NotAfter.IsZero() {
		return nil // expired: nothing to keep
	}
	na, fa := e.NotAfter.UTC().Format(time.RFC3339Nano), e.FetchedAt.UTC().Format(time.RFC3339Nano)
	data := string(e.Data)
	sum := digest(key, data, string(header), na, fa)
	err = entryPutScript.Run(ctx, s.c, []string{s.entryKey(key)},
		strconv.FormatInt(e.NotAfter.UnixMilli(), 10), key, data, string(header), na, fa, sum).Err()
	if err != nil {
		return wrap("collateral put script", err)
	}
	return nil
}

// Delete implements collateral.Deleter.
func (s *Collateral) Delete(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, s.entryKey(key)).Err(); err != nil {
		return wrap("DEL", err)
	}
	return nil
}

// unlockScript deletes KEYS[1] when it holds ARGV[1], the owner's token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// TryLock implements collateral.Locker with SET NX PX and a random owner
// token; unlock deletes the lock only while it still holds that token.
func (s *Collateral) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	token := hex.EncodeToString(b[:])
	lk := s.lockKey(key)
	ok, err := s.c.SetNX(ctx, lk, token, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return nil, false, wrap("SET NX", err)
	}
	if !ok {
		return nil, false, nil
	}
	return func(ctx context.Context) error {
		if err := unlockScript.Run(ctx, s.c, []string{lk}, token).Err(); err != nil {
			return wrap("unlock script", err)
		}
		return nil
	}, true, nil
}

var (
	_ collateral.Store   = (*Collateral)(nil)
	_ collateral.Deleter = (*Collateral)(nil)
	_ collateral.Locker  = (*Collateral)(nil)
)
