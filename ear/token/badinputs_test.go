package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/cert"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

var ctx = context.Background()

// claimsJSON returns the JSON claims of testResult, modified by mut on a
// generic map so tests can build claims the Signer would refuse.
func claimsJSON(t *testing.T, mut func(m map[string]any)) []byte {
	t.Helper()
	b, err := testResult(ear.ProfileIETF03).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if mut != nil {
		mut(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func submod(m map[string]any, name string) map[string]any {
	return m["submods"].(map[string]any)[name].(map[string]any)
}

// rawJWT signs payload as is, with extra protected header fields.
func rawJWT(t *testing.T, payload []byte, alg jwa.SignatureAlgorithm, key any, hdr map[string]any) []byte {
	t.Helper()
	h := jws.NewHeaders()
	for k, v := range hdr {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64j(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func es256(t *testing.T) (*Signer, *Verifier) {
	s := mustSigner(t, ES256)
	return s, mustVerifier(t, s)
}

var at = Expectations{Now: testNow.Add(time.Minute)}

func expectReject(t *testing.T, v *Verifier, tok []byte, exp Expectations, kinds ...error) {
	t.Helper()
	r, err := v.Verify(ctx, tok, exp)
	wantKinds(t, err, append([]error{verify.ErrToken}, kinds...)...)
	if r != nil {
		t.Errorf("claims returned with error %v", err)
	}
}

func TestTOK01AlgNone(t *testing.T) {
	_, v := es256(t)
	p := base64.RawURLEncoding.EncodeToString(claimsJSON(t, nil))
	h := b64j(t, map[string]any{"alg": "none", "kid": "kid-ES256"})
	expectReject(t, v, []byte(h+"."+p+"."), at, verify.ErrMalformed)
	expectReject(t, v, []byte(h+"."+p+".AAAA"), at)
	h = b64j(t, map[string]any{"alg": "none"})
	expectReject(t, v, []byte(h+"."+p+".AAAA"), at)
}

func TestTOK02AlgorithmConfusion(t *testing.T) {
	s, v := es256(t)
	der, err := x509.MarshalPKIXPublicKey(s.PublicKey().Public)
	if err != nil {
		t.Fatal(err)
	}
	payload := claimsJSON(t, nil)
	for _, secret := range [][]byte{der, []byte(base64.StdEncoding.EncodeToString(der))} {
		tok := rawJWT(t, payload, jwa.HS256, secret, map[string]any{"kid": "kid-ES256"})
		expectReject(t, v, tok, at)
	}
	// ES384 header on the P-256 key: alg pinned to the key type
	p384 := testKey(t, ES384)
	tok := rawJWT(t, payload, jwa.ES384, p384, map[string]any{"kid": "kid-ES256"})
	expectReject(t, v, tok, at)
	// the same in COSE: an ES384 COSE_Sign1 claiming the ES256 key id
	cs, err := cose.NewSigner(cose.AlgorithmES384, p384)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := testResult(ear.ProfileIETF03).MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := cose.Sign1(rand.Reader, cs, cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmES384, cose.HeaderLabelKeyID: []byte("kid-ES256")}}, cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectReject(t, v, ct, at)
	// a verifier built on the ES256 key refuses a pin to another algorithm
	if _, err := NewKey(s.PublicKey().Public, "k", ES384); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("ES384 pin on a P-256 key: %v", err)
	}
	if _, err := NewKey(s.PublicKey().Public, "k", "HS256"); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("HS256 pin: %v", err)
	}
	// symmetric keys in a JWKS are refused at configuration time
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"h"}]}`)); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("oct JWKS: %v", err)
	}
	// RSA below 2048 bits is refused
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKey(&small.PublicKey, "r", PS256); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("RSA-1024: %v", err)
	}
	if _, err := NewSigner(small); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("RSA-1024 signer: %v", err)
	}
	// an RSA key without a pinned algorithm is ambiguous
	if _, err := NewKey(&rsaTestKey().PublicKey, "r", ""); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("RSA without alg: %v", err)
	}
}

func attackerKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTOK03HeaderJWK(t *testing.T) {
	_, v := es256(t)
	atk := attackerKey(t)
	pub, err := jwk.FromRaw(&atk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	payload := claimsJSON(t, nil)
	// self-vouching header jwk, with and without our kid
	expectReject(t, v, rawJWT(t, payload, jwa.ES256, atk, map[string]any{"jwk": pub}), at)
	expectReject(t, v, rawJWT(t, payload, jwa.ES256, atk, map[string]any{"jwk": pub, "kid": "kid-ES256"}), at, verify.ErrSignature)
	// plus a self-signed x5c for the attacker key
	cert := selfSigned(t, atk)
	expectReject(t, v, rawJWT(t, payload, jwa.ES256, atk, map[string]any{"jwk": pub, "x5c": chain(t, base64.StdEncoding.EncodeToString(cert)), "kid": "kid-ES256"}), at, verify.ErrSignature)
}

func TestTOK04JWKNotX5C(t *testing.T) {
	// Trustee's fixture JWKS is trusted; the attacker copies its x5c into the
	// header but signs with (and names) its own jwk.
	keys := trusteeKeys(t)
	v, err := NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			X5C []string `json:"x5c"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(readTestdata(t, "trustee/expected-jwks.json"), &set); err != nil {
		t.Fatal(err)
	}
	atk := attackerKey(t)
	pub, _ := jwk.FromRaw(&atk.PublicKey)
	tok := rawJWT(t, claimsJSON(t, nil), jwa.ES256, atk, map[string]any{"jwk": pub, "x5c": chain(t, set.Keys[0].X5C...)})
	expectReject(t, v, tok, at, verify.ErrSignature)
	// a configured JWK whose x5c leaf holds another key is refused outright
	var entry map[string]any
	_ = json.Unmarshal(mustJSON(t, pub), &entry)
	entry["x5c"] = set.Keys[0].X5C
	entry["alg"] = "ES256"
	if _, err := ParseJWKS(mustJSON(t, map[string]any{"keys": []any{entry}})); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("JWK with a foreign x5c accepted: %v", err)
	} else if !strings.Contains(err.Error(), "x5c leaf") {
		t.Errorf("refused for another reason: %v", err)
	}
}

