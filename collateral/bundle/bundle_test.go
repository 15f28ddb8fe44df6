package bundle_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

var reportData = []byte(strings.Repeat("n", 64))

// offline is a Fetcher that fails every call: the network is disabled.
type offline struct{}

func (offline) Fetch(context.Context, string) (*collateral.Response, error) {
	return nil, verify.Errorf(verify.ErrCollateral, "network disabled")
}

// flaky wraps a handler: the first request to each path in rateLimited
// answers 429 with Retry-After, the first to each path in unavailable 503.
type flaky struct {
	next                     http.Handler
	rateLimited, unavailable map[string]bool
	mu                       sync.Mutex
	seen                     map[string]int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen[r.URL.Path]++
	n := f.seen[r.URL.Path]
	f.mu.Unlock()
	switch {
	case n == 1 && f.rateLimited[r.URL.Path]:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case n == 1 && f.unavailable[r.URL.Path]:
		http.Error(w, "try later", http.StatusServiceUnavailable)
	default:
		f.next.ServeHTTP(w, r)
	}
}

func (f *flaky) count(p string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.seen[p] }

func testFetcher() *collateral.HTTPFetcher {
	// Retry-After is honoured up to MaxRetryAfter: a millisecond cap keeps
	// the test quick while it still goes through the 429 path.
	return &collateral.HTTPFetcher{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond, MaxRetries: 3}
}

type intelWorld struct {
	pki   *tdxtest.PKI
	pcs   *tdxtest.PCS
	flaky *flaky
	url   string
}

func newIntel(t *testing.T) *intelWorld {
	t.Helper()
	p := tdxtest.NewPKI()
	pcs := tdxtest.NewPCS(p.DefaultCollateral())
	t.Cleanup(pcs.Close)
	f := &flaky{next: pcs.Config.Handler, seen: map[string]int{},
		rateLimited: map[string]bool{"/tdx/certification/v4/tcb": true},
		unavailable: map[string]bool{"/sgx/certification/v4/pckcrl": true}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &intelWorld{pki: p, pcs: pcs, flaky: f, url: srv.URL}
}

func (w *intelWorld) options() bundle.FetchOptions {
	return bundle.FetchOptions{
		Fetcher: testFetcher(), IntelURL: w.url, PCCS: true,
		Now: tdxtest.VerifyTime(), Clock: func() time.Time { return tdxtest.VerifyTime() },
		TDXRoots: []*x509.Certificate{w.pki.Root.Cert}, Producer: "attest test",
	}
}

func TestFetchTDXThenVerifyOffline(t *testing.T) {
	w := newIntel(t)
	quote := w.pki.Quote(w.pki.DefaultQuote(reportData))
	dir := filepath.Join(t.TempDir(), "bundle")
	// The same quote twice: its collateral is fetched once.
	m, err := bundle.Fetch(context.Background(), [][]byte{quote, quote}, dir, w.options())
	require.NoError(t, err)
	assert.Equal(t, 2, w.flaky.count("/tdx/certification/v4/tcb"), "429 then a retry, once for both quotes")
	assert.Equal(t, 2, w.flaky.count("/sgx/certification/v4/pckcrl"), "503 then a retry")
	assert.Equal(t, 1, w.flaky.count("/tdx/certification/v4/qe/identity"))
	require.Len(t, m.Items, 7)
	wantURL := map[string]string{
		"tdx.tcb_info":    "/tdx/certification/v4/tcb?fmspc=" + hex.EncodeToString(w.pki.Platform.FMSPC[:]),
		"tdx.qe_identity": "/tdx/certification/v4/qe/identity", "tdx.pck_crl": "/sgx/certification/v4/pckcrl?ca=platform",
		"tdx.root_ca_crl": "/sgx/certification/v4/rootcacrl",
	}
	for _, it := range m.Items {
		if want, ok := wantURL[it.Kind]; ok {
			assert.Contains(t, it.Source.URL, want, it.Path)
		}
		assert.NotEmpty(t, it.Source.URL, it.Path)
		assert.True(t, strings.HasPrefix(it.Source.URL, w.url), it.Source.URL)
		assert.False(t, it.Validity.NotAfter.IsZero(), it.Path)
	}

	// The manifest on disk parses and matches.
	mb, err := os.ReadFile(filepath.Join(dir, bundle.ManifestName))
	require.NoError(t, err)
	parsed, err := bundle.ParseManifest(mb)
	require.NoError(t, err)
	assert.Equal(t, m.Items, parsed.Items)

	// Verify the quote from the bundle with the network disabled.
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS(), Online: &setup.Online{Fetcher: offline{}},
		Roots: setup.Roots{TDX: []*x509.Certificate{w.pki.Root.Cert}}})
	require.NoError(t, err)
	claims, err := reg.Verify(context.Background(), verify.FormatTDX, quote, verify.Expectations{ReportData: reportData, Now: tdxtest.VerifyTime()})
	require.NoError(t, err)
	assert.Equal(t, tdx.StatusUpToDate, claims.(*tdx.Claims).TCB.Status)

	// Without the bundle, the same registry cannot verify: the bundle did it.
	reg2, err := setup.NewRegistry(setup.Config{Online: &setup.Online{Fetcher: offline{}}, Roots: setup.Roots{TDX: []*x509.Certificate{w.pki.Root.Cert}}})
	require.NoError(t, err)
	_, err = reg2.Verify(context.Background(), verify.FormatTDX, quote, verify.Expectations{ReportData: reportData, Now: tdxtest.VerifyTime()})
	require.ErrorIs(t, err, verify.ErrCollateral)

	// Inspect names the earliest expiry and finds nothing missing.
	rep, err := bundle.Inspect(context.Background(), root.FS(), [][]byte{quote}, bundle.InspectOptions{Now: tdxtest.VerifyTime(), TDXRoots: []*x509.Certificate{w.pki.Root.Cert}})
	require.NoError(t, err)
	require.NotNil(t, rep.Earliest)
	earliest := rep.Earliest.Validity.NotAfter
	for _, it := range m.Items {
		assert.False(t, it.Validity.NotAfter.Before(earliest), "%s ends before the reported earliest", it.Path)
	}
	_, next := w.pki.Window()
	assert.Equal(t, next.UTC(), earliest.UTC())
	assert.True(t, rep.OK(), "%+v", rep)
	assert.Len(t, rep.Needs, 7)

	// After the earliest expiry, inspect reports the expired items.
	rep, err = bundle.Inspect(context.Background(), root.FS(), [][]byte{quote}, bundle.InspectOptions{Now: earliest.Add(time.Second), TDXRoots: []*x509.Certificate{w.pki.Root.Cert}})
	require.NoError(t, err)
	assert.False(t, rep.OK())
	assert.NotEmpty(t, rep.Problems)
}

