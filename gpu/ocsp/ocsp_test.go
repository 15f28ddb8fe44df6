package ocsp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

const td = "../../testdata/gpu"

var (
	deviceTime = time.Date(2025, 8, 21, 12, 0, 0, 0, time.UTC)
	rimTime    = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)
)

func deviceChain(t *testing.T) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(td + "/v1/hopperCertChain.txt")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := gpu.ParsePEMChain(b)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

var x5c = regexp.MustCompile(`<ds:X509Certificate>([^<]*)</ds:X509Certificate>`)

// rimChain reads the certificates embedded in a RIM (signer first). Only
// for tests: the rim package verifies them.
func rimChain(t *testing.T, file string) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(td + "/v1/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for _, m := range x5c.FindAllSubmatch(b, -1) {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(m[1])), ""))
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func recorded(t *testing.T) *ocsp.FSSource {
	t.Helper()
	s, err := ocsp.NewFSSource(os.DirFS(td + "/ocsp"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// V4: NVIDIA's recorded answers for the V1 device chain and RIM chains.
func TestRecordedNVIDIAResponses(t *testing.T) {
	chk, err := ocsp.NewChecker(recorded(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := chk.CheckChain(ctx, deviceChain(t), 1, ocsp.ScopeDevice, deviceTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Certs) != 3 || res.Status() != ocsp.StatusGood {
		t.Fatalf("device chain: %+v", res)
	}
	for _, f := range []string{"NV_GPU_DRIVER_GH100_550.90.07.xml", "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"} {
		ch := rimChain(t, f)
		res, err := chk.CheckChain(ctx, ch, 0, ocsp.ScopeRIM, rimTime)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(res.Certs) != len(ch)-1 || res.Status() != ocsp.StatusGood {
			t.Fatalf("%s: %+v", f, res)
		}
	}
	// Cached until nextUpdate…
	res, err = chk.CheckChain(ctx, deviceChain(t), 1, ocsp.ScopeDevice, deviceTime.Add(time.Hour))
	if err != nil || !res.Certs[0].Cached {
		t.Fatalf("cache: %+v %v", res, err)
	}
	// …and not after.
	_, err = chk.CheckChain(ctx, deviceChain(t), 1, ocsp.ScopeDevice, deviceTime.Add(72*time.Hour))
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrExpired) || errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("stale: %v", err)
	}
	// Before thisUpdate.
	_, err = chk.CheckChain(ctx, deviceChain(t), 1, ocsp.ScopeDevice, deviceTime.Add(-72*time.Hour))
	if !errors.Is(err, verify.ErrExpired) {
		t.Fatalf("future answer: %v", err)
	}
}

func TestWrongIssuer(t *testing.T) {
	certs := deviceChain(t)
	src := recorded(t)
	der, err := src.Fetch(context.Background(), ocsp.Query{Cert: certs[1], Issuer: certs[2]})
	if err != nil {
		t.Fatal(err)
	}
	// The BROM answer checked against another CA of the chain.
	if _, err := ocsp.VerifyResponse(der, certs[1], certs[3], nil, deviceTime, 0); !errors.Is(err, verify.ErrCollateral) || errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("wrong issuer: %v", err)
	}
	if _, err := ocsp.VerifyResponse(der, certs[1], certs[2], nil, deviceTime, 0); err != nil {
		t.Fatal(err)
	}
	// A nonce was sent but the recorded answer has none.
	if _, err := ocsp.VerifyResponse(der, certs[1], certs[2], []byte("0123456789abcdef0123456789abcdef"), deviceTime, 0); !errors.Is(err, verify.ErrCollateral) || errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("nonce: %v", err)
	}
}

func TestSources(t *testing.T) {
	if _, err := ocsp.NewMemorySource([]byte("not a response")); !errors.Is(err, verify.ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := ocsp.NewFSSource(os.DirFS(td + "/does-not-exist")); !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("missing dir: %v", err)
	}
	empty, _ := ocsp.NewMemorySource()
	certs := deviceChain(t)
	_, err := empty.Fetch(context.Background(), ocsp.Query{Cert: certs[1], Issuer: certs[2]})
	if !errors.Is(err, ocsp.ErrNoResponse) || !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("empty source: %v", err)
	}
	if _, err := ocsp.NewChecker(nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("nil source: %v", err)
	}
}

func TestBuildRequest(t *testing.T) {
	certs := deviceChain(t)
	nonce := make([]byte, 32)
	_, _ = rand.Read(nonce)
	der, err := ocsp.BuildRequest(certs[1], certs[2], nonce)
	if err != nil {
		t.Fatal(err)
	}
	req, err := xocsp.ParseRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	if req.SerialNumber.Cmp(certs[1].SerialNumber) != 0 || req.HashAlgorithm.String() != "SHA-384" {
		t.Fatalf("request: %+v", req)
	}
}

type countingSource struct {
	inner ocsp.Source
	n     int
}

func (c *countingSource) Fetch(ctx context.Context, q ocsp.Query) ([]byte, error) {
	c.n++
	return c.inner.Fetch(ctx, q)
}

func TestCachedSource(t *testing.T) {
	inner := &countingSource{inner: recorded(t)}
	clock := deviceTime
	cs, err := ocsp.NewCachedSource(inner, nil, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		// A fresh checker each time: only the source's cache is shared.
		chk, _ := ocsp.NewChecker(cs)
		if _, err := chk.CheckChain(context.Background(), deviceChain(t), 1, ocsp.ScopeDevice, deviceTime); err != nil {
			t.Fatal(err)
		}
	}
	if inner.n != 3 {
		t.Fatalf("inner source asked %d times, want 3 (one per certificate)", inner.n)
	}
	// Past nextUpdate by the cache's clock: fetched again, and an answer
	// that is already stale is not served.
	clock = deviceTime.Add(48 * time.Hour)
	chk, _ := ocsp.NewChecker(cs)
	_, err = chk.CheckChain(context.Background(), deviceChain(t), 1, ocsp.ScopeDevice, deviceTime)
	if inner.n != 4 || !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("after expiry: %d fetches, %v", inner.n, err)
	}
	if _, err := ocsp.NewCachedSource(nil, nil, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
}

// fixedSource answers every query with the same bytes.
type fixedSource struct {
	der []byte
	n   int
}

func (f *fixedSource) Fetch(context.Context, ocsp.Query) ([]byte, error) { f.n++; return f.der, nil }

// An answer not signed for the certificate's issuer is refused and never
// cached, however far its nextUpdate; so is one that does not parse.
func TestCachedSourceRefusesUnverified(t *testing.T) {
	certs := deviceChain(t)
	rogueKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rogue responder"},
		NotBefore: deviceTime.Add(-time.Hour), NotAfter: deviceTime.Add(24 * 365 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}
	rogueDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rogueKey.PublicKey, rogueKey)
	rogue, _ := x509.ParseCertificate(rogueDER)
	forged, err := xocsp.CreateResponse(rogue, rogue, xocsp.Response{Status: xocsp.Good, SerialNumber: certs[1].SerialNumber,
		ThisUpdate: deviceTime.Add(-time.Hour), NextUpdate: deviceTime.Add(24 * 365 * 100 * time.Hour)}, rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{"forged": forged, "garbage": []byte("not ocsp")} {
		inner := &fixedSource{der: der}
		cs, _ := ocsp.NewCachedSource(inner, nil, func() time.Time { return deviceTime })
		for i := 0; i < 2; i++ {
			if _, err := cs.Fetch(context.Background(), ocsp.Query{Cert: certs[1], Issuer: certs[2]}); !errors.Is(err, verify.ErrCollateral) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if inner.n != 2 {
			t.Errorf("%s: inner source asked %d times, want 2 (nothing cached)", name, inner.n)
		}
	}
}

// A prepared Chain checks as the certificates it holds do, again and again;
// a nil chain or a start outside it is a configuration error.
func TestPreparedChain(t *testing.T) {
	chk, err := ocsp.NewChecker(recorded(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	certs := deviceChain(t)
	ch := ocsp.NewChain(certs)
	if len(ch.Certs()) != len(certs) {
		t.Fatalf("Certs: %d", len(ch.Certs()))
	}
	want, err := chk.CheckChain(ctx, certs, 1, ocsp.ScopeDevice, deviceTime)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		got, err := chk.Check(ctx, ch, 1, ocsp.ScopeDevice, deviceTime)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Certs) != len(want.Certs) || got.Status() != ocsp.StatusGood {
			t.Fatalf("prepared %+v, plain %+v", got, want)
		}
		for j := range got.Certs {
			if got.Certs[j].Serial != want.Certs[j].Serial || got.Certs[j].Subject != want.Certs[j].Subject || !got.Certs[j].Cached {
				t.Errorf("cert %d: prepared %+v, plain %+v", j, got.Certs[j], want.Certs[j])
			}
		}
	}
	// The chain keeps its own slice: replacing a certificate in the caller's
	// slice changes nothing the chain checks or reports.
	orig := certs[1]
	certs[1] = certs[2]
	if ch.Certs()[1] != orig {
		t.Error("NewChain shares the caller's slice")
	}
	certs[1] = orig
	if _, err := chk.Check(ctx, nil, 0, ocsp.ScopeDevice, deviceTime); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("nil chain: %v", err)
	}
	if _, err := chk.Check(ctx, ch, len(certs)-1, ocsp.ScopeDevice, deviceTime); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("start at the root: %v", err)
	}
}

