package main

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Trustee's example EAR payload signed with Trustee's fixture key in Trustee's
// header style (jwk with x5c, no kid), verified with the JWKS Trustee
// publishes: the signature verifies, and the result is contraindicated.
func TestTokenVerifyTrustee(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("../../testdata/ear/trustee", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	blk, _ := pem.Decode(read("signing-key.pem"))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*ecdsa.PrivateKey)
	header := `{"alg":"ES256","typ":"JWT","jwk":{"kty":"EC","crv":"P-256","alg":"ES256","x":"ANbJDpVEC_bNPvuKERn1FkQMSuPWEzIQ7Y-kl3K0yEo","y":"eba_t8dP5Et0TPv0jdtCWba8l78-lTtyJSwWq0q0IQA"}}`
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(read("example.token.json"))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	tok := input + "." + base64.RawURLEncoding.EncodeToString(sig)
	jwks := filepath.Join("../../testdata/ear/trustee", "expected-jwks.json")

	res := attest(t, tok, "token", "verify", "--jwks", jwks, "--now", "2025-10-14T07:16:34Z", "-")
	if res.code != exitFail || !strings.Contains(res.stderr, "overall status is contraindicated") {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"token verified", "confidential-containers/Trustee (legacy names)", "cpu0", "contraindicated  0     36    33    0   97", "default"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	// one flipped signature bit: not verified
	bad := []byte(tok)
	bad[len(bad)-4] ^= 1
	if res := attest(t, string(bad), "token", "verify", "--jwks", jwks, "--now", "2025-10-14T07:16:34Z"); res.code != exitFail || !strings.Contains(res.stderr, "NOT verified") {
		t.Errorf("tampered Trustee token: exit %d: %s", res.code, res.stderr)
	}
	// after the token's exp
	if res := attest(t, tok, "token", "verify", "--jwks", jwks, "--now", "2025-10-14T08:00:00Z"); res.code != exitFail || !strings.Contains(res.stderr, "expired") {
		t.Errorf("expired Trustee token: exit %d: %s", res.code, res.stderr)
	}
}
