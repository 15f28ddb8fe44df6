package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
)

const dcapAt = "2025-07-01T00:00:00Z"

func repoTestdata(p ...string) string {
	return filepath.Join(append([]string{"..", "..", "testdata"}, p...)...)
}

// TestCollateralImportDCAPQVLThenVerify: dcap-qvl's real collateral JSON is
// imported into a bundle, and attest verify affirms its quote from that
// bundle at the pinned time, with the reference values given.
func TestCollateralImportDCAPQVLThenVerify(t *testing.T) {
	dir := t.TempDir()
	bundleDir := filepath.Join(dir, "bundle")
	r := attest(t, "", "collateral", "import", "--from", "dcap-qvl", repoTestdata("tdx", "dcapqvl_collateral.json"), "--out", bundleDir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "tdx/tcb_info/B0C06F000000.json")
	assert.Contains(t, r.stdout, "earliest expiry: 2025-07-19")

	quotePath := repoTestdata("tdx", "dcapqvl_tdx_quote.dat")
	quote, err := os.ReadFile(quotePath)
	require.NoError(t, err)
	q, err := tdx.ParseQuote(quote)
	require.NoError(t, err)
	rv := "version: \"1\"\nreference_values:\n  - name: mr_td\n    value: [\"" + hex.EncodeToString(q.Body.MRTD[:]) + "\"]\n"
	for i := 0; i < 3; i++ {
		rv += fmt.Sprintf("  - name: rtmr_%d\n    value: [\"%s\"]\n", i, hex.EncodeToString(q.Body.RTMR[i][:]))
	}
	rv += "  - name: xfam\n    value: [\"" + hex.EncodeToString(q.Body.XFAM[:]) + "\"]\n"
	rvPath := filepath.Join(dir, "rv.yaml")
	require.NoError(t, os.WriteFile(rvPath, []byte(rv), 0o644))

	args := []string{"verify", "--collateral-dir", bundleDir, "--now", dcapAt,
		"--report-data", hex.EncodeToString(q.Body.ReportData[:]), "--reference-values", rvPath, quotePath}
	r = attest(t, "", args...)
	require.Equal(t, exitOK, r.code, "verify must affirm: %s\n%s", r.stdout, r.stderr)

	// Without the reference values the strict default policy does not affirm.
	r = attest(t, "", "verify", "--collateral-dir", bundleDir, "--now", dcapAt,
		"--report-data", hex.EncodeToString(q.Body.ReportData[:]), quotePath)
	assert.NotEqual(t, exitOK, r.code)

	// inspect: intact, earliest expiry, nothing missing for the quote.
	r = attest(t, "", "collateral", "inspect", bundleDir, quotePath, "--now", "2025-07-01")
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "earliest expiry: 2025-07-19T")
	assert.Contains(t, r.stdout, "the evidence needs nothing more")

	r = attest(t, "", "collateral", "inspect", "--json", bundleDir, quotePath, "--now", dcapAt)
	require.Equal(t, exitOK, r.code, r.stderr)
	var rep struct {
		Schema   string
		OK       bool
		Earliest struct{ Path string }
		Items    []struct{ Path, Problem string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.Equal(t, "attest-collateral-inspect/1", rep.Schema)
	assert.True(t, rep.OK)
	assert.Len(t, rep.Items, 7)
	assert.NotEmpty(t, rep.Earliest.Path)

	// After the earliest expiry, inspect fails and says what expired.
	r = attest(t, "", "collateral", "inspect", bundleDir, quotePath, "--now", "2025-08-01")
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stdout, "expired at 2025-07-19")

	// A bundle directory that exists and is not empty is never overwritten.
	r = attest(t, "", "collateral", "import", "--from", "dcap-qvl", repoTestdata("tdx", "dcapqvl_collateral.json"), "--out", bundleDir)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "not empty")
}

