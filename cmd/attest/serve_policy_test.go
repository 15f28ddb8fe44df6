package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/policy/rego"
	"github.com/trustfactory/attest/serve"
)

// Contradicting or bad policy flags are usage errors naming the flag.
func TestServePolicyFlagsUsage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mine_cpu.rego")
	require.NoError(t, os.WriteFile(good, []byte(rego.DefaultPolicies()["default_cpu"]), 0o600))
	bad := filepath.Join(dir, "bad_cpu.rego")
	require.NoError(t, os.WriteFile(bad, []byte("package policy\ntrust_claims := {\"hardware\": nope(1)}\n"), 0o600))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--policy", good}, "--policy-engine rego"},
		{[]string{"--policy-engine", "go", "--policy", good}, "--policy-engine rego"},
		{[]string{"--policy-engine", "wasm"}, "--policy-engine \"wasm\""},
		{[]string{"--policy-engine", "rego", "--policy", filepath.Join(dir, "missing.rego")}, "--policy"},
		{[]string{"--policy-engine", "rego", "--policy", bad}, "undefined function nope"},
		{[]string{"--policy-engine", "rego", "--policy", good, "--policy", "mine_cpu=" + good}, "given twice"},
		{[]string{"--policy-engine", "rego", "--policy", "a/b=" + good}, "policy id"},
		{[]string{"--policy-engine", "rego", "--policy", ""}, "--policy"},
	} {
		var stdout, stderr syncBuffer
		require.Equal(t, exitUsage, runServe(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, c.args...), nil, &stdout, &stderr), "%v: %s", c.args, stderr.String())
		assert.Contains(t, stderr.String(), c.want, c.args)
	}
	// Contradicting flags are refused before anything is generated or
	// warned about: the message is the only line (before, it followed the
	// generated-key and sample warnings).
	for _, args := range [][]string{{"--policy", good}, {"--policy-engine", "wasm"}} {
		var stdout, stderr syncBuffer
		require.Equal(t, exitUsage, runServe(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, args...), nil, &stdout, &stderr))
		assert.NotContains(t, stderr.String(), "WARNING", args)
		assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "%v: %s", args, stderr.String())
	}
}

// attest serve --policy-engine rego: Trustee's defaults plus a --policy
// file are in force; an upload with the admin token replaces one (the
// README's curl); the sample attests under "default".
func TestServeRego(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine.rego")
	require.NoError(t, os.WriteFile(mine, []byte(rego.DefaultPolicies()["default_cpu"]), 0o600))
	tokenFile := filepath.Join(dir, "admin-token")
	const admin = "serve-rego-admin-token"
	require.NoError(t, os.WriteFile(tokenFile, []byte(admin+"\n"), 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- runServe(ctx, []string{"--listen", "127.0.0.1:0", "--policy-engine", "rego", "--policy", "mine_cpu=" + mine,
			"--admin-token-file", tokenFile}, nil, &stdout, &stderr)
	}()
	var base string
	require.Eventually(t, func() bool {
		_, addr, ok := strings.Cut(stdout.String(), "listening on ")
		base = strings.TrimSpace(addr)
		return ok && strings.HasSuffix(stdout.String(), "\n")
	}, 20*time.Second, 10*time.Millisecond, stderr.String())
	do := func(method, path, body string, hdr ...string) (int, string) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	status, _ := do(http.MethodGet, "/policy", "")
	require.Equal(t, http.StatusUnauthorized, status, "policy reads need the admin token once one is configured")
	status, list := do(http.MethodGet, "/policy", "", "Authorization", "Bearer "+admin)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[{"policy-id":"default_cpu"},{"policy-id":"default_gpu"},{"policy-id":"default_ppcie"},{"policy-id":"default_switch"},{"policy-id":"mine_cpu"}]`, list)

	upload := fmt.Sprintf(`{"type":"rego","policy_id":"default_gpu","policy":%q}`, base64.RawURLEncoding.EncodeToString([]byte(rego.DefaultPolicies()["default_gpu"])))
	status, msg := do(http.MethodPost, "/policy", upload)
	require.Equal(t, http.StatusUnauthorized, status, msg)
	status, msg = do(http.MethodPost, "/policy", upload, "Authorization", "Bearer "+admin, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, status, msg)
	assert.JSONEq(t, `{"policy-id":"default_gpu","version":2}`, msg)

	sample, err := fs.Sub(samplesFS, "samples/composite")
	require.NoError(t, err)
	ev, err := fs.ReadFile(sample, "tdx-evidence.json")
	require.NoError(t, err)
	rd, err := fs.ReadFile(sample, "runtime-data.json")
	require.NoError(t, err)
	for _, id := range []string{"default", "mine"} {
		body := fmt.Sprintf(`{"verification_requests":[{"tee":"tdx","evidence":%q,"runtime_data":{"structured":%s}}],"policy_ids":[%q]}`,
			base64.RawURLEncoding.EncodeToString(bytes.TrimSpace(ev)), rd, id)
		status, msg = do(http.MethodPost, "/attestation", body)
		if id == "default" {
			require.Equal(t, http.StatusOK, status, msg)
		} else {
			// A nonce is used once: the second attempt is refused, but
			// after its policy id was accepted.
			require.Equal(t, http.StatusConflict, status, msg)
		}
	}
	cancel()
	require.Equal(t, exitOK, <-code, stderr.String())
	http.DefaultClient.CloseIdleConnections()
}

// --policy files are PolicyOverrides (stored whenever the stored text
// differs, so that a changed file is in force after a restart); Trustee's
// defaults stay the engine's, stored only when absent.
func TestServePolicyFlagsOverride(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine_cpu.rego")
	require.NoError(t, os.WriteFile(mine, []byte(rego.DefaultPolicies()["default_cpu"]), 0o600))
	gpu := filepath.Join(dir, "gpu.rego")
	require.NoError(t, os.WriteFile(gpu, []byte(rego.DefaultPolicies()["default_gpu"]), 0o600))
	var cfg serve.Config
	require.NoError(t, applyPolicyFlags(context.Background(), "rego", policyFiles{mine, "default_gpu=" + gpu}, &cfg))
	assert.Nil(t, cfg.Policies, "the defaults keep overwrite=false")
	assert.Equal(t, map[string][]byte{
		"mine_cpu":    []byte(rego.DefaultPolicies()["default_cpu"]),
		"default_gpu": []byte(rego.DefaultPolicies()["default_gpu"]),
	}, cfg.PolicyOverrides)
}
