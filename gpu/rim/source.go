package rim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// Source delivers RIM documents (the signed XML) by RIM ID. What a source
// returns is not trusted: Verifier.Fetch verifies it. A RIM the source does
// not have is an error of kind verify.ErrCollateral that also matches
// collateral.ErrNotFound. Implementations must be safe for concurrent use and
// must check IDs with CheckID before using them in a path or URL.
type Source interface {
	Get(ctx context.Context, id string) ([]byte, error)
}

// maxSourceBytes caps what a source reads for one RIM, before the
// Verifier's own (smaller, configurable) size cap.
const maxSourceBytes = 4 << 20

// MemorySource is a Source backed by a map, for tests and for RIMs shipped
// with an application. It is safe for concurrent use.
type MemorySource struct {
	mu   sync.RWMutex
	docs map[string][]byte
}

// NewMemorySource returns a MemorySource holding copies of docs, keyed by RIM ID.
func NewMemorySource(docs map[string][]byte) (*MemorySource, error) {
	s := &MemorySource{docs: make(map[string][]byte, len(docs))}
	for id, d := range docs {
		if err := s.Add(id, d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add stores a copy of doc under id, replacing any previous document.
func (s *MemorySource) Add(id string, doc []byte) error {
	if err := CheckID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = make(map[string][]byte)
	}
	s.docs[id] = bytes.Clone(doc)
	return nil
}

// Get returns a copy of the document stored under id.
func (s *MemorySource) Get(_ context.Context, id string) ([]byte, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	s.mu.RLock()
	d, ok := s.docs[id]
	s.mu.RUnlock()
	if !ok {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM %s not in memory source: %w", id, collateral.ErrNotFound)
	}
	return bytes.Clone(d), nil
}

// FSSource is a Source reading a file system laid out as NVIDIA's nvattest
// "--rim-store dir" expects: one file per RIM, named "<RIM ID>.xml" (for
// example NV_GPU_DRIVER_GH100_550.90.07.xml), holding the signed XML as
// served in the RIM service's "rim" field after base64 decoding. Each read is
// capped in size. For a directory on disk, os.OpenRoot(dir) and its FS keep
// reads inside the directory (os.DirFS follows symbolic links out of it).
type FSSource struct {
	fsys fs.FS
}

// NewFSSource returns a source reading the RIMs in fsys: for an attest
// bundle that is its gpu/rims/ directory (fs.Sub(bundle, "gpu/rims"));
// setup.Config.Bundle does that for you.
func NewFSSource(fsys fs.FS) (*FSSource, error) {
	if fsys == nil {
		return nil, verify.Errorf(verify.ErrConfig, "rim: NewFSSource: nil file system")
	}
	return &FSSource{fsys: fsys}, nil
}

// Get reads <id>.xml.
func (s *FSSource) Get(ctx context.Context, id string) ([]byte, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if err := verify.Canceled(ctx, "rim: RIM "+id); err != nil {
		return nil, err
	}
	f, err := s.fsys.Open(id + ".xml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM %s not in the RIM store (file %s.xml): %w", id, id, collateral.ErrNotFound)
	}
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM %s: %w", id, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSourceBytes+1))
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM %s: reading: %w", id, err)
	}
	if len(b) > maxSourceBytes {
		return nil, verify.Errorf(verify.ErrLimit, "rim: RIM %s: file exceeds %d bytes", id, maxSourceBytes)
	}
	return b, nil
}

// DefaultServiceURL is the base URL of NVIDIA's RIM service; a RIM is at
// DefaultServiceURL + "/v1/rim/" + ID.
const DefaultServiceURL = "https://rim.attestation.nvidia.com"

// HTTPSource is a Source for NVIDIA's RIM service (GET <base>/v1/rim/<id>,
// answered with JSON {"id","rim" (base64 XML),"sha256","rim_format",…}),
// through a collateral.Fetcher and a collateral.Cache over a
// collateral.Store. The answer's id must be the requested one, its
// rim_format (when present) "TCG", and its sha256 (when present) the SHA-256
// of the decoded document. Create it with NewHTTPSource.
//
// The service sends no caching headers; a fetched document is kept for the
// TTL (default 24 h) by the source's clock. That only decides when to fetch
// again: the document is verified at the caller's time whether it came from
// the store or not. A service key (NVIDIA's "Authorization: Bearer") goes in
// the Header of the collateral.HTTPFetcher.
type HTTPSource struct {
	base     string
	fetcher  collateral.Fetcher
	cache    *collateral.Cache
	ttl      time.Duration
	maxStale time.Duration
	now      func() time.Time
}

// HTTPOption configures an HTTPSource.
type HTTPOption func(*HTTPSource) error

