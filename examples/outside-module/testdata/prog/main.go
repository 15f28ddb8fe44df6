// Command prog is built by TestOutsideModule as a module of its own that
// requires attest: it uses only exported API. It configures online collateral
// the way a bank's verifier would (its own collateral.Fetcher around a
// collateral.HTTPFetcher with a private TLS root and an API key header, one
// collateral.Store on disk shared by every source and verifier) and verifies
// TDX, SEV-SNP and GPU evidence from the test attesters against their
// httptest vendor services, reached through one TLS front that demands the
// key. It prints one "ok" line per check and exits non-zero on the first
// failure.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

const apiKey = "s3cret-key"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

// countingFetcher is this module's own collateral.Fetcher: it counts the
// requests and hands them to an inner fetcher.
type countingFetcher struct {
	inner collateral.Fetcher
	n     atomic.Int64
}

func (c *countingFetcher) Fetch(ctx context.Context, u string) (*collateral.Response, error) {
	c.n.Add(1)
	return c.inner.Fetch(ctx, u)
}

// vendors are the test attesters' services behind one TLS front.
type vendors struct {
	front    *httptest.Server
	hits     atomic.Int64 // requests the front passed on
	refused  atomic.Int64 // requests without the key
	closers  []func()
	tdxPKI   *tdxtest.PKI
	snpPKI   *snptest.PKI
	snpNow   time.Time
	gpuDev   *gputest.PKI
	rimPKI   *rimtest.PKI
	gpuNow   time.Time
	gpuNonce [32]byte
}

func (v *vendors) close() {
	for _, c := range v.closers {
		c()
	}
}

func startVendors() (*vendors, error) {
	v := &vendors{gpuNow: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), gpuNonce: [32]byte{1, 2, 3, 4}}

	v.tdxPKI = tdxtest.NewPKI()
	pcs := tdxtest.NewPCS(v.tdxPKI.DefaultCollateral())
	v.closers = append(v.closers, pcs.Close)

	var err error
	if v.snpPKI, err = snptest.NewPKI(snp.Genoa); err != nil {
		return nil, err
	}
	v.snpNow = snptest.Epoch().AddDate(1, 0, 0)
	crl, err := v.snpPKI.CRL(v.snpNow.Add(-time.Hour), v.snpNow.AddDate(0, 0, 7))
	if err != nil {
		return nil, err
	}
	kds := snptest.NewKDS(v.snpPKI)
	kds.SetCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	v.closers = append(v.closers, kds.Close)

	// A GPU whose driver and VBIOS RIMs list its measurements.
	v.gpuDev = gputest.NewPKI(gputest.PKIOptions{})
	blocks := gpuBlocks()
	if v.rimPKI, err = rimtest.NewPKI(rimtest.PKIOptions{}); err != nil {
		return nil, err
	}
	drvIdx := []int{7}
	for i := 21; i <= 40; i++ {
		drvIdx = append(drvIdx, i)
	}
	drv, err := v.rimPKI.Build(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(blocks, 64, drvIdx...)})
	if err != nil {
		return nil, err
	}
	vb, err := v.rimPKI.Build(rimtest.Manifest{Version: "96.00.9F.00.01", Measurements: rimtest.Golden(blocks, 64, 0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12)})
	if err != nil {
		return nil, err
	}
	svc := rimtest.NewService(map[string][]byte{
		"NV_GPU_DRIVER_GH100_550.90.07":         drv,
		"NV_GPU_VBIOS_1010_0200_882_96009F0001": vb,
	})
	v.closers = append(v.closers, svc.Close)
	cas := append(append([]*x509.Certificate{}, v.gpuDev.Certs[1:]...), v.rimPKI.L3, v.rimPKI.CA, v.rimPKI.Root)
	keys := append(append([]*ecdsa.PrivateKey{}, v.gpuDev.Keys[1:]...), v.rimPKI.L3Key, v.rimPKI.CAKey, v.rimPKI.RootKey)
	resp := gputest.NewResponder(cas, keys)
	resp.Now = v.gpuNow
	v.closers = append(v.closers, resp.Close)

	// The front: TLS with its own certificate, the API key required, and
	// one path prefix per vendor service.
	routes := map[string]string{"/pcs": pcs.URL, "/kds": kds.URL(), "/rim": svc.URL, "/ocsp": resp.Server.URL}
	proxies := map[string]*httputil.ReverseProxy{}
	for prefix, target := range routes {
		u, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		proxies[prefix] = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, prefix)
			r.Out.URL.RawPath = strings.TrimPrefix(r.In.URL.RawPath, prefix)
		}}
	}
	v.front = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != apiKey || r.Header.Get("User-Agent") != "outside-kbs/1" {
			v.refused.Add(1)
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		for prefix, p := range proxies {
			if strings.HasPrefix(r.URL.Path, prefix+"/") {
				v.hits.Add(1)
				p.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	}))
	v.front.Config.ErrorLog = log.New(discard{}, "", 0)
	v.front.StartTLS()
	v.closers = append(v.closers, v.front.Close)
	return v, nil
}

