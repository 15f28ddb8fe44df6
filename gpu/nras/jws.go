package nras

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Bounds on one compact JWS. NRAS tokens are 1–4 KiB; the caps leave room
// for claims NVIDIA may add without letting one token cost much.
const (
	// MaxTokenSize bounds one compact JWS (overall or device token).
	MaxTokenSize = 64 << 10
	maxHeaderB64 = 1 << 10
	sigSize      = 96 // ES384: raw r‖s, 48 bytes each
)

// header is the part of a JOSE header the verifier reads. jku, jwk, x5u and
// x5c are deliberately absent: a key that arrives with the token is never
// used, whatever it says.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
	Enc  string          `json:"enc"`
}

// parsedJWS is a compact JWS split into its parts; nothing in it is verified.
type parsedJWS struct {
	signed  []byte // ASCII of header "." payload: the JWS signing input
	payload []byte // base64url text of the payload
	sig     []byte // base64url text of the signature
	hdr     header
}

func isB64URL(s []byte) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// splitJWS splits a compact JWS and decodes its header. what names the
// token in errors ("overall token", "GPU-0 token").
func splitJWS(what string, tok string) (*parsedJWS, error) {
	if len(tok) > MaxTokenSize {
		return nil, verify.Errorf(verify.ErrLimit, "%s: expected at most %d bytes, got %d", what, MaxTokenSize, len(tok))
	}
	b := []byte(tok)
	if n := bytes.Count(b, []byte{'.'}); n != 2 {
		if n == 4 {
			return nil, verify.Errorf(verify.ErrUnsupported, "%s: a JWE (5 parts) is not accepted", what)
		}
		return nil, verify.Errorf(verify.ErrMalformed, "%s: expected 3 dot-separated parts, got %d", what, n+1)
	}
	h64, rest, _ := bytes.Cut(b, []byte{'.'})
	p64, s64, _ := bytes.Cut(rest, []byte{'.'})
	// An empty signature is left to the algorithm and signature checks: it
	// is what an alg "none" token carries, a forgery, not a parse error.
	if len(h64) == 0 || len(p64) == 0 || !isB64URL(h64) || !isB64URL(p64) || !isB64URL(s64) {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: header and payload must be non-empty unpadded base64url, and the signature base64url", what)
	}
	if len(h64) > maxHeaderB64 {
		return nil, verify.Errorf(verify.ErrLimit, "%s header: expected at most %d base64 characters, got %d", what, maxHeaderB64, len(h64))
	}
	hb := make([]byte, base64.RawURLEncoding.DecodedLen(len(h64)))
	n, err := base64.RawURLEncoding.Decode(hb, h64)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s header: %v", what, err)
	}
	p := &parsedJWS{signed: b[:len(h64)+1+len(p64)], payload: p64, sig: s64}
	if err := json.Unmarshal(hb[:n], &p.hdr); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s header: %v", what, err)
	}
	if p.hdr.Enc != "" {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s header: encrypted tokens (enc %q) are not accepted", what, p.hdr.Enc)
	}
	if p.hdr.Crit != nil || p.hdr.B64 != nil {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s header: crit / b64 extensions are not accepted", what)
	}
	return p, nil
}

// checkAlg pins the algorithm. "none" and the HMAC algorithms are forgery
// attempts against a public-key verifier (an unsigned token, or a MAC keyed
// with public bytes), so they are signature failures; any other algorithm
// is well-formed but not what NRAS signs with.
func checkAlg(what, alg string) error {
	switch {
	case alg == "ES384":
		return nil
	case alg == "" || strings.EqualFold(alg, "none") || strings.HasPrefix(strings.ToUpper(alg), "HS"):
		return verify.Errorf(verify.ErrSignature, "%s header alg: expected ES384, got %q (unsigned or MAC tokens are never accepted)", what, alg)
	}
	return verify.Errorf(verify.ErrUnsupported, "%s header alg: expected ES384, got %q", what, alg)
}

// verifyES384 checks the raw r‖s signature of p with key.
func verifyES384(what string, p *parsedJWS, key *ecdsa.PublicKey) error {
	var sig [sigSize]byte
	if base64.RawURLEncoding.DecodedLen(len(p.sig)) != sigSize {
		return verify.Errorf(verify.ErrSignature, "%s signature: expected %d bytes (ES384 r‖s), got %d", what, sigSize, base64.RawURLEncoding.DecodedLen(len(p.sig)))
	}
	if _, err := base64.RawURLEncoding.Strict().Decode(sig[:], p.sig); err != nil {
		return verify.Errorf(verify.ErrSignature, "%s signature: %v", what, err)
	}
	digest := sha512.Sum384(p.signed)
	r := new(big.Int).SetBytes(sig[:48])
	s := new(big.Int).SetBytes(sig[48:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		return verify.Errorf(verify.ErrSignature, "%s: ES384 signature does not verify with key %q", what, p.hdr.Kid)
	}
	return nil
}

// decodePayload decodes the verified payload's base64url text.
func decodePayload(what string, p *parsedJWS) ([]byte, error) {
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(p.payload)))
	n, err := base64.RawURLEncoding.Strict().Decode(out, p.payload)
	if err != nil {
		// Signed bytes that are not base64url: the issuer's error, not ours.
		return nil, verify.Errorf(verify.ErrMalformed, "%s payload: %v", what, err)
	}
	return out[:n], nil
}
