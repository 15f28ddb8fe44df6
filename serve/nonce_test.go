package serve_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/testbed"
)

// problemDoc is the problem document of a refused request.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// requireProblem asserts the status, problem type and title of an answer
// and returns its detail.
func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, code int, kind, title string) string {
	t.Helper()
	require.Equal(t, code, rec.Code, rec.Body.String())
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var p problemDoc
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, "urn:attest:problem:nonce-"+kind, p.Type)
	assert.Equal(t, title, p.Title)
	assert.Equal(t, code, p.Status)
	return p.Detail
}

// tamper flips one bit of byte i of a nonce's decoded bytes.
func tamper(t *testing.T, nonce string, i int) string {
	b, err := base64.StdEncoding.DecodeString(nonce)
	require.NoError(t, err)
	b[i] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// A nonce whose MAC, random part or expiry was altered is refused as
// invalid (400), and so is one issued for another TEE; the genuine nonce
// still works afterwards.
func TestNonceForged(t *testing.T) {
	w := newWorld(t, nil)
	nonce := w.challenge(t)
	for name, i := range map[string]int{"MAC": 47, "random": 5, "expiry": 23} {
		t.Run(name, func(t *testing.T) {
			rec := w.do(t, http.MethodPost, "/attestation", w.asRequest(t, tamper(t, nonce, i), testbed.KBSEdits{}))
			d := requireProblem(t, rec, http.StatusBadRequest, "invalid", "nonce invalid")
			assert.Contains(t, d, "MAC does not verify")
		})
	}
	rec := w.do(t, http.MethodPost, "/challenge", []byte(`{"tee":"snp"}`))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	d := requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, rec.Body.String(), testbed.KBSEdits{})),
		http.StatusBadRequest, "invalid", "nonce invalid")
	assert.Contains(t, d, `another TEE than "tdx"`)

	// A second spelling of a genuine nonce (the base64 decoder skips
	// newlines) is not the service's nonce.
	respelled := nonce[:20] + "\n" + nonce[20:]
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, respelled, testbed.KBSEdits{})),
		http.StatusBadRequest, "unknown", "nonce unknown")

	w.consume(t, nonce)
}

// A nonce used after its TTL on the nonce clock is refused as expired
// (400), and one used just before is accepted.
func TestNonceExpired(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	w := newWorld(t, func(c *serve.Config) {
		c.NonceClock = clock
		c.Store = serve.NewMemoryStore(clock)
		c.NonceTTL = time.Minute
	})
	late, inTime := w.challenge(t), w.challenge(t)
	advance(time.Minute - time.Millisecond)
	w.consume(t, inTime)
	advance(time.Millisecond)
	d := requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, late, testbed.KBSEdits{})),
		http.StatusBadRequest, "expired", "nonce expired")
	assert.Contains(t, d, "2026-03-01T12:01:00Z")
	// Still refused when the used record of inTime is long gone.
	advance(time.Hour)
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, inTime, testbed.KBSEdits{})),
		http.StatusBadRequest, "expired", "nonce expired")
}

// A replayed request is refused as used (409), at once and later.
func TestNonceReplayed(t *testing.T) {
	w := newWorld(t, nil)
	nonce := w.challenge(t)
	body := w.asRequest(t, nonce, testbed.KBSEdits{})
	require.Equal(t, http.StatusOK, w.do(t, http.MethodPost, "/attestation", body).Code)
	for range 2 {
		requireProblem(t, w.do(t, http.MethodPost, "/attestation", body), http.StatusConflict, "used", "nonce used")
	}
	// The same nonce with other evidence and key: still used.
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, nonce, testbed.KBSEdits{})),
		http.StatusConflict, "used", "nonce used")
}

// Of 16 concurrent requests carrying one nonce exactly one gets a token;
// the others are refused as used.
func TestNonceConcurrentUse(t *testing.T) {
	w := newWorld(t, nil)
	body := w.asRequest(t, w.challenge(t), testbed.KBSEdits{})
	recs := make([]*httptest.ResponseRecorder, 16)
	var wg sync.WaitGroup
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i] = w.do(t, http.MethodPost, "/attestation", body)
		}()
	}
	wg.Wait()
	wins := 0
	for _, rec := range recs {
		if rec.Code == http.StatusOK {
			wins++
			continue
		}
		requireProblem(t, rec, http.StatusConflict, "used", "nonce used")
	}
	require.Equal(t, 1, wins)
}

// A replica on another store (another nonce secret) refuses the nonce as
// invalid, and it stays usable where it was issued.
func TestNonceOtherStore(t *testing.T) {
	a := newWorld(t, nil)
	b := newWorld(t, nil) // its own MemoryStore, so its own secret
	nonce := a.challenge(t)
	body := a.asRequest(t, nonce, testbed.KBSEdits{})
	requireProblem(t, b.do(t, http.MethodPost, "/attestation", body), http.StatusBadRequest, "invalid", "nonce invalid")
	require.Equal(t, http.StatusOK, a.do(t, http.MethodPost, "/attestation", body).Code)

	// A replica on the same store accepts it.
	c := newWorld(t, func(c *serve.Config) { c.Store = a.store })
	nonce = a.challenge(t)
	require.Equal(t, http.StatusOK, c.do(t, http.MethodPost, "/attestation", a.asRequest(t, nonce, testbed.KBSEdits{})).Code)
}

// resettable is a store whose state can be lost at once, as a Redis
// restart without persistence loses it.
type resettable struct {
	mu    sync.Mutex
	store serve.Store
}

