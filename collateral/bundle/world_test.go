package bundle_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// world is a test bed's TDX platform, SEV-SNP chip and GPUs behind httptest
// Intel PCS, AMD KDS, NVIDIA RIM service and OCSP responder. The KDS
// answers its first request 429 with Retry-After; the RIM service its
// first 503.
type world struct {
	bed                  *testbed.Bed
	pcs                  *tdxtest.PCS
	kds                  *snptest.KDS
	rims                 *rimtest.Service
	rimURL, ocspURL      string
	rim503, ocspRequests atomic.Int64
}

func newWorld(t *testing.T, rims map[string][]byte) *world {
	t.Helper()
	bed, err := testbed.New(testbed.Options{Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), GPUs: 2})
	require.NoError(t, err)
	w := &world{bed: bed}
	w.pcs = tdxtest.NewPCS(bed.TDXCollateral)
	t.Cleanup(w.pcs.Close)
	w.kds = snptest.NewKDS(bed.SNP)
	t.Cleanup(w.kds.Close)
	w.kds.SetCRL(bed.SNP.Product, snp.SigningKeyVCEK, bed.SNPCRL)
	w.kds.Throttle(1)
	if rims == nil {
		rims = bed.RIMs
	}
	w.rims = rimtest.NewService(rims)
	t.Cleanup(w.rims.Close)
	var first atomic.Bool
	rimFront := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			w.rim503.Add(1)
			http.Error(rw, "later", http.StatusServiceUnavailable)
			return
		}
		w.rims.Config.Handler.ServeHTTP(rw, r)
	}))
	t.Cleanup(rimFront.Close)
	w.rimURL = rimFront.URL
	ocspSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.ocspRequests.Add(1)
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		req, err := xocsp.ParseRequest(body)
		if err != nil || r.Method != http.MethodPost {
			http.Error(rw, "bad request", http.StatusBadRequest)
			return
		}
		der, ok := bed.OCSP[req.SerialNumber.Text(16)]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = rw.Write(der)
	}))
	t.Cleanup(ocspSrv.Close)
	w.ocspURL = ocspSrv.URL
	return w
}

func (w *world) roots() setup.Roots {
	return setup.Roots{TDX: []*x509.Certificate{w.bed.TDX.Root.Cert}, SNP: []snp.Roots{w.bed.SNP.Roots()},
		GPU: w.bed.GPURoots, RIM: []*x509.Certificate{w.bed.RIM.Root}}
}

func (w *world) options() bundle.FetchOptions {
	r := w.roots()
	return bundle.FetchOptions{
		Fetcher: testFetcher(), IntelURL: w.pcs.URL, PCCS: true, KDSURL: w.kds.URL(), RIMURL: w.rimURL, OCSPURL: w.ocspURL,
		Now: w.bed.Now, Clock: func() time.Time { return w.bed.Now },
		TDXRoots: r.TDX, SNPRoots: r.SNP, GPURoots: r.GPU, RIMRoots: r.RIM, Producer: "attest test",
	}
}

func (w *world) evidence(t *testing.T) (quote, snpReport, gpuEv []byte) {
	t.Helper()
	s, err := testbed.NewSession()
	require.NoError(t, err)
	tdxExp, err := w.bed.Expect(s, verify.FormatTDX)
	require.NoError(t, err)
	quote = w.bed.Quote(tdxExp.ReportData, nil)
	snpExp, err := w.bed.Expect(s, verify.FormatSNP)
	require.NoError(t, err)
	snpReport, err = w.bed.SNPEvidence(snpExp.ReportData, nil)
	require.NoError(t, err)
	gpuExp, err := w.bed.Expect(s, verify.FormatGPU)
	require.NoError(t, err)
	gpuEv, err = w.bed.GPUEvidence(gpuExp.ReportData, nil)
	require.NoError(t, err)
	return quote, snpReport, gpuEv
}

