package kbs_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trustfactory/attest/ear/token"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
)

// A KBS hands the body of /kbs/v0/attest, the TEE name from /kbs/v0/auth and
// the session nonce to the service, gets a Trustee-profile EAR, and releases
// secrets only when Decide accepts the verified result. Here the evidence
// comes from the test attesters: a TD with two GPUs.
func ExampleService_Attest() {
	bed, _ := offlinetest.New(2)
	reg, _ := bed.Registry()
	rv, _ := bed.ReferenceValues()
	p, _ := policy.New(rv)
	a, _ := kbs.NewAppraiser(reg, p)
	priv, _, _ := token.GenerateKey(token.ES256, "as-key")
	signer, _ := token.NewSignerFromJWK(priv)
	svc, _ := kbs.NewService(a, signer, kbs.WithVerbose(false))

	nonce := "c2Vzc2lvbi1ub25jZQ=="
	teeKey := json.RawMessage(`{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`)
	body, _ := bed.KBSRequest(nonce, teeKey, offlinetest.KBSEdits{})

	att, err := svc.Attest(context.Background(), "tdx", nonce, body, offlinetest.Now())
	if err != nil {
		panic(err)
	}
	// The relying side: verify the token with the published keys, decide, and
	// wrap secrets only to the key the token carries.
	tv, _ := token.NewVerifier(signer.KeySet())
	res, err := tv.Verify(context.Background(), att.Token, token.Expectations{Now: offlinetest.Now()})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.SubmodNames(), res.OverallStatus())
	fmt.Println("release:", kbs.Decide(res) == nil)
	k, _ := kbs.TEEPubKey(res)
	fmt.Println("wrap to the bound key:", len(k) > 0)
	// Output:
	// [cpu0 gpu0 gpu1] affirming
	// release: true
	// wrap to the bound key: true
}
