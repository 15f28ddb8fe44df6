package nras_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// realCase is one of NVIDIA's published NRAS results.
type realCase struct {
	name, eat, decoded string
	format             verify.Format
	policyFormat       verify.Format
	issuer             string
	device             string
	at                 time.Time
}

var realCases = []realCase{
	{"hopper", "hopperClaimsv3_detached_eat.json", "hopperClaimsv3_decoded.json", nras.FormatGPU, verify.FormatGPU, nras.ProductionURL, "GPU-0", hopperTime},
	{"switch", "switch_detached_eat.json", "switch_decoded.json", nras.FormatSwitch, verify.FormatNVSwitch, nras.StagingURL, "SWITCH-0", switchTime},
}

// TestRealUnknownKid: NVIDIA's real tokens, given a JWKS that does not hold
// their kid (no public JWKS does), fail as signature failures naming the
// kid, before any claim is read. Their digests are checked in
// TestRealDigests (internal).
func TestRealUnknownKid(t *testing.T) {
	for _, rc := range realCases {
		t.Run(rc.name, func(t *testing.T) {
			a, err := nrastest.NewAuthority(rc.issuer)
			require.NoError(t, err)
			v, err := nras.NewVerifier(rc.format, nras.WithBaseURL(rc.issuer), nras.WithJWKS(a.JWKS()))
			require.NoError(t, err)
			eat := readTestdata(t, rc.eat)
			require.True(t, v.Detect(eat))
			_, err = v.Verify(context.Background(), eat, verify.Expectations{ReportData: realNonce, Now: rc.at})
			require.ErrorIs(t, err, verify.ErrSignature)
			assert.Contains(t, err.Error(), "nv-eat-kid-")
			parts, err := v.Split(eat)
			require.NoError(t, err)
			assert.Len(t, parts, 1)
		})
	}
}

// TestRealClaimsResigned verifies NVIDIA's real token payloads, re-signed
// byte for byte with a test key (NOT NVIDIA's signature: see
// testdata/nras/README.md), at their pinned times with their real nonce:
// every claim NVIDIA decoded comes out under the same name and value, and
// the default policy's GPU/switch rules pass on them.
func TestRealClaimsResigned(t *testing.T) {
	for _, rc := range realCases {
		t.Run(rc.name, func(t *testing.T) {
			a, err := nrastest.NewAuthority(rc.issuer)
			require.NoError(t, err)
			eat, err := a.Resign(readTestdata(t, rc.eat))
			require.NoError(t, err)
			v, err := nras.NewVerifier(rc.format, nras.WithBaseURL(rc.issuer), nras.WithJWKS(a.JWKS()), nras.WithClockSkew(0))
			require.NoError(t, err)
			c, err := v.VerifyEAT(context.Background(), eat, verify.Expectations{ReportData: realNonce, Now: rc.at})
			require.NoError(t, err)
			require.Len(t, c.Devices, 1)
			got := c.Map()

			var decoded map[string]map[string]any
			require.NoError(t, json.Unmarshal(readTestdata(t, rc.decoded), &decoded))
			want := decoded[rc.device]
			require.NotEmpty(t, want)
			for k, w := range want {
				switch k {
				case "iss", "nbf", "iat", "exp", "jti":
					continue // reported as x-attest-nras-*
				}
				if w == nil {
					assert.NotContains(t, got, k, "null claim %s", k)
					continue
				}
				if obj, ok := w.(map[string]any); ok {
					for f, x := range obj {
						if x == nil {
							delete(obj, f)
						}
					}
				}
				assert.Equal(t, w, got[k], "claim %s", k)
			}
			assert.Equal(t, "3.0", got["x-attest-nras-claims-version"])
			assert.Equal(t, rc.device, got["x-attest-nras-submod"])
			assert.Equal(t, time.Unix(int64(want["exp"].(float64)), 0).UTC().Format(time.RFC3339), got["x-attest-nras-expires"])

			checks := policyChecks(t, rc.policyFormat, got, rc.at)
			for id, ch := range checks {
				assert.True(t, ch.OK, "%s: %+v", id, ch)
			}
			assert.GreaterOrEqual(t, len(checks), 5)

			// The real validity window: one hour from iat.
			late := verify.Expectations{ReportData: realNonce, Now: c.Devices[0].ExpiresAt}
			_, err = v.Verify(context.Background(), eat, late)
			require.ErrorIs(t, err, verify.ErrExpired)
			early := verify.Expectations{ReportData: realNonce, Now: c.Devices[0].IssuedAt.Add(-time.Second)}
			_, err = v.Verify(context.Background(), eat, early)
			require.ErrorIs(t, err, verify.ErrExpired)
		})
	}
}