// recordingFetcher answers GETs and POSTs and remembers what it was sent.
type recordingFetcher struct {
	gets  []string
	posts [][]byte
}

func (f *recordingFetcher) Fetch(_ context.Context, u string) (*collateral.Response, error) {
	f.gets = append(f.gets, u)
	return &collateral.Response{StatusCode: 200, Body: []byte("get")}, nil
}

func (f *recordingFetcher) Post(_ context.Context, u, ct string, body []byte) (*collateral.Response, error) {
	if ct != "application/ocsp-request" {
		return nil, errors.New("content type " + ct)
	}
	f.posts = append(f.posts, body)
	return &collateral.Response{StatusCode: 200, Body: []byte("post")}, nil
}

// WithPOST sends through the source's own fetcher (its retries, caps and
// redaction), GET otherwise.
func TestHTTPSourcePOSTThroughFetcher(t *testing.T) {
	q := ocsp.Query{URL: "http://responder.example", Request: []byte{0x30, 0x00}}
	f := &recordingFetcher{}
	get, _ := ocsp.NewHTTPSource("", f, nil)
	if b, err := get.Fetch(context.Background(), q); err != nil || string(b) != "get" ||
		len(f.gets) != 1 || f.gets[0] != "http://responder.example/MAA=" {
		t.Fatalf("GET: %q %v %v", b, err, f.gets)
	}
	post, _ := ocsp.NewHTTPSource("", f, nil, ocsp.WithPOST())
	if b, err := post.Fetch(context.Background(), q); err != nil || string(b) != "post" ||
		len(f.posts) != 1 || string(f.posts[0]) != "\x30\x00" || len(f.gets) != 1 {
		t.Fatalf("POST: %q %v %v", b, err, f.posts)
	}
}