func TestFetchTamperedTCBInfoWritesNothing(t *testing.T) {
	w := newIntel(t)
	c := w.pki.DefaultCollateral()
	c.TCBInfo = []byte(strings.Replace(string(c.TCBInfo), `"UpToDate"`, `"OutOfDate"`, 1))
	require.NotEqual(t, w.pki.DefaultCollateral().TCBInfo, c.TCBInfo, "the tamper changed the signed bytes")
	w.pcs.Set(c)
	quote := w.pki.Quote(w.pki.DefaultQuote(reportData))
	dir := filepath.Join(t.TempDir(), "bundle")
	_, err := bundle.Fetch(context.Background(), [][]byte{quote}, dir, w.options())
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.ErrorIs(t, err, verify.ErrSignature)
	_, statErr := os.Stat(dir)
	assert.True(t, errors.Is(statErr, os.ErrNotExist), "no bundle written: %v", statErr)
	ents, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Empty(t, ents, "no temporary directory left behind")
}

func TestFetchRefusesNonTDXAndBadOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	_, err := bundle.Fetch(context.Background(), [][]byte{[]byte("not evidence")}, dir, bundle.FetchOptions{Fetcher: offline{}})
	require.ErrorIs(t, err, verify.ErrUnsupported)
	_, err = bundle.Fetch(context.Background(), nil, dir, bundle.FetchOptions{Fetcher: offline{}})
	require.ErrorIs(t, err, verify.ErrConfig)
	w := newIntel(t)
	quote := w.pki.Quote(w.pki.DefaultQuote(reportData))
	o := w.options()
	o.TCBEvaluationDataNumber = 17 // a PCCS ignores it: a contradiction
	_, err = bundle.Fetch(context.Background(), [][]byte{quote}, dir, o)
	require.ErrorIs(t, err, verify.ErrConfig)
	o = w.options()
	o.Fetcher = &collateral.HTTPFetcher{Timeout: -time.Second}
	_, err = bundle.Fetch(context.Background(), [][]byte{quote}, dir, o)
	require.ErrorIs(t, err, verify.ErrConfig)
	_, statErr := os.Stat(dir)
	assert.True(t, errors.Is(statErr, os.ErrNotExist))
}

