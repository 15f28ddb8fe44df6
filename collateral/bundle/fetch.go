package bundle

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// FetchOptions configures Fetch.
type FetchOptions struct {
	// Fetcher does the requests (nil: a collateral.HTTPFetcher with its
	// defaults, which honours 429/503 with Retry-After).
	Fetcher collateral.Fetcher
	// IntelURL is the base URL of Intel PCS or a mirror (empty: Intel PCS).
	IntelURL string
	// PCCS says IntelURL is a PCCS (its root CA CRL comes from /rootcacrl).
	PCCS bool
	// Update selects Intel's TCB evaluation set: "standard" (default) or "early".
	Update string
	// TCBEvaluationDataNumber pins the evaluation set (contradicts Update and PCCS).
	TCBEvaluationDataNumber int
	// Now is the time at which every item must verify (zero: Clock()).
	Now time.Time
	// Clock stamps fetch times (nil: time.Now).
	Clock func() time.Time
	// TDXRoots replace the pinned Intel SGX Root CA (tests only).
	TDXRoots []*x509.Certificate
	// Producer is written into the manifest ("attest v1.2.3").
	Producer string
	// Logger receives progress at info level (nil: silent).
	Logger *slog.Logger
}

// Fetch gets exactly the collateral the given evidence needs, verifies each
// collateral set against the pinned roots at opts.Now before writing any of
// it, and writes a bundle with its manifest at dir (which must not exist or
// be empty). Identical needs of several evidences are fetched once. Nothing
// is written when an item fails: a bundle item that does not verify never
// reaches the disk. Supported evidence: Intel TDX quotes (raw or in the
// verifier's JSON form).
func Fetch(ctx context.Context, evidence [][]byte, dir string, opts FetchOptions) (*Manifest, error) {
	if len(evidence) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: Fetch: no evidence")
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	now := opts.Now
	if now.IsZero() {
		now = clock()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	needs, err := tdxNeeds(evidence)
	if err != nil {
		return nil, err
	}
	rec := &recorder{outer: ctx, inner: opts.Fetcher, clock: clock, log: log, seen: map[string]Source{}}
	if rec.inner == nil {
		rec.inner = &collateral.HTTPFetcher{}
	}
	var hopts []tdx.HTTPOption
	if opts.PCCS {
		hopts = append(hopts, tdx.WithPCCS())
	}
	if opts.Update != "" {
		hopts = append(hopts, tdx.WithUpdate(opts.Update))
	}
	if opts.TCBEvaluationDataNumber != 0 {
		hopts = append(hopts, tdx.WithTCBEvaluationDataNumber(opts.TCBEvaluationDataNumber))
	}
	// One store for every request: an item two platforms share (QE identity,
	// root CA CRL) is fetched once.
	src, err := tdx.NewHTTPSource(opts.IntelURL, rec, collateral.NewMemoryStore(0, 0), hopts...)
	if err != nil {
		return nil, err
	}
	w, err := newWriter(dir)
	if err != nil {
		return nil, err
	}
	for _, req := range needs {
		req.Now = now
		log.Info("fetching Intel collateral", "fmspc", fmt.Sprintf("%X", req.FMSPC), "ca", req.CA)
		c, err := src.Collateral(ctx, req)
		if err != nil {
			w.abort()
			return nil, err
		}
		info, err := tdx.VerifyCollateral(c, now, opts.TDXRoots...)
		if err != nil {
			w.abort()
			return nil, verify.Errorf(verify.ErrCollateral, "bundle: Intel collateral for fmspc %X (PCK %s CA) does not verify, nothing written: %w", req.FMSPC, req.CA, err)
		}
		if info.FMSPC != req.FMSPC {
			w.abort()
			return nil, verify.Errorf(verify.ErrCollateral, "bundle: TCB info fmspc: expected %X, got %X", req.FMSPC, info.FMSPC)
		}
		log.Info("verified Intel collateral", "fmspc", fmt.Sprintf("%X", req.FMSPC), "tcbEvaluationDataNumber", info.TCBEvaluationDataNumber,
			"notAfter", info.NotAfter.UTC().Format(time.RFC3339), "limitedBy", info.LimitedBy)
		if err := addTDX(w, c, info, rec.source); err != nil {
			w.abort()
			return nil, err
		}
	}
	m, err := w.commit(clock(), opts.Producer)
	if err != nil {
		w.abort()
		return nil, err
	}
	log.Info("bundle written", "dir", dir, "items", len(m.Items))
	return m, nil
}

// tdxNeeds returns the distinct collateral requests of the evidence; any
// evidence that is not a TDX quote is an error naming it.
func tdxNeeds(evidence [][]byte) ([]tdx.CollateralRequest, error) {
	v, err := tdx.NewVerifier(tdx.WithCollateral(tdx.NewMemorySource())) // for Detect only
	if err != nil {
		return nil, err
	}
	var needs []tdx.CollateralRequest
	seen := map[string]bool{}
	for i, ev := range evidence {
		if !v.Detect(ev) {
			return nil, verify.Errorf(verify.ErrUnsupported, "bundle: evidence %d: not an Intel TDX quote (the only evidence collateral fetching supports yet)", i+1)
		}
		req, err := tdx.CollateralNeed(ev)
		if err != nil {
			return nil, fmt.Errorf("bundle: evidence %d: %w", i+1, err)
		}
		k := fmt.Sprintf("%X/%s", req.FMSPC, req.CA)
		if !seen[k] {
			seen[k] = true
			needs = append(needs, req)
		}
	}
	return needs, nil
}

// recorder is a Fetcher that logs each request and remembers where and when
// each item came from, for the manifest.
type recorder struct {
	// outer is the context of the Fetch call. The cache fills with a
	// context detached from its caller (so that one caller giving up does
	// not fail the others); the cache here serves this call only, so its
	// requests end with the call.
	outer context.Context
	inner collateral.Fetcher
	clock func() time.Time
	log   *slog.Logger
	mu    sync.Mutex
	seen  map[string]Source // by urlKey
}

func (r *recorder) Fetch(ctx context.Context, u string) (*collateral.Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(r.outer, cancel)
	defer stop()
	shown := collateral.ShownURL(u)
	r.log.Info("GET", "url", shown)
	resp, err := r.inner.Fetch(ctx, u)
	if err != nil {
		r.log.Info("GET failed", "url", shown, "error", err)
		return nil, err
	}
	r.mu.Lock()
	r.seen[urlKey(u)] = Source{URL: shown, Fetched: r.clock().UTC()}
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) source(key string) Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[key]
}

// urlKey classifies an Intel collateral URL by the item it serves.
func urlKey(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch {
	case strings.HasSuffix(p.Path, "/tcb"):
		return "tcb"
	case strings.HasSuffix(p.Path, "/qe/identity"):
		return "qe"
	case strings.HasSuffix(p.Path, "/pckcrl"):
		return "pckcrl"
	default:
		return "root"
	}
}
