// Package token signs and verifies EAR attestation-result tokens: JWT (JWS
// compact, via lestrrat-go/jwx/v2) and CWT (COSE_Sign1, via veraison/go-cose),
// generates signing keys, and publishes JWKS.
//
// Verification is fail-closed. Only keys configured in a KeySet are trusted;
// each key is pinned to one algorithm fixed by its type (ES256 for P-256,
// ES384 for P-384, EdDSA for Ed25519, PS256 or PS384 for RSA of 2048 bits or
// more), so "none", HMAC and algorithm substitution are rejected. Header
// fields that name keys elsewhere (jku, x5u, jwk, x5c) are never used and
// nothing is ever fetched. The token size is checked before parsing; time,
// skew, nonce, issuer and audience are inputs (Expectations).
//
// Every error carries verify.ErrToken; a size limit also carries
// verify.ErrLimit, a nonce mismatch verify.ErrFreshness, a malformed nonce
// size verify.ErrMalformed, a bad signature verify.ErrSignature, and an
// invalid configuration verify.ErrConfig.
//
// The claim model lives in package ear; this package is separate only so that
// it can carry the error kinds of package verify, which itself imports ear.
// It holds every jwx and go-cose import of attest.
package token
