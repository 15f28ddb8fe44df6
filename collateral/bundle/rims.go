package bundle

import (
	"context"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// ImportNVIDIARIMs converts a directory of NVIDIA RIMs as published (files
// named anything) into the gpu/rims/ part of a bundle at dir, each written as
// <RIM ID>.xml. Every document's signature and signer chain is verified
// against the pinned NVIDIA RIM root (opts.RIMRoots in tests) at opts.Now
// (zero: the clock) before anything is written. The ID comes from the signed
// document: driver RIMs from their product and version, switch BIOS RIMs
// from their version. A VBIOS RIM does not carry the project and SKU fields
// of its ID, so its file must be named <RIM ID>.xml, and that ID's kind and
// version must match the signed document (rim.Manifest.Expect). Files that
// are not XML are skipped.
func ImportNVIDIARIMs(ctx context.Context, src fs.FS, dir string, opts ImportOptions) (*Manifest, error) {
	var ropts []rim.Option
	if len(opts.RIMRoots) > 0 {
		ropts = append(ropts, rim.WithRoots(opts.RIMRoots...))
	}
	rv, err := rim.NewVerifier(ropts...)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = opts.clock()
	}
	type doc struct {
		id   string
		data []byte
	}
	var docs []doc
	n := 0
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return verify.Errorf(verify.ErrConfig, "bundle: RIM directory: %w", err)
		}
		if d.IsDir() || !strings.EqualFold(path.Ext(p), ".xml") && !strings.EqualFold(path.Ext(p), ".swidtag") {
			return nil
		}
		if n++; n > maxImportFiles {
			return verify.Errorf(verify.ErrLimit, "bundle: more than %d RIM files", maxImportFiles)
		}
		b, err := readCapped(src, p)
		if err != nil {
			return err
		}
		m, err := rv.Verify(ctx, b, now)
		if err != nil {
			return verify.Errorf(verify.ErrCollateral, "bundle: RIM %s does not verify at %s: %w", p, now.UTC().Format(time.RFC3339), err)
		}
		id, err := rimID(m, strings.TrimSuffix(path.Base(p), path.Ext(p)))
		if err != nil {
			return verify.Errorf(verify.ErrCollateral, "bundle: RIM %s: %w", p, err)
		}
		docs = append(docs, doc{id, b})
		return nil
	})
	if err == nil && len(docs) == 0 {
		err = verify.Errorf(verify.ErrConfig, "bundle: no RIM (.xml) found")
	}
	if err != nil {
		return nil, err
	}
	w, err := newWriter(dir)
	if err != nil {
		return nil, err
	}
	stamp := Source{Imported: "nvidia-rims", Fetched: opts.clock().UTC()}
	for _, d := range docs {
		if err := w.add(join("gpu", "rims", d.id+".xml"), "gpu.rim", d.data, stamp, rimValidity(rv, d.data, now)); err != nil {
			w.abort()
			return nil, err
		}
	}
	m, err := w.commit(opts.clock(), opts.Producer)
	if err != nil {
		w.abort()
		return nil, err
	}
	return m, nil
}

// rimID derives the RIM ID of a verified manifest; stem (the file name) is
// used only for a VBIOS RIM, checked against the signed kind and version.
func rimID(m *rim.Manifest, stem string) (string, error) {
	var id string
	var err error
	switch {
	case m.Kind == rim.KindDriver && strings.HasPrefix(m.Product, "GH"):
		id, err = rim.DriverID(rim.ArchHopper, m.Version)
	case m.Kind == rim.KindDriver && strings.HasPrefix(m.Product, "GB"):
		id, err = rim.DriverIDForChip(rim.ArchBlackwell, m.Product, m.Version)
	case m.Kind == rim.KindSwitchBIOS && m.Product == "LS10":
		id, err = rim.SwitchBIOSID(rim.ArchLS10, m.Version)
	case m.Kind == rim.KindVBIOS:
		if rim.CheckID(stem) != nil {
			return "", verify.Errorf(verify.ErrCollateral, "a VBIOS RIM (version %s) does not carry the project and SKUs of its ID: name the file <RIM ID>.xml", m.Version)
		}
		id = stem
	default:
		return "", verify.Errorf(verify.ErrUnsupported, "no RIM ID for kind %s, product %q", m.Kind, m.Product)
	}
	if err != nil {
		return "", err
	}
	if err := m.Expect(id, m.Version); err != nil {
		return "", err
	}
	return id, nil
}
