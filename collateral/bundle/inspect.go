package bundle

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// InspectOptions configures Inspect.
type InspectOptions struct {
	// Now is the time at which expiry and verification are judged (zero: time.Now()).
	Now time.Time
	// SNPProduct names the AMD product of SEV-SNP reports that carry none.
	SNPProduct snp.Product
	// Roots replace the pinned vendor roots (tests only).
	TDXRoots           []*x509.Certificate
	SNPRoots           []snp.Roots
	GPURoots, RIMRoots []*x509.Certificate
}

// ItemStatus is one manifest item as found on disk.
type ItemStatus struct {
	Item
	// Problem is empty when the file is present, its SHA-256 and size match
	// the manifest, and it is valid at the inspection time.
	Problem string `json:"problem,omitempty"`
}

// Need is one item some evidence needs.
type Need struct {
	// Evidence is the 1-based index of the evidence.
	Evidence int `json:"evidence"`
	// Path is where the bundle must hold the item.
	Path string `json:"path"`
	// Present says whether the bundle holds it.
	Present bool `json:"present"`
}

// Report is what Inspect found.
type Report struct {
	// Now is the inspection time.
	Now time.Time `json:"now"`
	// Manifest is false for a bundle without manifest.json.
	Manifest bool `json:"manifest"`
	// Created and Producer come from the manifest.
	Created  time.Time `json:"created,omitzero"`
	Producer string    `json:"producer,omitempty"`
	// Items are the manifest's items, in its order.
	Items []ItemStatus `json:"items"`
	// Earliest is the item whose validity ends first (nil when none has an end).
	Earliest *Item `json:"earliest,omitempty"`
	// Needs lists what the given evidence needs, present or not.
	Needs []Need `json:"needs,omitempty"`
	// Problems are failures to verify the collateral the evidence needs.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether every item is intact and valid, and the evidence needs nothing more.
func (r *Report) OK() bool {
	for _, it := range r.Items {
		if it.Problem != "" {
			return false
		}
	}
	for _, n := range r.Needs {
		if !n.Present {
			return false
		}
	}
	return len(r.Problems) == 0
}

// Inspect reads the bundle in fsys: its manifest (re-hashing every item
// and checking its validity window at opts.Now), the item that expires
// first, and, for each given evidence, what it needs and whether that is
// present and verifies. A malformed manifest is an error; a missing one is
// reported (a bundle without manifest still verifies).
func Inspect(ctx context.Context, fsys fs.FS, evidence [][]byte, opts InspectOptions) (*Report, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &Report{Now: now.UTC(), Items: []ItemStatus{}}
	mb, err := readCappedN(fsys, ManifestName, MaxManifestBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		m, err := ParseManifest(mb)
		if err != nil {
			return nil, err
		}
		r.Manifest, r.Created, r.Producer = true, m.Created, m.Producer
		for _, it := range m.Items {
			r.Items = append(r.Items, ItemStatus{Item: it, Problem: itemProblem(fsys, it, now)})
		}
		if e, ok := m.Earliest(); ok {
			r.Earliest = &e
		}
	}
	if len(evidence) == 0 {
		return r, nil
	}
	kinds, err := classify(evidence, opts.SNPProduct)
	if err != nil {
		return nil, err
	}
	if err := inspectTDX(ctx, fsys, kinds[kindTDX], now, opts, r); err != nil {
		return nil, err
	}
	if err := inspectSNP(ctx, fsys, kinds[kindSNP], now, opts, r); err != nil {
		return nil, err
	}
	if err := inspectGPU(ctx, fsys, kinds[kindGPU], now, opts, r); err != nil {
		return nil, err
	}
	return r, nil
}

func subFS(fsys fs.FS, dir string) (fs.FS, bool) {
	if st, err := fs.Stat(fsys, dir); err != nil || !st.IsDir() {
		return nil, false
	}
	sub, err := fs.Sub(fsys, dir)
	return sub, err == nil
}

func inspectTDX(ctx context.Context, fsys fs.FS, evidence []indexed, now time.Time, opts InspectOptions, r *Report) error {
	if len(evidence) == 0 {
		return nil
	}
	sub, ok := subFS(fsys, "tdx")
	if !ok {
		sub = emptyFS{}
	}
	src, err := tdx.NewFSSource(sub)
	if err != nil {
		return err
	}
	for _, ev := range evidence {
		req, err := tdx.CollateralNeed(ev.b)
		if err != nil {
			return verify.Wrap(verify.ErrMalformed, fmt.Errorf("bundle: evidence %d: %w", ev.n, err))
		}
		complete := true
		for _, it := range tdxItems(&tdx.Collateral{}, "TDX", req.FMSPC, req.CA) {
			_, err := fs.Stat(fsys, it.path)
			r.Needs = append(r.Needs, Need{Evidence: ev.n, Path: it.path, Present: err == nil})
			complete = complete && err == nil
		}
		if !complete {
			continue
		}
		c, err := src.Collateral(ctx, req)
		if err == nil {
			_, err = tdx.VerifyCollateral(c, now, opts.TDXRoots...)
		}
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("evidence %d: Intel collateral for fmspc %X: %v", ev.n, req.FMSPC, err))
		}
	}
	return nil
}

