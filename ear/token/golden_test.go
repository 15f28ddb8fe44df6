package token

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustfactory/attest/ear"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenClaims is a fixed result at a fixed time.
func goldenClaims(profile string) *ear.Result {
	iat := time.Unix(1767225600, 0).UTC()
	r := ear.NewResult(ear.VerifierID{Developer: "https://trustfactory.example", Build: "attest 0.1.0"}, iat)
	r.Profile = profile
	r.ExpiresAt = iat.Add(5 * time.Minute)
	r.Issuer = "attest"
	r.Nonce = []byte("golden-nonce-0123456789")
	a := &ear.Appraisal{PolicyIDs: []string{"attest/default-cpu"}}
	a.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
	a.TrustVector[ear.Hardware] = ear.GenuineHardware
	a.StatusFromVector()
	r.Submods["cpu0"] = a
	r.UpdateStatus()
	return r
}

// Ed25519 signatures are deterministic, so with the fixed seed key the whole
// token is golden; for ECDSA (randomized signatures) the signing input
// (header and payload) is compared instead.
func TestGoldenTokens(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile string
		alg     Algorithm
		cwt     bool
	}{
		{"eddsa-ietf.jwt", ear.ProfileIETF03, EdDSA, false},
		{"eddsa-legacy.jwt", ear.ProfileTrustee, EdDSA, false},
		{"eddsa-ietf.cwt", ear.ProfileIETF03, EdDSA, true},
		{"es256-ietf.jwt", ear.ProfileIETF03, ES256, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSigner(t, tc.alg, WithKeyID("golden-key"))
			var tok []byte
			var err error
			if tc.cwt {
				tok, err = s.SignCWT(goldenClaims(tc.profile))
			} else {
				tok, err = s.SignJWT(goldenClaims(tc.profile))
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tok
			if tc.alg == ES256 {
				got = tok[:bytes.LastIndexByte(tok, '.')] // header.payload
			}
			path := filepath.Join("../../testdata/ear/golden", tc.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from golden:\n got %q\nwant %q", tc.name, got, want)
			}
			v := mustVerifier(t, s)
			if _, err := v.Verify(ctx, tok, Expectations{Now: time.Unix(1767225660, 0)}); err != nil {
				t.Error(err)
			}
		})
	}
}
