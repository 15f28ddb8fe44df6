package snp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// Source supplies the collateral a report needs beyond its own bytes: the
// VCEK for a chip at a TCB and the ARK-signed CRL of a product. Nothing a
// Source returns is trusted: the verifier checks every certificate and CRL
// against the pinned roots. Implementations must be safe for concurrent use.
type Source interface {
	// VCEK returns the DER VCEK certificate of the chip hwid (the report's
	// CHIP_ID; 8 bytes for Turin) at TCB tcb.
	VCEK(ctx context.Context, p Product, hwid []byte, tcb TCB) ([]byte, error)
	// CRL returns the DER CRL the product's ARK issues for the intermediate
	// of key (the ASK for VCEK, the ASVK for VLEK).
	CRL(ctx context.Context, p Product, key SigningKey) ([]byte, error)
}

// ChainSource is implemented by sources that can also supply the product's
// intermediate (ASK or ASVK) and ARK, as KDS's cert_chain does. The verifier
// uses it only when neither the pinned roots nor the evidence have the
// intermediate, and accepts the intermediate only if the pinned ARK signed
// it; the ARK it returns must equal the pinned one.
type ChainSource interface {
	CertChain(ctx context.Context, p Product, key SigningKey) ([]byte, error)
}

// hwidForKDS is the chip identifier KDS indexes VCEKs by: the full CHIP_ID,
// or its first 8 bytes on Turin.
func hwidForKDS(p Product, chipID []byte) []byte {
	if p == Turin && len(chipID) > 8 {
		return chipID[:8]
	}
	return chipID
}

// vcekQuery renders the KDS query of a TCB, Turin adding fmcSPL first.
func vcekQuery(p Product, t TCB) string {
	q := fmt.Sprintf("blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d", t.Bootloader, t.TEE, t.SNP, t.Microcode)
	if p == Turin {
		q = fmt.Sprintf("fmcSPL=%d&", t.FMC) + q
	}
	return q
}

func keyPath(k SigningKey) string {
	if k == SigningKeyVLEK {
		return "vlek"
	}
	return "vcek"
}

// KDSBaseURL is AMD's Key Distribution Service.
const KDSBaseURL = "https://kdsintf.amd.com"

// HTTPSource fetches VCEKs, CRLs and certificate chains from AMD's Key
// Distribution Service (or a mirror with the same paths) through a
// collateral.Cache over a collateral.Store that honours each item's
// validity, coalesces concurrent fetches and serves stale items only within
// WithMaxStale. The HTTP fetcher backs off on 429 and Retry-After. Create it
// with NewHTTPSource.
type HTTPSource struct {
	base     string
	fetcher  collateral.Fetcher
	cache    *collateral.Cache
	maxStale time.Duration
	refresh  time.Duration
}

// HTTPOption configures an HTTPSource.
type HTTPOption func(*HTTPSource) error

// WithMaxStale lets the source serve an item up to d past its refresh time
// when a refresh fails (default zero: never). The verifier still checks
// every item's own validity (a CRL's nextUpdate) against its clock.
func WithMaxStale(d time.Duration) HTTPOption {
	return func(k *HTTPSource) error {
		if d < 0 {
			return verify.Errorf(verify.ErrConfig, "snp: WithMaxStale: negative duration %v", d)
		}
		k.maxStale = d
		return nil
	}
}

// WithCRLRefresh sets how often a CRL is fetched again even though its
// nextUpdate is later, so that a new revocation is seen early (default
// DefaultCRLRefresh).
func WithCRLRefresh(d time.Duration) HTTPOption {
	return func(k *HTTPSource) error {
		if d <= 0 {
			return verify.Errorf(verify.ErrConfig, "snp: WithCRLRefresh: %v is not positive", d)
		}
		k.refresh = d
		return nil
	}
}

// DefaultCRLRefresh is the default of WithCRLRefresh.
const DefaultCRLRefresh = 24 * time.Hour

