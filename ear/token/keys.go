package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// Algorithm is a signature algorithm by its JOSE name.
type Algorithm string

// Supported algorithms. Each key type admits exactly one of them, except RSA
// keys, which are pinned to PS256 or PS384 when configured.
const (
	ES256 Algorithm = "ES256"
	ES384 Algorithm = "ES384"
	EdDSA Algorithm = "EdDSA"
	PS256 Algorithm = "PS256"
	PS384 Algorithm = "PS384"
)

// Algorithms returns the supported algorithms, a new slice on every call
// (the package reads its own list, so changing the result changes nothing).
func Algorithms() []Algorithm { return slices.Clone(algorithms[:]) }

var algorithms = [...]Algorithm{ES256, ES384, EdDSA, PS256, PS384}

// MinRSABits is the smallest RSA modulus accepted for signing or verifying.
const MinRSABits = 2048

func (a Algorithm) jwa() jwa.SignatureAlgorithm {
	switch a {
	case ES256:
		return jwa.ES256
	case ES384:
		return jwa.ES384
	case EdDSA:
		return jwa.EdDSA
	case PS256:
		return jwa.PS256
	case PS384:
		return jwa.PS384
	}
	return ""
}

func (a Algorithm) cose() cose.Algorithm {
	switch a {
	case ES256:
		return cose.AlgorithmES256
	case ES384:
		return cose.AlgorithmES384
	case EdDSA:
		return cose.AlgorithmEdDSA
	case PS256:
		return cose.AlgorithmPS256
	case PS384:
		return cose.AlgorithmPS384
	}
	return 0
}

// ParseAlgorithm parses a JOSE algorithm name, accepting only the supported ones.
func ParseAlgorithm(name string) (Algorithm, error) {
	for _, a := range algorithms {
		if string(a) == name {
			return a, nil
		}
	}
	return "", verify.Errorf(verify.ErrConfig, "algorithm: expected one of %v, got %q", algorithms, name)
}

// pinAlgorithm returns the algorithm a public key is pinned to. want may be
// empty (derive it from the key) or must agree with the key type.
func pinAlgorithm(pub crypto.PublicKey, want Algorithm) (Algorithm, error) {
	var got Algorithm
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			got = ES256
		case elliptic.P384():
			got = ES384
		default:
			return "", verify.Errorf(verify.ErrConfig, "key: unsupported curve %s", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		got = EdDSA
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return "", verify.Errorf(verify.ErrConfig, "key: expected an RSA modulus of at least %d bits, got %d", MinRSABits, k.N.BitLen())
		}
		switch want {
		case PS256, PS384:
			return want, nil
		case "":
			return "", verify.Errorf(verify.ErrConfig, "key: an RSA key needs an explicit algorithm (PS256 or PS384)")
		}
		return "", verify.Errorf(verify.ErrConfig, "key: algorithm %s does not fit an RSA key (expected PS256 or PS384)", want)
	default:
		return "", verify.Errorf(verify.ErrConfig, "key: unsupported key type %T", pub)
	}
	if want != "" && want != got {
		return "", verify.Errorf(verify.ErrConfig, "key: algorithm %s does not fit the key (expected %s)", want, got)
	}
	return got, nil
}

// Key is a trusted verification key: a public key, its key id (may be empty)
// and the one algorithm it verifies.
type Key struct {
	ID        string
	Algorithm Algorithm
	Public    crypto.PublicKey

	cose cose.Verifier
}

// NewKey pins pub to an algorithm: alg may be empty for EC and Ed25519 keys
// (it follows from the key type) and must be PS256 or PS384 for RSA keys.
func NewKey(pub crypto.PublicKey, kid string, alg Algorithm) (*Key, error) {
	if alg != "" {
		if _, err := ParseAlgorithm(string(alg)); err != nil {
			return nil, err
		}
	}
	pinned, err := pinAlgorithm(pub, alg)
	if err != nil {
		return nil, err
	}
	cv, err := cose.NewVerifier(pinned.cose(), pub)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "key %q: %w", kid, err)
	}
	return &Key{ID: kid, Algorithm: pinned, Public: pub, cose: cv}, nil
}

// JWK returns the public key as a JWK with kid, alg and use=sig.
func (k *Key) JWK() (jwk.Key, error) {
	jk, err := jwk.FromRaw(k.Public)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "key %q: %w", k.ID, err)
	}
	if k.ID != "" {
		if err := jk.Set(jwk.KeyIDKey, k.ID); err != nil {
			return nil, verify.Errorf(verify.ErrConfig, "key %q: %w", k.ID, err)
		}
	}
	if err := jk.Set(jwk.AlgorithmKey, k.Algorithm.jwa()); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "key %q: %w", k.ID, err)
	}
	if err := jk.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "key %q: %w", k.ID, err)
	}
	return jk, nil
}

