// Package ocsp checks the revocation status of NVIDIA device and RIM
// certificate chains with OCSP, fail-closed: the responder must be the issuer
// or a delegate the issuer certified for OCSP signing, the CertID must match,
// thisUpdate/nextUpdate are checked against the caller's time, the nonce is
// checked when the source forwards it, and unknown is a failure.
//
// Answers come from a Source: live HTTP (through package collateral), a
// directory of recorded responses, or memory; a Checker caches verified
// answers until their nextUpdate.
package ocsp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

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
// body cap, redacted URLs).
type HTTPSource struct {
	fetcher  collateral.Fetcher
	post     collateral.Poster
	postAll  bool // WithPOST: post, which is nil when the fetcher cannot
	override string
	noNonce  bool
}

// HTTPOption configures an HTTPSource.
type HTTPOption func(*HTTPSource)

// WithResponderURL sends every query to u instead of the certificate's AIA
// responder (for an on-premises cache or a test responder).
func WithResponderURL(u string) HTTPOption { return func(s *HTTPSource) { s.override = u } }

// WithoutNonce stops sending (and requiring) a nonce, for responders or
// caches that do not echo it; freshness then rests on thisUpdate/nextUpdate.
func WithoutNonce() HTTPOption { return func(s *HTTPSource) { s.noNonce = true } }

// WithPOST sends requests with HTTP POST, as NVIDIA's own tools do, instead
// of GET (a responder must support POST; GET is optional in RFC 6960). The
// POST goes through the source's fetcher, under its timeouts, retries and
// caps; the fetcher must be able to send one (collateral.HTTPFetcher can),
// or every query fails with verify.ErrConfig. A non-nil client replaces the
// HTTP client of a collateral.HTTPFetcher for these requests, keeping its
// other settings.
func WithPOST(client *http.Client) HTTPOption {
	return func(s *HTTPSource) {
		s.postAll = true
		s.post, _ = s.fetcher.(collateral.Poster)
		if hf, ok := s.fetcher.(*collateral.HTTPFetcher); ok && client != nil {
			c := *hf
			c.Client = client
			s.post = &c
		}
	}
}

// NewHTTPSource returns a live source using f (nil: a default collateral.HTTPFetcher).
func NewHTTPSource(f collateral.Fetcher, opts ...HTTPOption) *HTTPSource {
	if f == nil {
		f = &collateral.HTTPFetcher{}
	}
	s := &HTTPSource{fetcher: f}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SendsNonce reports whether requests carry a nonce.
func (s *HTTPSource) SendsNonce() bool { return !s.noNonce }

// Fetch sends q.Request to the responder.
func (s *HTTPSource) Fetch(ctx context.Context, q Query) ([]byte, error) {
	base := q.URL
	if s.override != "" {
		base = s.override
	}
	if base == "" {
		base = DefaultResponder
	}
	var resp *collateral.Response
	var err error
	switch {
	case s.postAll && s.post == nil:
		return nil, verify.Errorf(verify.ErrConfig, "OCSP: WithPOST needs a fetcher that can send a POST, got %T", s.fetcher)
	case s.postAll:
		resp, err = s.post.Post(ctx, base, "application/ocsp-request", q.Request)
	default:
		u := strings.TrimRight(base, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(q.Request))
		resp, err = s.fetcher.Fetch(ctx, u)
	}
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, fmt.Errorf("OCSP responder: %w", err))
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

// NewDirSource loads every regular file of dir as a recorded response (DER or
// base64 DER; files that are not OCSP responses are an error).
func NewDirSource(dir string) (*MemorySource, error) {
	m := &MemorySource{resp: make(map[string][]byte)}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") || strings.EqualFold(filepath.Ext(p), ".md") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := m.Add(b); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	return m, nil
}
