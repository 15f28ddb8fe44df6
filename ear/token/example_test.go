package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/verify"
)

func exampleResult(now time.Time) *ear.Result {
	r := ear.NewResult(ear.VerifierID{Developer: "https://example.com", Build: "attest 0.1.0"}, now)
	a := &ear.Appraisal{}
	a.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
	a.TrustVector[ear.Hardware] = ear.GenuineHardware
	a.StatusFromVector()
	r.Submods["cpu0"] = a
	r.UpdateStatus()
	return r
}

// Issue a CWT (COSE_Sign1) whose lifetime is capped by the collateral the
// appraisal used, and verify it with the issuer's public key.
func ExampleSigner_SignCWT() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := token.NewSigner(priv, token.WithKeyID("k1"))

	cwt, _ := signer.SignCWT(exampleResult(now), token.CapExpiry(now.Add(time.Minute)))

	v, _ := token.NewVerifier(signer.KeySet())
	r, err := v.Verify(context.Background(), cwt, token.Expectations{Now: now.Add(30 * time.Second)})
	fmt.Println(token.DetectFormat(cwt), err, r.OverallStatus(), r.ExpiresAt.Sub(r.IssuedAt))
	// Output: cwt <nil> affirming 1m0s
}

// A key broker releases a secret only to the key the verified token binds.
func ExampleCheckKeyBinding() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	teeKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jk, _ := jwk.FromRaw(&teeKey.PublicKey)
	var teeJWK map[string]any
	b, _ := json.Marshal(jk)
	_ = json.Unmarshal(b, &teeJWK)

	res := exampleResult(now)
	res.Submods["cpu0"].Extensions = map[string]any{ear.ExtTEEPubKey().Name: teeJWK}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := token.NewSigner(priv)
	jwt, _ := signer.SignJWT(res)

	v, _ := token.NewVerifier(signer.KeySet())
	verified, _ := v.Verify(context.Background(), jwt, token.Expectations{Now: now})
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fmt.Println(token.CheckKeyBinding(verified, "cpu0", &teeKey.PublicKey) == nil)
	fmt.Println(token.CheckKeyBinding(verified, "cpu0", &other.PublicKey) == nil)
	// Output:
	// true
	// false
}

// Generate a signing key: the private JWK stays with the issuer, the JWKS is
// published for relying parties.
func ExampleGenerateKey() {
	privJWK, jwks, _ := token.GenerateKey(token.EdDSA, "issuer-2026")
	signer, _ := token.NewSignerFromJWK(privJWK)
	keys, _ := token.ParseJWKS(jwks)
	fmt.Println(signer.Algorithm(), signer.KeyID(), keys.Keys()[0].Algorithm, keys.Keys()[0].ID)
	// Output: EdDSA issuer-2026 EdDSA issuer-2026
}

// A relying party verifies a JWT for its own session: the signature by a
// key of the issuer's JWKS (its algorithm pinned by the key), the validity
// at Now, and the session nonce in eat_nonce. Another session's token is a
// freshness failure, told apart with errors.Is.
func ExampleVerifier_Verify() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	privJWK, jwks, _ := token.GenerateKey(token.ES256, "k1")
	signer, _ := token.NewSignerFromJWK(privJWK)
	res := exampleResult(now)
	sessionNonce := "2u4xnPZkIqJfk7Vkk9S0TgAKMz0qXkb7WVRhU8h0Kfc=" // as a Trustee KBS issues it
	res.Nonce, _ = verify.SessionNonce(sessionNonce)
	jwt, _ := signer.SignJWT(res)

	// The relying party holds only the published JWKS.
	keys, err := token.ParseJWKS(jwks)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := token.NewVerifier(keys)
	if err != nil {
		fmt.Println(err)
		return
	}
	want, _ := verify.SessionNonce(sessionNonce)
	got, err := v.Verify(context.Background(), jwt, token.Expectations{Now: now, Nonce: want})
	fmt.Println(err, got.OverallStatus())

	other, _ := verify.SessionNonce("another session's nonce")
	_, err = v.Verify(context.Background(), jwt, token.Expectations{Now: now, Nonce: other})
	fmt.Println(errors.Is(err, verify.ErrToken), errors.Is(err, verify.ErrFreshness))
	_, err = v.Verify(context.Background(), jwt, token.Expectations{Now: now.Add(time.Hour), Nonce: want})
	fmt.Println(errors.Is(err, verify.ErrExpired))
	// Output:
	// <nil> affirming
	// true true
	// true
}
