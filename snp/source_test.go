package snp_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

func fastFetcher() *collateral.HTTPFetcher {
	return &collateral.HTTPFetcher{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetries: 3}
}

func TestKDSSourceAllProducts(t *testing.T) {
	f := pkis(t)
	kds := snptest.NewKDS(f.pki[snp.Milan], f.pki[snp.Genoa], f.pki[snp.Turin])
	defer kds.Close()
	for _, p := range snp.Products() {
		for _, k := range []snp.SigningKey{snp.SigningKeyVCEK, snp.SigningKeyVLEK} {
			crl, _ := f.pki[p].CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
			kds.SetCRL(p, k, crl)
		}
	}
	src, err := snp.NewHTTPSource(kds.URL(), fastFetcher(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t, snp.WithKDS(src))
	ctx := context.Background()
	for _, p := range snp.Products() {
		raw, err := f.pki[p].Sign(snptest.Report{ReportData: nonce})
		if err != nil {
			t.Fatal(err)
		}
		before := kds.Requests()
		if _, err := v.Verify(ctx, raw, exp()); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got := kds.Requests() - before; got != 2 {
			t.Errorf("%s: %d KDS requests for the first verification, want 2 (VCEK, CRL)", p, got)
		}
		before = kds.Requests()
		for range 5 {
			if _, err := v.Verify(ctx, raw, exp()); err != nil {
				t.Fatalf("%s warm: %v", p, err)
			}
		}
		if got := kds.Requests() - before; got != 0 {
			t.Errorf("%s: %d KDS requests on the warm path, want 0", p, got)
		}
		// VLEK: the CRL comes from the vlek path; the VLEK from the evidence.
		ext := mint(t, f.pki[p], snptest.Report{SigningKey: snp.SigningKeyVLEK})
		if _, err := v.Verify(ctx, ext, exp()); err != nil {
			t.Fatalf("%s VLEK: %v", p, err)
		}
	}
}

func TestKDSCoalescesAndBacksOff(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	kds := snptest.NewKDS(p)
	defer kds.Close()
	crl, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	kds.SetCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	kds.Throttle(2) // two 429s before anything is served
	src, err := snp.NewHTTPSource(kds.URL(), fastFetcher(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t, snp.WithKDS(src))
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), raw, exp()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 2 throttled + 1 VCEK + 1 CRL: sixteen concurrent callers share the fetches.
	if got := kds.Requests(); got > 4 {
		t.Errorf("%d KDS requests for 16 concurrent verifications, want at most 4", got)
	}
}

func TestKDSNotFoundAndExpiry(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Milan]
	kds := snptest.NewKDS(p)
	defer kds.Close()
	src, err := snp.NewHTTPSource(kds.URL(), fastFetcher(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t, snp.WithKDS(src))
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	// No CRL published: collateral error, not a verdict on the evidence.
	c, err := v.Verify(context.Background(), raw, exp())
	if !errors.Is(err, verify.ErrCollateral) || c != nil || !verify.IsOperational(err) {
		t.Fatalf("missing CRL: %v", err)
	}
	// An expired CRL is fetched but never served as valid.
	old, _ := p.CRL(now.AddDate(0, 0, -9), now.AddDate(0, 0, -2))
	kds.SetCRL(snp.Milan, snp.SigningKeyVCEK, old)
	if _, err := v.Verify(context.Background(), raw, exp()); !errors.Is(err, verify.ErrCollateral) || !verify.IsOperational(err) {
		t.Fatalf("expired CRL: %v", err)
	}
	if _, err := snp.NewHTTPSource("ftp://x", nil, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("bad base URL: %v", err)
	}
}

func TestFSSourceTrusteeLayout(t *testing.T) {
	f := pkis(t)
	dir := t.TempDir()
	for _, prod := range []snp.Product{snp.Milan, snp.Turin} {
		p := f.pki[prod]
		hwid := p.ChipID[:]
		name := "bl03_tee00_snp08_ucode115_vcek.der"
		if prod == snp.Turin {
			hwid = p.ChipID[:8]
			name = "bl03_tee00_snp08_ucode115_fmc01_vcek.der"
		}
		d := filepath.Join(dir, "vcek", hex.EncodeToString(hwid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), p.VCEK.Raw, 0o644); err != nil {
			t.Fatal(err)
		}
		crl, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
		if err := os.MkdirAll(filepath.Join(dir, "crl"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "crl", string(prod)+"_vcek.crl"), crl, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := snp.NewFSSource(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t, snp.WithKDS(st))
	for _, prod := range []snp.Product{snp.Milan, snp.Turin} {
		raw, _ := f.pki[prod].Sign(snptest.Report{ReportData: nonce})
		if _, err := v.Verify(context.Background(), raw, exp()); err != nil {
			t.Fatalf("%s: %v", prod, err)
		}
	}
	// Genoa is not in the store.
	raw, _ := f.pki[snp.Genoa].Sign(snptest.Report{ReportData: nonce})
	if _, err := v.Verify(context.Background(), raw, exp()); !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("missing VCEK: %v", err)
	}
	if _, err := snp.NewFSSource(nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("nil fs: %v", err)
	}
	for _, opt := range []snp.HTTPOption{snp.WithMaxStale(-time.Second), snp.WithCRLRefresh(0)} {
		if _, err := snp.NewHTTPSource("", nil, nil, opt); !errors.Is(err, verify.ErrConfig) {
			t.Fatalf("bad option: %v", err)
		}
	}
}

func TestKDSCertChainForMissingIntermediate(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Milan]
	kds := snptest.NewKDS(p)
	defer kds.Close()
	crl, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	kds.SetCRL(snp.Milan, snp.SigningKeyVLEK, crl)
	src, err := snp.NewHTTPSource(kds.URL(), fastFetcher(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Pinned: the ARK and ASK only. The ASVK comes from KDS's cert_chain
	// and is trusted only because the pinned ARK signed it.
	v, err := snp.NewVerifier(snp.WithTrustedRoots(snp.Roots{Product: snp.Milan, ARK: p.ARK, ASK: p.ASK}), snp.WithKDS(src))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := p.Sign(snptest.Report{SigningKey: snp.SigningKeyVLEK, ReportData: nonce})
	if _, err := v.VerifyReport(context.Background(), raw, p.VLEK.Raw, exp()); err != nil {
		t.Fatal(err)
	}
	// A KDS serving another hierarchy's chain does not help.
	rogue, err := snptest.NewPKI(snp.Milan, snptest.Options{FreshRootKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := snptest.NewKDS(rogue)
	defer bad.Close()
	badSrc, _ := snp.NewHTTPSource(bad.URL(), fastFetcher(), nil)
	v2, _ := snp.NewVerifier(snp.WithTrustedRoots(snp.Roots{Product: snp.Milan, ARK: p.ARK, ASK: p.ASK}), snp.WithKDS(badSrc))
	if _, err := v2.VerifyReport(context.Background(), raw, p.VLEK.Raw, exp()); !errors.Is(err, verify.ErrChain) {
		t.Fatalf("rogue cert_chain: %v", err)
	}
}

func TestKDSStaleCRLWithinBound(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Turin]
	kds := snptest.NewKDS(p)
	defer kds.Close()
	crl, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	kds.SetCRL(snp.Turin, snp.SigningKeyVCEK, crl)
	mk := func(maxStale time.Duration) *snp.Verifier {
		src, err := snp.NewHTTPSource(kds.URL(), fastFetcher(), nil, snp.WithMaxStale(maxStale), snp.WithCRLRefresh(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return f.verifier(t, snp.WithKDS(src))
	}
	withStale, strict := mk(48*time.Hour), mk(0)
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	for _, v := range []*snp.Verifier{withStale, strict} {
		if _, err := v.Verify(context.Background(), raw, exp()); err != nil {
			t.Fatal(err)
		}
	}
	kds.SetCRL(snp.Turin, snp.SigningKeyVCEK, nil) // KDS stops serving it
	later := exp()
	later.Now = now.Add(3 * time.Hour) // past the refresh, inside nextUpdate
	if _, err := withStale.Verify(context.Background(), raw, later); err != nil {
		t.Fatalf("stale CRL within the bound: %v", err)
	}
	if _, err := strict.Verify(context.Background(), raw, later); !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("no stale allowed: %v", err)
	}
	// Past the CRL's own nextUpdate, even a stale-served CRL is rejected.
	later.Now = now.AddDate(0, 0, 7).Add(time.Hour)
	if _, err := withStale.Verify(context.Background(), raw, later); err == nil {
		t.Fatal("CRL past nextUpdate accepted")
	}
}

// chainOnly serves a fixed cert_chain and nothing else.
type chainOnly struct {
	*snp.MemorySource
	chain []byte
}

func (c chainOnly) CertChain(context.Context, snp.Product, snp.SigningKey) ([]byte, error) {
	return c.chain, nil
}

// A cert_chain is read for its one intermediate: two are refused, whatever
// their order, and the answer for a chain is the same the second time.
func TestCertChainIntermediates(t *testing.T) {
	p := pkis(t).pki[snp.Milan]
	raw, _ := p.Sign(snptest.Report{SigningKey: snp.SigningKeyVLEK, ReportData: nonce})
	roots := snp.WithTrustedRoots(snp.Roots{Product: snp.Milan, ARK: p.ARK, ASK: p.ASK})
	for name, tc := range map[string]struct {
		chain [][]byte
		kind  error
	}{
		"ASVK and ARK":  {[][]byte{p.ASVK.Raw, p.ARK.Raw}, nil},
		"two ASVKs":     {[][]byte{p.ASVK.Raw, p.ASVK.Raw, p.ARK.Raw}, verify.ErrCollateral},
		"ASVK then ASK": {[][]byte{p.ASVK.Raw, p.ASK.Raw, p.ARK.Raw}, verify.ErrCollateral},
		"ARK only":      {[][]byte{p.ARK.Raw}, verify.ErrCollateral},
	} {
		src := chainOnly{snp.NewMemorySource(), bytes.Join(tc.chain, nil)}
		v, err := snp.NewVerifier(roots, snp.WithKDS(src), snp.WithoutRevocationUnsafe())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			_, err := v.VerifyReport(context.Background(), raw, p.VLEK.Raw, exp())
			if (tc.kind == nil) != (err == nil) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
				t.Errorf("%s, try %d: %v", name, i, err)
			}
		}
	}
}
