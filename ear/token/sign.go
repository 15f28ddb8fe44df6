package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// DefaultLifetime is the token lifetime a Signer gives a Result without exp.
const DefaultLifetime = 5 * time.Minute

// Media types of the two token encodings.
const (
	MediaTypeJWT = "application/eat-jwt"
	MediaTypeCWT = "application/eat-cwt"
)

// Signer issues signed EAR tokens with one private key. It is safe for
// concurrent use.
type Signer struct {
	alg      Algorithm
	kid      string
	pub      *Key
	cose     cose.Signer
	codec    *ear.Codec
	lifetime time.Duration
	// jwtHeader is the base64url protected header of every JWT, encoded
	// once: it depends only on the signer.
	jwtHeader string
}

// SignerOption configures a Signer.
type SignerOption func(*Signer) error

// WithKeyID sets the kid the signer puts in every token header.
func WithKeyID(kid string) SignerOption {
	return func(s *Signer) error { s.kid = kid; return nil }
}

// WithAlgorithm selects the algorithm; it must fit the key (needed only to
// choose PS384 over PS256 for RSA keys).
func WithAlgorithm(alg Algorithm) SignerOption {
	return func(s *Signer) error { s.alg = alg; return nil }
}

// WithLifetime sets the lifetime given to Results without exp (default 5 min).
func WithLifetime(d time.Duration) SignerOption {
	return func(s *Signer) error {
		if d <= 0 {
			return verify.Errorf(verify.ErrConfig, "lifetime: expected a positive duration, got %s", d)
		}
		s.lifetime = d
		return nil
	}
}

// WithSignerRegistry sets the extension registry used to encode claims.
func WithSignerRegistry(reg *ear.Registry) SignerOption {
	return func(s *Signer) error { s.codec = ear.NewCodec(reg); return nil }
}

// NewSigner returns a signer for priv, an *ecdsa.PrivateKey (P-256, P-384),
// ed25519.PrivateKey or *rsa.PrivateKey (≥ 2048 bits, PS256 by default).
func NewSigner(priv crypto.Signer, opts ...SignerOption) (*Signer, error) {
	if priv == nil {
		return nil, verify.Errorf(verify.ErrConfig, "signer: no private key")
	}
	switch priv.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, verify.Errorf(verify.ErrConfig, "signer: unsupported key type %T", priv)
	}
	s := &Signer{codec: ear.NewCodec(nil), lifetime: DefaultLifetime}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if _, ok := priv.(*rsa.PrivateKey); ok && s.alg == "" {
		s.alg = PS256
	}
	pub, err := NewKey(priv.Public(), s.kid, s.alg)
	if err != nil {
		return nil, err
	}
	s.alg, s.pub = pub.Algorithm, pub
	if s.cose, err = cose.NewSigner(s.alg.cose(), priv); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "signer: %w", err)
	}
	hdr, _ := json.Marshal(struct { // strings only: it cannot fail
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{string(s.alg), s.kid, "JWT"})
	s.jwtHeader = base64.RawURLEncoding.EncodeToString(hdr)
	return s, nil
}

// NewSignerFromJWK returns a signer for a private JWK such as GenerateKey
// writes; its kid and alg are used unless opts override them.
func NewSignerFromJWK(privateJWK []byte, opts ...SignerOption) (*Signer, error) {
	if err := checkKeySize("jwk", privateJWK); err != nil {
		return nil, err
	}
	jk, err := jwk.ParseKey(privateJWK)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwk: %w", err)
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwk: %w", err)
	}
	priv, ok := raw.(crypto.Signer)
	if !ok {
		return nil, verify.Errorf(verify.ErrConfig, "jwk %q: not a private signing key (%T)", jk.KeyID(), raw)
	}
	base := []SignerOption{WithKeyID(jk.KeyID())}
	if a := jk.Algorithm(); a != nil && a.String() != "" {
		alg, err := ParseAlgorithm(a.String())
		if err != nil {
			return nil, err
		}
		base = append(base, WithAlgorithm(alg))
	}
	return NewSigner(priv, append(base, opts...)...)
}

// Algorithm returns the signer's algorithm.
func (s *Signer) Algorithm() Algorithm { return s.alg }

// KeyID returns the kid put in token headers.
func (s *Signer) KeyID() string { return s.kid }

// PublicKey returns the pinned public key that verifies the signer's tokens.
func (s *Signer) PublicKey() *Key { return cloneKeys([]*Key{s.pub})[0] }

