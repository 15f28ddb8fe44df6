package kbs_test

import (
	"crypto"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

// TestGEN05RequestDecodingBounded: an unauthenticated /attest body cannot
// make the request parser or the init-data decoder do work out of proportion
// to its size. Before the caps, a 16 MiB array in tee-pubkey allocated 1 GB
// and 18 KB of init data a gigabyte more.
func TestGEN05RequestDecodingBounded(t *testing.T) {
	wrap := func(key, initData string) string {
		init := ""
		if initData != "" {
			init = `"init-data":{"format":"toml","body":"` + initData + `"},`
		}
		return `{` + init + `"runtime-data":{"nonce":"n","tee-pubkey":` + key + `},"tee-evidence":{"primary_evidence":{"quote":"AA=="},"additional_evidence":""}}`
	}
	cases := []struct {
		name, body string
		budget     uint64 // bytes the refusal may allocate
	}{
		// Decoding the body into its struct is linear: measured 6 bytes per
		// byte of a flat body, 34 per byte of a deeply nested one (which
		// encoding/json stops at depth 10000).
		{"array in tee-pubkey", wrap(`{"kty":"EC","x":[`+strings.Repeat("1,", 4<<20)+`1]}`, ""), 8 * (8 << 20)},
		{"nesting in tee-pubkey", wrap(`{"kty":"EC","x":`+strings.Repeat("[", 9000)+strings.Repeat("]", 9000)+`}`, ""), 64 * 18 << 10},
		{"nested init data", wrap(`{"kty":"EC"}`, "version = "+strings.Repeat("{a=", 6000)), 8 * 18 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := kbs.ParseRequest([]byte(c.body))
			if err == nil {
				_, err = kbs.Components(r, verify.FormatTDX, crypto.SHA384, time.Now())
			}
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, verify.ErrLimit)
			assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, c.budget, "%d-byte body", len(c.body))
		})
	}
}
