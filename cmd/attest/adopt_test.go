package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// These tests record what a new user stumbled on in messages of cmd/attest
// (the adopt walk through README and --help); each failed before its fix.

// runAdopt runs attest with args and returns its exit code and stderr.
func runAdopt(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, errb.String()
}

// TestAdoptTokenVerifyNamesJWKSFlag: an unreadable --jwks file is reported
// with the flag, as --key and --now are ("--jwks nope.json: open …").
func TestAdoptTokenVerifyNamesJWKSFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	code, stderr := runAdopt(t, "token", "verify", "--jwks", missing, missing)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--jwks")
}

// TestAdoptTokenVerifyNowForms: token verify --now accepts what verify
// --now accepts (a date or RFC 3339) and, refusing a bad value, names both
// forms instead of Go's layout string.
func TestAdoptTokenVerifyNowForms(t *testing.T) {
	dir := t.TempDir()
	jwks := filepath.Join(dir, "jwks.json")
	code, _ := runAdopt(t, "keys", "generate", "--out", filepath.Join(dir, "k.jwk"), "--jwks", jwks)
	assert.Equal(t, exitOK, code)
	tok := filepath.Join(dir, "ear.jwt")
	assert.NoError(t, os.WriteFile(tok, []byte("x.y.z"), 0o600))
	_, stderr := runAdopt(t, "token", "verify", "--jwks", jwks, "--now", "bad", tok)
	assert.Contains(t, stderr, "--now")
	assert.NotContains(t, stderr, "2006-01-02T15:04:05Z07:00")
	_, stderr = runAdopt(t, "token", "verify", "--jwks", jwks, "--now", "2026-03-01", tok)
	assert.NotContains(t, stderr, "--now")
}

// TestAdoptServeNamesAdminTokenFlag: an unreadable --admin-token-file is
// reported with the flag.
func TestAdoptServeNamesAdminTokenFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	code, stderr := runAdopt(t, "serve", "--listen", "127.0.0.1:0", "--admin-token-file", missing)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--admin-token-file")
}

// TestAdoptSGXMissingCollateralNamesPart: an SGX quote whose collateral the
// bundle lacks is told where it goes (tdx/sgx/), not "under its the
// format's part".
func TestAdoptSGXMissingCollateralNamesPart(t *testing.T) {
	bundle := t.TempDir()
	assert.NoError(t, os.MkdirAll(filepath.Join(bundle, "tdx"), 0o755))
	code, stderr := runAdopt(t, "verify", "--collateral-dir", bundle, "--now", "2025-07-01",
		"--report-data", "48656c6c6f2c20776f726c6421", repoTestdata("sgx", "dcapqvl_sgx_quote.dat"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "tdx/sgx/")
	assert.NotContains(t, stderr, "its the format's")
}
