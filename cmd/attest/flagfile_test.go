package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
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
	var warnings strings.Builder
	cfg, err := serveConfig(serveOptions{adminFile: file, online: true}, slog.New(slog.DiscardHandler), &warnings, collateral.NewMemoryStore(0, 0))
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef-token", cfg.AdminToken)
	assert.NotContains(t, warnings.String(), "readable by")

	// A token file others can read is warned about (not refused).
	require.NoError(t, os.Chmod(file, 0o644))
	warnings.Reset()
	_, err = serveConfig(serveOptions{adminFile: file, online: true}, slog.New(slog.DiscardHandler), &warnings, collateral.NewMemoryStore(0, 0))
	require.NoError(t, err)
	assert.Contains(t, warnings.String(), "--admin-token-file "+file+" is readable by its group or others")
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

// writeSelfSigned writes a certificate for 127.0.0.1 and its key as PEM
// files and returns their paths and a pool trusting the certificate.
func writeSelfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attest-serve-cli-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile, pool
}

// attest serve --tls-cert/--tls-key serves HTTPS (before there was no
// TLS at all); one without the other, or a file that is no certificate,
// is exit 2 naming the flags; an admin token on a non-loopback address
// without TLS is warned about.
func TestServeTLSFlags(t *testing.T) {
	certFile, keyFile, pool := writeSelfSigned(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "--tls-cert and --tls-key"},
		{[]string{"--tls-key", keyFile}, "--tls-cert and --tls-key"},
		{[]string{"--tls-cert", keyFile, "--tls-key", keyFile}, "--tls-cert"},
		{[]string{"--tls-cert", "/dev/zero", "--tls-key", keyFile}, "--tls-cert"},
		{[]string{"--max-connections", "-1"}, "--max-connections -1"},
		{[]string{"--max-connections", "10"}, "--max-connections 10"},
	} {
		var stdout, stderr syncBuffer
		assert.Equal(t, exitUsage, runServe(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, tc.args...), nil, &stdout, &stderr), tc.args)
		assert.Contains(t, stderr.String(), tc.want, tc.args)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- runServe(ctx, []string{"--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--max-connections", "100"}, nil, &stdout, &stderr)
	}()
	var base string
	require.Eventually(t, func() bool {
		_, addr, ok := strings.Cut(stdout.String(), "listening on ")
		base = strings.TrimSpace(addr)
		return ok && strings.HasSuffix(stdout.String(), "\n")
	}, 20*time.Second, 10*time.Millisecond, stderr.String())
	require.True(t, strings.HasPrefix(base, "https://"), base)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	resp, err := (&http.Client{Transport: tr}).Get(base + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	tr.CloseIdleConnections()
	cancel()
	require.Equal(t, exitOK, <-code, stderr.String())

	token := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(token, []byte("0123456789abcdef-admin\n"), 0o600))
	ctx, cancel = context.WithCancel(context.Background())
	var out2, err2 syncBuffer
	go func() {
		code <- runServe(ctx, []string{"--listen", "0.0.0.0:0", "--admin-token-file", token}, nil, &out2, &err2)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out2.String(), "listening on") }, 20*time.Second, 10*time.Millisecond, err2.String())
	cancel()
	require.Equal(t, exitOK, <-code)
	assert.Contains(t, err2.String(), "in the clear")
}
