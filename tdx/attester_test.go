package tdx_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

var nonce = bytes.Repeat([]byte{0x42}, 64)

type fixture struct {
	pki *tdxtest.PKI
	src *tdx.MemorySource
}

func newFixture(t testing.TB) *fixture {
	p := tdxtest.NewPKI()
	f := &fixture{pki: p, src: tdx.NewMemorySource()}
	f.setCollateral(p.DefaultCollateral())
	return f
}

func (f *fixture) setCollateral(c *tdx.Collateral) {
	f.src.Add(f.pki.Platform.FMSPC, "platform", c)
}

func (f *fixture) verifier(t testing.TB, opts ...tdx.Option) *tdx.Verifier {
	t.Helper()
	v, err := tdx.NewVerifier(append([]tdx.Option{tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(f.src)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func exp() verify.Expectations {
	return verify.Expectations{ReportData: nonce, Now: tdxtest.VerifyTime()}
}

func verifyQuote(t testing.TB, v *tdx.Verifier, quote []byte, e verify.Expectations) (*tdx.Claims, error) {
	t.Helper()
	c, err := v.VerifyQuote(context.Background(), quote, e)
	if err != nil && c != nil {
		t.Fatalf("claims returned with error %v", err)
	}
	// The interface method must agree.
	ci, err2 := v.Verify(context.Background(), quote, e)
	if (err == nil) != (err2 == nil) || (err2 != nil && ci != nil) {
		t.Fatalf("Verify and VerifyQuote disagree: %v / %v", err, err2)
	}
	return c, err
}

func wantKinds(t *testing.T, err error, kinds ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected error of kinds %v, got nil", kinds)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Fatalf("expected kind %v, got %v", k, err)
		}
	}
}

func TestPositiveUpToDate(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	c, err := verifyQuote(t, v, q, exp())
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB.Status != tdx.StatusUpToDate || c.TCB.ModuleID != "TDX_01" || !c.TCB.CRLsChecked {
		t.Fatalf("%+v", c.TCB)
	}
	m := c.Map()
	if m["td_attributes.septve_disable"] != true || m["td_attributes.debug"] != false || m["tcb_date"] != "2024-03-13T00:00:00Z" {
		t.Fatalf("claims %v", m)
	}
	if m["earliest_expiration_date"] != "2025-07-01T00:00:00Z" {
		t.Fatalf("expiry %v", m["earliest_expiration_date"])
	}
}

func TestPositiveV5Bodies(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	for _, bt := range []uint16{2, 3} {
		s := f.pki.DefaultQuote(nonce)
		s.Header.Version = 5
		s.BodyType = bt
		s.Body.MRServiceTD = [48]byte{}
		c, err := verifyQuote(t, v, f.pki.Quote(s), exp())
		if err != nil {
			t.Fatalf("body type %d: %v", bt, err)
		}
		if c.Quote.BodyType != bt || c.TCB.Status != tdx.StatusUpToDate {
			t.Fatalf("body type %d: %+v", bt, c.TCB)
		}
	}
}

// COL-07: every Intel status of the matched level, as a claim; Revoked as an
// error; an unknown status as a collateral error.
func TestCOL07TCBStatusMatrix(t *testing.T) {
	f := newFixture(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	for _, st := range []string{"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
		"OutOfDate", "OutOfDateConfigurationNeeded", "TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded", "Revoked", "Bogus"} {
		t.Run(st, func(t *testing.T) {
			ti := f.pki.DefaultTCBInfo(st)
			ti.TCBLevels[0].AdvisoryIDs = []string{"INTEL-SA-00001", "INTEL-SA-00002"}
			f.setCollateral(f.pki.Collateral(f.pki.SignTCBInfo(ti), f.pki.SignQEIdentity(tdxtest.DefaultQEIdentity())))
			c, err := verifyQuote(t, f.verifier(t), q, exp())
			switch st {
			case "Revoked":
				wantKinds(t, err, verify.ErrRevoked)
			case "Bogus":
				wantKinds(t, err, verify.ErrCollateral)
			default:
				if err != nil {
					t.Fatal(err)
				}
				if string(c.TCB.Status) != st || c.Map()["tcb_status"] != st {
					t.Fatalf("status %s, want %s", c.TCB.Status, st)
				}
				if fmt.Sprint(c.TCB.AdvisoryIDs) != "[INTEL-SA-00001 INTEL-SA-00002]" {
					t.Fatalf("advisories %v", c.TCB.AdvisoryIDs)
				}
			}
		})
	}
}

func TestStatusConvergence(t *testing.T) {
	f := newFixture(t)
	// Module SVN 3 matches only the OutOfDate module level.
	s := f.pki.DefaultQuote(nonce)
	s.Body.TEETCBSVN[0] = 3
	c, err := verifyQuote(t, f.verifier(t), f.pki.Quote(s), exp())
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB.Status != tdx.StatusOutOfDate || c.TCB.ModuleStatus != tdx.StatusOutOfDate || c.TCB.PlatformStatus != tdx.StatusUpToDate {
		t.Fatalf("%+v", c.TCB)
	}
	// QE ISVSVN 1 matches the OutOfDate QE level.
	s = f.pki.DefaultQuote(nonce)
	s.QE.ISVSVN = 1
	c, err = verifyQuote(t, f.verifier(t), f.pki.Quote(s), exp())
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB.Status != tdx.StatusOutOfDate || c.TCB.QEStatus != tdx.StatusOutOfDate || c.TCB.Date.Year() != 2021 {
		t.Fatalf("%+v", c.TCB)
	}
	// A lower platform (PCESVN 5) matches the second, OutOfDate level.
	plat := f.pki.Platform
	plat.PCESVN = 5
	pck := f.pki.IssuePCK(plat)
	s = f.pki.DefaultQuote(nonce)
	s.PCK = &pck
	c, err = verifyQuote(t, f.verifier(t), f.pki.Quote(s), exp())
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB.PlatformStatus != tdx.StatusOutOfDate || c.TCB.Date.Year() != 2018 {
		t.Fatalf("%+v", c.TCB)
	}
}

func TestCOL14HTTPSourceAgainstPCS(t *testing.T) {
	f := newFixture(t)
	pcs := tdxtest.NewPCS(f.pki.DefaultCollateral())
	defer pcs.Close()
	src, err := tdx.NewHTTPSource(pcs.URL, &collateral.HTTPFetcher{Client: pcs.Client(), MaxRetries: 1, MinBackoff: time.Millisecond}, nil,
		tdx.WithPCCS(), tdx.WithUpdate("early"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(src))
	if err != nil {
		t.Fatal(err)
	}
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	// COL-14: 100 parallel verifications sharing the verifier and the cache.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := v.VerifyQuote(context.Background(), q, exp())
			if err == nil && c.TCB.Status != tdx.StatusUpToDate {
				err = fmt.Errorf("status %s", c.TCB.Status)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := pcs.Requests("/tdx/certification/v4/tcb"); n != 1 {
		t.Fatalf("TCB info fetched %d times, want 1 (cache + coalescing)", n)
	}
	// COL-10: the PCS fails and the cache has nothing fresh: ErrCollateral.
	pcs.Fail(true)
	e := exp()
	e.Now = tdxtest.NextUpdate().Add(time.Hour)
	_, err = v.VerifyQuote(context.Background(), q, e)
	wantKinds(t, err, verify.ErrCollateral)
}

func TestFSSourceBundle(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	if err := tdx.WriteBundle(dir, f.pki.Platform.FMSPC, "platform", f.pki.DefaultCollateral()); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	src, err := tdx.NewFSSource(root.FS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyQuote(t, v, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir + "/root_ca_crl.der"); err != nil {
		t.Fatal(err)
	}
	_, err = verifyQuote(t, v, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	wantKinds(t, err, verify.ErrCollateral)
	// An item over the 1 MiB cap is refused, not read whole.
	if err := os.WriteFile(dir+"/qe_identity.json", bytes.Repeat([]byte(" "), 1<<20+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = verifyQuote(t, v, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	wantKinds(t, err, verify.ErrLimit)
	if !bytes.Contains([]byte(err.Error()), []byte("qe_identity.json")) {
		t.Fatalf("the source, not the parser, should refuse the file: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := tdx.NewVerifier(); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("no source: %v", err)
	}
	if _, err := tdx.NewVerifier(tdx.WithCollateral(nil)); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("nil source: %v", err)
	}
	if _, err := tdx.NewHTTPSource("", nil, nil, tdx.WithUpdate("later")); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("update: %v", err)
	}
	if _, err := tdx.NewHTTPSource("", nil, nil, tdx.WithPCCS(), tdx.WithRootCRLURL("https://crl.example/root.der")); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("PCCS and a root CRL URL: %v", err)
	}
	if _, err := tdx.NewHTTPSource("", &collateral.HTTPFetcher{Client: &http.Client{}, TLSConfig: &tls.Config{}}, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("contradictory fetcher: %v", err)
	}
	if _, err := tdx.NewHTTPSource("", nil, nil, tdx.WithMaxStale(-time.Second)); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("negative stale bound: %v", err)
	}
	if _, err := tdx.NewFSSource(nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("nil fs: %v", err)
	}
}

func TestDetect(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	for _, c := range []struct {
		ev   []byte
		want bool
	}{
		{q, true},
		{[]byte(`{"quote":"` + b64(q) + `","cc_eventlog":null}`), true},
		{[]byte(`{"quote":"` + b64(q) + `"}`), true},
		{[]byte(`{"report":"AAAA"}`), false},
		{q[:47], false},
		{nil, false},
		{[]byte("{"), false},
	} {
		if got := v.Detect(c.ev); got != c.want {
			t.Errorf("Detect(%.20q) = %v", c.ev, got)
		}
	}
	reg, err := verify.NewRegistry(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Verify(context.Background(), "", []byte(`{"quote":"`+b64(q)+`","cc_eventlog":null}`), exp()); err != nil {
		t.Fatal(err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
