// Package ocsp checks the revocation status of NVIDIA device and RIM
// certificate chains with OCSP, fail-closed: the responder must be the issuer
// or a delegate the issuer certified for OCSP signing, the CertID must match,
// thisUpdate/nextUpdate are checked against the caller's time, the nonce is
// checked when the source forwards it, and unknown is a failure.
//
// Answers come from a Source: live HTTP (NewHTTPSource, through package
// collateral, optionally sharing verified answers in a collateral.Store),
// recorded responses in an fs.FS (NewFSSource), or memory; a Checker caches
// verified answers until their nextUpdate.
package ocsp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// ErrNoResponse is returned by a Source that has no answer for a query
// (offline, nothing recorded). It also matches verify.ErrCollateral.
var ErrNoResponse = errors.New("no OCSP response available")

func noResponse(format string, args ...any) error {
	return verify.Errorf(verify.ErrCollateral, "%w: "+format, append([]any{ErrNoResponse}, args...)...)
}

// Query is one OCSP question: the status of Cert, issued by Issuer.
type Query struct {
	Cert, Issuer *x509.Certificate
	// Request is the DER OCSPRequest (SHA-384 CertID, nonce extension when
	// Nonce is set). It is built only for sources implementing NonceSource
	// (live responders); recorded sources match on Cert and Issuer.
	Request []byte
	// Nonce is the request nonce, or nil.
	Nonce []byte
	// URL is the responder named by the certificate's AIA, or empty.
	URL string
}

// Source answers OCSP queries with a DER OCSPResponse.
type Source interface {
	Fetch(ctx context.Context, q Query) ([]byte, error)
}

// NonceSource is implemented by live sources that forward the request to a
// responder. When SendsNonce is true the request carries a nonce and the
// Checker requires it back.
type NonceSource interface {
	SendsNonce() bool
}

// DefaultResponder is NVIDIA's OCSP responder, used when a certificate names none.
const DefaultResponder = "http://ocsp.ndis.nvidia.com"

const maxResponseSize = 64 << 10

// HTTPSource asks a live responder over HTTP GET (RFC 6960 Appendix A.1),
// or POST with WithPOST, through a collateral.Fetcher (timeouts, retries,
// body cap, redacted URLs). Create it with NewHTTPSource.
//
// Without a Store every query goes to the responder with a fresh nonce,
// which the Checker requires back (the Checker itself keeps verified answers
// for a while). With a Store, answers that verify as the Checker verifies
// them are kept in it until they stop being usable (nextUpdate, or a
// delegated responder's expiry), so that many verifiers, or restarts with a
// persistent store, share one fetch per certificate; a stored answer cannot
// echo a later nonce, so then no nonce is sent and freshness rests on
// thisUpdate/nextUpdate, which the Checker verifies at the caller's time.
type HTTPSource struct {
	fetcher  collateral.Fetcher
	post     collateral.Poster // WithPOST: send queries with it
	postAll  bool
	override string
	noNonce  bool
	now      func() time.Time
	store    *cachedSource // nil without a Store
}

// HTTPOption configures an HTTPSource.
type HTTPOption func(*HTTPSource) error

// WithoutNonce stops sending (and requiring) a nonce, for responders or
// caches that do not echo it; freshness then rests on thisUpdate/nextUpdate.
func WithoutNonce() HTTPOption {
	return func(s *HTTPSource) error { s.noNonce = true; return nil }
}

// WithPOST sends requests with HTTP POST, as NVIDIA's own tools do, instead
// of GET (a responder must support POST; GET is optional in RFC 6960). The
// POST goes through the source's fetcher, under its timeouts, retries and
// caps; a fetcher that cannot send one (that is not a collateral.Poster, as
// collateral.HTTPFetcher is) is a configuration error.
func WithPOST() HTTPOption {
	return func(s *HTTPSource) error { s.postAll = true; return nil }
}

// WithClock sets the clock that decides how long a stored answer is kept
// (default time.Now); only used with a Store.
func WithClock(now func() time.Time) HTTPOption {
	return func(s *HTTPSource) error {
		if now == nil {
			return verify.Errorf(verify.ErrConfig, "ocsp: WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// NewHTTPSource returns a live source. baseURL, when not empty, receives
// every query instead of the responder named by each certificate's AIA (an
// on-premises OCSP cache, a test responder); empty asks the AIA responder,
// or DefaultResponder when a certificate names none. f does the requests
// (nil: a collateral.HTTPFetcher with its defaults; an HTTPFetcher's fields
// are validated here). s, when not nil, keeps verified answers (see
// HTTPSource); it may be shared with every other source, its keys here are
// "ocsp:" and a hash of the certificate and issuer.
func NewHTTPSource(baseURL string, f collateral.Fetcher, s collateral.Store, opts ...HTTPOption) (*HTTPSource, error) {
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			shown := "(unparsable)"
			if err == nil {
				shown = u.Redacted()
			}
			return nil, verify.Errorf(verify.ErrConfig, "ocsp: responder URL %q: expected an http(s) URL with a host and no query", shown)
		}
	}
	src := &HTTPSource{fetcher: f, override: baseURL, now: time.Now}
	for _, o := range opts {
		if err := o(src); err != nil {
			return nil, err
		}
	}
	if src.fetcher == nil {
		src.fetcher = &collateral.HTTPFetcher{}
	}
	if v, ok := src.fetcher.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	if src.postAll {
		p, ok := src.fetcher.(collateral.Poster)
		if !ok {
			return nil, verify.Errorf(verify.ErrConfig, "ocsp: WithPOST needs a fetcher that can send a POST (a collateral.Poster), got %T", src.fetcher)
		}
		src.post = p
	}
	if s != nil {
		live := *src
		live.noNonce = true // a stored answer cannot carry a later query's nonce
		src.store = newCachedSource(&live, collateral.NewCache(collateral.CacheOptions{Store: s}), src.now)
	}
	return src, nil
}

// SendsNonce reports whether requests carry a nonce: never with a Store.
func (s *HTTPSource) SendsNonce() bool { return !s.noNonce && s.store == nil }

// Fetch sends q.Request to the responder, or answers from the Store.
func (s *HTTPSource) Fetch(ctx context.Context, q Query) ([]byte, error) {
	if s.store != nil {
		return s.store.Fetch(ctx, q)
	}
	base := q.URL
	if s.override != "" {
		base = s.override
	}
	if base == "" {
		base = DefaultResponder
	}
	var resp *collateral.Response
	var err error
	if s.post != nil {
		resp, err = s.post.Post(ctx, base, "application/ocsp-request", q.Request)
	} else {
		u := strings.TrimRight(base, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(q.Request))
		resp, err = s.fetcher.Fetch(ctx, u)
	}
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, fmt.Errorf("OCSP responder: %w", err))
	}
	if resp == nil {
		return nil, verify.Errorf(verify.ErrCollateral, "OCSP responder: the fetcher returned no response")
	}
	if len(resp.Body) > maxResponseSize {
		return nil, verify.Errorf(verify.ErrLimit, "OCSP response: %d bytes exceeds %d", len(resp.Body), maxResponseSize)
	}
	return resp.Body, nil
}