func TestFetchTCBEvaluationDataNumber(t *testing.T) {
	w := newIntel(t)
	var mu sync.Mutex
	var queries []string
	inner := w.flaky.next
	w.flaky.next = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		inner.ServeHTTP(rw, r)
	})
	o := w.options()
	o.PCCS, o.TCBEvaluationDataNumber = false, 17
	// Not a PCCS: the root CA CRL comes from Intel's URL, answered here
	// from memory.
	o.Fetcher = &onlyHost{host: w.url, next: testFetcher(), rootCRL: w.pki.DefaultCollateral().RootCACRL}
	quote := w.pki.Quote(w.pki.DefaultQuote(reportData))
	m, err := bundle.Fetch(context.Background(), [][]byte{quote}, filepath.Join(t.TempDir(), "b"), o)
	require.NoError(t, err)
	for _, it := range m.Items {
		if it.Kind == "tdx.root_ca_crl" {
			assert.Equal(t, tdx.IntelRootCRLURL, it.Source.URL)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, strings.Join(queries, " "), "tcbEvaluationDataNumber=17")
	assert.NotContains(t, strings.Join(queries, " "), "update=")
}

// onlyHost fetches URLs under host, answers Intel's root CA CRL URL from
// memory, and fails every other.
type onlyHost struct {
	host    string
	next    collateral.Fetcher
	rootCRL []byte
}

func (o *onlyHost) Fetch(ctx context.Context, u string) (*collateral.Response, error) {
	if u == tdx.IntelRootCRLURL && o.rootCRL != nil {
		return &collateral.Response{StatusCode: http.StatusOK, Body: o.rootCRL}, nil
	}
	if !strings.HasPrefix(u, o.host) {
		return nil, verify.Errorf(verify.ErrCollateral, "network disabled for %s", u)
	}
	return o.next.Fetch(ctx, u)
}

func TestImportDCAPQVLThenVerify(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_collateral.json"))
	require.NoError(t, err)
	quote, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_tdx_quote.dat"))
	require.NoError(t, err)
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "bundle")
	m, err := bundle.ImportDCAPQVL(src, dir, bundle.ImportOptions{Now: at, Clock: func() time.Time { return at }})
	require.NoError(t, err)
	require.Len(t, m.Items, 7)
	for _, it := range m.Items {
		assert.Equal(t, "dcap-qvl", it.Source.Imported)
	}
	_, err = os.Stat(filepath.Join(dir, "tdx", "tcb_info", "B0C06F000000.json"))
	require.NoError(t, err)

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS(), Online: &setup.Online{Fetcher: offline{}}})
	require.NoError(t, err)
	q, err := tdx.ParseQuote(quote)
	require.NoError(t, err)
	claims, err := reg.Verify(context.Background(), verify.FormatTDX, quote, verify.Expectations{ReportData: q.Body.ReportData[:], Now: at})
	require.NoError(t, err)
	assert.Equal(t, tdx.StatusUpToDate, claims.(*tdx.Claims).TCB.Status)

	rep, err := bundle.Inspect(context.Background(), root.FS(), [][]byte{quote}, bundle.InspectOptions{Now: at})
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%+v", rep)
	require.NotNil(t, rep.Earliest)
	assert.Equal(t, "2025-07-19", rep.Earliest.Validity.NotAfter.Format(time.DateOnly))

	// Without a time, the set is checked at the start of its own window.
	_, err = bundle.ImportDCAPQVL(src, filepath.Join(t.TempDir(), "b2"), bundle.ImportOptions{})
	require.NoError(t, err)
	// At a time after its expiry, it does not import.
	_, err = bundle.ImportDCAPQVL(src, filepath.Join(t.TempDir(), "b3"), bundle.ImportOptions{Now: at.AddDate(1, 0, 0)})
	require.ErrorIs(t, err, verify.ErrCollateral)
}

