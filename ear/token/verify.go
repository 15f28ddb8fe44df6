package token

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// DefaultMaxSize is the default token size limit, checked before parsing. A
// verbose Trustee token for eight GPUs is about 170 KiB.
const DefaultMaxSize = 512 << 10

// maxHeaderSize bounds a JWT protected header.
const maxHeaderSize = 8 << 10

// Structure caps of a token's headers, checked before they are decoded:
// decoders allocate a value per element, so 8 KiB of "crit":[0,0,…] cost 50
// times its size, and 512 KiB of COSE header pairs 83 times (43 MB;
// TestWorstShapeVerifyCWT). An EAR token's headers hold a handful of
// parameters; the caps leave room for a certificate chain (x5c, x5chain).
const (
	maxHeaderDepth  = 8
	maxHeaderValues = 64
)

// headerMode checks the structure of a COSE_Sign1 and of its protected
// header within the caps above (16 is the least count the cbor package
// accepts) before go-cose decodes them. The payload is a byte string, so the
// claims are not counted: they are decoded only once the signature holds.
var headerMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{MaxNestedLevels: maxHeaderDepth, MaxArrayElements: 16, MaxMapPairs: 16}.DecMode()
	if err != nil {
		panic(err) // the options are constants: a failure is a programming error
	}
	return m
}()

// Expectations are the per-call inputs of token verification.
type Expectations struct {
	// Now is the verification time; zero means time.Now().
	Now time.Time
	// Skew is the clock skew tolerated on exp, nbf and iat (≥ 0).
	Skew time.Duration
	// Nonce, when non-nil, must equal the token's eat_nonce; a non-nil empty
	// Nonce is a configuration error, never a skipped check. An appraisal
	// told its session (verify.Appraiser.AppraiseSession) carries the
	// session's nonce string as verify.SessionNonce derives it.
	Nonce []byte
	// Issuer, when set, must equal iss.
	Issuer string
	// Audience, when set, must be among aud. A token that names an audience
	// is refused when Audience is empty.
	Audience string
}

// Verifier verifies EAR tokens against a fixed set of trusted keys. It is
// safe for concurrent use.
type Verifier struct {
	keys          *KeySet
	codec         *ear.Codec
	maxSize       int
	allowNoExpiry bool
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier) error

// WithMaxSize sets the token size limit in bytes (default DefaultMaxSize).
func WithMaxSize(n int) VerifierOption {
	return func(v *Verifier) error {
		if n <= 0 {
			return verify.Errorf(verify.ErrConfig, "max size: expected a positive size, got %d", n)
		}
		v.maxSize = n
		return nil
	}
}

// WithRegistry sets the extension registry used to decode claims.
func WithRegistry(reg *ear.Registry) VerifierOption {
	return func(v *Verifier) error { v.codec = ear.NewCodec(reg); return nil }
}

// UnsafeMissingExpiry is the unsafe switch of WithMissingExpiryUnsafe, listed
// in a verified Result's attest_unsafe extension when it took effect.
const UnsafeMissingExpiry verify.UnsafeSwitch = "token.WithMissingExpiryUnsafe"

// WithMissingExpiryUnsafe accepts tokens without exp (legacy Veraison
// tokens). Such a token never expires; the returned Result lists the switch
// in its attest_unsafe extension.
func WithMissingExpiryUnsafe() VerifierOption {
	return func(v *Verifier) error { v.allowNoExpiry = true; return nil }
}

// NewVerifier returns a verifier that trusts exactly the keys in keys.
func NewVerifier(keys *KeySet, opts ...VerifierOption) (*Verifier, error) {
	if keys == nil || len(keys.keys) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "verifier: expected a key set with at least one key")
	}
	v := &Verifier{keys: keys, codec: ear.NewCodec(nil), maxSize: DefaultMaxSize}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Format is a token encoding.
type Format int

// Token formats.
const (
	FormatUnknown Format = iota
	FormatJWT
	FormatCWT
)

// String returns "jwt", "cwt" or "unknown".
func (f Format) String() string {
	switch f {
	case FormatJWT:
		return "jwt"
	case FormatCWT:
		return "cwt"
	}
	return "unknown"
}