// gpuBlocks are the GPU's measurement blocks by SPDM index.
func gpuBlocks() map[int][]byte {
	blocks := map[int][]byte{}
	for i := 1; i <= 64; i++ {
		b := make([]byte, 48)
		b[0], b[47] = byte(i), 0x5a
		blocks[i] = b
	}
	return blocks
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// verifiers are one set of TDX, SNP and GPU verifiers over f and s.
type verifiers struct {
	tdx, snp, gpu verify.Verifier
}

func (v *vendors) verifiers(f collateral.Fetcher, s collateral.Store) (*verifiers, error) {
	base := v.front.URL
	pcs, err := tdx.NewHTTPSource(base+"/pcs", f, s, tdx.WithPCCS())
	if err != nil {
		return nil, err
	}
	tv, err := tdx.NewVerifier(tdx.WithTrustedRoots(v.tdxPKI.Root.Cert), tdx.WithCollateral(pcs))
	if err != nil {
		return nil, err
	}
	kds, err := snp.NewHTTPSource(base+"/kds", f, s)
	if err != nil {
		return nil, err
	}
	sv, err := snp.NewVerifier(snp.WithTrustedRoots(v.snpPKI.Roots()), snp.WithKDS(kds))
	if err != nil {
		return nil, err
	}
	rims, err := rim.NewHTTPSource(base+"/rim", f, s)
	if err != nil {
		return nil, err
	}
	// Stored answers are kept while they verify by the source's clock: the
	// test responder's answers are valid around gpuNow.
	answers, err := ocsp.NewHTTPSource(base+"/ocsp", f, s, ocsp.WithClock(func() time.Time { return v.gpuNow }))
	if err != nil {
		return nil, err
	}
	rv, err := rim.NewVerifier(rim.WithRoots(v.rimPKI.Root))
	if err != nil {
		return nil, err
	}
	prov, err := gpu.NewRIMProvider(rv, rims, 0)
	if err != nil {
		return nil, err
	}
	chk, err := ocsp.NewChecker(answers)
	if err != nil {
		return nil, err
	}
	gv, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(v.gpuDev.Root()), gpu.WithRIMs(prov), gpu.WithOCSP(chk))
	if err != nil {
		return nil, err
	}
	return &verifiers{tdx: tv, snp: sv, gpu: gv}, nil
}