func TestImportDCAPQVLTamperedWritesNothing(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_collateral.json"))
	require.NoError(t, err)
	var d map[string]any
	require.NoError(t, json.Unmarshal(src, &d))
	d["tcb_info"] = strings.Replace(d["tcb_info"].(string), `"tcbEvaluationDataNumber":17`, `"tcbEvaluationDataNumber":18`, 1)
	bad, err := json.Marshal(d)
	require.NoError(t, err)
	require.NotEqual(t, src, bad)
	dir := filepath.Join(t.TempDir(), "bundle")
	_, err = bundle.ImportDCAPQVL(bad, dir, bundle.ImportOptions{Now: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, verify.ErrSignature)
	_, statErr := os.Stat(dir)
	assert.True(t, errors.Is(statErr, os.ErrNotExist))
}

func TestParseDCAPQVLForms(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_collateral.json"))
	require.NoError(t, err)
	hexForm, err := bundle.ParseDCAPQVL(src)
	require.NoError(t, err)
	// dcap-qvl's JavaScript port writes byte fields as integer arrays.
	var d map[string]any
	require.NoError(t, json.Unmarshal(src, &d))
	ints := make([]int, len(hexForm.PCKCRL))
	for i, b := range hexForm.PCKCRL {
		ints[i] = int(b)
	}
	d["pck_crl"] = ints
	arr, err := json.Marshal(d)
	require.NoError(t, err)
	arrForm, err := bundle.ParseDCAPQVL(arr)
	require.NoError(t, err)
	assert.Equal(t, hexForm.PCKCRL, arrForm.PCKCRL)

	for name, edit := range map[string]func(map[string]any){
		"missing tcb_info":  func(m map[string]any) { delete(m, "tcb_info") },
		"short signature":   func(m map[string]any) { m["tcb_info_signature"] = "00" },
		"byte out of range": func(m map[string]any) { m["pck_crl"] = []int{1, 256} },
		"not hex":           func(m map[string]any) { m["root_ca_crl"] = "zz" },
		"unknown field":     func(m map[string]any) { m["extra"] = 1 },
		"tcb_info not JSON": func(m map[string]any) { m["tcb_info"] = "{" },
	} {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(src, &m))
			edit(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			_, err = bundle.ParseDCAPQVL(b)
			require.ErrorIs(t, err, verify.ErrMalformed)
		})
	}
	// json.Decoder.More misses a stray ']' or '}' after the object.
	for _, trailing := range []string{"]", " }"} {
		_, err = bundle.ParseDCAPQVL(append(bytes.TrimSpace(src), trailing...))
		require.ErrorIs(t, err, verify.ErrMalformed, "trailing %q", trailing)
	}
}

func TestParseManifestRejects(t *testing.T) {
	good := `{"format":"attest-collateral-bundle/1","created":"2025-01-01T00:00:00Z","items":[{"path":"tdx/qe_identity.json","kind":"tdx.qe_identity","sha256":"` + strings.Repeat("a", 64) + `","size":1,"source":{"fetched":"2025-01-01T00:00:00Z"},"validity":{}}]}`
	_, err := bundle.ParseManifest([]byte(good))
	require.NoError(t, err)
	for name, b := range map[string]string{
		"format":     strings.Replace(good, "bundle/1", "bundle/9", 1),
		"dotdot":     strings.Replace(good, "tdx/qe_identity.json", "../etc/passwd", 1),
		"absolute":   strings.Replace(good, "tdx/qe_identity.json", "/etc/passwd", 1),
		"kind":       strings.Replace(good, "tdx.qe_identity", "evil", 1),
		"sha256":     strings.Replace(good, strings.Repeat("a", 64), "abc", 1),
		"upper hash": strings.Replace(good, strings.Repeat("a", 64), strings.Repeat("A", 64), 1),
		"trailing":   good + "{}",
		"trailing ]": good + "]",
		"unknown":    strings.Replace(good, `"format"`, `"x":1,"format"`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := bundle.ParseManifest([]byte(b))
			require.ErrorIs(t, err, verify.ErrMalformed)
		})
	}
	_, err = bundle.ParseManifest(make([]byte, bundle.MaxManifestBytes+1))
	require.ErrorIs(t, err, verify.ErrLimit)
}

func TestInspectDetectsChangedItem(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_collateral.json"))
	require.NoError(t, err)
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "bundle")
	_, err = bundle.ImportDCAPQVL(src, dir, bundle.ImportOptions{Now: at})
	require.NoError(t, err)
	p := filepath.Join(dir, "tdx", "qe_identity.json")
	require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
	rep, err := bundle.Inspect(context.Background(), os.DirFS(dir), nil, bundle.InspectOptions{Now: at})
	require.NoError(t, err)
	assert.False(t, rep.OK())
	var problems []string
	for _, it := range rep.Items {
		if it.Problem != "" {
			problems = append(problems, it.Path+": "+it.Problem)
		}
	}
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "tdx/qe_identity.json: changed")
}