// NewHTTPSource returns a source for AMD KDS or, with baseURL, a mirror with
// the same paths (empty: KDSBaseURL). f does the requests (nil: a
// collateral.HTTPFetcher with its defaults; an HTTPFetcher's fields are
// validated here). s keeps the fetched items (nil: a private in-memory
// store); one Store may be shared by every source and verifier, its keys are
// full URLs.
func NewHTTPSource(baseURL string, f collateral.Fetcher, s collateral.Store, opts ...HTTPOption) (*HTTPSource, error) {
	if baseURL == "" {
		baseURL = KDSBaseURL
	}
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		shown := "(unparsable)"
		if err == nil {
			shown = u.Redacted()
		}
		return nil, verify.Errorf(verify.ErrConfig, "snp: KDS base URL %q: expected an http(s) URL with a host and no query", shown)
	}
	k := &HTTPSource{base: strings.TrimRight(baseURL, "/"), fetcher: f, refresh: DefaultCRLRefresh}
	for _, o := range opts {
		if err := o(k); err != nil {
			return nil, err
		}
	}
	if k.fetcher == nil {
		k.fetcher = &collateral.HTTPFetcher{}
	}
	if v, ok := k.fetcher.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	k.cache = collateral.NewCache(collateral.CacheOptions{Store: s, MaxStale: k.maxStale})
	return k, nil
}

// VCEK implements Source: GET {base}/vcek/v1/{product}/{hwid}?{tcb}.
func (k *HTTPSource) VCEK(ctx context.Context, p Product, hwid []byte, tcb TCB) ([]byte, error) {
	u := fmt.Sprintf("%s/vcek/v1/%s/%s?%s", k.base, p, hex.EncodeToString(hwid), vcekQuery(p, tcb))
	return k.get(ctx, u, func(b []byte) (time.Time, error) {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return time.Time{}, verify.Errorf(verify.ErrCollateral, "VCEK from %s: %w", u, err)
		}
		return c.NotAfter, nil
	})
}

// CRL implements Source: GET {base}/{vcek|vlek}/v1/{product}/crl.
func (k *HTTPSource) CRL(ctx context.Context, p Product, key SigningKey) ([]byte, error) {
	u := fmt.Sprintf("%s/%s/v1/%s/crl", k.base, keyPath(key), p)
	return k.get(ctx, u, func(b []byte) (time.Time, error) {
		c, err := x509.ParseRevocationList(b)
		if err != nil {
			return time.Time{}, verify.Errorf(verify.ErrCollateral, "CRL from %s: %w", u, err)
		}
		if next := nowFrom(ctx).Add(k.refresh); next.Before(c.NextUpdate) {
			return next, nil
		}
		return c.NextUpdate, nil
	})
}

// CertChain implements ChainSource: GET {base}/{vcek|vlek}/v1/{product}/cert_chain
// (PEM: the ASK or ASVK, then the ARK).
func (k *HTTPSource) CertChain(ctx context.Context, p Product, key SigningKey) ([]byte, error) {
	u := fmt.Sprintf("%s/%s/v1/%s/cert_chain", k.base, keyPath(key), p)
	return k.get(ctx, u, func(b []byte) (time.Time, error) {
		certs, err := parseCerts(b)
		if err != nil {
			return time.Time{}, verify.Errorf(verify.ErrCollateral, "cert_chain from %s: %w", u, err)
		}
		na := certs[0].NotAfter
		for _, c := range certs[1:] {
			if c.NotAfter.Before(na) {
				na = c.NotAfter
			}
		}
		return na, nil
	})
}

func (k *HTTPSource) get(ctx context.Context, u string, notAfter func([]byte) (time.Time, error)) ([]byte, error) {
	now := nowFrom(ctx)
	e, _, err := k.cache.Get(ctx, u, now, func(ctx context.Context) (collateral.Entry, error) {
		resp, err := k.fetcher.Fetch(ctx, u)
		if err != nil {
			return collateral.Entry{}, err
		}
		na, err := notAfter(resp.Body)
		if err != nil {
			return collateral.Entry{}, err
		}
		return collateral.Entry{Data: resp.Body, Header: resp.Header, NotAfter: na, FetchedAt: now}, nil
	})
	if err != nil {
		return nil, err
	}
	return e.Data, nil
}

// The verification time travels to sources in the context, so that a cache
// judges validity against the caller's clock rather than the wall clock.
type nowKey struct{}

func withNow(ctx context.Context, now time.Time) context.Context {
	return context.WithValue(ctx, nowKey{}, now)
}

func nowFrom(ctx context.Context) time.Time {
	if t, ok := ctx.Value(nowKey{}).(time.Time); ok && !t.IsZero() {
		return t
	}
	return time.Now()
}