// MemorySource answers from recorded responses, matched by the serial number
// of the certificate asked about (the Checker holds each answer to the
// issuer). It never carries a nonce.
type MemorySource struct {
	mu   sync.RWMutex
	resp map[string][]byte // serial hex → DER responses
}

// NewMemorySource returns a source holding the given DER (or base64 DER)
// responses.
func NewMemorySource(responses ...[]byte) (*MemorySource, error) {
	m := &MemorySource{resp: make(map[string][]byte)}
	for i, r := range responses {
		if err := m.Add(r); err != nil {
			return nil, fmt.Errorf("response %d: %w", i, err)
		}
	}
	return m, nil
}

// Add records one response (DER, or base64 of DER).
func (m *MemorySource) Add(r []byte) error {
	der, err := decodeRecorded(r)
	if err != nil {
		return err
	}
	resp, err := ocsp.ParseResponse(der, nil)
	if err != nil && resp == nil {
		return verify.Errorf(verify.ErrMalformed, "recorded OCSP response: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resp[serialKey(resp.SerialNumber)] = der
	return nil
}

func serialKey(n *big.Int) string { return n.Text(16) }

func decodeRecorded(r []byte) ([]byte, error) {
	if len(r) > maxResponseSize {
		return nil, verify.Errorf(verify.ErrLimit, "recorded OCSP response: %d bytes exceeds %d", len(r), maxResponseSize)
	}
	// DER is taken byte for byte: its last byte may well be 0x20 or 0x0a.
	// Only base64 text is trimmed.
	if len(r) > 0 && r[0] == 0x30 {
		return r, nil
	}
	r = bytes.TrimSpace(r)
	der, err := base64.StdEncoding.DecodeString(string(r))
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "recorded OCSP response: neither DER nor base64: %w", err)
	}
	return der, nil
}

// Fetch returns the recorded response for q.Cert.
func (m *MemorySource) Fetch(_ context.Context, q Query) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.resp[serialKey(q.Cert.SerialNumber)]
	if !ok {
		return nil, noResponse("no recorded answer for %q (serial %x)", q.Cert.Subject.CommonName, q.Cert.SerialNumber)
	}
	return r, nil
}

// FSSource answers from recorded responses read from a file system: every
// regular file of fsys (in any subdirectory; names starting with "." and
// ".md" files are skipped) is one response, DER or base64 DER, matched by
// the serial number of the certificate asked about. The files are read once,
// by NewFSSource, each capped in size and at most maxRecordedFiles of them.
// It never carries a nonce.
type FSSource struct {
	mem *MemorySource
}

// maxRecordedFiles bounds the responses NewFSSource loads.
const maxRecordedFiles = 4096

// NewFSSource loads the recorded responses in fsys; a file that is not an
// OCSP response is an error. For an attest bundle fsys is its gpu/ocsp/
// directory (fs.Sub(bundle, "gpu/ocsp")); setup.Config.Bundle does that for
// you.
func NewFSSource(fsys fs.FS) (*FSSource, error) {
	if fsys == nil {
		return nil, verify.Errorf(verify.ErrConfig, "ocsp: NewFSSource: nil file system")
	}
	m := &MemorySource{resp: make(map[string][]byte)}
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") || strings.EqualFold(path.Ext(p), ".md") {
			return nil
		}
		if n++; n > maxRecordedFiles {
			return verify.Errorf(verify.ErrLimit, "more than %d recorded OCSP responses", maxRecordedFiles)
		}
		b, err := readRecorded(fsys, p)
		if err != nil {
			return err
		}
		if err := m.Add(b); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, fmt.Errorf("ocsp: recorded responses: %w", err))
	}
	return &FSSource{mem: m}, nil
}

// readRecorded reads one file, capped at maxResponseSize (base64 text is
// larger than its DER, by a third; the cap applies to what Add decodes too).
func readRecorded(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const max = maxResponseSize*4/3 + 4
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > max {
		return nil, verify.Errorf(verify.ErrLimit, "%s: more than %d bytes", name, max)
	}
	return b, nil
}

// Fetch returns the recorded response for q.Cert.
func (s *FSSource) Fetch(ctx context.Context, q Query) ([]byte, error) { return s.mem.Fetch(ctx, q) }