func (r *resettable) inner() serve.Store {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.store
}

func (r *resettable) reset() { r.mu.Lock(); r.store = serve.NewMemoryStore(nil); r.mu.Unlock() }

func (r *resettable) NonceSecret(ctx context.Context) ([]byte, error) {
	return r.inner().NonceSecret(ctx)
}
func (r *resettable) UseNonce(ctx context.Context, n string, secret []byte, ttl time.Duration) error {
	return r.inner().UseNonce(ctx, n, secret, ttl)
}
func (r *resettable) PutDocument(ctx context.Context, name string, body []byte) (int64, error) {
	return r.inner().PutDocument(ctx, name, body)
}
func (r *resettable) PutDocumentIf(ctx context.Context, name string, body []byte, version int64) (int64, error) {
	return r.inner().PutDocumentIf(ctx, name, body, version)
}
func (r *resettable) Document(ctx context.Context, name string) (serve.Document, error) {
	return r.inner().Document(ctx, name)
}
func (r *resettable) Watch(ctx context.Context, changed func(string)) error {
	return r.inner().Watch(ctx, changed)
}
func (r *resettable) Ping(ctx context.Context) error { return r.inner().Ping(ctx) }

// A store that lost its state (and so its used nonces) has a new secret:
// a nonce used before the loss is not accepted again, nor is one issued
// before it and never used; new nonces work.
func TestNonceStoreReset(t *testing.T) {
	st := &resettable{store: serve.NewMemoryStore(nil)}
	w := newWorld(t, func(c *serve.Config) { c.Store = st })
	used, outstanding := w.challenge(t), w.challenge(t)
	body := w.asRequest(t, used, testbed.KBSEdits{})
	require.Equal(t, http.StatusOK, w.do(t, http.MethodPost, "/attestation", body).Code)
	st.reset()
	d := requireProblem(t, w.do(t, http.MethodPost, "/attestation", body), http.StatusBadRequest, "unknown", "nonce unknown")
	assert.Contains(t, d, "store was reset")
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, outstanding, testbed.KBSEdits{})),
		http.StatusBadRequest, "invalid", "nonce invalid") // the server has since learnt the new secret
	w.consume(t, w.challenge(t))
}

// Issuing nonces stores nothing: a flood of challenges leaves the store as
// it was, and every nonce still works once.
func TestChallengeFloodStoresNothing(t *testing.T) {
	st := serve.NewMemoryStore(nil)
	w := newWorld(t, func(c *serve.Config) { c.Store = st })
	const n = 5000
	nonces := make([]string, 0, n)
	for range n {
		nonces = append(nonces, w.challenge(t))
	}
	require.Zero(t, st.Len(), "nonces recorded by POST /challenge")
	m := w.do(t, http.MethodGet, "/metrics", nil).Body.String()
	assert.Contains(t, m, "attest_nonces_issued_total 5000")
	w.consume(t, nonces[0])
	w.consume(t, nonces[n-1])
	require.Equal(t, 2, st.Len())
}

// Caller nonces (CallerNonces) are accepted once and remembered for
// CallerNonceTTL, not NonceTTL: a replay inside that window is refused,
// one after it is accepted (the documented window). A service nonce that
// expired is still refused, never taken for a caller's.
func TestCallerNonces(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	w := newWorld(t, func(c *serve.Config) {
		c.CallerNonces = true
		c.NonceClock = clock
		c.Store = serve.NewMemoryStore(clock)
		c.NonceTTL = time.Minute
		c.CallerNonceTTL = 2 * time.Hour
	})
	issued := w.challenge(t)
	body := w.asRequest(t, "a-kbs-owned-nonce-0000000000000000000000000", testbed.KBSEdits{})
	require.Equal(t, http.StatusOK, w.do(t, http.MethodPost, "/attestation", body).Code)
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", body), http.StatusConflict, "used", "nonce used")
	advance(time.Hour)
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", body), http.StatusConflict, "used", "nonce used")
	requireProblem(t, w.do(t, http.MethodPost, "/attestation", w.asRequest(t, issued, testbed.KBSEdits{})),
		http.StatusBadRequest, "expired", "nonce expired")
	advance(time.Hour)
	require.Equal(t, http.StatusOK, w.do(t, http.MethodPost, "/attestation", body).Code)
}

// POST /challenge refuses bodies over MaxChallengeParams (read no further),
// malformed parameters and TEEs the service does not verify.
func TestChallengeBadRequests(t *testing.T) {
	w := newWorld(t, nil)
	for name, c := range map[string]struct {
		body []byte
		code int
		want string
	}{
		"oversized":   {append([]byte(`{"tee":"`), append(bytes.Repeat([]byte("x"), serve.MaxChallengeParams), `"}`...)...), http.StatusRequestEntityTooLarge, "limit"},
		"not JSON":    {[]byte(`{"tee":`), http.StatusBadRequest, "malformed JSON"},
		"unknown TEE": {[]byte(`{"tee":"sample"}`), http.StatusBadRequest, "sample"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := w.do(t, http.MethodPost, "/challenge", c.body)
			require.Equal(t, c.code, rec.Code, rec.Body.String())
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			assert.Contains(t, rec.Body.String(), c.want)
		})
	}
	for _, body := range [][]byte{nil, []byte(`{}`), []byte(`{"tee":"tdx"}`)} {
		rec := w.do(t, http.MethodPost, "/challenge", body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
}
