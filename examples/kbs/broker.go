// Package broker is a minimal key broker in front of attest, speaking the
// Trustee KBS protocol (RCAR 0.4.0):
//
//	POST /kbs/v0/auth        {"version","tee"}  → {"nonce"} and a session cookie
//	POST /kbs/v0/attest      the attestation request → {"token"} (an EAR)
//	GET  /kbs/v0/resource/…  the secret, encrypted (JWE) to the TEE key in the EAR
//	PUT  /kbs/v0/reference-values  new reference values (admin bearer token)
//
// A secret is released only to a session whose EAR is affirming in every
// submodule (kbs.Decide), and only wrapped to the key the TEE bound into its
// evidence, read back from the verified token. Each nonce serves one
// attestation; sessions expire. It is an example: a real broker adds TLS,
// persistent sessions, resource policies and audit logs.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// Broker is an http.Handler serving the KBS endpoints.
type Broker struct {
	svc     *kbs.Service    // guarded by mu: replaced when reference values change
	tokens  *token.Verifier // checks the EAR as any relying party would
	secrets map[string][]byte
	now     func() time.Time
	ttl     time.Duration

	mu       sync.Mutex
	sessions map[string]*session

	adminToken string
	rebuild    func(*policy.ReferenceValues) (*kbs.Service, error)
}

