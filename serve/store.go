package serve

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Store is the state a server shares with its replicas: one-time nonces and
// versioned documents (the reference values). Implementations are safe for
// concurrent use; MemoryStore serves one node, package serve/redisstore any
// number of replicas.
type Store interface {
	// IssueNonce records a nonce the service issued, with meta, until ttl
	// passes. A nonce already recorded is ErrNonceExists.
	IssueNonce(ctx context.Context, nonce string, meta []byte, ttl time.Duration) error
	// TakeNonce consumes an issued nonce atomically and returns its meta:
	// of any number of concurrent calls for one nonce exactly one succeeds.
	// The store then remembers the nonce as used for usedTTL. A nonce
	// consumed before is ErrNonceUsed, one never issued (or expired)
	// ErrNonceUnknown.
	TakeNonce(ctx context.Context, nonce string, usedTTL time.Duration) ([]byte, error)
	// UseNonce marks a nonce the service did not issue (a caller that owns
	// freshness) as used for ttl; one marked before is ErrNonceUsed.
	UseNonce(ctx context.Context, nonce string, ttl time.Duration) error
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

// Document is one version of a stored document.
type Document struct {
	Version int64
	Body    []byte
}

// Errors of a Store.
var (
	ErrNonceUnknown = errors.New("nonce unknown: not issued by this service, or expired")
	ErrNonceUsed    = errors.New("nonce already used")
	ErrNonceExists  = errors.New("nonce already issued")
	ErrNotFound     = errors.New("not found")
)

// MaxMemoryNonces bounds the nonces (issued and used) a MemoryStore holds.
const MaxMemoryNonces = 1 << 20

// MemoryStore is a Store in process memory, for one node.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex
	issued   map[string]memNonce
	used     map[string]time.Time // nonce → forgotten after
	docs     map[string]Document
	watchers map[chan string]struct{}
}

type memNonce struct {
	meta    []byte
	expires time.Time
}

// NewMemoryStore returns an empty store whose TTLs run on clock (nil: the
// real clock).
func NewMemoryStore(clock func() time.Time) *MemoryStore {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryStore{now: clock, issued: map[string]memNonce{}, used: map[string]time.Time{},
		docs: map[string]Document{}, watchers: map[chan string]struct{}{}}
}

// sweep drops expired nonces when the maps are at their cap. Called with mu held.
func (m *MemoryStore) sweep(now time.Time) error {
	if len(m.issued)+len(m.used) < MaxMemoryNonces {
		return nil
	}
	for k, v := range m.issued {
		if !now.Before(v.expires) {
			delete(m.issued, k)
		}
	}
	for k, t := range m.used {
		if !now.Before(t) {
			delete(m.used, k)
		}
	}
	if len(m.issued)+len(m.used) >= MaxMemoryNonces {
		return verify.Errorf(verify.ErrLimit, "memory store: %d nonces outstanding, limit %d", len(m.issued)+len(m.used), MaxMemoryNonces)
	}
	return nil
}

// IssueNonce implements Store.
func (m *MemoryStore) IssueNonce(_ context.Context, nonce string, meta []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := m.sweep(now); err != nil {
		return err
	}
	if n, ok := m.issued[nonce]; ok && now.Before(n.expires) {
		return ErrNonceExists
	}
	if t, ok := m.used[nonce]; ok && now.Before(t) {
		return ErrNonceExists
	}
	m.issued[nonce] = memNonce{meta: append([]byte(nil), meta...), expires: now.Add(ttl)}
	return nil
}

// TakeNonce implements Store.
func (m *MemoryStore) TakeNonce(_ context.Context, nonce string, usedTTL time.Duration) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n, ok := m.issued[nonce]
	if ok {
		delete(m.issued, nonce)
		if now.Before(n.expires) {
			m.used[nonce] = now.Add(usedTTL)
			return n.meta, nil
		}
	}
	if t, ok := m.used[nonce]; ok && now.Before(t) {
		return nil, ErrNonceUsed
	}
	return nil, ErrNonceUnknown
}

// UseNonce implements Store.
func (m *MemoryStore) UseNonce(_ context.Context, nonce string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := m.sweep(now); err != nil {
		return err
	}
	if t, ok := m.used[nonce]; ok && now.Before(t) {
		return ErrNonceUsed
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
