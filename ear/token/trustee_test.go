package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

func readTestdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/ear", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func trusteeKeys(t testing.TB) *KeySet {
	t.Helper()
	ks, err := ParseJWKS(readTestdata(t, "trustee/expected-jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func trusteeSigningKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(readTestdata(t, "trustee/signing-key.pem"))
	if blk == nil {
		t.Fatal("signing-key.pem: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PrivateKey)
}

func selfSigned(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(randReader(), tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// trusteeToken signs Trustee's example payload with Trustee's fixture key in
// Trustee's header style: alg ES256, typ JWT, a header jwk with x5c, no kid.
func trusteeToken(t *testing.T) []byte { return trusteeTokenTB(t) }

func trusteeTokenTB(t testing.TB) []byte {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(readTestdata(t, "trustee/expected-jwks.json"), &set); err != nil {
		t.Fatal(err)
	}
	kb, err := json.Marshal(set.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	hjwk, err := jwk.ParseKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	_ = h.Set("typ", "JWT")
	if err := h.Set("jwk", hjwk); err != nil {
		t.Fatal(err)
	}
	tok, err := jws.Sign(readTestdata(t, "trustee/example.token.json"), jws.WithKey(jwa.ES256, trusteeSigningKey(t), jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var trusteeTime = time.Unix(1760426134+60, 0) // inside the example's iat..exp

func TestTrusteeTokenInterop(t *testing.T) {
	keys := trusteeKeys(t)
	if k := keys.Keys()[0]; k.Algorithm != ES256 || k.ID != "" {
		t.Errorf("Trustee JWKS key: alg %s kid %q", k.Algorithm, k.ID)
	}
	if !trusteeSigningKey(t).PublicKey.Equal(keys.Keys()[0].Public) {
		t.Fatal("Trustee fixture key and JWKS disagree")
	}
	v, err := NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	tok := trusteeToken(t)
	r, err := v.Verify(ctx, tok, Expectations{Now: trusteeTime, Issuer: ""})
	if err != nil {
		t.Fatal(err)
	}
	if r.Profile != ear.ProfileTrustee || r.Submods["cpu0"].Status != ear.StatusContraindicated || r.OverallStatus() != ear.StatusContraindicated {
		t.Errorf("claims: %+v", r)
	}
	// outside the token's window
	expectReject(t, v, tok, Expectations{Now: time.Unix(1760426434, 0)}, verify.ErrExpired)
	// Trustee's token does not verify against another key set
	_, other := es256(t)
	expectReject(t, other, tok, Expectations{Now: trusteeTime})
	// a Trustee token re-issued by attest with the Trustee key verifies the same
	s, err := NewSigner(trusteeSigningKey(t))
	if err != nil {
		t.Fatal(err)
	}
	r.ExpiresAt = time.Unix(1760426434, 0)
	again, err := s.SignJWT(r)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := v.Verify(ctx, again, Expectations{Now: trusteeTime})
	if err != nil {
		t.Fatal(err)
	}
	sgx, _ := r2.Submods["cpu0"].AnnotatedEvidence["sgx"].(map[string]any)
	if sgx["tcb_status"] != "OutOfDate" {
		t.Errorf("annotated evidence lost: %v", sgx)
	}
}

func TestJWKS(t *testing.T) {
	for _, alg := range Algorithms() {
		priv, pubSet, err := GenerateKey(alg, "")
		if err != nil {
			t.Fatal(err)
		}
		ks, err := ParseJWKS(pubSet)
		if err != nil {
			t.Fatal(err)
		}
		k := ks.Keys()[0]
		if k.Algorithm != alg || len(k.ID) != 43 {
			t.Errorf("%s: published key alg %s kid %q", alg, k.Algorithm, k.ID)
		}
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		_ = json.Unmarshal(pubSet, &doc)
		if m := doc.Keys[0]; m["use"] != "sig" || m["alg"] != string(alg) || m["kid"] != k.ID || m["d"] != nil || m["p"] != nil {
			t.Errorf("%s: JWKS entry %v", alg, m)
		}
		s, err := NewSignerFromJWK(priv)
		if err != nil {
			t.Fatal(err)
		}
		if s.Algorithm() != alg || s.KeyID() != k.ID {
			t.Errorf("%s: signer from JWK: %s %q", alg, s.Algorithm(), s.KeyID())
		}
		v, _ := NewVerifier(ks)
		tok, err := s.SignJWT(testResult(ear.ProfileIETF03))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok, at); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
		// the public JWKS cannot sign, a single public JWK verifies
		if _, err := NewSignerFromJWK(pubSet); err == nil {
			t.Errorf("%s: a JWKS became a signer", alg)
		}
		if _, err := ParseJWKS(priv); !errorsIs(err, verify.ErrConfig) {
			t.Errorf("%s: private JWK accepted as a trust set: %v", alg, err)
		}
		if _, err := ParseJWK(priv); !errorsIs(err, verify.ErrConfig) {
			t.Errorf("%s: private JWK accepted as a trusted key: %v", alg, err)
		}
		single, err := ParseJWK(mustJSON(t, doc.Keys[0]))
		if err != nil || single.Algorithm != alg {
			t.Errorf("%s: ParseJWK: %v", alg, err)
		}
	}
	if _, _, err := GenerateKey("HS256", ""); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("GenerateKey(HS256): %v", err)
	}
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"EC","crv":"P-256","use":"enc","x":"ANbJDpVEC_bNPvuKERn1FkQMSuPWEzIQ7Y-kl3K0yEo","y":"eba_t8dP5Et0TPv0jdtCWba8l78-lTtyJSwWq0q0IQA"}]}`)); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("use=enc key accepted: %v", err)
	}
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"EC","crv":"P-256","alg":"ES384","x":"ANbJDpVEC_bNPvuKERn1FkQMSuPWEzIQ7Y-kl3K0yEo","y":"eba_t8dP5Et0TPv0jdtCWba8l78-lTtyJSwWq0q0IQA"}]}`)); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("ES384 alg on a P-256 JWK accepted: %v", err)
	}
	// duplicate kids are ambiguous
	a, _ := NewKey(testKey(t, ES256).Public(), "same", "")
	b, _ := NewKey(testKey(t, ES384).Public(), "same", "")
	if _, err := NewKeySet(a, b); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("duplicate kid: %v", err)
	}
	// PEM public keys
	der, _ := x509.MarshalPKIXPublicKey(testKey(t, ES384).Public())
	k, err := ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "p", "")
	if err != nil || k.Algorithm != ES384 {
		t.Errorf("ParsePublicKeyPEM: %v", err)
	}
	// Trustee's fixture certificate carries the Trustee signing key
	var jwks struct {
		Keys []struct {
			X5C []string `json:"x5c"`
		} `json:"keys"`
	}
	_ = json.Unmarshal(readTestdata(t, "trustee/expected-jwks.json"), &jwks)
	certDER, _ := base64.StdEncoding.DecodeString(jwks.Keys[0].X5C[0])
	k, err = ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), "", "")
	if err != nil || !trusteeSigningKey(t).PublicKey.Equal(k.Public) {
		t.Errorf("ParsePublicKeyPEM(certificate): %v", err)
	}
	if _, err := ParsePublicKeyPEM(readTestdata(t, "trustee/signing-key.pem"), "", ""); !errorsIs(err, verify.ErrConfig) {
		t.Errorf("private PEM accepted as a trusted key: %v", err)
	}
	// One block only: which of two keys is pinned must not be a guess, and
	// a broken block must not be skipped for the next.
	one := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	broken := []byte("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")
	for name, in := range map[string][]byte{
		"two keys":         append(bytes.Clone(one), one...),
		"broken then good": append(broken, one...),
		"text before":      append([]byte("key:\n"), one...),
		"truncated key":    append(append([]byte(nil), one[:40]...), append([]byte("\n"), one...)...),
	} {
		if _, err := ParsePublicKeyPEM(in, "p", ""); !errorsIs(err, verify.ErrConfig) || verify.KindOf(err) != verify.ErrConfig {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCWTVariants(t *testing.T) {
	s, v := es256(t)
	tok, err := s.SignCWT(testResult(ear.ProfileIETF03))
	if err != nil {
		t.Fatal(err)
	}
	if tok[0] != 0xd2 {
		t.Fatalf("expected a tagged COSE_Sign1, got %#x", tok[0])
	}
	for name, b := range map[string][]byte{
		"untagged": tok[1:],
		"cwt tag":  append([]byte{0xd8, 61}, tok...),
	} {
		if _, err := v.Verify(ctx, b, at); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// alg only in the unprotected header: not authenticated, refused even
	// though the signature over an empty protected header is valid
	cb, _ := testResult(ear.ProfileIETF03).MarshalCBOR()
	tbs, _ := cbor.Marshal([]any{"Signature1", []byte{}, []byte{}, cb})
	sig, err := s.cose.Sign(randReader(), tbs)
	if err != nil {
		t.Fatal(err)
	}
	unprot, _ := cbor.Marshal(cbor.Tag{Number: 18, Content: []any{[]byte{}, map[int]any{1: -7, 4: []byte(s.KeyID())}, cb, sig}})
	expectReject(t, v, unprot, at)
	if _, err := v.Verify(ctx, unprot, at); err == nil || !strings.Contains(err.Error(), "protected algorithm") {
		t.Errorf("unprotected alg refused for another reason: %v", err)
	}
	// kid only in the unprotected header is a hint: the signature still decides
	msg := cose.NewSign1Message()
	msg.Payload = cb
	msg.Headers.Protected[cose.HeaderLabelAlgorithm] = cose.AlgorithmES256
	msg.Headers.Unprotected[cose.HeaderLabelKeyID] = []byte(s.KeyID())
	if err := msg.Sign(randReader(), nil, s.cose); err != nil {
		t.Fatal(err)
	}
	b, _ := msg.MarshalCBOR()
	if _, err := v.Verify(ctx, b, at); err != nil {
		t.Errorf("unprotected kid: %v", err)
	}
	for name, b := range map[string][]byte{
		"truncated": tok[:len(tok)-10],
		"garbage":   {0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40},
		"empty":     {},
		"unknown":   {0x01, 0x02},
	} {
		r, err := v.Verify(ctx, b, at)
		if !errorsIs(err, verify.ErrToken) || r != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
