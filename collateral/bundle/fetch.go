package bundle

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// FetchOptions configures Fetch. Base URLs are the vendors' services when empty.
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
	// KDSURL is a mirror of AMD KDS.
	KDSURL string
	// SNPProduct names the AMD product of SEV-SNP reports that carry none (version 2).
	SNPProduct snp.Product
	// RIMURL is a mirror of NVIDIA's RIM service.
	RIMURL string
	// OCSPURL receives every OCSP query (empty: each certificate's responder).
	OCSPURL string
	// Now is the time at which every item must verify (zero: Clock()).
	Now time.Time
	// Clock stamps fetch times (nil: time.Now).
	Clock func() time.Time
	// Roots replace the pinned vendor roots (tests only).
	TDXRoots           []*x509.Certificate
	SNPRoots           []snp.Roots
	GPURoots, RIMRoots []*x509.Certificate
	// Producer is written into the manifest ("attest v1.2.3").
	Producer string
	// Logger receives progress at info level (nil: silent).
	Logger *slog.Logger
}

// Fetch gets exactly the collateral the given evidence needs, verifies it
// against the pinned roots at opts.Now before writing any of it, and writes
// a bundle with its manifest at dir (which must not exist or be empty).
// Identical needs of several evidences are fetched once. Nothing is written
// when an item fails: a bundle item that does not verify never reaches the
// disk. Evidence: Intel TDX quotes (TCB info, QE identity, PCK CRL, root CA
// CRL), AMD SEV-SNP reports (the VCEK unless the evidence carries it, the
// CRL of the signing key's kind), NVIDIA GPU and NVSwitch evidence (driver
// and firmware RIMs, nonce-less OCSP answers for the device and RIM signer
// chains). SNP and GPU evidence is verified as a whole (its report data
// unchecked) with the fetched collateral: that is how exactly what it needs
// is known, and checked. A TDX collateral set must be the one its quote's
// PCK chain asked for: its PCK CRL issued by the same PCK CA (platform or
// processor) and its TCB info for the same FMSPC, or ErrCollateral naming
// both values.
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
	kinds, err := classify(evidence, opts.SNPProduct)
	if err != nil {
		return nil, err
	}
	rec := &recorder{outer: ctx, inner: opts.Fetcher, clock: clock, log: log, seen: map[string]Source{}}
	if rec.inner == nil {
		rec.inner = &collateral.HTTPFetcher{}
	}
	// One store for every request: an item two evidences share is fetched once.
	store := collateral.NewMemoryStore(0, 0)
	w, err := newWriter(dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Manifest, error) { w.abort(); return nil, err }

	if ev := kinds[kindTDX]; len(ev) > 0 {
		if err := fetchTDX(ctx, ev, w, rec, store, now, opts, log); err != nil {
			return fail(err)
		}
	}
	if ev := kinds[kindSNP]; len(ev) > 0 {
		if err := fetchSNP(ctx, ev, w, rec, store, now, opts, log); err != nil {
			return fail(err)
		}
	}
	if ev := kinds[kindGPU]; len(ev) > 0 {
		if err := fetchGPU(ctx, ev, w, rec, store, now, opts, log); err != nil {
			return fail(err)
		}
	}
	m, err := w.commit(clock(), opts.Producer)
	if err != nil {
		return fail(err)
	}
	log.Info("bundle written", "dir", dir, "items", len(m.Items))
	return m, nil
}

// Evidence kinds Fetch and Inspect handle.
const (
	kindTDX = "tdx"
	kindSNP = "snp"
	kindGPU = "gpu"
)

// indexed is one evidence with its 1-based position among those given.
type indexed struct {
	n int
	b []byte
}