// DetectFormat tells a JWT (base64url text starting with an encoded "{")
// from a COSE_Sign1 (CBOR array or tag 18/61) by the first bytes.
func DetectFormat(tok []byte) Format {
	if len(tok) == 0 {
		return FormatUnknown
	}
	switch tok[0] {
	case 'e':
		return FormatJWT
	case 0x84, 0xd2: // untagged / tag 18
		return FormatCWT
	case 0xd8: // one-byte tag: CWT (61) or COSE_Sign1 (18)
		if len(tok) > 1 && (tok[1] == 61 || tok[1] == 18) {
			return FormatCWT
		}
	}
	return FormatUnknown
}

// Verify detects the token format (JWT or CWT) and verifies it: the
// signature by a key of the Verifier's set with that key's pinned algorithm,
// exp, nbf and iat at exp.Now (within exp.Skew), and, when exp sets them, the
// nonce, issuer and audience. A nil exp.Nonce checks no nonce: a relying
// party that answers a session passes the session's (verify.SessionNonce).
// Every failure has the kind verify.ErrToken, besides its own (ErrSignature,
// ErrExpired, ErrFreshness for another session's nonce, …).
func (v *Verifier) Verify(ctx context.Context, tok []byte, exp Expectations) (*ear.Result, error) {
	if err := v.checkSize(tok); err != nil {
		return nil, err
	}
	switch DetectFormat(tok) {
	case FormatJWT:
		return v.VerifyJWT(ctx, tok, exp)
	case FormatCWT:
		return v.VerifyCWT(ctx, tok, exp)
	}
	return nil, verify.Errorf(verify.ErrToken, "token: %w", verify.Errorf(verify.ErrMalformed, "neither a JWT nor a COSE_Sign1 (first byte %#02x)", firstByte(tok)))
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func (v *Verifier) checkSize(tok []byte) error {
	if len(tok) > v.maxSize {
		return verify.Errorf(verify.ErrToken, "token: %w", verify.Errorf(verify.ErrLimit, "expected at most %d bytes, got %d", v.maxSize, len(tok)))
	}
	if len(tok) == 0 {
		return verify.Errorf(verify.ErrToken, "token: %w", verify.Errorf(verify.ErrMalformed, "empty"))
	}
	return nil
}

func malformed(format string, args ...any) error {
	return verify.Errorf(verify.ErrToken, "%w", verify.Errorf(verify.ErrMalformed, format, args...))
}

// jwtHeader is the part of a JOSE header the verifier reads. jku, x5u, jwk
// and x5c are deliberately absent: they are never used.
type jwtHeader struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
	B64  *bool    `json:"b64"`
	Enc  string   `json:"enc"`
}