// EnableAdmin accepts new reference values at PUT /kbs/v0/reference-values
// from requests bearing adminToken; rebuild makes the service that appraises
// with them. A document that does not parse is refused and changes nothing.
func (b *Broker) EnableAdmin(adminToken string, rebuild func(*policy.ReferenceValues) (*kbs.Service, error)) error {
	if len(adminToken) < 16 || rebuild == nil {
		return errors.New("admin: a token of at least 16 characters and a rebuild function are required")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.adminToken, b.rebuild = adminToken, rebuild
	return nil
}

func (b *Broker) setReferenceValues(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	want, rebuild := b.adminToken, b.rebuild
	b.mu.Unlock()
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if want == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		fail(w, http.StatusUnauthorized, errors.New("admin token required"))
		return
	}
	doc, err := io.ReadAll(io.LimitReader(r.Body, policy.MaxDocumentSize+1))
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	rv, err := policy.ParseReferenceValues(doc)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	svc, err := rebuild(rv)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	b.mu.Lock()
	b.svc = svc
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type session struct {
	tee     string
	nonce   string
	expires time.Time
	used    bool            // the nonce has served an attestation
	teeKey  json.RawMessage // set once an affirming EAR was issued
}

// SessionCookie is the cookie that names a session.
const SessionCookie = "kbs-session-id"

// maxSessions bounds the session table.
const maxSessions = 10000

// New returns a broker releasing secrets (resource path → value) after
// attestation by svc, whose tokens verify with keys. now is the clock
// (nil: time.Now).
func New(svc *kbs.Service, keys *token.KeySet, secrets map[string][]byte, now func() time.Time) (*Broker, error) {
	tv, err := token.NewVerifier(keys)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Broker{svc: svc, tokens: tv, secrets: secrets, now: now, ttl: 5 * time.Minute, sessions: map[string]*session{}}, nil
}

// ServeHTTP routes the KBS endpoints.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/kbs/v0/auth":
		b.auth(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/kbs/v0/attest":
		b.attest(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/kbs/v0/resource/"):
		b.resource(w, r)
	case r.Method == http.MethodPut && r.URL.Path == "/kbs/v0/reference-values":
		b.setReferenceValues(w, r)
	default:
		http.NotFound(w, r)
	}
}

func fail(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"type": "error", "detail": err.Error()})
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (b *Broker) auth(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version     string          `json:"version"`
		TEE         string          `json:"tee"`
		ExtraParams json.RawMessage `json:"extra-params"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("auth request: %w", err))
		return
	}
	if req.Version != kbs.ProtocolVersion {
		fail(w, http.StatusBadRequest, fmt.Errorf("protocol version %q, this broker speaks %s", req.Version, kbs.ProtocolVersion))
		return
	}
	if _, err := kbs.Format(req.TEE); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	id, s := random(), &session{tee: req.TEE, nonce: random(), expires: b.now().Add(b.ttl)}
	b.mu.Lock()
	b.gc()
	if len(b.sessions) >= maxSessions {
		b.mu.Unlock()
		fail(w, http.StatusServiceUnavailable, errors.New("too many sessions"))
		return
	}
	b.sessions[id] = s
	b.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/kbs", HttpOnly: true})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"nonce": s.nonce, "extra-params": ""})
}

// gc drops expired sessions; b.mu is held.
func (b *Broker) gc() {
	now := b.now()
	for id, s := range b.sessions {
		if now.After(s.expires) {
			delete(b.sessions, id)
		}
	}
}

func (b *Broker) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, errors.New("no session: call /kbs/v0/auth first")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[c.Value]
	if !ok || b.now().After(s.expires) {
		return nil, errors.New("unknown or expired session")
	}
	return s, nil
}

func (b *Broker) attest(w http.ResponseWriter, r *http.Request) {
	s, err := b.session(r)
	if err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	b.mu.Lock()
	used := s.used
	s.used = true
	b.mu.Unlock()
	if used {
		fail(w, http.StatusUnauthorized, errors.New("this session's nonce was already used"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, kbs.MaxRequestSize+1))
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	b.mu.Lock()
	svc := b.svc
	b.mu.Unlock()
	att, err := svc.Attest(r.Context(), s.tee, s.nonce, body, b.now())
	if err != nil {
		code := http.StatusUnauthorized
		if verify.IsOperational(err) {
			code = http.StatusServiceUnavailable
		}
		fail(w, code, err)
		return
	}
	key, err := b.release(r.Context(), att.Token)
	if err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	b.mu.Lock()
	s.teeKey = key
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": string(att.Token)})
}

// release checks the token as a relying party: signature, lifetime, the
// release rule; it returns the TEE key the token carries.
func (b *Broker) release(ctx context.Context, tok []byte) (json.RawMessage, error) {
	res, err := b.tokens.Verify(ctx, tok, token.Expectations{Now: b.now()})
	if err != nil {
		return nil, err
	}
	if err := kbs.Decide(res); err != nil {
		return nil, err
	}
	return kbs.TEEPubKey(res)
}

func (b *Broker) resource(w http.ResponseWriter, r *http.Request) {
	s, err := b.session(r)
	if err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	b.mu.Lock()
	key := s.teeKey
	b.mu.Unlock()
	if key == nil {
		fail(w, http.StatusUnauthorized, errors.New("the session has no affirming attestation"))
		return
	}
	secret, ok := b.secrets[strings.TrimPrefix(r.URL.Path, "/kbs/v0/resource/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	out, err := Wrap(secret, key)
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/jose")
	_, _ = w.Write(out)
}

// Wrap encrypts secret to the TEE key (a public JWK): ECDH-ES+A256KW for EC
// keys, RSA-OAEP-256 for RSA keys, with A256GCM content encryption.
func Wrap(secret []byte, teeKey json.RawMessage) ([]byte, error) {
	k, err := jwk.ParseKey(teeKey)
	if err != nil {
		return nil, fmt.Errorf("tee-pubkey: %w", err)
	}
	var alg jwa.KeyEncryptionAlgorithm
	switch k.KeyType() {
	case jwa.EC:
		alg = jwa.ECDH_ES_A256KW
	case jwa.RSA:
		alg = jwa.RSA_OAEP_256
	default:
		return nil, fmt.Errorf("tee-pubkey: key type %s cannot receive secrets", k.KeyType())
	}
	if _, private := k.(interface{ D() []byte }); private {
		return nil, errors.New("tee-pubkey: a private key")
	}
	return jwe.Encrypt(secret, jwe.WithKey(alg, k), jwe.WithContentEncryption(jwa.A256GCM))
}
