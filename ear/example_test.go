package ear_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
)

// Sign an attestation result as a JWT and verify it against the issuer's JWKS.
func Example() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	// Issuer: a key, a result with one submod, a signed token.
	privJWK, jwks, _ := token.GenerateKey(token.ES256, "issuer-key-1")
	signer, _ := token.NewSignerFromJWK(privJWK)
	res := ear.NewResult(ear.VerifierID{Developer: "https://example.com", Build: "attest 0.1.0"}, now)
	res.Nonce = []byte("0123456789abcdef")
	cpu := &ear.Appraisal{}
	cpu.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
	cpu.TrustVector[ear.Hardware] = ear.GenuineHardware
	cpu.StatusFromVector()
	res.Submods["cpu0"] = cpu
	res.UpdateStatus()
	jwt, err := signer.SignJWT(res)
	fmt.Println("signed:", err == nil)

	// Relying party: trust exactly the published JWKS.
	keys, _ := token.ParseJWKS(jwks)
	v, _ := token.NewVerifier(keys)
	got, err := v.Verify(context.Background(), jwt, token.Expectations{Now: now.Add(time.Minute), Nonce: []byte("0123456789abcdef")})
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println("profile:", got.Profile)
	fmt.Println("cpu0:", got.Submods["cpu0"].Status, "overall:", got.OverallStatus())
	// Output:
	// signed: true
	// profile: tag:ietf.org,2026:rats/ear#03
	// cpu0: affirming overall: affirming
}
