package nrastest_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/nras/nrastest"
)

func decode(t *testing.T, part string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func tokens(t *testing.T, eat []byte) (string, string) {
	t.Helper()
	var doc [2]json.RawMessage
	require.NoError(t, json.Unmarshal(eat, &doc))
	var head [2]string
	require.NoError(t, json.Unmarshal(doc[0], &head))
	var devs map[string]string
	require.NoError(t, json.Unmarshal(doc[1], &devs))
	require.Len(t, devs, 1)
	for _, d := range devs {
		return head[1], d
	}
	return "", ""
}

// TestShapeMatchesNVIDIA: a minted result has the shape of NVIDIA's real
// one: the same JOSE header members, the same overall claims, every claim
// name of the real device token (claims 3.0), and exp one hour after iat.
func TestShapeMatchesNVIDIA(t *testing.T) {
	real, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "nras", "hopperClaimsv3_detached_eat.json"))
	require.NoError(t, err)
	a, err := nrastest.NewAuthority("https://nras.attestation.nvidia.com")
	require.NoError(t, err)
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	eat, err := a.Mint(nrastest.Request{Nonce: make([]byte, 32), Now: now})
	require.NoError(t, err)

	ro, rd := tokens(t, real)
	mo, md := tokens(t, eat)
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	for _, p := range [][2]string{{ro, mo}, {rd, md}} {
		rp, mp := strings.Split(p[0], "."), strings.Split(p[1], ".")
		assert.Equal(t, keys(decode(t, rp[0])), keys(decode(t, mp[0])), "header members")
		assert.Len(t, mp[2], len(rp[2]), "signature length")
	}
	assert.Equal(t, keys(decode(t, strings.Split(ro, ".")[1])), keys(decode(t, strings.Split(mo, ".")[1])), "overall claims")
	realDev := decode(t, strings.Split(rd, ".")[1])
	mintDev := decode(t, strings.Split(md, ".")[1])
	for k := range realDev {
		assert.Contains(t, mintDev, k)
	}
	assert.Equal(t, mintDev["iat"].(float64)+3600, mintDev["exp"])
}
