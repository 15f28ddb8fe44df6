package tdx

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

// MemorySource serves collateral held in memory, keyed by FMSPC and CA.
// Add everything before use; it is then safe for concurrent reads.
type MemorySource struct {
	mu    sync.RWMutex
	items map[memoryKey]*Collateral
}

// memoryKey keys a MemorySource: a comparable struct, not a formatted
// string, since a warm verification looks it up every time.
type memoryKey struct {
	tee   string
	fmspc [6]byte
	ca    string
}

func memKey(tee string, fmspc [6]byte, ca string) memoryKey {
	if tee == "" {
		tee = "tdx"
	}
	return memoryKey{tee: tee, fmspc: fmspc, ca: ca}
}

// String names the key in errors: TEE/FMSPC/CA.
func (k memoryKey) String() string { return k.tee + "/" + pck.UpperHex(k.fmspc[:]) + "/" + k.ca }

// NewMemorySource returns an empty in-memory source.
func NewMemorySource() *MemorySource { return &MemorySource{items: map[memoryKey]*Collateral{}} }

// Add stores a copy of c for TDX quotes of the platform fmspc and PCK CA ca.
func (m *MemorySource) Add(fmspc [6]byte, ca string, c *Collateral) { m.add("tdx", fmspc, ca, c) }

// AddSGX stores a copy of c (SGX TCB info and QE identity) for SGX quotes
// of the platform fmspc and PCK CA ca.
func (m *MemorySource) AddSGX(fmspc [6]byte, ca string, c *Collateral) { m.add(teeSGX, fmspc, ca, c) }