// KeySet is an immutable set of trusted verification keys.
type KeySet struct {
	keys []*Key
}

// NewKeySet returns a set of the given keys; key ids must be unique.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	seen := map[string]bool{}
	for _, k := range keys {
		if k == nil || k.Public == nil || k.cose == nil {
			return nil, verify.Errorf(verify.ErrConfig, "key set: keys must come from NewKey or ParseJWK")
		}
		if k.ID != "" {
			if seen[k.ID] {
				return nil, verify.Errorf(verify.ErrConfig, "key set: duplicate kid %q", k.ID)
			}
			seen[k.ID] = true
		}
	}
	if len(keys) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "key set: expected at least one key, got none")
	}
	return &KeySet{keys: cloneKeys(keys)}, nil
}

// Keys returns copies of the keys of the set: changing them does not change
// the set.
func (s *KeySet) Keys() []*Key { return cloneKeys(s.keys) }

// cloneKeys copies keys. A KeySet keeps its own copies: Key's fields are
// exported, and a verifier whose key or algorithm a caller could reassign
// after construction would not be immutable (its JWT path read Public and
// Algorithm, its CWT path a verifier made from them at NewKey).
func cloneKeys(keys []*Key) []*Key {
	out := make([]*Key, len(keys))
	for i, k := range keys {
		c := *k
		out[i] = &c
	}
	return out
}

// JWKS returns the set's public keys as a JWKS document.
func (s *KeySet) JWKS() ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range s.keys {
		jk, err := k.JWK()
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(jk); err != nil {
			return nil, verify.Errorf(verify.ErrConfig, "jwks: %w", err)
		}
	}
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwks: %w", err)
	}
	return b, nil
}

// candidates returns the keys that may have signed a token with header kid
// kid: the keys with that kid, or, when there are none, the keys without a kid.
func (s *KeySet) candidates(kid string) []*Key {
	var out []*Key
	if kid != "" {
		for _, k := range s.keys {
			if k.ID == kid {
				out = append(out, k)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, k := range s.keys {
		if k.ID == "" {
			out = append(out, k)
		}
	}
	return out
}

// maxJWKSize bounds JWK and JWKS documents.
const maxJWKSize = 1 << 20

// checkKeySize refuses a key document (what: jwk, jwks, pem) over maxJWKSize.
func checkKeySize(what string, doc []byte) error {
	if len(doc) > maxJWKSize {
		return verify.Errorf(verify.ErrLimit, "%s: expected at most %d bytes, got %d", what, maxJWKSize, len(doc))
	}
	return nil
}

// keyFromJWK converts a parsed JWK into a pinned public Key.
func keyFromJWK(jk jwk.Key) (*Key, error) {
	if jk.KeyType() == jwa.OctetSeq {
		return nil, verify.Errorf(verify.ErrConfig, "jwk %q: symmetric keys are not accepted", jk.KeyID())
	}
	if priv, err := jwk.IsPrivateKey(jk); err == nil && priv {
		return nil, verify.Errorf(verify.ErrConfig, "jwk %q: private key material in a trust set; publish and configure only public keys", jk.KeyID())
	}
	if use := jk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, verify.Errorf(verify.ErrConfig, "jwk %q: expected use \"sig\", got %q", jk.KeyID(), use)
	}
	var alg Algorithm
	if a := jk.Algorithm(); a != nil && a.String() != "" {
		var err error
		if alg, err = ParseAlgorithm(a.String()); err != nil {
			return nil, verify.Errorf(verify.ErrConfig, "jwk %q: %w", jk.KeyID(), err)
		}
	}
	var pub any
	if err := jk.Raw(&pub); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwk %q: %w", jk.KeyID(), err)
	}
	pub, err := publicOf(pub)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwk %q: %w", jk.KeyID(), err)
	}
	if err := checkX5C(jk, pub); err != nil {
		return nil, err
	}
	return NewKey(pub, jk.KeyID(), alg)
}