// WithTTL sets how long a fetched RIM is served from the store before it is
// fetched again (default 24 h).
func WithTTL(d time.Duration) HTTPOption {
	return func(s *HTTPSource) error {
		if d <= 0 {
			return verify.Errorf(verify.ErrConfig, "rim: WithTTL: %v is not positive", d)
		}
		s.ttl = d
		return nil
	}
}

// WithMaxStale lets the source serve a RIM up to d past its TTL when a
// refresh fails (default zero: never). The document is verified at the
// caller's time either way.
func WithMaxStale(d time.Duration) HTTPOption {
	return func(s *HTTPSource) error {
		if d < 0 {
			return verify.Errorf(verify.ErrConfig, "rim: WithMaxStale: negative duration %v", d)
		}
		s.maxStale = d
		return nil
	}
}

// WithClock sets the clock the TTL uses (default time.Now).
func WithClock(now func() time.Time) HTTPOption {
	return func(s *HTTPSource) error {
		if now == nil {
			return verify.Errorf(verify.ErrConfig, "rim: WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// NewHTTPSource returns a source for NVIDIA's RIM service or, with baseURL,
// an on-premises mirror or a test server (empty: DefaultServiceURL). f does
// the requests (nil: a collateral.HTTPFetcher with its defaults; an
// HTTPFetcher's fields are validated here). s keeps the fetched documents
// (nil: a private in-memory store); one Store may be shared by every source
// and verifier, its keys here are "nvidia-rim " and the URL.
func NewHTTPSource(baseURL string, f collateral.Fetcher, s collateral.Store, opts ...HTTPOption) (*HTTPSource, error) {
	if baseURL == "" {
		baseURL = DefaultServiceURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		shown := "(unparsable)"
		if err == nil {
			shown = u.Redacted()
		}
		return nil, verify.Errorf(verify.ErrConfig, "rim: base URL %q: expected an http(s) URL with a host and no query", shown)
	}
	src := &HTTPSource{base: strings.TrimRight(baseURL, "/"), fetcher: f, ttl: 24 * time.Hour, now: time.Now}
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
	if s == nil {
		s = collateral.NewMemoryStore(256, 32<<20)
	}
	src.cache = collateral.NewCache(collateral.CacheOptions{Store: s, MaxStale: src.maxStale})
	return src, nil
}

// serviceResponse is the RIM service's JSON answer.
type serviceResponse struct {
	ID        string `json:"id"`
	RIM       string `json:"rim"`
	SHA256    string `json:"sha256"`
	RIMFormat string `json:"rim_format"`
}

// Get fetches the RIM named id (from the cache when fresh) and returns the
// decoded XML document.
func (s *HTTPSource) Get(ctx context.Context, id string) ([]byte, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	u := s.base + "/v1/rim/" + id
	now := s.now()
	e, _, err := s.cache.Get(ctx, "nvidia-rim "+u, now, func(ctx context.Context) (collateral.Entry, error) {
		resp, err := s.fetcher.Fetch(ctx, u)
		if err != nil {
			return collateral.Entry{}, verify.Wrap(verify.ErrCollateral, err)
		}
		doc, err := decodeServiceResponse(id, resp.Body)
		if err != nil {
			return collateral.Entry{}, err
		}
		return collateral.Entry{Data: doc, NotAfter: now.Add(s.ttl), FetchedAt: now}, nil
	})
	if err != nil {
		return nil, err
	}
	return e.Data, nil
}

// decodeServiceResponse checks a RIM service answer for id and returns the
// decoded document.
func decodeServiceResponse(id string, body []byte) ([]byte, error) {
	if len(body) > maxSourceBytes {
		return nil, verify.Errorf(verify.ErrLimit, "rim: RIM service answer for %s: %d bytes exceed %d", id, len(body), maxSourceBytes)
	}
	var r serviceResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM service answer for %s is not JSON: %w", id, err)
	}
	if r.ID != id {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM service answer id: expected %q, got %q", id, r.ID)
	}
	if r.RIMFormat != "" && !strings.EqualFold(r.RIMFormat, "TCG") {
		return nil, verify.Errorf(verify.ErrUnsupported, "rim: RIM service answer for %s: rim_format %q (only TCG SWID is supported)", id, r.RIMFormat)
	}
	if r.RIM == "" {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM service answer for %s has no rim", id)
	}
	doc, err := base64.StdEncoding.DecodeString(r.RIM)
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM service answer for %s: rim is not base64: %w", id, err)
	}
	if r.SHA256 != "" {
		want, err := hex.DecodeString(r.SHA256)
		got := sha256.Sum256(doc)
		if err != nil || !bytes.Equal(want, got[:]) {
			return nil, verify.Errorf(verify.ErrCollateral, "rim: RIM service answer for %s: sha256: expected %s, got %x", id, r.SHA256, got)
		}
	}
	return doc, nil
}