func TestTOK05UntrustedSigner(t *testing.T) {
	_, v := es256(t)
	other := mustSigner(t, ES384)
	tok, err := other.SignJWT(testResult(ear.ProfileIETF03))
	if err != nil {
		t.Fatal(err)
	}
	expectReject(t, v, tok, at)
	// same kid as a trusted key, different key
	imp, err := NewSigner(attackerKey(t), WithKeyID("kid-ES256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sign := range []func(*ear.Result, ...SignOption) ([]byte, error){imp.SignJWT, imp.SignCWT} {
		tok, err := sign(testResult(ear.ProfileIETF03))
		if err != nil {
			t.Fatal(err)
		}
		expectReject(t, v, tok, at, verify.ErrSignature)
	}
	// an empty trust set is a configuration error, never "no signature needed"
	if _, err := NewVerifier(nil); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("nil key set: %v", err)
	}
	if _, err := NewVerifier(&KeySet{}); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("empty key set: %v", err)
	}
	if _, err := NewKeySet(); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("NewKeySet(): %v", err)
	}
	if _, err := ParseJWKS([]byte(`{"keys":[]}`)); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("empty JWKS: %v", err)
	}
}

func TestTOK06KidAndRemoteKeys(t *testing.T) {
	s, v := es256(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		pub, _ := jwk.PublicKeyOf(testKey(t, ES256))
		set := jwk.NewSet()
		_ = set.AddKey(pub)
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	payload := claimsJSON(t, nil)
	atk := attackerKey(t)
	expectReject(t, v, rawJWT(t, payload, jwa.ES256, testKey(t, ES256), map[string]any{"kid": "unknown-kid"}), at)
	for _, hdr := range []map[string]any{
		{"jku": srv.URL + "/jwks.json", "kid": "attacker"},
		{"x5u": srv.URL + "/cert.pem", "kid": "attacker"},
		{"jku": srv.URL + "/jwks.json", "kid": "kid-ES256"},
	} {
		expectReject(t, v, rawJWT(t, payload, jwa.ES256, atk, hdr), at)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the verifier fetched a header URL %d times", n)
	}
	// the legitimate signer with an extra jku still verifies: the URL is simply unused
	tok := rawJWT(t, payload, jwa.ES256, testKey(t, ES256), map[string]any{"kid": s.KeyID(), "jku": srv.URL})
	if _, err := v.Verify(ctx, tok, at); err != nil {
		t.Errorf("legitimate token with an unused jku: %v", err)
	}
	if hits.Load() != 0 {
		t.Error("jku fetched")
	}
}

func TestTOK07TimeClaims(t *testing.T) {
	s, v := es256(t)
	key := testKey(t, ES256)
	sign := func(mut func(m map[string]any)) []byte {
		return rawJWT(t, claimsJSON(t, mut), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
	}
	exp := testNow.Add(10 * time.Minute)
	expectReject(t, v, sign(nil), Expectations{Now: exp}, verify.ErrExpired)
	expectReject(t, v, sign(nil), Expectations{Now: exp.Add(time.Hour)}, verify.ErrExpired)
	if _, err := v.Verify(ctx, sign(nil), Expectations{Now: exp, Skew: time.Second}); err != nil {
		t.Errorf("within skew: %v", err)
	}
	// nbf in the future
	expectReject(t, v, sign(nil), Expectations{Now: testNow.Add(-time.Second)}, verify.ErrExpired)
	// iat far in the future (nbf removed)
	future := sign(func(m map[string]any) {
		delete(m, "nbf")
		m["iat"] = testNow.Add(time.Hour).Unix()
		m["exp"] = testNow.Add(2 * time.Hour).Unix()
	})
	expectReject(t, v, future, at, verify.ErrExpired)
	// no exp
	noExp := sign(func(m map[string]any) { delete(m, "exp") })
	expectReject(t, v, noExp, at)
	lax := mustVerifier(t, s, WithMissingExpiryUnsafe())
	r, err := lax.Verify(ctx, noExp, at)
	if err != nil {
		t.Fatalf("WithMissingExpiryUnsafe: %v", err)
	}
	if u, _ := r.Extensions[ear.ExtUnsafe().Name].([]any); len(u) < 2 || u[len(u)-1] != string(UnsafeMissingExpiry) {
		t.Errorf("unsafe switch not recorded in the claims: %v", r.Extensions)
	}
	// expired and badly signed: the signature error dominates
	bad := sign(nil)
	bad[len(bad)-5] = flipB64(bad[len(bad)-5])
	expectReject(t, v, bad, Expectations{Now: exp.Add(time.Hour)}, verify.ErrSignature)
	if _, err := v.Verify(ctx, bad, Expectations{Now: exp.Add(time.Hour)}); errorsIs(err, verify.ErrExpired) {
		t.Errorf("signature failure reported as expiry: %v", err)
	}
	// negative skew is a configuration error
	if _, err := v.Verify(ctx, sign(nil), Expectations{Now: testNow, Skew: -time.Second}); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("negative skew: %v", err)
	}
	// float times are malformed
	expectReject(t, v, sign(func(m map[string]any) { m["exp"] = 1.5e9 + 0.5 }), at, verify.ErrMalformed)
}

func TestTOK08Nonce(t *testing.T) {
	s, v := es256(t)
	tok, err := s.SignJWT(testResult(ear.ProfileIETF03))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok, Expectations{Now: at.Now, Nonce: testNonce}); err != nil {
		t.Fatal(err)
	}
	expectReject(t, v, tok, Expectations{Now: at.Now, Nonce: []byte("another-nonce-123")}, verify.ErrFreshness)
	// absent nonce while one is expected
	key := testKey(t, ES256)
	noNonce := rawJWT(t, claimsJSON(t, func(m map[string]any) { delete(m, "eat_nonce") }), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
	expectReject(t, v, noNonce, Expectations{Now: at.Now, Nonce: testNonce}, verify.ErrFreshness)
	// 7 and 65 bytes (the JSON text of 65 bytes is 87 characters) are malformed
	for _, n := range []int{7, 65, 66} {
		bad := rawJWT(t, claimsJSON(t, func(m map[string]any) {
			m["eat_nonce"] = base64.RawURLEncoding.EncodeToString(make([]byte, n))
		}), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
		expectReject(t, v, bad, at, verify.ErrMalformed)
	}
	// the same in CWT
	r := testResult(ear.ProfileIETF03)
	r.Nonce = make([]byte, 7)
	cb, err := ear.NewCodec(nil).EncodeCBOR(r)
	if err != nil {
		t.Fatal(err)
	}
	ct := rawCWT(t, cb, s)
	expectReject(t, v, ct, at, verify.ErrMalformed)
	// expected nonce misconfigured
	for _, n := range [][]byte{{}, make([]byte, 7), make([]byte, 65)} {
		if _, err := v.Verify(ctx, tok, Expectations{Now: at.Now, Nonce: n}); !errorsIs(err, verify.ErrConfig) {
			t.Errorf("expected nonce of %d bytes: %v", len(n), err)
		}
	}
}

func rawCWT(t *testing.T, payload []byte, s *Signer) []byte {
	t.Helper()
	tok, err := cose.Sign1(rand.Reader, s.cose, cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: s.alg.cose(), cose.HeaderLabelKeyID: []byte(s.kid)}}, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTOK09AudienceIssuer(t *testing.T) {
	s, v := es256(t)
	key := testKey(t, ES256)
	withAud := func(aud any) []byte {
		return rawJWT(t, claimsJSON(t, func(m map[string]any) { m["aud"] = aud }), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
	}
	expectReject(t, v, withAud([]string{"a", "b"}), Expectations{Now: at.Now, Audience: "kbs"})
	expectReject(t, v, withAud("a"), Expectations{Now: at.Now, Audience: "kbs"})
	expectReject(t, v, withAud([]string{"kbs"}), at) // audience present, none expected
	for _, aud := range []any{"kbs", []string{"x", "kbs"}} {
		if _, err := v.Verify(ctx, withAud(aud), Expectations{Now: at.Now, Audience: "kbs"}); err != nil {
			t.Errorf("aud %v: %v", aud, err)
		}
	}
	expectReject(t, v, withAud("kbs"), Expectations{Now: at.Now, Audience: "kbs", Issuer: "someone-else"})
	// no aud in the token while one is expected
	tok, _ := s.SignJWT(testResult(ear.ProfileIETF03))
	expectReject(t, v, tok, Expectations{Now: at.Now, Audience: "kbs"})
}

func TestTOK10ParseDoS(t *testing.T) {
	_, v := es256(t)
	expectReject(t, v, []byte(strings.Repeat(".", 1_000_000)), at, verify.ErrLimit)
	big := make([]byte, 10<<20)
	for i := range big {
		big[i] = 'e'
	}
	expectReject(t, v, big, at, verify.ErrLimit)
	big[0] = 0xd2
	expectReject(t, v, big, at, verify.ErrLimit)
	// within the size limit but many dots: malformed, rejected without splitting work
	expectReject(t, v, []byte("e"+strings.Repeat(".", 1000)), at, verify.ErrMalformed)
	small := mustVerifier(t, mustSigner(t, ES256), WithMaxSize(100))
	tok, _ := mustSigner(t, ES256).SignJWT(testResult(ear.ProfileIETF03))
	expectReject(t, small, tok, at, verify.ErrLimit)
	if _, err := NewVerifier(mustSigner(t, ES256).KeySet(), WithMaxSize(0)); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("WithMaxSize(0): %v", err)
	}
	// a huge header inside the limit
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","x":"` + strings.Repeat("a", 20000) + `"}`))
	expectReject(t, v, []byte(h+".e30.AAAA"), at, verify.ErrLimit)
}

func TestTOK11JSONSerialization(t *testing.T) {
	_, v := es256(t)
	for _, doc := range []string{
		`{"payload":"e30","signatures":[{"signature":"AAAA"}]}`,
		`{"payload":"e30","signature":"AAAA"}`,
		`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}`,
	} {
		expectReject(t, v, []byte(doc), at)
	}
}

// TOK-12: the catalogue asks for ErrLimit on JWE bombs "if results are
// JWE-wrapped". attest never accepts JWE: a JWE is refused as ErrUnsupported
// from its header, before p2c or zip could cost anything, which the
// allocation budget below shows (a 2·10⁹-round PBES2 or an inflated body
// would allocate and run far more).
func TestTOK12JWE(t *testing.T) {
	_, v := es256(t)
	hdr := b64j(t, map[string]any{"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2c": 2_000_000_000, "p2s": "AAAAAAAAAAA", "zip": "DEF"})
	expectReject(t, v, []byte(hdr+".AAAA.AAAA.AAAA.AAAA"), at, verify.ErrUnsupported)
	expectReject(t, v, []byte(hdr+".AAAA.AAAA"), at, verify.ErrUnsupported)
	jwe := []byte(hdr + ".AAAA.AAAA.AAAA.AAAA")
	allocs := testing.AllocsPerRun(5, func() { _, _ = v.Verify(ctx, jwe, at) })
	if allocs > 64 {
		t.Fatalf("refusing a JWE took %v allocations: its header parameters were acted on", allocs)
	}
}

func TestTOK13MandatoryClaims(t *testing.T) {
	s, v := es256(t)
	key := testKey(t, ES256)
	for name, mut := range map[string]func(m map[string]any){
		"no eat_profile":     func(m map[string]any) { delete(m, "eat_profile") },
		"unknown profile":    func(m map[string]any) { m["eat_profile"] = "tag:evil.example,2026:ear" },
		"no iat":             func(m map[string]any) { delete(m, "iat") },
		"no verifier id":     func(m map[string]any) { delete(m, "ear_verifier_id") },
		"empty verifier id":  func(m map[string]any) { m["ear_verifier_id"] = map[string]any{} },
		"no status":          func(m map[string]any) { delete(submod(m, "cpu0"), "ear_status") },
		"empty submods":      func(m map[string]any) { m["submods"] = map[string]any{} },
		"no submods":         func(m map[string]any) { delete(m, "submods") },
		"submod not object":  func(m map[string]any) { m["submods"].(map[string]any)["cpu0"] = "affirming" },
		"overall too trusty": func(m map[string]any) { m["ear_status"] = "affirming" },
	} {
		t.Run(name, func(t *testing.T) {
			tok := rawJWT(t, claimsJSON(t, mut), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
			expectReject(t, v, tok, at)
		})
	}
	// the legacy names are dropped the same way
	legacy, err := testResult(ear.ProfileTrustee).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(legacy, &m)
	delete(submod(m, "cpu0"), "ear.status")
	b, _ := json.Marshal(m)
	expectReject(t, v, rawJWT(t, b, jwa.ES256, key, map[string]any{"kid": s.KeyID()}), at)
}

func TestTOK14StatusVersusVector(t *testing.T) {
	s, v := es256(t)
	key := testKey(t, ES256)
	for _, claim := range []int{96, 99} {
		tok := rawJWT(t, claimsJSON(t, func(m map[string]any) {
			delete(m, "ear_status")
			submod(m, "cpu0")["ear_trustworthiness_vector"].(map[string]any)["executables"] = claim
		}), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
		expectReject(t, v, tok, at)
		// the issuer never emits it either
		r := testResult(ear.ProfileIETF03)
		r.Status = nil
		r.Submods["cpu0"].TrustVector[ear.Executables] = ear.TrustClaim(claim)
		for _, sign := range []func(*ear.Result, ...SignOption) ([]byte, error){s.SignJWT, s.SignCWT} {
			if _, err := sign(r); !errorsIs(err, verify.ErrToken) {
				t.Errorf("issuer signed affirming with a %d claim: %v", claim, err)
			}
		}
		// recomputing gives contraindicated, which signs and verifies
		r.UpdateStatus()
		tok, err := s.SignJWT(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(ctx, tok, at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Submods["cpu0"].Status != ear.StatusContraindicated || got.OverallStatus() != ear.StatusContraindicated {
			t.Errorf("recomputed status: %s / %s", got.Submods["cpu0"].Status, got.OverallStatus())
		}
	}
}

func TestTOK15EmptyVector(t *testing.T) {
	s, v := es256(t)
	key := testKey(t, ES256)
	for _, vec := range []any{nil, map[string]any{"instance-identity": 0, "hardware": 0}} {
		tok := rawJWT(t, claimsJSON(t, func(m map[string]any) {
			delete(m, "ear_status")
			if vec == nil {
				delete(submod(m, "cpu0"), "ear_trustworthiness_vector")
			} else {
				submod(m, "cpu0")["ear_trustworthiness_vector"] = vec
			}
		}), jwa.ES256, key, map[string]any{"kid": s.KeyID()})
		expectReject(t, v, tok, at)
	}
	r := testResult(ear.ProfileIETF03)
	r.Status = nil
	r.Submods["cpu0"].TrustVector = ear.TrustVector{}
	if _, err := s.SignJWT(r); !errorsIs(err, verify.ErrToken) {
		t.Errorf("issuer signed affirming with an empty vector: %v", err)
	}
}

// TOK-16: whatever a component failed with, the result the issuer can sign
// for it is never affirming, and the claims carry the AR4SI code of the failure.
func TestTOK16IssuerOnFailure(t *testing.T) {
	s, v := es256(t)
	for _, kind := range verify.Kinds() {
		err := verify.Errorf(kind, "component failed")
		r := testResult(ear.ProfileIETF03)
		r.Status = nil
		a := &ear.Appraisal{Status: verify.FailureStatus(err), TrustVector: verify.FailureVector(err),
			Extensions: map[string]any{ear.ExtReason().Name: err.Error()}}
		r.Submods["gpu0"] = a
		r.UpdateStatus()
		tok, signErr := s.SignCWT(r)
		if signErr != nil {
			t.Fatalf("%v: %v", kind, signErr)
		}
		got, vErr := v.Verify(ctx, tok, at)
		if vErr != nil {
			t.Fatalf("%v: %v", kind, vErr)
		}
		g := got.Submods["gpu0"]
		if g.Status == ear.StatusAffirming || got.OverallStatus() == ear.StatusAffirming {
			t.Errorf("%v: failure signed as affirming", kind)
		}
		if g.TrustVector != verify.FailureVector(err) || g.Extensions[ear.ExtReason().Name] != err.Error() {
			t.Errorf("%v: failure vector or reason lost: %v %v", kind, g.TrustVector, g.Extensions)
		}
		// and the issuer refuses to sign the failure as affirming
		a.Status = ear.StatusAffirming
		r.Status = nil
		if _, err := s.SignJWT(r); !errorsIs(err, verify.ErrToken) {
			t.Errorf("%v: issuer signed a failed component as affirming: %v", kind, err)
		}
	}
	wantCodes := map[error]ear.TrustClaim{verify.ErrSignature: 99, verify.ErrMalformed: 1, verify.ErrCollateral: -1}
	for kind, code := range wantCodes {
		if got := verify.FailureVector(verify.Errorf(kind, "x"))[ear.InstanceIdentity]; got != code {
			t.Errorf("%v: expected instance-identity %d, got %d", kind, code, got)
		}
	}
}

func TestTOK17KeyBinding(t *testing.T) {
	s, v := es256(t)
	k1, k2 := attackerKey(t), attackerKey(t)
	j1, err := jwk.FromRaw(&k1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var j1m map[string]any
	b, _ := json.Marshal(j1)
	_ = json.Unmarshal(b, &j1m)
	der, _ := x509.MarshalPKIXPublicKey(&k1.PublicKey)
	for name, bind := range map[string]func(a *ear.Appraisal){
		"attest extension": func(a *ear.Appraisal) { a.Extensions = map[string]any{ear.ExtTEEPubKey().Name: j1m} },
		"trustee runtime data": func(a *ear.Appraisal) {
			a.AnnotatedEvidence = map[string]any{"runtime_data_claims": map[string]any{"tee-pubkey": j1m, "nonce": "x"}}
		},
		"veraison key attestation": func(a *ear.Appraisal) { a.KeyAttestation = &ear.KeyAttestation{AKPub: der} },
	} {
		for _, profile := range []string{ear.ProfileIETF03, ear.ProfileTrustee} {
			t.Run(name+"/"+profile, func(t *testing.T) {
				r := testResult(profile)
				delete(r.Submods, "gpu0")
				r.Status = nil
				r.Submods["cpu0"].Extensions = nil
				r.Submods["cpu0"].AnnotatedEvidence = nil
				bind(r.Submods["cpu0"])
				r.UpdateStatus()
				for _, sign := range []func(*ear.Result, ...SignOption) ([]byte, error){s.SignJWT, s.SignCWT} {
					tok, err := sign(r)
					if err != nil {
						t.Fatal(err)
					}
					got, err := v.Verify(ctx, tok, Expectations{Now: at.Now, Nonce: testNonce})
					if err != nil {
						t.Fatal(err)
					}
					if err := CheckKeyBinding(got, "cpu0", &k1.PublicKey); err != nil {
						t.Errorf("bound key refused: %v", err)
					}
					if err := CheckKeyBinding(got, "cpu0", &k2.PublicKey); !errorsIs(err, verify.ErrBinding) {
						t.Errorf("other key accepted: %v", err)
					}
					if err := CheckKeyBinding(got, "gpu0", &k1.PublicKey); !errorsIs(err, verify.ErrBinding) {
						t.Errorf("missing submod: %v", err)
					}
					// replay in a later session: the nonce no longer matches
					_, err = v.Verify(ctx, tok, Expectations{Now: at.Now, Nonce: []byte("next-session-nonce")})
					wantKinds(t, err, verify.ErrToken, verify.ErrFreshness)
				}
			})
		}
	}
	// no bound key at all, and a non-affirming result
	r := testResult(ear.ProfileIETF03)
	if err := CheckKeyBinding(r, "gpu0", &k1.PublicKey); !errorsIs(err, verify.ErrBinding) {
		t.Errorf("contraindicated result released a key: %v", err)
	}
	delete(r.Submods, "gpu0")
	r.Status = nil
	r.UpdateStatus()
	if err := CheckKeyBinding(r, "cpu0", &k1.PublicKey); !errorsIs(err, verify.ErrBinding) {
		t.Errorf("no bound key: %v", err)
	}
	if err := CheckKeyBinding(r, "cpu0", nil); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("nil key: %v", err)
	}
}

func TestTOK18ExpiryCap(t *testing.T) {
	s, v := es256(t)
	r := testResult(ear.ProfileIETF03)
	r.ExpiresAt = time.Time{}
	collateral := testNow.Add(90 * time.Second)
	for _, sign := range []func(*ear.Result, ...SignOption) ([]byte, error){s.SignJWT, s.SignCWT} {
		tok, err := sign(r, CapExpiry(collateral))
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(ctx, tok, at)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.Equal(collateral) {
			t.Errorf("exp: expected the collateral expiry %s, got %s", collateral, got.ExpiresAt)
		}
		// the token is dead when the collateral is
		expectReject(t, v, tok, Expectations{Now: collateral}, verify.ErrExpired)
		// a cap later than the lifetime leaves exp alone
		tok, _ = sign(r, CapExpiry(testNow.Add(time.Hour)))
		got, _ = v.Verify(ctx, tok, at)
		if !got.ExpiresAt.Equal(testNow.Add(DefaultLifetime)) {
			t.Errorf("exp: expected the default lifetime, got %s", got.ExpiresAt)
		}
		// collateral already expired at issue: refuse to issue
		_, err = sign(r, CapExpiry(testNow))
		wantKinds(t, err, verify.ErrToken, verify.ErrExpired)
	}
	if r.ExpiresAt != (time.Time{}) {
		t.Error("signing modified the caller's result")
	}
}

func errorsIs(err, kind error) bool { return errors.Is(err, kind) }

func chain(t *testing.T, certs ...string) *cert.Chain {
	var c cert.Chain
	for _, s := range certs {
		if err := c.AddString(s); err != nil {
			t.Fatal(err)
		}
	}
	return &c
}

// Every key-document parser refuses an oversized document before parsing.
func TestKeyDocumentSizeLimit(t *testing.T) {
	big := make([]byte, maxJWKSize+1)
	for name, parse := range map[string]func() error{
		"jwks": func() error { _, err := ParseJWKS(big); return err },
		"jwk":  func() error { _, err := ParseJWK(big); return err },
		"pem":  func() error { _, err := ParsePublicKeyPEM(big, "", ""); return err },
		"signer jwk": func() error {
			_, err := NewSignerFromJWK(big)
			return err
		},
	} {
		if err := parse(); !errorsIs(err, verify.ErrLimit) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
