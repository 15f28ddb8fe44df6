package serve

import (
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
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
	// PutDocumentIf is PutDocument only while the document's current
	// version is version (0: the document is absent), checked and written
	// in one atomic step: of concurrent calls naming one version at most
	// one succeeds, and the others, as every call naming another version,
	// get ErrVersionConflict and store nothing. Read-modify-write updates
	// (the policy index) are built on it, so that two replicas never
	// overwrite each other's change.
	PutDocumentIf(ctx context.Context, name string, body []byte, version int64) (int64, error)
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
	// ErrVersionConflict: PutDocumentIf named a version that is not the
	// document's current one (another writer got there first).
	ErrVersionConflict = errors.New("document version changed")
)

// MaxMemoryNonces bounds the used nonces a MemoryStore remembers.
const MaxMemoryNonces = 1 << 20

// MemoryStore is a Store in process memory, for one node. Its nonce secret
// lives as long as the store.
type MemoryStore struct {
	now    func() time.Time
	secret []byte
	max    int // bound on remembered nonces: MaxMemoryNonces (tests lower it)

	mu       sync.Mutex
	used     map[string]time.Time // nonce → forgotten after
	expiries expiryHeap           // the same markers, soonest expiry first
	examined uint64               // markers expire has looked at (tests count the work)
	docs     map[string]Document
	watchers map[chan string]struct{}
}

// NewMemoryStore returns an empty store whose TTLs run on clock (nil: the
// real clock).
func NewMemoryStore(clock func() time.Time) *MemoryStore {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryStore{now: clock, secret: NewNonceSecret(), max: MaxMemoryNonces, used: map[string]time.Time{},
		docs: map[string]Document{}, watchers: map[chan string]struct{}{}}
}

// Len returns the number of used nonces the store remembers (expired ones
// included until the next use drops them).
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.used)
}

// expiring is one used marker in the expiry heap.
type expiring struct {
	at    time.Time
	nonce string
}

// expiryHeap is a min-heap of markers by expiry: each use drops the
// expired markers at its top, O(log n) each, instead of scanning the whole
// set under the lock (which a flood at the bound made every use pay).
type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = expiring{} // release the nonce string
	*h = old[:len(old)-1]
	return x
}

// expire forgets every marker whose expiry has passed: amortised O(log n)
// per use, as each marker is pushed and popped once. Called with mu held.
func (m *MemoryStore) expire(now time.Time) {
	for len(m.expiries) > 0 && !now.Before(m.expiries[0].at) {
		m.examined++
		e := heap.Pop(&m.expiries).(expiring)
		// A marker re-set since (a clock that went back) has a later
		// expiry in the map and another heap entry: keep it.
		if t, ok := m.used[e.nonce]; ok && t.Equal(e.at) {
			delete(m.used, e.nonce)
		}
	}
}

// NonceSecret implements Store.
func (m *MemoryStore) NonceSecret(context.Context) ([]byte, error) {
	return append([]byte(nil), m.secret...), nil
}

// UseNonce implements Store. At the bound (MaxMemoryNonces unexpired
// markers) a use is refused with verify.ErrLimit, which the service
// answers 503.
func (m *MemoryStore) UseNonce(_ context.Context, nonce string, secret []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if secret != nil && subtle.ConstantTimeCompare(secret, m.secret) != 1 {
		return ErrSecretChanged
	}
	now := m.now()
	m.expire(now)
	if t, ok := m.used[nonce]; ok && now.Before(t) {
		return ErrNonceUsed
	}
	if len(m.used) >= m.max {
		return verify.Errorf(verify.ErrLimit, "memory store: %d unexpired used nonces remembered, limit %d", len(m.used), m.max)
	}
	at := now.Add(ttl)
	m.used[nonce] = at
	heap.Push(&m.expiries, expiring{at: at, nonce: nonce})
	return nil
}

// PutDocument implements Store.
func (m *MemoryStore) PutDocument(_ context.Context, name string, body []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.put(name, body), nil
}

// PutDocumentIf implements Store.
func (m *MemoryStore) PutDocumentIf(_ context.Context, name string, body []byte, version int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.docs[name].Version; cur != version {
		return 0, fmt.Errorf("document %s: version %d, expected %d: %w", name, cur, version, ErrVersionConflict)
	}
	return m.put(name, body), nil
}

// put stores the next version of a document and notifies the watchers.
// Called with mu held.
func (m *MemoryStore) put(name string, body []byte) int64 {
	d := Document{Version: m.docs[name].Version + 1, Body: append([]byte(nil), body...)}
	m.docs[name] = d
	for ch := range m.watchers {
		select {
		case ch <- name:
		default: // the watcher is behind; its poll catches up
		}
	}
	return d.Version
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