// verifyAll verifies one piece of evidence of each kind and checks a claim
// of each that only collateral could give.
func (v *vendors) verifyAll(ctx context.Context, vs *verifiers) error {
	nonce := make([]byte, 64)
	copy(nonce, "outside module")
	quote := v.tdxPKI.Quote(v.tdxPKI.DefaultQuote(nonce))
	c, err := vs.tdx.Verify(ctx, quote, verify.Expectations{ReportData: nonce, Now: tdxtest.VerifyTime()})
	if err != nil {
		return fmt.Errorf("tdx: %w", err)
	}
	if got := c.Map()["tcb_status"]; got != "UpToDate" {
		return fmt.Errorf("tdx: tcb_status %v, want UpToDate", got)
	}

	report, err := v.snpPKI.Sign(snptest.Report{ReportData: [64]byte{'h', 'i'}, Policy: snp.PolicyReservedMustBe1})
	if err != nil {
		return err
	}
	c, err = vs.snp.Verify(ctx, report, verify.Expectations{ReportData: []byte("hi"), Now: v.snpNow})
	if err != nil {
		return fmt.Errorf("snp: %w", err)
	}
	if got := c.Map()["revocation_checked"]; got != true {
		return fmt.Errorf("snp: revocation_checked %v, want true", got)
	}

	ev := v.gpuDev.Evidence(v.gpuDev.Sign(gputest.Report{Nonce: v.gpuNonce, Measurements: gpuBlocks()}), v.gpuNonce)
	c, err = vs.gpu.Verify(ctx, ev, verify.Expectations{ReportData: v.gpuNonce[:], Now: v.gpuNow})
	if err != nil {
		return fmt.Errorf("gpu: %w", err)
	}
	m := c.Map()
	if m["measres"] != "success" {
		return fmt.Errorf("gpu: measres %v, want success", m["measres"])
	}
	for _, k := range []string{"x-nvidia-gpu-attestation-report-cert-chain", "x-nvidia-gpu-driver-rim-cert-chain"} {
		ch, _ := m[k].(map[string]any)
		if ch["x-nvidia-cert-ocsp-status"] != "good" {
			return fmt.Errorf("gpu: %s: OCSP status %v, want good", k, ch["x-nvidia-cert-ocsp-status"])
		}
	}
	return nil
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v, err := startVendors()
	if err != nil {
		return err
	}
	defer v.close()

	pool := x509.NewCertPool()
	pool.AddCert(v.front.Certificate())
	httpf := &collateral.HTTPFetcher{
		TLSConfig:  &tls.Config{RootCAs: pool},
		Header:     http.Header{"X-Api-Key": {apiKey}},
		UserAgent:  "outside-kbs/1",
		Timeout:    30 * time.Second,
		MaxRetries: 1,
	}
	defer httpf.CloseIdleConnections()
	f := &countingFetcher{inner: httpf}
	dir, err := os.MkdirTemp("", "attest-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := collateral.NewDirStore(dir, 0, 0)
	if err != nil {
		return err
	}
	defer store.Close()

	// First verifier set: everything comes through the front.
	first, err := v.verifiers(f, store)
	if err != nil {
		return err
	}
	if err := v.verifyAll(ctx, first); err != nil {
		return fmt.Errorf("first verifiers: %w", err)
	}
	fetched := f.n.Load()
	if fetched == 0 || v.hits.Load() != fetched || v.refused.Load() != 0 {
		return fmt.Errorf("first verifiers: %d fetches, %d passed by the front, %d refused", fetched, v.hits.Load(), v.refused.Load())
	}
	fmt.Printf("ok online: TDX, SNP and GPU verified with %d fetches through the TLS front\n", fetched)

	// Second verifier set, new sources over the same store: nothing is
	// fetched again.
	second, err := v.verifiers(f, store)
	if err != nil {
		return err
	}
	if err := v.verifyAll(ctx, second); err != nil {
		return fmt.Errorf("second verifiers: %w", err)
	}
	if n := f.n.Load(); n != fetched {
		return fmt.Errorf("second verifiers: %d more fetches, want 0 (shared store)", n-fetched)
	}
	fmt.Println("ok shared store: the second verifiers fetched nothing")

	// Without the key the front refuses, and the fetch fails as collateral.
	bare := &collateral.HTTPFetcher{TLSConfig: &tls.Config{RootCAs: pool}, UserAgent: "outside-kbs/1", MaxRetries: -1}
	defer bare.CloseIdleConnections()
	noKey, err := v.verifiers(bare, collateral.NewMemoryStore(0, 0))
	if err != nil {
		return err
	}
	err = v.verifyAll(ctx, noKey)
	if !errors.Is(err, verify.ErrCollateral) || v.refused.Load() == 0 {
		return fmt.Errorf("without the API key: %v (refused %d), want ErrCollateral", err, v.refused.Load())
	}
	fmt.Println("ok header: without the API key the front refuses")

	// A contradictory fetcher is refused when the source is built.
	if _, err := tdx.NewHTTPSource("", &collateral.HTTPFetcher{Client: &http.Client{}, TLSConfig: &tls.Config{}}, nil); !errors.Is(err, verify.ErrConfig) {
		return fmt.Errorf("contradictory fetcher: %v, want ErrConfig", err)
	}
	fmt.Println("ok config: a contradictory fetcher is refused")
	return nil
}