// classify sorts the evidence by kind; anything else is an error naming it.
func classify(evidence [][]byte, product snp.Product) (map[string][]indexed, error) {
	tv, err := tdx.NewVerifier(tdx.WithCollateral(tdx.NewMemorySource())) // for Detect only
	if err != nil {
		return nil, err
	}
	sv, err := snpVerifier(snp.NewMemorySource(), nil, product)
	if err != nil {
		return nil, err
	}
	gv, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	if err != nil {
		return nil, err
	}
	sw, err := gpu.NewVerifier(verify.FormatNVSwitch, gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	if err != nil {
		return nil, err
	}
	out := map[string][]indexed{}
	for i, ev := range evidence {
		switch {
		case tv.Detect(ev):
			out[kindTDX] = append(out[kindTDX], indexed{i + 1, ev})
		case sv.Detect(ev):
			out[kindSNP] = append(out[kindSNP], indexed{i + 1, ev})
		case gv.Detect(ev) || sw.Detect(ev):
			out[kindGPU] = append(out[kindGPU], indexed{i + 1, ev})
		default:
			return nil, verify.Errorf(verify.ErrUnsupported, "bundle: evidence %d: not an Intel TDX quote, AMD SEV-SNP report or NVIDIA GPU/NVSwitch evidence", i+1)
		}
	}
	return out, nil
}

func fetchTDX(ctx context.Context, evidence []indexed, w *writer, rec *recorder, store collateral.Store, now time.Time, opts FetchOptions, log *slog.Logger) error {
	needs, err := tdxNeeds(evidence)
	if err != nil {
		return err
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
	src, err := tdx.NewHTTPSource(opts.IntelURL, rec, store, hopts...)
	if err != nil {
		return err
	}
	for _, req := range needs {
		req.Now = now
		log.Info("fetching Intel collateral", "fmspc", fmt.Sprintf("%X", req.FMSPC), "ca", req.CA)
		c, err := src.Collateral(ctx, req)
		if err != nil {
			return err
		}
		info, err := tdx.VerifyCollateral(c, now, opts.TDXRoots...)
		if err != nil {
			return verify.Errorf(verify.ErrCollateral, "bundle: Intel collateral for fmspc %X (PCK %s CA) does not verify, nothing written: %w", req.FMSPC, req.CA, err)
		}
		if err := matchCollateral(req, info); err != nil {
			return err
		}
		log.Info("verified Intel collateral", "fmspc", fmt.Sprintf("%X", req.FMSPC), "tcbEvaluationDataNumber", info.TCBEvaluationDataNumber,
			"notAfter", info.NotAfter.UTC().Format(time.RFC3339), "limitedBy", info.LimitedBy)
		fmspc, ca := hex.EncodeToString(req.FMSPC[:]), req.CA
		provenance := func(key string) Source {
			switch key {
			case "tcb":
				return rec.findFold("fmspc=" + fmspc)
			case "qe":
				return rec.find("/qe/identity")
			case "pckcrl":
				return rec.find("ca=" + ca)
			}
			return rec.source("root")
		}
		if err := addTDX(w, c, info, provenance); err != nil {
			return err
		}
	}
	return nil
}

func fetchSNP(ctx context.Context, evidence []indexed, w *writer, rec *recorder, store collateral.Store, now time.Time, opts FetchOptions, log *slog.Logger) error {
	kds, err := snp.NewHTTPSource(opts.KDSURL, rec, store)
	if err != nil {
		return err
	}
	sr := newSNPRecorder(kds)
	v, err := snpVerifier(sr, opts.SNPRoots, opts.SNPProduct)
	if err != nil {
		return err
	}
	for _, ev := range evidence {
		log.Info("fetching AMD collateral", "evidence", ev.n)
		if err := verifySNP(ctx, v, ev.b, verify.Expectations{Now: now}); err != nil {
			return verify.Errorf(verify.ErrCollateral, "bundle: evidence %d (SEV-SNP) does not verify with the fetched collateral, nothing written: %w", ev.n, err)
		}
		for p, it := range sr.snapshot() {
			if it.data == nil {
				continue // the verifier did without (a VCEK from the evidence)
			}
			src := rec.find(snpURLPart(p))
			if err := w.add(p, it.kind, it.data, src, itemValidity(it.kind, it.data)); err != nil {
				return err
			}
		}
		log.Info("verified AMD collateral", "evidence", ev.n)
	}
	return nil
}

// snpURLPart is the part of a KDS URL that identifies the item at bundle path p.
func snpURLPart(p string) string {
	switch parts := strings.Split(p, "/"); {
	case len(parts) == 4 && parts[1] == "vcek":
		return "/" + parts[2] + "?"
	case len(parts) == 3 && parts[1] == "crl":
		prod, key, _ := strings.Cut(strings.TrimSuffix(parts[2], ".crl"), "_")
		return "/" + key + "/v1/" + prod + "/crl"
	}
	return "\x00"
}

func fetchGPU(ctx context.Context, evidence []indexed, w *writer, rec *recorder, store collateral.Store, now time.Time, opts FetchOptions, log *slog.Logger) error {
	rsrc, err := rim.NewHTTPSource(opts.RIMURL, rec, store)
	if err != nil {
		return err
	}
	osrc, err := ocsp.NewHTTPSource(opts.OCSPURL, rec, nil, ocsp.WithoutNonce(), ocsp.WithPOST())
	if err != nil {
		return err
	}
	rr := &rimRecorder{next: rsrc, docs: map[string][]byte{}}
	or := &ocspRecorder{next: osrc, answers: map[string][]byte{}}
	vs, rv, err := gpuVerifiers(rr, or, opts.GPURoots, opts.RIMRoots, false)
	if err != nil {
		return err
	}
	for _, ev := range evidence {
		log.Info("fetching NVIDIA RIMs and OCSP answers", "evidence", ev.n)
		var verr error
		done := false
		for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch} {
			if !vs[f].Detect(ev.b) {
				continue
			}
			_, verr = vs[f].Verify(ctx, ev.b, verify.Expectations{Now: now, AllowMissingReportDataUnsafe: true})
			done = true
			break
		}
		if !done {
			return verify.Errorf(verify.ErrUnsupported, "bundle: evidence %d: not NVIDIA GPU or NVSwitch evidence", ev.n)
		}
		if verr != nil {
			return verify.Errorf(verify.ErrCollateral, "bundle: evidence %d (NVIDIA) does not verify with the fetched RIMs and OCSP answers, nothing written: %w", ev.n, verr)
		}
		log.Info("verified NVIDIA collateral", "evidence", ev.n)
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for id, doc := range rr.docs {
		if doc == nil {
			continue
		}
		if err := w.add(join("gpu", "rims", id+".xml"), "gpu.rim", doc, rec.find("/"+id), rimValidity(rv, doc, now)); err != nil {
			return err
		}
	}
	or.mu.Lock()
	defer or.mu.Unlock()
	for p, der := range or.answers {
		if der == nil {
			continue
		}
		if err := w.add(p, "gpu.ocsp", der, rec.find("POST "), ocspValidity(der)); err != nil {
			return err
		}
	}
	return nil
}

// tdxNeeds returns the distinct collateral requests of TDX evidence.
func tdxNeeds(evidence []indexed) ([]tdx.CollateralRequest, error) {
	var needs []tdx.CollateralRequest
	seen := map[string]bool{}
	for _, ev := range evidence {
		req, err := tdx.CollateralNeed(ev.b)
		if err != nil {
			return nil, verify.Wrap(verify.ErrMalformed, fmt.Errorf("bundle: evidence %d: %w", ev.n, err))
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
	all   []Source          // every request, in order
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
	src := Source{URL: shown, Fetched: r.clock().UTC()}
	r.seen[urlKey(u)] = src
	r.all = append(r.all, src)
	r.mu.Unlock()
	return resp, nil
}

// Validate checks the wrapped fetcher's configuration when it can be checked
// (an HTTPFetcher's fields), as the sources do for a fetcher given to them.
func (r *recorder) Validate() error {
	if v, ok := r.inner.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

// Post implements collateral.Poster for OCSP queries.
func (r *recorder) Post(ctx context.Context, u, contentType string, body []byte) (*collateral.Response, error) {
	p, ok := r.inner.(collateral.Poster)
	if !ok {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: the fetcher cannot send a POST (OCSP queries need one)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(r.outer, cancel)
	defer stop()
	shown := collateral.ShownURL(u)
	r.log.Info("POST", "url", shown)
	resp, err := p.Post(ctx, u, contentType, body)
	if err != nil {
		r.log.Info("POST failed", "url", shown, "error", err)
		return nil, err
	}
	r.mu.Lock()
	r.all = append(r.all, Source{URL: "POST " + shown, Fetched: r.clock().UTC()})
	r.mu.Unlock()
	return resp, nil
}

// find returns the latest request whose URL contains part.
func (r *recorder) find(part string) Source {
	return r.match(func(u string) bool { return strings.Contains(u, part) })
}

// findFold is find ignoring case (FMSPCs are hex in either case).
func (r *recorder) findFold(part string) Source {
	part = strings.ToLower(part)
	return r.match(func(u string) bool { return strings.Contains(strings.ToLower(u), part) })
}

func (r *recorder) match(ok func(string) bool) Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.all) - 1; i >= 0; i-- {
		if ok(r.all[i].URL) {
			s := r.all[i]
			s.URL = strings.TrimPrefix(s.URL, "POST ")
			return s
		}
	}
	return Source{Fetched: r.clock().UTC()}
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
