package token

import (
	"os"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// FuzzParseKeys drives the key readers (a JWKS may come from a service the
// operator points at): no panic, errors carry a kind and come without keys.
func FuzzParseKeys(f *testing.F) {
	for _, p := range []string{"../../testdata/ear/trustee/expected-jwks.json", "../../testdata/ear/trustee/signing-key.pem"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"AA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ks, err := ParseJWKS(b); err != nil && (ks != nil || verify.KindOf(err) == nil) {
			t.Fatalf("ParseJWKS: error without kind or with keys: %v", err)
		}
		if k, err := ParseJWK(b); err != nil && (k != nil || verify.KindOf(err) == nil) {
			t.Fatalf("ParseJWK: error without kind or with a key: %v", err)
		}
		if k, err := ParsePublicKeyPEM(b, "kid", ES256); err != nil && (k != nil || verify.KindOf(err) == nil) {
			t.Fatalf("ParsePublicKeyPEM: error without kind or with a key: %v", err)
		}
	})
}
