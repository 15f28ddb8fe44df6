package serve_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// The service end to end over HTTP, as a Trustee KBS uses it: a one-time
// nonce from POST /challenge, a TD quote bound to that nonce and the TEE's
// key, the EAR token from POST /attestation checked with the served JWKS,
// and the same request again refused (409). The verifiers and reference
// values come from package testbed; in production they come from
// setup.NewRegistry and your reference-value document.
func Example() {
	ctx := context.Background()
	bed, err := testbed.New(testbed.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	reg, err := bed.Registry()
	if err != nil {
		fmt.Println(err)
		return
	}
	rvDoc, err := referenceValues(bed)
	if err != nil {
		fmt.Println(err)
		return
	}
	priv, _, err := token.GenerateKey(token.ES256, "as-1") // keep it: attest keys generate
	if err != nil {
		fmt.Println(err)
		return
	}
	signer, err := token.NewSignerFromJWK(priv)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := serve.New(ctx, serve.Config{
		Registry: reg, Signer: signer, Store: serve.NewMemoryStore(nil), ReferenceValues: rvDoc,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ts := httptest.NewServer(srv) // or srv.Serve(ctx, listener)
	defer ts.Close()

	// 1. A one-time nonce.
	code, nonce := post(ts.URL+"/challenge", []byte(`{"tee":"tdx"}`))
	fmt.Println("challenge:", code)

	// 2. The TEE's quote carries the digest of its runtime data: the
	// nonce and the key secrets will be wrapped to.
	session, err := testbed.NewSession()
	if err != nil {
		fmt.Println(err)
		return
	}
	rd := session.RuntimeData // the TEE key's JWK, and "additional-evidence": "" as Trustee sends it
	rd.Nonce = string(nonce)
	exp, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Trustee's TDX evidence is JSON: {"quote": base64 of the quote}.
	evidence, err := json.Marshal(map[string][]byte{"quote": bed.Quote(exp.ReportData, nil)})
	if err != nil {
		fmt.Println(err)
		return
	}
	body, err := json.Marshal(map[string]any{
		"verification_requests": []map[string]any{{
			"tee":          "tdx",
			"evidence":     base64.RawURLEncoding.EncodeToString(evidence),
			"runtime_data": map[string]any{"structured": rd},
		}},
		"policy_ids": []string{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	code, jwt := post(ts.URL+"/attestation", body)
	fmt.Println("attestation:", code)

	// 3. The relying party checks the token with the served JWKS and the nonce.
	resp, err := http.Get(ts.URL + "/.well-known/jwks.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
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
	eatNonce, _ := verify.SessionNonce(string(nonce))
	res, err := v.Verify(ctx, jwt, token.Expectations{Now: time.Now(), Nonce: eatNonce})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token:", res.OverallStatus(), token.CheckKeyBinding(res, "cpu0", &session.TEEKey.PublicKey) == nil)

	// 4. A replay is refused.
	code, _ = post(ts.URL+"/attestation", body)
	fmt.Println("replay:", code)
	// Output:
	// challenge: 200
	// attestation: 200
	// token: affirming true
	// replay: 409
}

// referenceValues is the bed's reference values as a document the service
// stores (the policy package's JSON format).
func referenceValues(bed *testbed.Bed) ([]byte, error) {
	rv, err := bed.ReferenceValues()
	if err != nil {
		return nil, err
	}
	doc := policy.Document{Version: policy.DocumentVersion}
	for _, n := range rv.Names() {
		doc.ReferenceValues = append(doc.ReferenceValues, policy.Entry{Name: n, Value: rv.Lookup(n, bed.Now)})
	}
	return json.Marshal(doc)
}

// post sends body and returns the status code and the answer.
func post(url string, body []byte) (int, []byte) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, bytes.TrimSpace(b)
}