func (m *MemorySource) add(tee string, fmspc [6]byte, ca string, c *Collateral) {
	cp := &Collateral{
		TCBInfo: clone(c.TCBInfo), TCBInfoIssuerChain: clone(c.TCBInfoIssuerChain),
		QEIdentity: clone(c.QEIdentity), QEIdentityIssuerChain: clone(c.QEIdentityIssuerChain),
		PCKCRL: clone(c.PCKCRL), PCKCRLIssuerChain: clone(c.PCKCRLIssuerChain), RootCACRL: clone(c.RootCACRL),
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[memKey(tee, fmspc, ca)] = cp
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Collateral implements CollateralSource.
func (m *MemorySource) Collateral(_ context.Context, req CollateralRequest) (*Collateral, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	key := memKey(req.TEE, req.FMSPC, req.CA)
	c, ok := m.items[key]
	if !ok {
		return nil, verify.Errorf(verify.ErrCollateral, "no collateral in memory for TEE/FMSPC/CA %s: %w", key, collateral.ErrNotFound)
	}
	return c, nil
}

// FSSource reads an offline collateral bundle from a file system laid out as:
//
//	tcb_info/<FMSPC>.json               TCB info body, as PCS serves it ({"tcbInfo":…,"signature":…})
//	tcb_info/<FMSPC>.issuer_chain.pem   TCB-Info-Issuer-Chain (PEM)
//	qe_identity.json                    QE identity body ({"enclaveIdentity":…,"signature":…})
//	qe_identity.issuer_chain.pem        SGX-Enclave-Identity-Issuer-Chain (PEM)
//	pck_crl/<ca>.der                    PCK CRL of the platform or processor CA (DER, PEM or hex)
//	pck_crl/<ca>.issuer_chain.pem       SGX-PCK-CRL-Issuer-Chain (PEM)
//	root_ca_crl.der                     Intel SGX Root CA CRL (DER, PEM or hex)
//
//	sgx/tcb_info/<FMSPC>.json           SGX TCB info, for SGX quotes (CollateralRequest.TEE "sgx")
//	sgx/tcb_info/<FMSPC>.issuer_chain.pem
//	sgx/qe_identity.json                SGX QE identity (id "QE")
//	sgx/qe_identity.issuer_chain.pem
//
// <FMSPC> is 12 uppercase hex digits, <ca> is "platform" or "processor";
// WriteBundle writes this layout. Files are read on every call, each capped
// in size; the verifier caches what verifies. Missing files leave the item
// empty, which verification reports as ErrCollateral. Nothing read is
// trusted: it is verified against the pinned Intel root like anything
// fetched. For a directory on disk, os.OpenRoot(dir) and its FS keep reads
// inside the directory (os.DirFS follows symbolic links out of it).
type FSSource struct{ fsys fs.FS }

// NewFSSource returns a source reading the collateral in fsys, laid out as
// FSSource says: for an attest bundle that is its tdx/ part
// (fs.Sub(bundle, "tdx")); setup.Config.Bundle does that for you.
func NewFSSource(fsys fs.FS) (*FSSource, error) {
	if fsys == nil {
		return nil, verify.Errorf(verify.ErrConfig, "tdx: NewFSSource: nil file system")
	}
	return &FSSource{fsys: fsys}, nil
}

// Collateral implements CollateralSource.
func (s *FSSource) Collateral(ctx context.Context, req CollateralRequest) (*Collateral, error) {
	if req.CA != "platform" && req.CA != "processor" {
		return nil, verify.Errorf(verify.ErrConfig, "tdx: FSSource: PCK CA %q (want platform or processor)", req.CA)
	}
	if err := ctx.Err(); err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	if _, err := req.certPath(); err != nil {
		return nil, err
	}
	c := &Collateral{}
	for _, it := range bundleFiles(c, req.TEE, req.FMSPC, req.CA) {
		b, err := readCapped(s.fsys, it.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*it.data = b
	}
	if c.TCBInfo == nil {
		return nil, verify.Errorf(verify.ErrCollateral, "tdx: bundle has no TCB info for fmspc %s (file %s): %w", pck.UpperHex(req.FMSPC[:]), bundleFiles(c, req.TEE, req.FMSPC, req.CA)[0].path, collateral.ErrNotFound)
	}
	return c, nil
}

// bundleFiles pairs each item of c with its slash-separated path in the
// FSSource layout.
func bundleFiles(c *Collateral, tee string, fmspc [6]byte, ca string) []struct {
	data *[]byte
	path string
} {
	f := pck.UpperHex(fmspc[:])
	dir := "" // TDX TCB info and QE identity at the top, SGX's under sgx/
	if tee == teeSGX {
		dir = teeSGX
	}
	return []struct {
		data *[]byte
		path string
	}{
		{&c.TCBInfo, path.Join(dir, "tcb_info", f+".json")},
		{&c.TCBInfoIssuerChain, path.Join(dir, "tcb_info", f+".issuer_chain.pem")},
		{&c.QEIdentity, path.Join(dir, "qe_identity.json")},
		{&c.QEIdentityIssuerChain, path.Join(dir, "qe_identity.issuer_chain.pem")},
		{&c.PCKCRL, path.Join("pck_crl", ca+".der")},
		{&c.PCKCRLIssuerChain, path.Join("pck_crl", ca+".issuer_chain.pem")},
		{&c.RootCACRL, "root_ca_crl.der"},
	}
}

// readCapped reads name through one open handle, failing with ErrLimit when
// it holds more than pck.MaxCollateralItem bytes (however the file changes
// while it is read). A missing file is an error matching fs.ErrNotExist.
func readCapped(fsys fs.FS, name string) ([]byte, error) {
	fh, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "tdx: bundle %s: %w", name, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, pck.MaxCollateralItem+1))
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "tdx: bundle %s: %w", name, err)
	}
	if len(b) > pck.MaxCollateralItem {
		return nil, verify.Errorf(verify.ErrLimit, "tdx: bundle %s: more than the cap of %d bytes", name, pck.MaxCollateralItem)
	}
	return b, nil
}

// WriteBundle writes c for TDX quotes of (fmspc, ca) into dir in the
// FSSource layout.
func WriteBundle(dir string, fmspc [6]byte, ca string, c *Collateral) error {
	return writeBundle(dir, "tdx", fmspc, ca, c)
}