func isB64URL(s []byte) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// VerifyJWT verifies a JWS compact token and returns its validated claims.
func (v *Verifier) VerifyJWT(ctx context.Context, tok []byte, exp Expectations) (*ear.Result, error) {
	if err := v.precheck(ctx, tok, exp); err != nil {
		return nil, err
	}
	if tok[0] == '{' {
		return nil, verify.Errorf(verify.ErrToken, "jwt: %w", verify.Errorf(verify.ErrUnsupported, "JSON serialization is not accepted; expected compact"))
	}
	if n := bytes.Count(tok, []byte{'.'}); n != 2 {
		if n == 4 {
			return nil, verify.Errorf(verify.ErrToken, "jwt: %w", verify.Errorf(verify.ErrUnsupported, "JWE (5 parts) is not accepted"))
		}
		return nil, malformed("jwt: expected 3 dot-separated parts, got %d", n+1)
	}
	h64, rest, _ := bytes.Cut(tok, []byte{'.'})
	p64, s64, _ := bytes.Cut(rest, []byte{'.'})
	if len(h64) == 0 || len(s64) == 0 || !isB64URL(h64) || !isB64URL(p64) || !isB64URL(s64) {
		return nil, malformed("jwt: parts must be non-empty unpadded base64url")
	}
	if base64.RawURLEncoding.DecodedLen(len(h64)) > maxHeaderSize {
		return nil, verify.Errorf(verify.ErrToken, "jwt header: %w", verify.Errorf(verify.ErrLimit, "expected at most %d bytes, got %d", maxHeaderSize, base64.RawURLEncoding.DecodedLen(len(h64))))
	}
	hb, err := base64.RawURLEncoding.DecodeString(string(h64))
	if err != nil {
		return nil, malformed("jwt header: %v", err)
	}
	if err := jsonbound.Check(hb, "jwt header", maxHeaderDepth, maxHeaderValues); err != nil {
		return nil, verify.Errorf(verify.ErrToken, "%w", err)
	}
	var h jwtHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, malformed("jwt header: %v", err)
	}
	if h.Enc != "" {
		return nil, verify.Errorf(verify.ErrToken, "jwt header: %w", verify.Errorf(verify.ErrUnsupported, "encrypted tokens (enc %q) are not accepted", h.Enc))
	}
	if len(h.Crit) > 0 || h.B64 != nil {
		return nil, verify.Errorf(verify.ErrToken, "jwt header: %w", verify.Errorf(verify.ErrUnsupported, "crit %q / b64 extensions are not accepted", h.Crit))
	}
	keys, err := v.pick(h.Kid, Algorithm(h.Alg))
	if err != nil {
		return nil, err
	}
	var payload []byte
	var sigErr error
	for _, k := range keys {
		payload, sigErr = jws.Verify(tok, jws.WithKey(k.Algorithm.jwa(), k.Public))
		if sigErr == nil {
			break
		}
	}
	if sigErr != nil {
		return nil, verify.Errorf(verify.ErrToken, "jwt: %w", verify.Errorf(verify.ErrSignature, "alg %s kid %q: no trusted key verifies the signature", h.Alg, h.Kid))
	}
	r, err := v.codec.DecodeJSON(payload)
	if err != nil {
		return nil, claimsError(err)
	}
	return v.checkClaims(r, exp)
}