// KeySet returns a key set holding only the signer's public key.
func (s *Signer) KeySet() *KeySet { return &KeySet{keys: cloneKeys([]*Key{s.pub})} }

// SignOption is a per-token issuing option.
type SignOption func(*signConfig)

type signConfig struct {
	expiryCap time.Time
}

// CapExpiry caps the token's exp at t, typically the earliest expiry of the
// certificates and collateral the appraisal relied on, so that a token never
// outlives its evidence. A cap not after iat is refused (ErrExpired).
func CapExpiry(t time.Time) SignOption {
	return func(c *signConfig) { c.expiryCap = t }
}

// prepare copies r, fills exp, applies the cap and validates.
func (s *Signer) prepare(r *ear.Result, opts []SignOption) (*ear.Result, error) {
	if r == nil {
		return nil, verify.Errorf(verify.ErrToken, "sign: nil result")
	}
	var cfg signConfig
	for _, o := range opts {
		o(&cfg)
	}
	c := *r
	if c.ExpiresAt.IsZero() && !c.IssuedAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(s.lifetime)
	}
	if !cfg.expiryCap.IsZero() {
		if !cfg.expiryCap.Truncate(time.Second).After(c.IssuedAt) {
			return nil, verify.Errorf(verify.ErrToken, "exp: expiry cap %s is not after iat %s: %w",
				cfg.expiryCap.UTC().Format(time.RFC3339), c.IssuedAt.UTC().Format(time.RFC3339),
				verify.Errorf(verify.ErrExpired, "collateral expires before the token would be issued"))
		}
		c.CapExpiry(cfg.expiryCap)
	}
	if err := c.Validate(); err != nil {
		return nil, claimsError(err)
	}
	return &c, nil
}

// SignJWT validates r and returns it as a signed JWT (JWS compact
// serialization) with alg, kid and typ "JWT" in the protected header. A Result
// without exp gets iat plus the signer's lifetime. r is not modified.
func (s *Signer) SignJWT(r *ear.Result, opts ...SignOption) ([]byte, error) {
	c, err := s.prepare(r, opts)
	if err != nil {
		return nil, err
	}
	payload, err := s.codec.EncodeJSON(c)
	if err != nil {
		return nil, claimsError(err)
	}
	tok, err := s.signCompact(payload)
	if err != nil {
		return nil, verify.Errorf(verify.ErrToken, "sign JWT: %w", err)
	}
	return tok, nil
}

// signCompact returns the JWS compact serialization (RFC 7515 §7.1) of
// payload under the signer's header: header.payload.signature, each
// base64url without padding, the signature over "header.payload" as RFC 7518
// §3 defines it for the signer's algorithm.
func (s *Signer) signCompact(payload []byte) ([]byte, error) {
	b64 := base64.RawURLEncoding
	tok := make([]byte, 0, len(s.jwtHeader)+2+b64.EncodedLen(len(payload))+b64.EncodedLen(512))
	tok = append(tok, s.jwtHeader...)
	tok = append(tok, '.')
	tok = b64.AppendEncode(tok, payload)
	// A COSE signature of the same algorithm has the JWS form (RFC 7518 §3:
	// ECDSA r‖s at the curve's size, PSS with a salt as long as the hash,
	// Ed25519 over the input itself).
	sig, err := s.cose.Sign(rand.Reader, tok)
	if err != nil {
		return nil, err
	}
	tok = append(tok, '.')
	return b64.AppendEncode(tok, sig), nil
}

// SignCWT validates r and returns it as a tagged COSE_Sign1 message whose
// payload is the CBOR claims set, with alg, kid and content type in the
// protected header. A Result without exp gets iat plus the signer's lifetime.
func (s *Signer) SignCWT(r *ear.Result, opts ...SignOption) ([]byte, error) {
	c, err := s.prepare(r, opts)
	if err != nil {
		return nil, err
	}
	payload, err := s.codec.EncodeCBOR(c)
	if err != nil {
		return nil, claimsError(err)
	}
	hdr := cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm:   s.alg.cose(),
		cose.HeaderLabelContentType: MediaTypeCWT,
	}}
	if s.kid != "" {
		hdr.Protected[cose.HeaderLabelKeyID] = []byte(s.kid)
	}
	tok, err := cose.Sign1(rand.Reader, s.cose, hdr, payload, nil)
	if err != nil {
		return nil, verify.Errorf(verify.ErrToken, "sign CWT: %w", err)
	}
	return tok, nil
}
