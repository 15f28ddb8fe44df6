package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
)

// endless is a file that never ends: /dev/zero, whose reported size is 0.
func endless(t *testing.T) string {
	t.Helper()
	const dev = "/dev/zero"
	if _, err := os.Stat(dev); err != nil {
		t.Skipf("%s: %v", dev, err)
	}
	return dev
}

// Every file a flag names is read through a bound: /dev/zero (which
// reports 0 bytes), a directory and a file over the bound are refused with
// exit 2 and a message naming the flag, instead of being read without end
// (before, each of these ran until memory ran out).
func TestFlagFilesBounded(t *testing.T) {
	zero := endless(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxJWKSFile+1), 0o600))
	ev := filepath.Join("samples", "composite", "tdx-evidence.json")
	for _, tc := range []struct {
		flag string
		args []string
	}{
		{"--admin-token-file", []string{"serve", "--listen", "127.0.0.1:0", "--admin-token-file", zero}},
		{"--key", []string{"serve", "--listen", "127.0.0.1:0", "--key", zero}},
		{"--reference-values", []string{"serve", "--listen", "127.0.0.1:0", "--reference-values", zero}},
		{"--policy", []string{"serve", "--listen", "127.0.0.1:0", "--policy-engine", "rego", "--policy", "x=" + zero}},
		{"--key", []string{"serve", "--listen", "127.0.0.1:0", "--key", dir}},
		{"--tpm-ak", []string{"verify", "--tpm-ak", zero, ev}},
		{"--runtime-data", []string{"verify", "--runtime-data", zero, ev}},
		{"--reference-values", []string{"verify", "--reference-values", zero, ev}},
		{"--reference-values", []string{"verify", "--reference-values", dir, ev}},
		{"--jwks", []string{"token", "verify", "--jwks", zero, ev}},
		{"--jwks", []string{"token", "verify", "--jwks", big, ev}},
		{"--key", []string{"token", "verify", "--key", zero, ev}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := attest(t, "", tc.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.flag)
		})
	}
}

// attest verify on /dev/zero, on a directory and on a file over the bound
// answers exit 2 without reading more than the bound.
func TestVerifyInputBounded(t *testing.T) {
	zero := endless(t)
	dir := t.TempDir()
	r := attest(t, "", "verify", zero)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "more than")
	r = attest(t, "", "verify", dir)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "a directory")
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxEvidenceInput+1)) // sparse: no disk used
	require.NoError(t, f.Close())
	r = attest(t, "", "verify", big)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "limit")

	// Files within the bound each, over it together.
	half := filepath.Join(dir, "half")
	require.NoError(t, os.WriteFile(half, make([]byte, maxEvidenceInput/2+1), 0o600))
	r = attest(t, "", "verify", half, half)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "together")
}

// An --admin-token-file that is empty, white space only, too short or two
// lines is refused (exit 2, naming the flag): before, an empty file left
// the service with no token, its management reads open to anyone.
func TestServeAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"empty":      "",
		"blank":      " \n\t\n",
		"short":      "short\n",
		"two lines":  "0123456789abcdef\n0123456789abcdef\n",
		"NUL inside": "0123456789abcdef\x000123456789abcdef",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
			r := attest(t, "", "serve", "--listen", "127.0.0.1:0", "--admin-token-file", file)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, "--admin-token-file")
		})
	}
	file := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(file, []byte("  0123456789abcdef-token\n"), 0o600))
	cfg, err := serveConfig(serveOptions{adminFile: file, online: true}, slog.New(slog.DiscardHandler), io.Discard, collateral.NewMemoryStore(0, 0))
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef-token", cfg.AdminToken)
}

// The embedded sample (no --online) trusts test roots: it refuses the
// operator's --key (anyone could then get affirming tokens signed by it)
// and a shared Redis (it would seed production state with the sample's),
// exit 2 naming both flags. Before, both started serving. A --store
// password never appears in a message.
func TestServeSampleRefusesProductionFlags(t *testing.T) {
	keyPath, _, _ := genKeys(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--key", keyPath}, []string{"--key", "--online"}},
		{[]string{"--store", "redis://user:s3cret-pass@127.0.0.1:1/0"}, []string{"--store", "--online"}},
		{[]string{"--store", "mysql://user:s3cret-pass@127.0.0.1:1/0", "--online"}, []string{"--store"}},
	} {
		// A start that wrongly succeeds serves until this deadline, and
		// then exits 0: a failure, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var stdout, stderr syncBuffer
		code := runServe(ctx, append([]string{"--listen", "127.0.0.1:0"}, tc.args...), nil, &stdout, &stderr)
		cancel()
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, stderr.String())
		for _, w := range tc.want {
			assert.Contains(t, stderr.String(), w, tc.args)
		}
		assert.NotContains(t, stderr.String(), "s3cret-pass", tc.args)
	}
}
