package token

import (
	"crypto"
	"crypto/x509"
	"encoding/json"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// BoundKey returns the public key an appraisal says the attester bound into
// its evidence, looked up in order: attest's attest_tee_pubkey extension (a
// JWK), Trustee's annotated evidence runtime_data_claims.tee-pubkey (a JWK),
// and Veraison's key attestation akpub (DER SPKI). It errors with
// verify.ErrBinding when the appraisal carries no key.
func BoundKey(a *ear.Appraisal) (crypto.PublicKey, error) {
	if a == nil {
		return nil, verify.Errorf(verify.ErrBinding, "tee key: no appraisal")
	}
	if v, ok := a.Extensions[ear.ExtTEEPubKeyName]; ok {
		return jwkValue(ear.ExtTEEPubKeyName, v)
	}
	if rd, ok := a.AnnotatedEvidence["runtime_data_claims"].(map[string]any); ok {
		if v, ok := rd["tee-pubkey"]; ok {
			return jwkValue("runtime_data_claims.tee-pubkey", v)
		}
	}
	if a.KeyAttestation != nil {
		pub, err := x509.ParsePKIXPublicKey(a.KeyAttestation.AKPub)
		if err != nil {
			return nil, verify.Errorf(verify.ErrBinding, "key attestation akpub: %w", verify.Errorf(verify.ErrMalformed, "%w", err))
		}
		return pub, nil
	}
	return nil, verify.Errorf(verify.ErrBinding, "tee key: the appraisal binds no key")
}

func jwkValue(field string, v any) (crypto.PublicKey, error) {
	b, err := json.Marshal(v)
	if err != nil || len(b) > maxJWKSize {
		return nil, verify.Errorf(verify.ErrBinding, "%s: %w", field, verify.Errorf(verify.ErrMalformed, "not a JWK object"))
	}
	jk, err := jwk.ParseKey(b)
	if err != nil {
		return nil, verify.Errorf(verify.ErrBinding, "%s: %w", field, verify.Errorf(verify.ErrMalformed, "%w", err))
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, verify.Errorf(verify.ErrBinding, "%s: %w", field, verify.Errorf(verify.ErrMalformed, "%w", err))
	}
	pub, err := publicOf(raw)
	if err != nil {
		return nil, verify.Errorf(verify.ErrBinding, "%s: %w", field, verify.Errorf(verify.ErrMalformed, "%w", err))
	}
	return pub, nil
}

// CheckKeyBinding checks, on a verified Result, that submod is affirming and
// binds exactly key, the key a secret is about to be wrapped to. Any other
// key, a missing submod or key, or a non-affirming status is a
// verify.ErrBinding error: secrets go only to the key the token vouches for.
func CheckKeyBinding(r *ear.Result, submod string, key crypto.PublicKey) error {
	if r == nil || key == nil || submod == "" {
		return verify.Errorf(verify.ErrConfig, "key binding: result, submod and key are required")
	}
	a, ok := r.Submods[submod]
	if !ok || a == nil {
		return verify.Errorf(verify.ErrBinding, "key binding: submod %q not in the result (have %q)", submod, r.SubmodNames())
	}
	if s := r.OverallStatus(); s != ear.StatusAffirming {
		return verify.Errorf(verify.ErrBinding, "key binding: expected an affirming result, got %s", s)
	}
	bound, err := BoundKey(a)
	if err != nil {
		return err
	}
	eq, ok := bound.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(key) {
		return verify.Errorf(verify.ErrBinding, "key binding: submod %q binds %s, the request's key is %s", submod, keyID(bound), keyID(key))
	}
	return nil
}

// keyID names a public key by its RFC 7638 thumbprint for error messages.
func keyID(pub crypto.PublicKey) string {
	jk, err := jwk.FromRaw(pub)
	if err != nil {
		return "an unsupported key"
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "an unsupported key"
	}
	return "key " + b64(tp)
}