func TestCollateralInspectMalformedManifest(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"format":"other"}`), 0o644))
	r := attest(t, "", "collateral", "inspect", dir)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "manifest format")
}

func TestCollateralInspectMissing(t *testing.T) {
	empty := t.TempDir()
	r := attest(t, "", "collateral", "inspect", empty, repoTestdata("tdx", "dcapqvl_tdx_quote.dat"), "--now", dcapAt)
	assert.Equal(t, exitFail, r.code)
	assert.Contains(t, r.stdout, "missing: evidence 1 needs tdx/tcb_info/B0C06F000000.json")
	assert.Contains(t, r.stdout, "no manifest.json")
}

func TestCollateralHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{
		{"collateral", "--help"},
		{"collateral", "fetch", "--help"},
		{"collateral", "inspect", "--help"},
		{"collateral", "import", "--help"},
	} {
		r := attest(t, "", args...)
		assert.Equal(t, exitOK, r.code, "%v", args)
		assert.Contains(t, r.stderr, "exit codes:", "%v", args)
		assert.Contains(t, r.stderr, "2  usage or input error", "%v", args)
	}
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"collateral"}, "usage: attest collateral"},
		{[]string{"collateral", "nope"}, "unknown subcommand"},
		{[]string{"collateral", "fetch", "--out", out}, "no evidence"},
		{[]string{"collateral", "fetch", repoTestdata("tdx", "dcapqvl_tdx_quote.dat")}, "--out is required"},
		{[]string{"collateral", "fetch", "--out", out, "--update", "late", "q"}, `--update "late"`},
		{[]string{"collateral", "fetch", "--out", out, "--update", "early", "--tcb-eval-num", "17", "q"}, "--tcb-eval-num and --update"},
		{[]string{"collateral", "fetch", "--out", out, "--pccs", "https://pccs.example", "--tcb-eval-num", "17", "q"}, "--tcb-eval-num with --pccs"},
		{[]string{"collateral", "fetch", "--out", out, "--now", "yesterday", "q"}, "--now \"yesterday\""},
		{[]string{"collateral", "fetch", "--out", filepath.Join(out, "b"), "/nonexistent/quote"}, "evidence:"},
		{[]string{"collateral", "fetch", "--out", filepath.Join(out, "b"), repoTestdata("tdx", "README.md")}, "not an Intel TDX quote"},
		{[]string{"collateral", "import", "--out", out, "x"}, "--from is required"},
		{[]string{"collateral", "import", "--from", "pcs", "--out", out, "x"}, `--from "pcs"`},
		{[]string{"collateral", "import", "--from", "dcap-qvl", "x"}, "--out is required"},
		{[]string{"collateral", "import", "--from", "dcap-qvl", "--out", filepath.Join(out, "c"), repoTestdata("tdx", "README.md")}, "dcap-qvl collateral"},
		{[]string{"collateral", "inspect"}, "give the bundle directory"},
		{[]string{"collateral", "fetch", "--out", out, "--snp-product", "Rome", "q"}, "--snp-product \"Rome\""},
		{[]string{"collateral", "fetch", "--out", out, "--kds-url", "ftp://kds.example", "q"}, "--kds-url"},
		{[]string{"collateral", "fetch", "--out", out, "--pccs", "https://a.example", "--pcs-url", "https://b.example", "q"}, "--pccs and --pcs-url"},
		{[]string{"collateral", "import", "--from", "nvidia-rims", "--out", filepath.Join(out, "d"), "/nonexistent"}, "nonexistent"},
	} {
		r := attest(t, "", tc.args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
		assert.NotContains(t, r.stderr, "With", "%v: messages name flags, not Go identifiers", tc.args)
	}
}

// TestCollateralFetchCLI runs fetch against a test PCCS: the test PKI's
// root is not Intel's, so the set does not verify against the pinned root
// and nothing is written (exit 1), after the 429 and the 503 were retried.
func TestCollateralFetchCLI(t *testing.T) {
	p := tdxtest.NewPKI()
	pcs := tdxtest.NewPCS(p.DefaultCollateral())
	defer pcs.Close()
	var mu sync.Mutex // the fetcher asks for items concurrently
	first := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen := first[r.URL.Path]
		first[r.URL.Path] = true
		mu.Unlock()
		if !seen {
			switch r.URL.Path {
			case "/tdx/certification/v4/tcb":
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			case "/tdx/certification/v4/qe/identity":
				http.Error(w, "later", http.StatusServiceUnavailable)
				return
			}
		}
		pcs.Config.Handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	quotePath := filepath.Join(dir, "quote.dat")
	require.NoError(t, os.WriteFile(quotePath, p.Quote(p.DefaultQuote([]byte(strings.Repeat("n", 64)))), 0o644))
	out := filepath.Join(dir, "bundle")
	r := attest(t, "", "collateral", "fetch", quotePath, "--out", out, "--pccs", srv.URL, "--now", tdxtest.VerifyTime().Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, exitFail, r.code, r.stderr)
	assert.Contains(t, r.stderr, "does not verify, nothing written")
	assert.Contains(t, r.stderr, "fetching Intel collateral", "progress on stderr")
	mu.Lock()
	assert.True(t, first["/tdx/certification/v4/tcb"] && first["/tdx/certification/v4/qe/identity"])
	mu.Unlock()
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "nothing written: %v", err)
}

// TestCollateralFetchTimeout: a service that never answers makes fetch give
// up within --timeout with a message naming the flag.
func TestCollateralFetchTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	r := attest(t, "", "collateral", "fetch", repoTestdata("tdx", "dcapqvl_tdx_quote.dat"), "--out", filepath.Join(t.TempDir(), "b"),
		"--pccs", srv.URL, "--timeout", "300ms", "--quiet")
	assert.Equal(t, exitFail, r.code, r.stderr)
	assert.Contains(t, r.stderr, "gave up after --timeout 300ms")
}

// TestCollateralImportNVIDIARIMs: NVIDIA's real RIMs, the driver RIM under
// an arbitrary name, import into gpu/rims/<RIM ID>.xml; inspect then shows
// the signer chains' expiry.
func TestCollateralImportNVIDIARIMs(t *testing.T) {
	src := t.TempDir()
	for from, to := range map[string]string{
		"NV_GPU_DRIVER_GH100_550.90.07.xml":         "driver.xml",
		"NV_GPU_VBIOS_1010_0200_882_96009F0001.xml": "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml",
	} {
		b, err := os.ReadFile(repoTestdata("gpu", "rim", "v1", from))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(src, to), b, 0o644))
	}
	out := filepath.Join(t.TempDir(), "bundle")
	r := attest(t, "", "collateral", "import", "--from", "nvidia-rims", src, "--out", out, "--now", "2025-10-24")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "gpu/rims/NV_GPU_DRIVER_GH100_550.90.07.xml")
	assert.Contains(t, r.stdout, "gpu/rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml")
	r = attest(t, "", "collateral", "inspect", out, "--now", "2025-10-24")
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "earliest expiry: 2026-02-22")

	// After a RIM import fails verification (too late for the VBIOS
	// signer), nothing is written and the exit code is 1.
	out2 := filepath.Join(t.TempDir(), "bundle")
	r = attest(t, "", "collateral", "import", "--from", "nvidia-rims", src, "--out", out2, "--now", "2026-06-01")
	assert.Equal(t, exitFail, r.code, r.stderr)
	_, err := os.Stat(out2)
	assert.True(t, os.IsNotExist(err))
}