// getOnlyFetcher cannot send a POST.
type getOnlyFetcher struct{}

func (getOnlyFetcher) Fetch(context.Context, string) (*collateral.Response, error) {
	return &collateral.Response{StatusCode: 200, Body: []byte("get")}, nil
}

// A POST keeps the fetcher's settings (here its User-Agent and API key
// header); a fetcher that cannot POST is a configuration error at
// construction, not a silent switch to another fetcher.
func TestWithPOSTKeepsFetcherSettings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("User-Agent") != "kbs/1" || r.Header.Get("X-Api-Key") != "k" ||
			r.Header.Values("Content-Type")[0] != "application/ocsp-request" || len(r.Header.Values("Content-Type")) != 1 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Write([]byte("answer"))
	}))
	defer srv.Close()
	f := &collateral.HTTPFetcher{Client: srv.Client(), UserAgent: "kbs/1", Header: http.Header{"X-Api-Key": {"k"}, "Content-Type": {"text/plain"}}}
	q := ocsp.Query{URL: srv.URL, Request: []byte{0x30, 0x00}}
	src, err := ocsp.NewHTTPSource("", f, nil, ocsp.WithPOST())
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Fetch(context.Background(), q)
	if err != nil || string(b) != "answer" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := ocsp.NewHTTPSource("", getOnlyFetcher{}, nil, ocsp.WithPOST()); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("GET-only fetcher with WithPOST: %v", err)
	}
}
