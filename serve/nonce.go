package serve

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/trustfactory/attest/verify"
)

// The nonces POST /challenge issues are stateless: issuing one stores
// nothing, so a flood of challenges costs the service CPU only. A nonce is
// 48 bytes in standard base64 (64 characters, no padding, so that the
// token's eat_nonce is the string's bytes, verify.SessionNonce):
//
//	version (1) | flags (1) | random (14) | expiry (8) | MAC (24)
//
// version is 1; flag bit 0 says the nonce is bound to the TEE named at
// POST /challenge; expiry is Unix milliseconds, big-endian; MAC is
// HMAC-SHA-256 under the store's nonce secret (Store.NonceSecret) of the
// first 24 bytes and, when bound, the TEE name (verify.CanonicalTEEName),
// truncated to 24 bytes (192 bits). On use the MAC and the expiry are
// checked and the nonce is recorded as used (Store.UseNonce,
// set-if-absent) until it expires, plus MaxClockSkew.
const (
	nonceVersion   = 1
	nonceRawSize   = 48
	nonceBodySize  = 24 // version, flags, random, expiry: what the MAC covers
	nonceMACSize   = nonceRawSize - nonceBodySize
	nonceTextSize  = nonceRawSize / 3 * 4
	nonceBoundTEE  = 1 << 0
	nonceMACDomain = "attest/serve nonce v1\x00"
)

// MaxClockSkew is how far the clocks of replicas may disagree: a used
// nonce is remembered this much longer than it is valid, so that a replica
// whose clock runs late still finds it used.
const MaxClockSkew = time.Minute

// nonceMAC is the MAC of a nonce body, bound to tee when the body says so.
func nonceMAC(secret, body []byte, tee string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(nonceMACDomain))
	m.Write(body[:nonceBodySize])
	if body[1]&nonceBoundTEE != 0 {
		tee = verify.CanonicalTEEName(tee) // Trustee's older names are the same TEE
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(tee)))
		m.Write(n[:])
		m.Write([]byte(tee))
	}
	return m.Sum(nil)[:nonceMACSize]
}

// issueNonce returns a nonce signed with secret that expires at expires,
// bound to tee unless it is empty.
func issueNonce(secret []byte, tee string, expires time.Time) string {
	var b [nonceRawSize]byte
	b[0] = nonceVersion
	if tee != "" {
		b[1] = nonceBoundTEE
	}
	_, _ = rand.Read(b[2:16])
	binary.BigEndian.PutUint64(b[16:24], uint64(expires.UnixMilli()))
	copy(b[nonceBodySize:], nonceMAC(secret, b[:], tee))
	return base64.StdEncoding.EncodeToString(b[:])
}