// checkX5C refuses a JWK whose x5c leaf certificate holds a different key:
// such an entry is ambiguous about which key is trusted. The chain itself is
// not validated; the JWK is what the operator configured.
func checkX5C(jk jwk.Key, pub crypto.PublicKey) error {
	chain := jk.X509CertChain()
	if chain == nil || chain.Len() == 0 {
		return nil
	}
	b64der, _ := chain.Get(0)
	der, err := base64.StdEncoding.DecodeString(string(b64der))
	if err != nil {
		return verify.Errorf(verify.ErrConfig, "jwk %q: x5c[0]: %w", jk.KeyID(), err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return verify.Errorf(verify.ErrConfig, "jwk %q: x5c[0]: %w", jk.KeyID(), err)
	}
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(cert.PublicKey) {
		return verify.Errorf(verify.ErrConfig, "jwk %q: the x5c leaf certificate (%s) holds a different key than the JWK", jk.KeyID(), cert.Subject)
	}
	return nil
}

func publicOf(k any) (crypto.PublicKey, error) {
	switch t := k.(type) {
	case *ecdsa.PrivateKey:
		return &t.PublicKey, nil
	case *rsa.PrivateKey:
		return &t.PublicKey, nil
	case ed25519.PrivateKey:
		return t.Public(), nil
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		return t, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", k)
}

// ParseJWKS parses a JWKS document into a KeySet. Every key must be usable
// (see NewKey); a symmetric key, a key with use other than "sig", an alg that
// does not fit the key, or an RSA key below 2048 bits is an ErrConfig error.
func ParseJWKS(data []byte) (*KeySet, error) {
	if err := checkKeySize("jwks", data); err != nil {
		return nil, err
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwks: %w", err)
	}
	keys := make([]*Key, 0, set.Len())
	for i := 0; i < set.Len(); i++ {
		jk, _ := set.Key(i)
		k, err := keyFromJWK(jk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return NewKeySet(keys...)
}

// ParseJWK parses one public JWK into a pinned Key; private key material is
// refused (ErrConfig), as in ParseJWKS.
func ParseJWK(data []byte) (*Key, error) {
	if err := checkKeySize("jwk", data); err != nil {
		return nil, err
	}
	jk, err := jwk.ParseKey(data)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "jwk: %w", err)
	}
	return keyFromJWK(jk)
}

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" (PKIX) or "CERTIFICATE" block
// into a pinned Key; alg is needed for RSA keys only. Private keys are refused.
// A certificate is only a carrier for its key: its chain and validity are not
// checked, since the operator configured it as trusted.
func ParsePublicKeyPEM(data []byte, kid string, alg Algorithm) (*Key, error) {
	if err := checkKeySize("pem", data); err != nil {
		return nil, err
	}
	// Exactly one block: a second key, or text around the block, would
	// leave the caller unsure which key was pinned.
	blks, err := pemchain.Blocks(data, 1)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "pem: expected one PUBLIC KEY or CERTIFICATE block: %v", err)
	}
	blk := blks[0]
	var pub any
	switch blk.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(blk.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, verify.Errorf(verify.ErrConfig, "pem: expected a PUBLIC KEY or CERTIFICATE block, got %q", blk.Type)
	}
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "pem: %w", err)
	}
	return NewKey(pub, kid, alg)
}

// GenerateKey creates a signing key for alg (ES256 if empty) with key id kid
// (the RFC 7638 thumbprint if empty) and returns it as a private JWK and the
// matching public JWKS.
func GenerateKey(alg Algorithm, kid string) (privateJWK, publicJWKS []byte, err error) {
	if alg == "" {
		alg = ES256
	}
	if _, err := ParseAlgorithm(string(alg)); err != nil {
		return nil, nil, err
	}
	var priv crypto.Signer
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case PS256, PS384:
		priv, err = rsa.GenerateKey(rand.Reader, 3072)
	}
	if err != nil {
		return nil, nil, verify.Errorf(verify.ErrConfig, "generate %s key: %w", alg, err)
	}
	return MarshalKey(priv, alg, kid)
}

// MarshalKey returns priv as a private JWK (with kid, alg, use=sig) and the
// public JWKS; an empty kid becomes the key's RFC 7638 thumbprint.
func MarshalKey(priv crypto.Signer, alg Algorithm, kid string) (privateJWK, publicJWKS []byte, err error) {
	pinned, err := pinAlgorithm(priv.Public(), alg)
	if err != nil {
		return nil, nil, err
	}
	jk, err := jwk.FromRaw(priv)
	if err != nil {
		return nil, nil, verify.Errorf(verify.ErrConfig, "jwk: %w", err)
	}
	if kid == "" {
		tp, err := jk.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, nil, verify.Errorf(verify.ErrConfig, "jwk thumbprint: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	for _, kv := range []struct {
		k string
		v any
	}{{jwk.KeyIDKey, kid}, {jwk.AlgorithmKey, pinned.jwa()}, {jwk.KeyUsageKey, jwk.ForSignature}} {
		if err := jk.Set(kv.k, kv.v); err != nil {
			return nil, nil, verify.Errorf(verify.ErrConfig, "jwk: %w", err)
		}
	}
	privateJWK, err = json.MarshalIndent(jk, "", "  ")
	if err != nil {
		return nil, nil, verify.Errorf(verify.ErrConfig, "jwk: %w", err)
	}
	k, err := NewKey(priv.Public(), kid, pinned)
	if err != nil {
		return nil, nil, err
	}
	set, err := NewKeySet(k)
	if err != nil {
		return nil, nil, err
	}
	publicJWKS, err = set.JWKS()
	return privateJWK, publicJWKS, err
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