func TestImportTrusteeKDS(t *testing.T) {
	// go-sev-guest's real Milan VCEK, in Trustee's store layout.
	vcek := readSEVGuestVCEK(t)
	src := t.TempDir()
	p := filepath.Join(src, "vcek", "0a1b2c", "bl03_tee00_snp08_ucode115_vcek.der")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, vcek, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "README"), []byte("ignored"), 0o644))
	dir := filepath.Join(t.TempDir(), "bundle")
	m, err := bundle.ImportTrusteeKDS(os.DirFS(src), dir, bundle.ImportOptions{})
	require.NoError(t, err)
	require.Len(t, m.Items, 1)
	assert.Equal(t, "snp/vcek/0a1b2c/bl03_tee00_snp08_ucode115_vcek.der", m.Items[0].Path)
	assert.False(t, m.Items[0].Validity.NotAfter.IsZero())

	// A file that is not a certificate fails the import; nothing is written.
	require.NoError(t, os.WriteFile(p, []byte("junk"), 0o644))
	dir2 := filepath.Join(t.TempDir(), "bundle")
	_, err = bundle.ImportTrusteeKDS(os.DirFS(src), dir2, bundle.ImportOptions{})
	require.ErrorIs(t, err, verify.ErrCollateral)
	_, statErr := os.Stat(dir2)
	assert.True(t, errors.Is(statErr, os.ErrNotExist))
}

func readSEVGuestVCEK(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "snp", "gsg-vcek.der"))
	if err != nil {
		t.Skipf("no real VCEK in testdata: %v", err)
	}
	return b
}

// A PCK CRL issued by another PCK CA than the quote's is refused at fetch,
// naming both CAs, and nothing is written (it would be filed under the
// other CA's name and fail only at verification).
func TestFetchPCKCRLOfAnotherCA(t *testing.T) {
	w := newIntel(t)
	c := w.pki.DefaultCollateral()
	proc := w.pki.IssueCA("Intel SGX PCK Processor CA")
	c.PCKCRL, c.PCKCRLIssuerChain = w.pki.CRL(proc), tdxtest.PEM(proc.Cert, w.pki.Root.Cert)
	w.pcs.Set(c)
	_, err := tdx.VerifyCollateral(c, tdxtest.VerifyTime(), w.pki.Root.Cert)
	require.NoError(t, err, "the set verifies on its own")
	quote := w.pki.Quote(w.pki.DefaultQuote(reportData))
	dir := filepath.Join(t.TempDir(), "bundle")
	_, err = bundle.Fetch(context.Background(), [][]byte{quote}, dir, w.options())
	require.ErrorIs(t, err, verify.ErrCollateral)
	assert.Contains(t, err.Error(), "expected the platform CA")
	assert.Contains(t, err.Error(), "got the processor CA")
	_, statErr := os.Stat(dir)
	assert.True(t, errors.Is(statErr, os.ErrNotExist))
}

// dcap-qvl collateral that names its PCK chain imports only when the set is
// that chain's: the real TDX quote's chain matches the real set; a chain
// under the Processor CA, or for another FMSPC, is refused naming both
// values, and nothing is written.
func TestImportDCAPQVLChecksPCKChain(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_collateral.json"))
	require.NoError(t, err)
	quote, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_tdx_quote.dat"))
	require.NoError(t, err)
	q, err := tdx.ParseQuote(quote)
	require.NoError(t, err)
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	withChain := func(chain []byte) []byte {
		var d map[string]any
		require.NoError(t, json.Unmarshal(src, &d))
		d["pck_certificate_chain"] = string(chain)
		b, err := json.Marshal(d)
		require.NoError(t, err)
		return b
	}
	_, err = bundle.ImportDCAPQVL(withChain(q.PCKChainPEM), filepath.Join(t.TempDir(), "b"), bundle.ImportOptions{Now: at})
	require.NoError(t, err)

	pki := tdxtest.NewPKI()
	plat := pki.Platform
	copy(plat.FMSPC[:], []byte{0xb0, 0xc0, 0x6f, 0, 0, 0})
	proc := pki.IssueCA("Intel SGX PCK Processor CA")
	otherFMSPC := pki.Platform
	otherFMSPC.FMSPC = [6]byte{0x00, 0xa0, 0x67, 0x11, 0, 0}
	for name, tc := range map[string]struct {
		chain     []byte
		want, got string
	}{
		"processor CA": {tdxtest.PEM(pki.IssuePCKBy(proc, plat).Cert, proc.Cert), "expected the processor CA", "got the platform CA"},
		"other FMSPC":  {tdxtest.PEM(pki.IssuePCK(otherFMSPC).Cert, pki.PCKCA.Cert), "expected 00A067110000", "got B0C06F000000"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			_, err := bundle.ImportDCAPQVL(withChain(tc.chain), dir, bundle.ImportOptions{Now: at})
			require.ErrorIs(t, err, verify.ErrCollateral)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), tc.got)
			_, statErr := os.Stat(dir)
			assert.True(t, errors.Is(statErr, os.ErrNotExist))
		})
	}
	_, err = bundle.ImportDCAPQVL(withChain([]byte("not PEM")), filepath.Join(t.TempDir(), "b2"), bundle.ImportOptions{Now: at})
	require.ErrorIs(t, err, verify.ErrMalformed)
}