// TestFetchAllVendorsThenVerifyOffline: one fetch for a TD quote, an SEV-SNP
// report and two GPUs' evidence against httptest Intel, AMD and NVIDIA
// services (KDS answering 429 with Retry-After, the RIM service 503 first),
// then every evidence verifies from the bundle with the network disabled,
// and inspect names the earliest expiry.
func TestFetchAllVendorsThenVerifyOffline(t *testing.T) {
	w := newWorld(t, nil)
	quote, snpReport, gpuEv := w.evidence(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	m, err := bundle.Fetch(context.Background(), [][]byte{quote, snpReport, gpuEv}, dir, w.options())
	require.NoError(t, err)
	assert.EqualValues(t, 1, w.rim503.Load(), "the RIM service's 503 was retried")
	assert.GreaterOrEqual(t, w.kds.Requests(), int64(3), "the KDS's 429 was retried: 429, VCEK, CRL")
	kinds := map[string]int{}
	for _, it := range m.Items {
		kinds[it.Kind]++
		assert.NotEmpty(t, it.Source.URL, it.Path)
		assert.False(t, it.Validity.NotAfter.IsZero(), it.Path)
	}
	assert.Equal(t, 1, kinds["snp.vcek"])
	assert.Equal(t, 1, kinds["snp.crl"])
	assert.Equal(t, 2, kinds["gpu.rim"], "one driver and one VBIOS RIM for identical GPUs")
	assert.Positive(t, kinds["gpu.ocsp"])
	assert.Equal(t, 1, kinds["tdx.tcb_info"])

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS(), Online: &setup.Online{Fetcher: offline{}}, Roots: w.roots()})
	require.NoError(t, err)
	for _, ev := range []struct {
		f verify.Format
		b []byte
	}{{verify.FormatTDX, quote}, {verify.FormatSNP, snpReport}, {verify.FormatGPU, gpuEv}} {
		exp := verify.Expectations{Now: w.bed.Now, AllowMissingReportDataUnsafe: true}
		_, err := reg.Verify(context.Background(), ev.f, ev.b, exp)
		require.NoError(t, err, "%s from the bundle, network disabled", ev.f)
	}
	// Without the bundle nothing verifies: the bundle did it.
	bare, err := setup.NewRegistry(setup.Config{Online: &setup.Online{Fetcher: offline{}}, Roots: w.roots()})
	require.NoError(t, err)
	_, err = bare.Verify(context.Background(), verify.FormatGPU, gpuEv, verify.Expectations{Now: w.bed.Now, AllowMissingReportDataUnsafe: true})
	require.Error(t, err)

	r := w.roots()
	rep, err := bundle.Inspect(context.Background(), root.FS(), [][]byte{quote, snpReport, gpuEv},
		bundle.InspectOptions{Now: w.bed.Now, TDXRoots: r.TDX, SNPRoots: r.SNP, GPURoots: r.GPU, RIMRoots: r.RIM})
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%+v", rep)
	require.NotNil(t, rep.Earliest)
	for _, it := range m.Items {
		assert.False(t, it.Validity.NotAfter.Before(rep.Earliest.Validity.NotAfter), it.Path)
	}
	// The OCSP answers (a day) expire first in this world.
	assert.Equal(t, "gpu.ocsp", rep.Earliest.Kind)
	needsGPU := 0
	for _, n := range rep.Needs {
		assert.True(t, n.Present, n.Path)
		if strings.HasPrefix(n.Path, "gpu/") {
			needsGPU++
		}
	}
	assert.Positive(t, needsGPU)

	// An empty bundle: inspect lists what each evidence needs.
	rep, err = bundle.Inspect(context.Background(), os.DirFS(t.TempDir()), [][]byte{snpReport, gpuEv},
		bundle.InspectOptions{Now: w.bed.Now, SNPRoots: r.SNP, GPURoots: r.GPU, RIMRoots: r.RIM})
	require.NoError(t, err)
	assert.False(t, rep.OK())
	var missing []string
	for _, n := range rep.Needs {
		if !n.Present {
			missing = append(missing, n.Path)
		}
	}
	assert.Contains(t, strings.Join(missing, " "), "snp/vcek/")
	assert.Contains(t, strings.Join(missing, " "), "gpu/rims/")
}

// TestFetchBadRIMWritesNothing: a RIM whose signature does not verify fails
// the fetch, and no bundle is written.
func TestFetchBadRIMWritesNothing(t *testing.T) {
	w := newWorld(t, nil)
	bad := map[string][]byte{}
	for id, doc := range w.bed.RIMs {
		// Tamper with a golden value inside the signed content.
		i := strings.Index(string(doc), `Hash0="`)
		require.Positive(t, i)
		b := append([]byte(nil), doc...)
		if b[i+7] == 'a' {
			b[i+7] = 'b'
		} else {
			b[i+7] = 'a'
		}
		bad[id] = b
	}
	for id, doc := range bad {
		w.rims.Add(id, doc)
	}
	_, _, gpuEv := w.evidence(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	_, err := bundle.Fetch(context.Background(), [][]byte{gpuEv}, dir, w.options())
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.ErrorIs(t, err, verify.ErrSignature, "the RIM's signature fails: %v", err)
	_, statErr := os.Stat(dir)
	assert.True(t, errors.Is(statErr, os.ErrNotExist), "no bundle: %v", statErr)
}
