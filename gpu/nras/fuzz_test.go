package nras_test

import (
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/verify"
)

// fuzzJWKS is a JWKS whose one key (the P-384 base point) no token is
// signed with. A mutated token practically never passes its signature, so
// fuzzing signed seeds would explore no further than this does; what lies
// past the signature (claims, digests, nonce, time) is fuzzed directly by
// FuzzClaims.
func fuzzJWKS() []byte {
	p := elliptic.P384().Params()
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	b, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-384", "kid": "fuzz", "x": enc(p.Gx.FillBytes(make([]byte, 48))), "y": enc(p.Gy.FillBytes(make([]byte, 48))),
	}}})
	return b
}

// FuzzVerify feeds arbitrary bytes to Detect, Split and Verify, seeded with
// NVIDIA's real detached EATs, a two-GPU variant and a Split part of it.
// Nothing may panic; an error never comes with claims and always has a
// kind; every Split part parses again.
func FuzzVerify(f *testing.F) {
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(fuzzJWKS()))
	if err != nil {
		f.Fatal(err)
	}
	hopper := readTestdata(f, "hopperClaimsv3_detached_eat.json")
	f.Add(hopper)
	f.Add(readTestdata(f, "switch_detached_eat.json"))
	// Two devices: the real GPU-0 token again as GPU-1 (its digest is
	// listed once, so the set check fails, but parsing goes deep).
	s := string(hopper)
	i := strings.LastIndex(s, "}")
	j := strings.Index(s, `"GPU-0"`)
	two := s[:i] + `,"GPU-1"` + s[j+len(`"GPU-0"`):i] + s[i:]
	f.Add([]byte(two))
	f.Add([]byte(`{"nras-device":"GPU-1","detached-eat":` + two + `}`))
	exp := verify.Expectations{ReportData: realNonce, Now: hopperTime}
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = v.Detect(in)
		if ps, err := v.Split(in); err == nil {
			for _, p := range ps {
				if _, err := v.Split(p); err != nil {
					t.Fatalf("part of %d bytes does not parse again: %v", len(p), err)
				}
			}
		}
		c, err := v.Verify(context.Background(), in, exp)
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			if verify.KindOf(err) == nil {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		t.Fatal("fuzzed input verified under a key nothing is signed with")
	})
}

// FuzzParseJWKS parses arbitrary JWKS documents.
func FuzzParseJWKS(f *testing.F) {
	f.Add(fuzzJWKS())
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ks, err := nras.ParseJWKS(in)
		if err == nil && ks.Len() == 0 {
			t.Fatal("an empty key set parsed")
		}
		if err != nil && verify.KindOf(err) == nil {
			t.Fatalf("error without a kind: %v", err)
		}
	})
}