// pick returns the trusted keys that may verify a token with the given header
// kid and alg: the algorithm must be the one each key is pinned to.
func (v *Verifier) pick(kid string, alg Algorithm) ([]*Key, error) {
	if alg == "" || alg == "none" {
		return nil, verify.Errorf(verify.ErrToken, "header alg: expected a signature algorithm, got %q", alg)
	}
	cands := v.keys.candidates(kid)
	if len(cands) == 0 {
		return nil, verify.Errorf(verify.ErrToken, "header kid: expected a trusted key id, got %q", kid)
	}
	var out []*Key
	for _, k := range cands {
		if k.Algorithm == alg {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		pinned := make([]string, len(cands))
		for i, k := range cands {
			pinned[i] = string(k.Algorithm)
		}
		return nil, verify.Errorf(verify.ErrToken, "header alg: expected %v (pinned to key %q), got %q", pinned, kid, alg)
	}
	return out, nil
}

// VerifyCWT verifies a COSE_Sign1 token (tagged, untagged or inside a CWT
// tag) and returns its validated claims. A header with crit (critical
// parameters) is refused, as VerifyJWT refuses one.
func (v *Verifier) VerifyCWT(ctx context.Context, tok []byte, exp Expectations) (*ear.Result, error) {
	if err := v.precheck(ctx, tok, exp); err != nil {
		return nil, err
	}
	msg, err := parseSign1(tok)
	if err != nil {
		return nil, err
	}
	// RFC 9052 §3.1: a recipient must refuse a message whose crit names a
	// parameter it does not process; this verifier processes none, as the
	// JWT path refuses crit. In the unprotected bucket crit is not allowed.
	_, critP := msg.Headers.Protected[cose.HeaderLabelCritical]
	_, critU := msg.Headers.Unprotected[cose.HeaderLabelCritical]
	if critP || critU {
		return nil, verify.Errorf(verify.ErrToken, "cwt header: %w", verify.Errorf(verify.ErrUnsupported, "crit (critical header parameters) is not accepted"))
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		return nil, verify.Errorf(verify.ErrToken, "cwt header alg: expected a protected algorithm: %v", err)
	}
	var jalg Algorithm
	for _, a := range algorithms {
		if a.cose() == alg {
			jalg = a
		}
	}
	if jalg == "" {
		return nil, verify.Errorf(verify.ErrToken, "cwt header alg: unsupported algorithm %v", alg)
	}
	kid, err := coseKID(&msg.Headers)
	if err != nil {
		return nil, err
	}
	keys, err := v.pick(kid, jalg)
	if err != nil {
		return nil, err
	}
	var sigErr error
	for _, k := range keys {
		if sigErr = msg.Verify(nil, k.cose); sigErr == nil {
			break
		}
	}
	if sigErr != nil {
		return nil, verify.Errorf(verify.ErrToken, "cwt: %w", verify.Errorf(verify.ErrSignature, "alg %s kid %q: no trusted key verifies the signature", jalg, kid))
	}
	r, err := v.codec.DecodeCBOR(msg.Payload)
	if err != nil {
		return nil, claimsError(err)
	}
	return v.checkClaims(r, exp)
}

// parseSign1 decodes a COSE_Sign1 message, tagged, untagged or inside a CWT
// tag. Nothing in it is verified yet.
func parseSign1(tok []byte) (*cose.Sign1Message, error) {
	b := tok
	if len(b) >= 2 && b[0] == 0xd8 && b[1] == 61 { // CWT tag wrapping COSE_Sign1
		b = b[2:]
	}
	if err := checkSign1Shape(b); err != nil {
		return nil, err
	}
	var msg cose.Sign1Message
	var err error
	switch firstByte(b) {
	case 0xd2:
		err = msg.UnmarshalCBOR(b)
	case 0x84:
		var um cose.UntaggedSign1Message
		err = um.UnmarshalCBOR(b)
		msg = cose.Sign1Message(um)
	default:
		return nil, malformed("cwt: expected a COSE_Sign1, first byte %#02x", firstByte(b))
	}
	if err != nil {
		return nil, malformed("cwt: %v", err)
	}
	return &msg, nil
}

// checkSign1Shape refuses, before go-cose decodes it, a COSE_Sign1 whose
// structure or protected header exceeds headerMode's caps (ErrLimit), or
// that is not well-formed CBOR (ErrMalformed). It allocates only the four
// raw parts.
func checkSign1Shape(b []byte) error {
	if firstByte(b) == 0xd2 { // tag 18, COSE_Sign1
		b = b[1:]
	}
	shapeErr := func(what string, err error) error {
		var (
			arr   *cbor.MaxArrayElementsError
			pairs *cbor.MaxMapPairsError
			depth *cbor.MaxNestedLevelError
		)
		if errors.As(err, &arr) || errors.As(err, &pairs) || errors.As(err, &depth) {
			return verify.Errorf(verify.ErrToken, "cwt %s: %w", what, verify.Errorf(verify.ErrLimit, "%v", err))
		}
		return malformed("cwt %s: %v", what, err)
	}
	if err := headerMode.Wellformed(b); err != nil {
		return shapeErr("structure", err)
	}
	var parts []cbor.RawMessage
	if err := headerMode.Unmarshal(b, &parts); err != nil || len(parts) == 0 {
		return malformed("cwt: expected a COSE_Sign1 array: %v", err)
	}
	var protected []byte
	if err := headerMode.Unmarshal(parts[0], &protected); err != nil {
		return malformed("cwt protected header: expected a byte string: %v", err)
	}
	if len(protected) == 0 {
		return nil
	}
	if err := headerMode.Wellformed(protected); err != nil {
		return shapeErr("protected header", err)
	}
	return nil
}

func coseKID(h *cose.Headers) (string, error) {
	raw, ok := h.Protected[cose.HeaderLabelKeyID]
	if !ok {
		raw, ok = h.Unprotected[cose.HeaderLabelKeyID]
	}
	if !ok {
		return "", nil
	}
	b, ok := raw.([]byte)
	if !ok {
		return "", malformed("cwt header kid: expected a byte string, got %T", raw)
	}
	return string(b), nil
}

// precheck does what both token formats check before parsing: the size, the
// context and the caller's expectations.
func (v *Verifier) precheck(ctx context.Context, tok []byte, exp Expectations) error {
	if err := v.checkSize(tok); err != nil {
		return err
	}
	if err := verify.Canceled(ctx, "token verification not started"); err != nil {
		return err
	}
	return checkExpectations(exp)
}

func checkExpectations(exp Expectations) error {
	if exp.Skew < 0 {
		return verify.Errorf(verify.ErrConfig, "skew: expected ≥ 0, got %s", exp.Skew)
	}
	if exp.Nonce != nil {
		if err := ear.CheckNonce("expected nonce", exp.Nonce); err != nil {
			return verify.Errorf(verify.ErrConfig, "%w", err)
		}
	}
	return nil
}

// claimsError gives a claims error from package ear its kinds.
func claimsError(err error) error {
	if errors.Is(err, ear.ErrNonceSize) || errors.Is(err, ear.ErrDecode) {
		return verify.Errorf(verify.ErrToken, "claims: %w", verify.Errorf(verify.ErrMalformed, "%w", err))
	}
	return verify.Errorf(verify.ErrToken, "claims: %w", err)
}

// checkClaims validates decoded claims against the EAR rules and exp.
func (v *Verifier) checkClaims(r *ear.Result, exp Expectations) (*ear.Result, error) {
	if err := r.Validate(); err != nil {
		return nil, claimsError(err)
	}
	now := exp.Now
	if now.IsZero() {
		now = time.Now()
	}
	if r.ExpiresAt.IsZero() {
		if !v.allowNoExpiry {
			return nil, verify.Errorf(verify.ErrToken, "exp: missing (tokens must expire)")
		}
	} else if !now.Before(r.ExpiresAt.Add(exp.Skew)) {
		return nil, verify.Errorf(verify.ErrToken, "exp: %w", verify.Errorf(verify.ErrExpired, "token expired at %s, verification time %s (skew %s)",
			r.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339), exp.Skew))
	}
	if !r.NotBefore.IsZero() && now.Add(exp.Skew).Before(r.NotBefore) {
		return nil, verify.Errorf(verify.ErrToken, "nbf: %w", verify.Errorf(verify.ErrExpired, "token not valid before %s, verification time %s (skew %s)",
			r.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339), exp.Skew))
	}
	if now.Add(exp.Skew).Before(r.IssuedAt) {
		return nil, verify.Errorf(verify.ErrToken, "iat: %w", verify.Errorf(verify.ErrExpired, "token issued in the future at %s, verification time %s (skew %s)",
			r.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339), exp.Skew))
	}
	if exp.Nonce != nil {
		if r.Nonce == nil {
			return nil, verify.Errorf(verify.ErrToken, "eat_nonce: %w", verify.Errorf(verify.ErrFreshness, "expected %x, got none", exp.Nonce))
		}
		if subtle.ConstantTimeCompare(r.Nonce, exp.Nonce) != 1 {
			return nil, verify.Errorf(verify.ErrToken, "eat_nonce: %w", verify.Errorf(verify.ErrFreshness, "expected %x, got %x", exp.Nonce, r.Nonce))
		}
	}
	if exp.Issuer != "" && r.Issuer != exp.Issuer {
		return nil, verify.Errorf(verify.ErrToken, "iss: expected %q, got %q", exp.Issuer, r.Issuer)
	}
	if exp.Audience != "" {
		if !slices.Contains(r.Audience, exp.Audience) {
			return nil, verify.Errorf(verify.ErrToken, "aud: expected %q among %q", exp.Audience, r.Audience)
		}
	} else if len(r.Audience) > 0 {
		return nil, verify.Errorf(verify.ErrToken, "aud: token is for %q but no audience was expected", r.Audience)
	}
	if r.ExpiresAt.IsZero() && v.allowNoExpiry {
		markUnsafe(r, string(UnsafeMissingExpiry))
	}
	return r, nil
}

// markUnsafe records an unsafe switch in the result's attest_unsafe list.
func markUnsafe(r *ear.Result, name string) {
	if r.Extensions == nil {
		r.Extensions = map[string]any{}
	}
	list, _ := r.Extensions[ear.ExtUnsafeName].([]any)
	r.Extensions[ear.ExtUnsafeName] = append(list, name)
}