// parseNonce decodes a nonce in the service's format; ok is false for any
// other string (a caller's own nonce, or garbage). Only the canonical
// encoding is accepted: the decoder skips newlines, and two spellings of
// one nonce would be two entries in the used set.
func parseNonce(s string) (raw []byte, ok bool) {
	if len(s) != nonceTextSize {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != nonceRawSize || b[0] != nonceVersion || b[1]&^nonceBoundTEE != 0 {
		return nil, false
	}
	return b, true
}

// nonceExpiry is the expiry a nonce carries.
func nonceExpiry(raw []byte) time.Time {
	return time.UnixMilli(int64(binary.BigEndian.Uint64(raw[16:24])))
}

// nonceSecret returns the store's nonce secret: the one cached, unless
// fresh asks for the store's current one. Concurrent fresh reads share one
// store call (POST /challenge takes no credentials, and each read is a
// script on a Redis every replica shares: a flood of challenges must not
// become a flood of scripts). A caller that joins a read in flight may
// get the secret as it was just before it asked: a rotation in that window
// costs a nonce that is refused at its use (closed), nothing more.
func (s *Server) nonceSecret(ctx context.Context, fresh bool) ([]byte, error) {
	if !fresh {
		if p := s.secret.Load(); p != nil {
			return *p, nil
		}
	}
	ch := s.secretFlight.DoChan("secret", func() (any, error) {
		// Not the first caller's context: its cancellation must not fail
		// the others waiting on this read.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		defer cancel()
		sec, err := s.cfg.Store.NonceSecret(sctx)
		if err != nil {
			return nil, err
		}
		if len(sec) < MinNonceSecretSize {
			return nil, fmt.Errorf("nonce secret of %d bytes, expected at least %d", len(sec), MinNonceSecretSize)
		}
		s.secret.Store(&sec)
		return sec, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	}
}

// nonceProblem is a refused nonce: a client error with a problem type of
// its own, so that callers tell the cases apart without reading the text.
func nonceProblem(code int, kind, title, detail string) *clientError {
	return &clientError{code: code, typ: "urn:attest:problem:nonce-" + kind, title: title, detail: clipDetail(detail)}
}

// consumeNonce checks the nonce of a request and records it as used,
// before anything is verified, so that a failed or concurrent second
// attempt finds it used. A caller's own nonce (CallerNonces) is not
// recorded here: deferred reports that useCallerNonce must record it once
// the appraisal vouches for the request.
func (s *Server) consumeNonce(ctx context.Context, p *plan) (deferred bool, err error) {
	k := NonceKey(p.nonce)
	raw, ours := parseNonce(p.nonce)
	if !ours {
		if !s.cfg.CallerNonces {
			s.metrics.nonceRejected("unknown")
			return false, nonceProblem(http.StatusBadRequest, "unknown", "nonce unknown",
				"runtime_data nonce: not issued by this service; request one at POST /challenge")
		}
		return true, nil
	}
	return false, s.useIssuedNonce(ctx, p, k, raw)
}

// useCallerNonce records a caller's own nonce as used for CallerNonceTTL.
// It runs after the appraisal, and only for one that affirms or warns:
// nothing vouches for a caller's nonce before its evidence is verified to
// bind it, and recording it on arrival let anyone fill the store with
// markers of made-up nonces (each kept for an hour: a MemoryStore at its
// bound then refused every attestation; a Redis grew without end). Of
// concurrent requests carrying one nonce, exactly one records it and gets
// its token; a replay within CallerNonceTTL is appraised again and then
// refused, its token discarded. A request that neither affirms nor warns
// records nothing: its replay earns the same token, which grants nothing.
func (s *Server) useCallerNonce(ctx context.Context, p *plan) error {
	switch err := s.cfg.Store.UseNonce(ctx, NonceKey(p.nonce), nil, s.cfg.CallerNonceTTL); {
	case errors.Is(err, ErrNonceUsed):
		s.metrics.nonceRejected("reused")
		return nonceProblem(http.StatusConflict, "used", "nonce used",
			"runtime_data nonce: already used by an earlier attestation")
	case err != nil:
		return &storeError{err}
	}
	return nil
}

// useIssuedNonce checks the MAC and expiry of a nonce the service issued
// (raw, decoded) and records it as used under key k.
func (s *Server) useIssuedNonce(ctx context.Context, p *plan, k string, raw []byte) error {
	secret, err := s.nonceSecret(ctx, false)
	if err != nil {
		return &storeError{err}
	}
	mac := nonceMAC(secret, raw, p.tee)
	if !hmac.Equal(mac, raw[nonceBodySize:]) {
		// The secret may have changed since it was cached: ask the store.
		if secret, err = s.nonceSecret(ctx, true); err != nil {
			return &storeError{err}
		}
		if !hmac.Equal(nonceMAC(secret, raw, p.tee), raw[nonceBodySize:]) {
			s.metrics.nonceRejected("invalid")
			detail := "runtime_data nonce: its MAC does not verify: not issued by this service (or by a replica on another store)"
			if raw[1]&nonceBoundTEE != 0 {
				detail += fmt.Sprintf(", or issued for another TEE than %q", p.tee)
			}
			return nonceProblem(http.StatusBadRequest, "invalid", "nonce invalid", detail)
		}
	}
	now := s.cfg.NonceClock()
	exp := nonceExpiry(raw)
	if !now.Before(exp) {
		s.metrics.nonceRejected("expired")
		return nonceProblem(http.StatusBadRequest, "expired", "nonce expired",
			fmt.Sprintf("runtime_data nonce: expired at %s (now %s); request a new one at POST /challenge",
				exp.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano)))
	}
	switch err := s.cfg.Store.UseNonce(ctx, k, secret, exp.Sub(now)+MaxClockSkew); {
	case errors.Is(err, ErrNonceUsed):
		s.metrics.nonceRejected("reused")
		return nonceProblem(http.StatusConflict, "used", "nonce used",
			"runtime_data nonce: already used by an earlier attestation; request a new one at POST /challenge")
	case errors.Is(err, ErrSecretChanged):
		s.secret.Store(nil)
		s.metrics.nonceRejected("unknown")
		return nonceProblem(http.StatusBadRequest, "unknown", "nonce unknown",
			"runtime_data nonce: not issued under the store's current nonce secret (the store was reset or the secret rotated); request a new one at POST /challenge")
	case err != nil:
		return &storeError{err}
	}
	return nil
}
