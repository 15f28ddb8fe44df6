package tdx

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// MemorySource serves collateral held in memory, keyed by FMSPC and CA.
// Add everything before use; it is then safe for concurrent reads.
type MemorySource struct {
	mu    sync.RWMutex
	items map[string]*Collateral
}

func memKey(fmspc [6]byte, ca string) string { return upperHex(fmspc[:]) + "/" + ca }

// NewMemorySource returns an empty in-memory source.
func NewMemorySource() *MemorySource { return &MemorySource{items: map[string]*Collateral{}} }

// Add stores a copy of c for the platform fmspc and PCK CA ca.
func (m *MemorySource) Add(fmspc [6]byte, ca string, c *Collateral) {
	cp := &Collateral{
		TCBInfo: clone(c.TCBInfo), TCBInfoIssuerChain: clone(c.TCBInfoIssuerChain),
		QEIdentity: clone(c.QEIdentity), QEIdentityIssuerChain: clone(c.QEIdentityIssuerChain),
		PCKCRL: clone(c.PCKCRL), PCKCRLIssuerChain: clone(c.PCKCRLIssuerChain), RootCACRL: clone(c.RootCACRL),
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[memKey(fmspc, ca)] = cp
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Collateral implements CollateralSource.
func (m *MemorySource) Collateral(_ context.Context, req CollateralRequest) (*Collateral, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.items[memKey(req.FMSPC, req.CA)]
	if !ok {
		return nil, verify.Errorf(verify.ErrCollateral, "no collateral in memory for fmspc %s, PCK CA %s: %w", upperHex(req.FMSPC[:]), req.CA, collateral.ErrNotFound)
	}
	return c, nil
}

// DirSource reads an offline collateral bundle, a directory laid out as:
//
//	tcb_info/<FMSPC>.json               TCB info body, as PCS serves it ({"tcbInfo":…,"signature":…})
//	tcb_info/<FMSPC>.issuer_chain.pem   TCB-Info-Issuer-Chain (PEM)
//	qe_identity.json                    QE identity body ({"enclaveIdentity":…,"signature":…})
//	qe_identity.issuer_chain.pem        SGX-Enclave-Identity-Issuer-Chain (PEM)
//	pck_crl/<ca>.der                    PCK CRL of the platform or processor CA (DER, PEM or hex)
//	pck_crl/<ca>.issuer_chain.pem       SGX-PCK-CRL-Issuer-Chain (PEM)
//	root_ca_crl.der                     Intel SGX Root CA CRL (DER, PEM or hex)
//
// <FMSPC> is 12 uppercase hex digits, <ca> is "platform" or "processor".
// Files are read on every call; put a cache in front for speed. Missing files
// leave the item empty, which verification reports as ErrCollateral.
type DirSource struct{ Dir string }

// Collateral implements CollateralSource.
func (d DirSource) Collateral(_ context.Context, req CollateralRequest) (*Collateral, error) {
	if d.Dir == "" {
		return nil, verify.Errorf(verify.ErrConfig, "DirSource: empty directory")
	}
	if req.CA != "platform" && req.CA != "processor" {
		return nil, verify.Errorf(verify.ErrConfig, "DirSource: PCK CA %q", req.CA)
	}
	c := &Collateral{}
	for _, it := range bundleFiles(c, req.FMSPC, req.CA) {
		b, err := readCapped(filepath.Join(d.Dir, it.path))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*it.data = b
	}
	if c.TCBInfo == nil {
		return nil, verify.Errorf(verify.ErrCollateral, "bundle %s has no TCB info for fmspc %s: %w", d.Dir, upperHex(req.FMSPC[:]), collateral.ErrNotFound)
	}
	return c, nil
}

// bundleFiles pairs each item of c with its path in the DirSource layout.
func bundleFiles(c *Collateral, fmspc [6]byte, ca string) []struct {
	data *[]byte
	path string
} {
	f := upperHex(fmspc[:])
	return []struct {
		data *[]byte
		path string
	}{
		{&c.TCBInfo, filepath.Join("tcb_info", f+".json")},
		{&c.TCBInfoIssuerChain, filepath.Join("tcb_info", f+".issuer_chain.pem")},
		{&c.QEIdentity, "qe_identity.json"},
		{&c.QEIdentityIssuerChain, "qe_identity.issuer_chain.pem"},
		{&c.PCKCRL, filepath.Join("pck_crl", ca+".der")},
		{&c.PCKCRLIssuerChain, filepath.Join("pck_crl", ca+".issuer_chain.pem")},
		{&c.RootCACRL, "root_ca_crl.der"},
	}
}

// readCapped reads path through one open handle, failing with ErrLimit when
// it holds more than maxCollateralItem bytes (however the file changes
// while it is read).
func readCapped(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxCollateralItem+1))
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "%s: %w", path, err)
	}
	if len(b) > maxCollateralItem {
		return nil, verify.Errorf(verify.ErrLimit, "%s: more than the cap of %d bytes", path, maxCollateralItem)
	}
	return b, nil
}