func inspectSNP(ctx context.Context, fsys fs.FS, evidence []indexed, now time.Time, opts InspectOptions, r *Report) error {
	if len(evidence) == 0 {
		return nil
	}
	sub, ok := subFS(fsys, "snp")
	if !ok {
		sub = emptyFS{}
	}
	src, err := snp.NewFSSource(sub)
	if err != nil {
		return err
	}
	sr := newSNPRecorder(src)
	v, err := snpVerifier(sr, opts.SNPRoots, opts.SNPProduct)
	if err != nil {
		return err
	}
	for _, ev := range evidence {
		verr := verifySNP(ctx, v, ev.b, verify.Expectations{Now: now})
		for p, it := range sr.snapshot() {
			r.Needs = append(r.Needs, Need{Evidence: ev.n, Path: p, Present: it.data != nil})
		}
		if verr != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("evidence %d: SEV-SNP: %v", ev.n, verr))
		}
	}
	return nil
}

func inspectGPU(ctx context.Context, fsys fs.FS, evidence []indexed, now time.Time, opts InspectOptions, r *Report) error {
	if len(evidence) == 0 {
		return nil
	}
	rimFS, ok := subFS(fsys, "gpu/rims")
	if !ok {
		rimFS = emptyFS{}
	}
	rsrc, err := rim.NewFSSource(rimFS)
	if err != nil {
		return err
	}
	var osrc ocsp.Source
	if ocspFS, ok := subFS(fsys, "gpu/ocsp"); ok {
		if osrc, err = ocsp.NewFSSource(ocspFS); err != nil {
			return err
		}
	} else if osrc, err = ocsp.NewMemorySource(); err != nil {
		return err
	}
	rr := &rimRecorder{next: rsrc, docs: map[string][]byte{}}
	or := &ocspRecorder{next: osrc, answers: map[string][]byte{}}
	vs, _, err := gpuVerifiers(rr, or, opts.GPURoots, opts.RIMRoots, true)
	if err != nil {
		return err
	}
	for _, ev := range evidence {
		var verr error
		for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch} {
			if vs[f].Detect(ev.b) {
				_, verr = vs[f].Verify(ctx, ev.b, verify.Expectations{Now: now, AllowMissingReportDataUnsafe: true})
				break
			}
		}
		rr.mu.Lock()
		for id, doc := range rr.docs {
			r.Needs = append(r.Needs, Need{Evidence: ev.n, Path: join("gpu", "rims", id+".xml"), Present: doc != nil})
		}
		rr.docs = map[string][]byte{}
		rr.mu.Unlock()
		or.mu.Lock()
		for p, der := range or.answers {
			r.Needs = append(r.Needs, Need{Evidence: ev.n, Path: p, Present: der != nil})
		}
		or.answers = map[string][]byte{}
		or.mu.Unlock()
		if verr != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("evidence %d: NVIDIA: %v", ev.n, verr))
		}
	}
	return nil
}

func itemProblem(fsys fs.FS, it Item, now time.Time) string {
	b, err := readCappedN(fsys, it.Path, maxImportFileSize)
	if err != nil {
		return fmt.Sprintf("unreadable: %v", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != it.SHA256 || int64(len(b)) != it.Size {
		return fmt.Sprintf("changed: sha256 %s (%d bytes), manifest says %s (%d bytes)", got, len(b), it.SHA256, it.Size)
	}
	if !it.Validity.NotAfter.IsZero() && now.After(it.Validity.NotAfter) {
		return "expired at " + it.Validity.NotAfter.UTC().Format(time.RFC3339)
	}
	if !it.Validity.NotBefore.IsZero() && now.Before(it.Validity.NotBefore) {
		return "not valid before " + it.Validity.NotBefore.UTC().Format(time.RFC3339)
	}
	return ""
}

// emptyFS is a file system with nothing in it, for a bundle lacking a part.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