// WriteSGXBundle writes c, SGX collateral, for SGX quotes of (fmspc, ca)
// into dir in the FSSource layout (its TCB info and QE identity under sgx/).
func WriteSGXBundle(dir string, fmspc [6]byte, ca string, c *Collateral) error {
	return writeBundle(dir, teeSGX, fmspc, ca, c)
}

func writeBundle(dir, tee string, fmspc [6]byte, ca string, c *Collateral) error {
	for _, it := range bundleFiles(c, tee, fmspc, ca) {
		if *it.data == nil {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(it.path))
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

// HTTPSource fetches collateral from Intel PCS or a PCCS (API v4), through a
// collateral.Cache over a collateral.Store that honours each item's
// nextUpdate, coalesces concurrent fetches and serves stale items on error
// only within WithMaxStale. Create it with NewHTTPSource.
type HTTPSource struct {
	base       string
	pccs       bool
	rootCRLURL string
	update     string
	updateSet  bool // WithUpdate was given
	evalNum    int  // WithTCBEvaluationDataNumber; zero: the update's set
	maxStale   time.Duration
	fetcher    collateral.Fetcher
	cache      *collateral.Cache
}

// HTTPOption configures an HTTPSource.
type HTTPOption func(*HTTPSource) error

// WithPCCS fetches the Intel SGX Root CA CRL from the PCCS
// ({baseURL}/sgx/certification/v4/rootcacrl) instead of IntelRootCRLURL.
func WithPCCS() HTTPOption {
	return func(h *HTTPSource) error { h.pccs = true; return nil }
}

// WithRootCRLURL fetches the Intel SGX Root CA CRL from u (default
// IntelRootCRLURL). It contradicts WithPCCS.
func WithRootCRLURL(u string) HTTPOption {
	return func(h *HTTPSource) error {
		if err := checkBaseURL("WithRootCRLURL", u); err != nil {
			return err
		}
		h.rootCRLURL = u
		return nil
	}
}

// WithUpdate selects the TCB update of TCB info and QE identity: "standard"
// (the default) or "early".
func WithUpdate(update string) HTTPOption {
	return func(h *HTTPSource) error {
		if update != "standard" && update != "early" {
			return verify.Errorf(verify.ErrConfig, "tdx: WithUpdate: expected standard or early, got %q", update)
		}
		h.update, h.updateSet = update, true
		return nil
	}
}

// WithTCBEvaluationDataNumber pins the TCB info and QE identity to the
// evaluation data set n (Intel PCS answers 410 once it no longer serves n).
// It contradicts WithUpdate (PCS rejects both together) and WithPCCS (a
// PCCS ignores the number and would answer with its own set).
func WithTCBEvaluationDataNumber(n int) HTTPOption {
	return func(h *HTTPSource) error {
		if n <= 0 {
			return verify.Errorf(verify.ErrConfig, "tdx: WithTCBEvaluationDataNumber: expected a positive number, got %d", n)
		}
		h.evalNum = n
		return nil
	}
}

// WithMaxStale lets the source serve an item up to d past its nextUpdate
// when a refresh fails (default zero: never). The verifier still checks
// every item's own validity against the verification time.
func WithMaxStale(d time.Duration) HTTPOption {
	return func(h *HTTPSource) error {
		if d < 0 {
			return verify.Errorf(verify.ErrConfig, "tdx: WithMaxStale: negative duration %v", d)
		}
		h.maxStale = d
		return nil
	}
}

// checkBaseURL accepts an http or https URL with a host and no query or
// fragment; the error never shows a password the URL may hold.
func checkBaseURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return verify.Errorf(verify.ErrConfig, "tdx: %s: the URL does not parse", what)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return verify.Errorf(verify.ErrConfig, "tdx: %s: expected an http(s) URL with a host and no query, got %q", what, u.Redacted())
	}
	return nil
}

