package verify

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"

	"github.com/trustfactory/attest/ear"
)

// MaxTEEPubKeySize bounds the JWK a Session carries into a result.
const MaxTEEPubKeySize = 16 << 10

// Session is the relying party's session an appraisal answers: the nonce it
// issued and, optionally, the key the TEE asked secrets to be wrapped to. An
// appraisal told its session (Appraiser.AppraiseSession) writes Nonce as the
// result's eat_nonce and TEEPubKey as the attest_tee_pubkey extension of
// every submodule whose evidence verified against an expected report data, so
// that token.Verifier's nonce check and token.CheckKeyBinding pass with
// nothing filled in by hand.
//
// The session is the caller's statement of what each component's
// Expectations.ReportData was derived from (binding.Expect derives both from
// one binding.RuntimeData): the appraiser checks the report data, not how it
// was computed.
type Session struct {
	// Nonce is the eat_nonce: 8 to 64 bytes. SessionNonce derives it from a
	// KBS nonce string.
	Nonce []byte
	// TEEPubKey is the JWK object the TEE bound into its evidence, as
	// received; nil when the session binds no key.
	TEEPubKey json.RawMessage
}

// NewSession returns the session of a KBS-style challenge: the nonce string
// becomes the eat_nonce by SessionNonce, and teePubKey (a JWK object, or nil)
// is kept as given.
func NewSession(nonce string, teePubKey json.RawMessage) (Session, error) {
	n, err := SessionNonce(nonce)
	if err != nil {
		return Session{}, err
	}
	s := Session{Nonce: n, TEEPubKey: bytes.Clone(teePubKey)}
	if _, err := s.teeKey(); err != nil {
		return Session{}, err
	}
	return s, nil
}

// SessionNonce turns a session nonce string (a Trustee KBS nonce is the
// standard base64 text of 32 random bytes: 44 characters) into the 8–64-byte
// eat_nonce an EAR carries. The rule, so that a relying party can reproduce
// it without this package:
//
//   - a string of 8 to 64 bytes is used as is: eat_nonce = []byte(nonce),
//     without decoding base64 or hex (which would make one nonce readable
//     two ways);
//   - a longer string is hashed: eat_nonce = SHA-384(nonce), 48 bytes;
//   - a string shorter than 8 bytes is an ErrConfig error: it is too short
//     to make a session fresh.
func SessionNonce(nonce string) ([]byte, error) {
	switch {
	case len(nonce) < ear.MinNonceSize:
		return nil, Errorf(ErrConfig, "session nonce: expected at least %d bytes, got %d", ear.MinNonceSize, len(nonce))
	case len(nonce) <= ear.MaxNonceSize:
		return []byte(nonce), nil
	}
	d := sha512.Sum384([]byte(nonce))
	return d[:], nil
}

// check validates the session for AppraiseSession.
func (s Session) check() (map[string]any, error) {
	if err := ear.CheckNonce("session nonce", s.Nonce); err != nil {
		return nil, Errorf(ErrConfig, "%w", err)
	}
	return s.teeKey()
}

// teeKey decodes TEEPubKey into the JSON object the result carries (nil when
// the session binds no key). Anything but a bounded JSON object with a "kty"
// member is an ErrConfig error.
func (s Session) teeKey() (map[string]any, error) {
	if len(bytes.TrimSpace(s.TEEPubKey)) == 0 {
		return nil, nil
	}
	if len(s.TEEPubKey) > MaxTEEPubKeySize {
		return nil, Errorf(ErrConfig, "session tee-pubkey: %d bytes, limit %d", len(s.TEEPubKey), MaxTEEPubKeySize)
	}
	var key map[string]any
	if err := json.Unmarshal(s.TEEPubKey, &key); err != nil || key == nil {
		return nil, Errorf(ErrConfig, "session tee-pubkey: expected a JWK object")
	}
	if kty, _ := key["kty"].(string); kty == "" {
		return nil, Errorf(ErrConfig, "session tee-pubkey: expected a JWK object with \"kty\", got none")
	}
	return key, nil
}