// FSSource reads collateral from a file system laid out like Trustee's KDS
// store (attestation-service/docs/amd-offline-certificate-cache.md):
//
//	vcek/{hwid hex}/{blNN_teeNN_snpNN_ucodeNN[_fmcNN]}_vcek.der
//	vcek/{hwid hex}/vcek.der            (fallback, any TCB)
//
// and, as an extension of that layout, CRLs at
//
//	crl/{Product}_{vcek|vlek}.crl       (DER)
//
// Files are read on every call, each capped in size; nothing read is trusted
// (the verifier checks it against the pinned roots). For a directory on
// disk, os.OpenRoot(dir) and its FS keep reads inside the directory
// (os.DirFS follows symbolic links out of it).
type FSSource struct {
	fsys fs.FS
}

// NewFSSource returns a source reading the store in fsys, laid out as
// FSSource says: for an attest bundle that is its snp/ part
// (fs.Sub(bundle, "snp")); setup.Config.Bundle does that for you.
func NewFSSource(fsys fs.FS) (*FSSource, error) {
	if fsys == nil {
		return nil, verify.Errorf(verify.ErrConfig, "snp: NewFSSource: nil file system")
	}
	return &FSSource{fsys: fsys}, nil
}

// VCEK implements Source.
func (s *FSSource) VCEK(ctx context.Context, p Product, hwid []byte, t TCB) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	name := fmt.Sprintf("bl%02d_tee%02d_snp%02d_ucode%02d", t.Bootloader, t.TEE, t.SNP, t.Microcode)
	if p == Turin {
		name += fmt.Sprintf("_fmc%02d", t.FMC)
	}
	d := path.Join("vcek", hex.EncodeToString(hwid))
	b, err := readCapped(s.fsys, path.Join(d, name+"_vcek.der"))
	if err == nil {
		return b, nil
	}
	if b, err2 := readCapped(s.fsys, path.Join(d, "vcek.der")); err2 == nil {
		return b, nil
	}
	return nil, err
}

// CRL implements Source.
func (s *FSSource) CRL(ctx context.Context, p Product, key SigningKey) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	return readCapped(s.fsys, path.Join("crl", fmt.Sprintf("%s_%s.crl", p, keyPath(key))))
}

func readCapped(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, verify.Errorf(verify.ErrCollateral, "snp: offline store: %w: %w", collateral.ErrNotFound, err)
	}
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "snp: offline store: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, maxCertBytes+1))
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "snp: offline store %s: %w", name, err)
	}
	if n > maxCertBytes {
		return nil, verify.Errorf(verify.ErrLimit, "snp: offline store %s: larger than %d bytes", name, maxCertBytes)
	}
	return buf.Bytes(), nil
}

// MemorySource holds VCEKs and CRLs in memory, for tests and for callers
// that obtained collateral out of band. It is safe for concurrent use.
type MemorySource struct {
	mu    sync.RWMutex
	vceks map[string][]byte
	crls  map[string][]byte
}

// NewMemorySource returns an empty MemorySource.
func NewMemorySource() *MemorySource {
	return &MemorySource{vceks: map[string][]byte{}, crls: map[string][]byte{}}
}

func memVCEKKey(p Product, hwid []byte, t TCB) string {
	return fmt.Sprintf("%s/%x/%s", p, hwid, vcekQuery(p, t))
}

// AddVCEK stores a DER VCEK for a chip and TCB.
func (m *MemorySource) AddVCEK(p Product, hwid []byte, t TCB, der []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vceks[memVCEKKey(p, hwid, t)] = bytes.Clone(der)
}

// AddCRL stores a DER CRL for a product and key kind.
func (m *MemorySource) AddCRL(p Product, key SigningKey, der []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crls[fmt.Sprintf("%s/%s", p, keyPath(key))] = bytes.Clone(der)
}

// VCEK implements Source.
func (m *MemorySource) VCEK(_ context.Context, p Product, hwid []byte, t TCB) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if b, ok := m.vceks[memVCEKKey(p, hwid, t)]; ok {
		return b, nil
	}
	return nil, verify.Errorf(verify.ErrCollateral, "memory source: %w: VCEK %s", collateral.ErrNotFound, memVCEKKey(p, hwid, t))
}

// CRL implements Source.
func (m *MemorySource) CRL(_ context.Context, p Product, key SigningKey) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if b, ok := m.crls[fmt.Sprintf("%s/%s", p, keyPath(key))]; ok {
		return b, nil
	}
	return nil, verify.Errorf(verify.ErrCollateral, "memory source: %w: CRL %s/%s", collateral.ErrNotFound, p, keyPath(key))
}
