package nras

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

// FuzzClaims fuzzes everything a verifier reads from a token payload once
// its signature has verified: the claim decoder, issuer and time checks,
// eat_nonce, submods and the mapping of device claims (all versions),
// seeded with the payloads of NVIDIA's real tokens. Nothing may panic and
// every error has a kind.
func FuzzClaims(f *testing.F) {
	for _, name := range []string{"hopperClaimsv3_detached_eat.json", "switch_detached_eat.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "nras", name))
		if err != nil {
			f.Fatal(err)
		}
		d, err := parseEvidence(b)
		if err != nil {
			f.Fatal(err)
		}
		for _, tok := range []string{d.overall, d.devices[0].jws} {
			p, err := splitJWS("seed", tok)
			if err != nil {
				f.Fatal(err)
			}
			raw, err := decodePayload("seed", p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	v := &Verifier{format: FormatGPU, kind: "gpu", issuer: ProductionURL, skew: DefaultClockSkew, versions: supportedVersions}
	now := time.Date(2025, 6, 11, 0, 31, 0, 0, time.UTC)
	check := func(t *testing.T, err error) {
		if err != nil && verify.KindOf(err) == nil {
			t.Fatalf("error without a kind: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := decodeClaims("fuzz", in)
		check(t, err)
		if err != nil {
			return
		}
		check(t, v.checkIssuerAndTime("fuzz", c, now))
		_, _, err = parseNonce("fuzz", c)
		check(t, err)
		_, err = parseSubmods("fuzz", c)
		check(t, err)
		for _, kind := range []string{"gpu", "switch"} {
			for _, ver := range supportedVersions {
				m, err := deviceClaimsMap("fuzz", kind, ver, c, true)
				check(t, err)
				if err == nil {
					if _, err := json.Marshal(m); err != nil {
						t.Fatalf("claims do not marshal: %v", err)
					}
				}
			}
		}
	})
}
