package serve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Store is the state a server shares with its replicas: the secret that
// signs the nonces the service issues, the nonces already used, and
// versioned documents (the reference values). Issuing a nonce stores
// nothing (the nonce carries its expiry and a MAC under the secret); only
// a use is recorded. Implementations are safe for concurrent use;
// MemoryStore serves one node, package serve/redisstore any number of
// replicas.
type Store interface {
	// NonceSecret returns the secret every server on this store signs its
	// nonces with, at least MinNonceSecretSize random bytes. The first call
	// on a store that has none creates it, set-if-absent, so that replicas
	// racing to create it all get the one that won. A store that loses its
	// state (a Redis restart without persistence) loses the secret with
	// the used nonces: the next call creates a new one, and every nonce
	// signed under the old one is refused (fail closed).
	NonceSecret(ctx context.Context) ([]byte, error)
	// UseNonce records nonce as used for ttl, atomically: of any number of
	// concurrent calls for one nonce exactly one succeeds and the others
	// get ErrNonceUsed, as does every later call within ttl. With a
	// non-nil secret the record is made only while secret is still the
	// store's NonceSecret, else ErrSecretChanged (checked in the same
	// atomic step, so a reset between a server's check and its use cannot
	// let a replay through); a nil secret is for nonces the service did
	// not sign (Config.CallerNonces).
	UseNonce(ctx context.Context, nonce string, secret []byte, ttl time.Duration) error
	// PutDocument stores body as the next version of the document name and
	// notifies every watcher; it returns the new version (1, 2, …).
	PutDocument(ctx context.Context, name string, body []byte) (int64, error)
	// Document returns the current version of a document; none is
	// ErrNotFound.
	Document(ctx context.Context, name string) (Document, error)
	// Watch calls changed with the name of every document that changes
	// until ctx is done. Notifications may be lost (a reconnect): servers
	// also poll Document.
	Watch(ctx context.Context, changed func(name string)) error
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// MinNonceSecretSize is the shortest nonce secret a server accepts from a
// Store; stores create secrets of this size.
const MinNonceSecretSize = 32

// NewNonceSecret returns a fresh random nonce secret, for Store
// implementations.
func NewNonceSecret() []byte {
	b := make([]byte, MinNonceSecretSize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return b
}

// Document is one version of a stored document.
type Document struct {
	Version int64
	Body    []byte
}

// Errors of a Store.
var (
	ErrNonceUsed = errors.New("nonce already used")
	// ErrSecretChanged: UseNonce was given a secret that is no longer the
	// store's nonce secret (the store was reset, or the secret rotated).
	ErrSecretChanged = errors.New("nonce secret changed")
	ErrNotFound      = errors.New("not found")
)

// MaxMemoryNonces bounds the used nonces a MemoryStore remembers.
const MaxMemoryNonces = 1 << 20

// MemoryStore is a Store in process memory, for one node. Its nonce secret
// lives as long as the store.
type MemoryStore struct {
	now    func() time.Time
	secret []byte

	mu       sync.Mutex
	used     map[string]time.Time // nonce → forgotten after
	docs     map[string]Document
	watchers map[chan string]struct{}
}

// NewMemoryStore returns an empty store whose TTLs run on clock (nil: the
// real clock).
func NewMemoryStore(clock func() time.Time) *MemoryStore {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryStore{now: clock, secret: NewNonceSecret(), used: map[string]time.Time{},
		docs: map[string]Document{}, watchers: map[chan string]struct{}{}}
}

// Len returns the number of used nonces the store remembers (expired ones
// included until a sweep drops them).
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.used)
}

// sweep drops expired nonces when the map is at its cap. Called with mu held.
func (m *MemoryStore) sweep(now time.Time) error {
	if len(m.used) < MaxMemoryNonces {
		return nil
	}
	for k, t := range m.used {
		if !now.Before(t) {
			delete(m.used, k)
		}
	}
	if len(m.used) >= MaxMemoryNonces {
		return verify.Errorf(verify.ErrLimit, "memory store: %d used nonces remembered, limit %d", len(m.used), MaxMemoryNonces)
	}
	return nil
}

// NonceSecret implements Store.
func (m *MemoryStore) NonceSecret(context.Context) ([]byte, error) {
	return append([]byte(nil), m.secret...), nil
}

// UseNonce implements Store.
func (m *MemoryStore) UseNonce(_ context.Context, nonce string, secret []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if secret != nil && subtle.ConstantTimeCompare(secret, m.secret) != 1 {
		return ErrSecretChanged
	}
	now := m.now()
	if t, ok := m.used[nonce]; ok && now.Before(t) {
		return ErrNonceUsed
	}
	if err := m.sweep(now); err != nil {
		return err
	}
	m.used[nonce] = now.Add(ttl)
	return nil
}

// PutDocument implements Store.
func (m *MemoryStore) PutDocument(_ context.Context, name string, body []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := Document{Version: m.docs[name].Version + 1, Body: append([]byte(nil), body...)}
	m.docs[name] = d
	for ch := range m.watchers {
		select {
		case ch <- name:
		default: // the watcher is behind; its poll catches up
		}
	}
	return d.Version, nil
}

// Document implements Store.
func (m *MemoryStore) Document(_ context.Context, name string) (Document, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[name]
	if !ok {
		return Document{}, ErrNotFound
	}
	return Document{Version: d.Version, Body: append([]byte(nil), d.Body...)}, nil
}

// Watch implements Store.
func (m *MemoryStore) Watch(ctx context.Context, changed func(name string)) error {
	ch := make(chan string, 16)
	m.mu.Lock()
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case name := <-ch:
			changed(name)
		}
	}
}

// Ping implements Store.
func (m *MemoryStore) Ping(context.Context) error { return nil }
