package nras

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRealDigests checks, on NVIDIA's real detached EATs, the binding this
// package enforces between the (unverifiable offline) overall token and the
// device tokens: the submods digest is SHA-256 of the device token's compact
// serialization, and the submod set equals the device map.
func TestRealDigests(t *testing.T) {
	for _, name := range []string{"hopperClaimsv3_detached_eat.json", "switch_detached_eat.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "nras", name))
		require.NoError(t, err)
		d, err := parseEvidence(b)
		require.NoError(t, err)
		p, err := splitJWS("overall", d.overall)
		require.NoError(t, err)
		require.NoError(t, checkAlg("overall", p.hdr.Alg))
		raw, err := decodePayload("overall", p)
		require.NoError(t, err)
		c, err := decodeClaims("overall", raw)
		require.NoError(t, err)
		dg, err := parseSubmods("overall", c)
		require.NoError(t, err)
		require.Len(t, dg, len(d.devices))
		for _, dt := range d.devices {
			sum := sha256.Sum256([]byte(dt.jws))
			require.Equal(t, dg[dt.name], sum[:], "%s %s", name, dt.name)
		}
	}
}