// WriteBundle writes c for (fmspc, ca) into dir in the DirSource layout.
func WriteBundle(dir string, fmspc [6]byte, ca string, c *Collateral) error {
	for _, it := range bundleFiles(c, fmspc, ca) {
		if *it.data == nil {
			continue
		}
		p := filepath.Join(dir, it.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, *it.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Default Intel endpoints.
const (
	IntelPCSBaseURL   = "https://api.trustedservices.intel.com"
	IntelRootCRLURL   = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
	headerTCBChain    = "TCB-Info-Issuer-Chain"
	headerQEChain     = "SGX-Enclave-Identity-Issuer-Chain"
	headerPCKCRLChain = "SGX-PCK-CRL-Issuer-Chain"
)

// HTTPSourceOptions configure an HTTPSource.
type HTTPSourceOptions struct {
	// BaseURL of Intel PCS or a PCCS (default IntelPCSBaseURL); the v4 paths
	// /{sgx,tdx}/certification/v4/… are appended.
	BaseURL string
	// PCCS selects the PCCS root-CA-CRL path ({BaseURL}/sgx/certification/v4/rootcacrl)
	// instead of RootCRLURL.
	PCCS bool
	// RootCRLURL is where the Intel SGX Root CA CRL is fetched (default IntelRootCRLURL).
	RootCRLURL string
	// Update is "standard" (default) or "early".
	Update string
	// Fetcher does the HTTP requests (default a collateral.HTTPFetcher).
	Fetcher collateral.Fetcher
	// Cache in front of the fetches (default one with a memory store and no stale serving).
	Cache *collateral.Cache
}

// HTTPSource fetches collateral from Intel PCS or a PCCS (API v4), through a
// cache that honours each item's nextUpdate, coalesces concurrent fetches and
// serves stale items on error only within the cache's bound.
type HTTPSource struct {
	opts HTTPSourceOptions
}

// NewHTTPSource returns an HTTP collateral source.
func NewHTTPSource(o HTTPSourceOptions) (*HTTPSource, error) {
	if o.BaseURL == "" {
		o.BaseURL = IntelPCSBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "HTTPSource: base URL does not parse") // the URL may hold a password
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, verify.Errorf(verify.ErrConfig, "HTTPSource: bad base URL %q: expected http or https with a host", u.Redacted())
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	switch o.Update {
	case "":
		o.Update = "standard"
	case "standard", "early":
	default:
		return nil, verify.Errorf(verify.ErrConfig, "HTTPSource: update %q (want standard or early)", o.Update)
	}
	if o.RootCRLURL == "" {
		o.RootCRLURL = IntelRootCRLURL
		if o.PCCS {
			o.RootCRLURL = o.BaseURL + "/sgx/certification/v4/rootcacrl"
		}
	}
	if o.Fetcher == nil {
		o.Fetcher = &collateral.HTTPFetcher{}
	}
	if o.Cache == nil {
		o.Cache = collateral.NewCache(collateral.CacheOptions{})
	}
	return &HTTPSource{opts: o}, nil
}

// Collateral implements CollateralSource: the four items are fetched in parallel.
func (h *HTTPSource) Collateral(ctx context.Context, req CollateralRequest) (*Collateral, error) {
	if req.CA != "platform" && req.CA != "processor" {
		return nil, verify.Errorf(verify.ErrConfig, "HTTPSource: PCK CA %q", req.CA)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	b := h.opts.BaseURL
	fmspc := hex.EncodeToString(req.FMSPC[:])
	c := &Collateral{}
	g, gctx := errgroup.WithContext(ctx)
	get := func(u, chainHeader string, body, chain *[]byte, expiry func([]byte) (time.Time, error)) {
		g.Go(func() error {
			e, _, err := h.opts.Cache.Get(gctx, u, now, collateral.FetchFunc(h.opts.Fetcher, u, now, func(r *collateral.Response) (time.Time, error) {
				na, err := expiry(r.Body)
				if err != nil {
					return time.Time{}, verify.Wrap(verify.ErrCollateral, err) // the cache names the URL
				}
				return na, nil
			}))
			if err != nil {
				return err
			}
			*body = e.Data
			if chainHeader != "" {
				v := e.Header.Get(chainHeader)
				if v == "" {
					return verify.Errorf(verify.ErrCollateral, "GET %s: no %s header", collateral.ShownURL(u), chainHeader)
				}
				pemChain, err := url.QueryUnescape(v)
				if err != nil {
					return verify.Errorf(verify.ErrCollateral, "GET %s: header %s: %w", collateral.ShownURL(u), chainHeader, err)
				}
				*chain = []byte(pemChain)
			}
			return nil
		})
	}
	get(fmt.Sprintf("%s/tdx/certification/v4/tcb?fmspc=%s&update=%s", b, fmspc, h.opts.Update), headerTCBChain, &c.TCBInfo, &c.TCBInfoIssuerChain, jsonNextUpdate("tcbInfo"))
	get(fmt.Sprintf("%s/tdx/certification/v4/qe/identity?update=%s", b, h.opts.Update), headerQEChain, &c.QEIdentity, &c.QEIdentityIssuerChain, jsonNextUpdate("enclaveIdentity"))
	get(fmt.Sprintf("%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", b, req.CA), headerPCKCRLChain, &c.PCKCRL, &c.PCKCRLIssuerChain, crlNextUpdate)
	get(h.opts.RootCRLURL, "", &c.RootCACRL, nil, crlNextUpdate)
	if err := g.Wait(); err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	return c, nil
}

// jsonNextUpdate reads nextUpdate for cache expiry only; the value is
// verified with the signature later.
func jsonNextUpdate(key string) func([]byte) (time.Time, error) {
	return func(b []byte) (time.Time, error) {
		var m map[string]json.RawMessage
		var item struct {
			NextUpdate time.Time `json:"nextUpdate"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return time.Time{}, err
		}
		if err := json.Unmarshal(m[key], &item); err != nil || item.NextUpdate.IsZero() {
			return time.Time{}, fmt.Errorf("no %s.nextUpdate (%v)", key, err)
		}
		return item.NextUpdate, nil
	}
}

func crlNextUpdate(b []byte) (time.Time, error) {
	crl, err := decodeCRL(b, "CRL")
	if err != nil {
		return time.Time{}, err
	}
	return crl.NextUpdate, nil
}