// NewHTTPSource returns a source for Intel PCS or, with baseURL, a PCCS or a
// mirror (empty: IntelPCSBaseURL); the v4 paths /{sgx,tdx}/certification/v4/…
// are appended. f does the requests (nil: a collateral.HTTPFetcher with its
// defaults; an HTTPFetcher's fields are validated here). s keeps the
// fetched items (nil: a private in-memory store); one Store may be shared by
// every source and verifier, its keys are full URLs.
func NewHTTPSource(baseURL string, f collateral.Fetcher, s collateral.Store, opts ...HTTPOption) (*HTTPSource, error) {
	if baseURL == "" {
		baseURL = IntelPCSBaseURL
	}
	if err := checkBaseURL("base URL", baseURL); err != nil {
		return nil, err
	}
	h := &HTTPSource{base: strings.TrimRight(baseURL, "/"), update: "standard", fetcher: f}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	switch {
	case h.evalNum != 0 && h.updateSet:
		return nil, verify.Errorf(verify.ErrConfig, "tdx: WithTCBEvaluationDataNumber(%d) and WithUpdate(%q) both select the TCB info's evaluation set", h.evalNum, h.update)
	case h.evalNum != 0 && h.pccs:
		return nil, verify.Errorf(verify.ErrConfig, "tdx: WithTCBEvaluationDataNumber(%d) with WithPCCS: a PCCS ignores the number", h.evalNum)
	}
	switch {
	case h.pccs && h.rootCRLURL != "":
		return nil, verify.Errorf(verify.ErrConfig, "tdx: WithPCCS and WithRootCRLURL both name the root CA CRL's location")
	case h.pccs:
		h.rootCRLURL = h.base + "/sgx/certification/v4/rootcacrl"
	case h.rootCRLURL == "":
		h.rootCRLURL = IntelRootCRLURL
	}
	if h.fetcher == nil {
		h.fetcher = &collateral.HTTPFetcher{}
	}
	if v, ok := h.fetcher.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	h.cache = collateral.NewCache(collateral.CacheOptions{Store: s, MaxStale: h.maxStale})
	return h, nil
}

// Collateral implements CollateralSource: the four items are fetched in parallel.
func (h *HTTPSource) Collateral(ctx context.Context, req CollateralRequest) (*Collateral, error) {
	if req.CA != "platform" && req.CA != "processor" {
		return nil, verify.Errorf(verify.ErrConfig, "tdx: HTTPSource: PCK CA %q (want platform or processor)", req.CA)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	tee, err := req.certPath()
	if err != nil {
		return nil, err
	}
	b := h.base
	fmspc := hex.EncodeToString(req.FMSPC[:])
	c := &Collateral{}
	g, gctx := errgroup.WithContext(ctx)
	get := func(u, chainHeader string, body, chain *[]byte, expiry func([]byte) (time.Time, error)) {
		g.Go(func() error {
			e, _, err := h.cache.Get(gctx, u, now, collateral.FetchFunc(h.fetcher, u, now, func(r *collateral.Response) (time.Time, error) {
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
	set := "update=" + h.update
	if h.evalNum != 0 {
		set = fmt.Sprintf("tcbEvaluationDataNumber=%d", h.evalNum)
	}
	get(fmt.Sprintf("%s/%s/certification/v4/tcb?fmspc=%s&%s", b, tee, fmspc, set), headerTCBChain, &c.TCBInfo, &c.TCBInfoIssuerChain, jsonNextUpdate("tcbInfo"))
	get(fmt.Sprintf("%s/%s/certification/v4/qe/identity?%s", b, tee, set), headerQEChain, &c.QEIdentity, &c.QEIdentityIssuerChain, jsonNextUpdate("enclaveIdentity"))
	get(fmt.Sprintf("%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", b, req.CA), headerPCKCRLChain, &c.PCKCRL, &c.PCKCRLIssuerChain, crlNextUpdate)
	get(h.rootCRLURL, "", &c.RootCACRL, nil, crlNextUpdate)
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
	crl, err := pck.DecodeCRL(b, "CRL")
	if err != nil {
		return time.Time{}, err
	}
	return crl.NextUpdate, nil
}
