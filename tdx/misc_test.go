package tdx_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

func TestLoggerOption(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	v := f.verifier(t, tdx.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if _, err := verifyQuote(t, v, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("tcb_status=UpToDate")) {
		t.Fatalf("log: %q", buf.String())
	}
	if _, err := tdx.NewVerifier(tdx.WithLogger(nil)); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
}

// Intel PCS mode: the root CA CRL comes from its own URL, not from the PCCS path.
func TestHTTPSourceIntelPCSMode(t *testing.T) {
	f := newFixture(t)
	pcs := tdxtest.NewPCS(f.pki.DefaultCollateral())
	defer pcs.Close()
	src, err := tdx.NewHTTPSource(pcs.URL, &collateral.HTTPFetcher{Client: pcs.Client(), MaxRetries: 1}, nil,
		tdx.WithRootCRLURL(pcs.URL+"/sgx/certification/v4/rootcacrl"))
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
	// An unknown platform: the PCS answers 404.
	other := tdxtest.NewPKIFor(func() tdxtest.Platform { p := tdxtest.DefaultPlatform(); p.FMSPC[5] = 9; return p }(), f.pki.NotBefore, f.pki.NotAfter)
	v2, _ := tdx.NewVerifier(tdx.WithTrustedRoots(other.Root.Cert), tdx.WithCollateral(src))
	_, err = verifyQuote(t, v2, other.Quote(other.DefaultQuote(nonce)), exp())
	wantKinds(t, err, verify.ErrCollateral, collateral.ErrNotFound)
}

func TestBadJSONEvidence(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	for name, ev := range map[string]string{
		"not base64 quote": `{"quote":"!!!","cc_eventlog":null}`,
		"not base64 log":   `{"quote":"` + b64(q) + `","cc_eventlog":"!!!"}`,
		"empty quote":      `{"quote":""}`,
		"trailing JSON":    `{"quote":"` + b64(q) + `"}{}`,
		"trailing bracket": `{"quote":"` + b64(q) + `"}]`,
		"trailing brace":   `{"quote":"` + b64(q) + `"} }`,
		"truncated JSON":   `{"quote":"`,
		"log not a CCEL":   `{"quote":"` + b64(q) + `","cc_eventlog":"AAAA"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := verifyQuote(t, v, []byte(ev), exp())
			wantKinds(t, err, verify.ErrMalformed)
		})
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := f.verifier(t).Verify(ctx, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	if c != nil || !errors.Is(err, context.Canceled) || !errors.Is(err, verify.ErrCanceled) || !verify.IsOperational(err) {
		t.Fatalf("cancelled: %v", err)
	}
}

// The HTTP source's cache serves stale collateral on fetch errors only
// within its bound; the verifier accepts it only with an explicit grace.
func TestHTTPSourceStaleWithinBound(t *testing.T) {
	f := newFixture(t)
	pcs := tdxtest.NewPCS(f.pki.DefaultCollateral())
	defer pcs.Close()
	src, err := tdx.NewHTTPSource(pcs.URL, &collateral.HTTPFetcher{Client: pcs.Client(), MaxRetries: 1}, nil,
		tdx.WithPCCS(), tdx.WithMaxStale(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	strict, _ := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(src))
	lenient, _ := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(src), tdx.WithExpiredCollateralUnsafe(2*time.Hour))
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	if _, err := verifyQuote(t, strict, q, exp()); err != nil {
		t.Fatal(err)
	}
	pcs.Fail(true)
	e := exp()
	e.Now = tdxtest.NextUpdate().Add(30 * time.Minute)
	_, err = verifyQuote(t, strict, q, e)
	wantKinds(t, err, verify.ErrCollateral, verify.ErrExpired)
	c, err := verifyQuote(t, lenient, q, e)
	if err != nil || !contains(c.Unsafe, tdx.UnsafeExpiredCollateral) {
		t.Fatalf("stale within bound: %v", err)
	}
	e.Now = tdxtest.NextUpdate().Add(90 * time.Minute)
	_, err = verifyQuote(t, lenient, q, e)
	wantKinds(t, err, verify.ErrCollateral)
	if errors.Is(err, verify.ErrExpired) {
		t.Fatalf("beyond the cache bound the fetch error must surface, got %v", err)
	}
}

// A PCK issued by the Processor CA asks for the processor CRL.
func TestProcessorCA(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	proc := p.IssueCA("Intel SGX PCK Processor CA")
	pck := p.IssuePCKBy(proc, p.Platform)
	s := p.DefaultQuote(nonce)
	s.PCK = &pck
	s.PCKChainPEM = tdxtest.PEM(pck.Cert, proc.Cert, p.Root.Cert)
	q := p.Quote(s)
	// Only platform collateral so far: the processor CRL is missing.
	_, err := verifyQuote(t, f.verifier(t), q, exp())
	wantKinds(t, err, verify.ErrCollateral)
	c := p.DefaultCollateral()
	col := &tdx.Collateral{TCBInfo: c.TCBInfo, TCBInfoIssuerChain: c.TCBInfoIssuerChain, QEIdentity: c.QEIdentity,
		QEIdentityIssuerChain: c.QEIdentityIssuerChain, RootCACRL: c.RootCACRL,
		PCKCRL: tdxtest.CRL(proc), PCKCRLIssuerChain: tdxtest.PEM(proc.Cert, p.Root.Cert)}
	f.src.Add(p.Platform.FMSPC, "processor", col)
	cl, err := verifyQuote(t, f.verifier(t), q, exp())
	if err != nil {
		t.Fatal(err)
	}
	if cl.PCKCA != "processor" || cl.Map()["pck.ca"] != "processor" {
		t.Fatalf("ca %s", cl.PCKCA)
	}
	// The platform CA's CRL must not be accepted for a processor PCK.
	col2 := &tdx.Collateral{TCBInfo: c.TCBInfo, TCBInfoIssuerChain: c.TCBInfoIssuerChain, QEIdentity: c.QEIdentity,
		QEIdentityIssuerChain: c.QEIdentityIssuerChain, RootCACRL: c.RootCACRL, PCKCRL: c.PCKCRL, PCKCRLIssuerChain: c.PCKCRLIssuerChain}
	f.src.Add(p.Platform.FMSPC, "processor", col2)
	_, err = verifyQuote(t, f.verifier(t), q, exp())
	wantKinds(t, err, verify.ErrCollateral)
}

// Collateral errors never show a password from the base URL.
func TestHTTPSourceErrorsHidePasswords(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("{}")) // no issuer-chain header, nothing parsable
	}))
	defer srv.Close()
	base := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	src, err := tdx.NewHTTPSource(base, &collateral.HTTPFetcher{MaxRetries: -1}, nil, tdx.WithPCCS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifyQuote(t, v, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	if !errors.Is(err, verify.ErrCollateral) || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "user:xxxxx@") {
		t.Fatalf("error %v", err)
	}
	for _, bad := range []string{"ftp://user:hunter2@host", "http://user:hunter2@host/%zz"} {
		if _, err := tdx.NewHTTPSource(bad, nil, nil); !errors.Is(err, verify.ErrConfig) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// GEN-06: a PCCS that answers every request with a redirect to itself (a
// loop; net/http's default client would follow it ten times per request,
// per retry) costs one request per collateral item, and the verification
// fails with ErrCollateral. The same holds for a redirect to another host,
// which is never asked.
func TestGEN06RedirectLoopOneRequestPerItem(t *testing.T) {
	f := newFixture(t)
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		http.NotFound(w, r)
	}))
	defer other.Close()
	for name, target := range map[string]func(r *http.Request) string{
		"loop":       func(r *http.Request) string { return r.URL.String() },
		"cross-host": func(r *http.Request) string { return other.URL + r.URL.Path },
	} {
		t.Run(name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				http.Redirect(w, r, target(r), http.StatusFound)
			}))
			defer srv.Close()
			// Retries allowed: a redirect must still not be retried.
			src, err := tdx.NewHTTPSource(srv.URL, &collateral.HTTPFetcher{MaxRetries: 3, MinBackoff: time.Millisecond}, nil, tdx.WithPCCS())
			if err != nil {
				t.Fatal(err)
			}
			v, err := tdx.NewVerifier(tdx.WithTrustedRoots(f.pki.Root.Cert), tdx.WithCollateral(src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.VerifyQuote(context.Background(), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
			wantKinds(t, err, verify.ErrCollateral)
			// Four items (TCB info, QE identity, PCK CRL, root CA CRL),
			// fetched in parallel: at most one request each.
			if n := hits.Load(); n < 1 || n > 4 {
				t.Fatalf("%d requests for one verification, want 1 to 4", n)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Fatalf("%d requests to the redirect target", n)
			}
		})
	}
}
