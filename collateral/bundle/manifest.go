// Package bundle makes, reads and checks offline collateral bundles: the
// directory layout the verifiers' FSSources read (tdx/, snp/, gpu/), plus a
// manifest.json recording, for each item, where it came from, when, its
// validity window and its SHA-256.
//
// Fetch gets exactly what given evidence needs from the vendor services (or
// a PCCS or mirror), verifies each item against the pinned roots before
// writing it, and writes the bundle with its manifest. Inspect says what a
// bundle holds, what expires first and what given evidence would still
// need. ImportDCAPQVL and ImportTrusteeKDS convert collateral in other
// projects' forms into a bundle.
//
// The manifest is provenance and an index, never trust: the verifiers
// re-verify every item from its signed bytes, and a bundle without a
// manifest still verifies.
package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// Format is the manifest's format identifier.
const Format = "attest-collateral-bundle/1"

// ManifestName is the manifest's file name at the root of a bundle.
const ManifestName = "manifest.json"

// Bounds on a manifest, so that reading one never allocates without bound.
const (
	MaxManifestBytes = 4 << 20
	MaxItems         = 10000
	maxPathLen       = 512
	maxURLLen        = 2048
)

// Manifest indexes a bundle.
type Manifest struct {
	// Format is always Format.
	Format string `json:"format"`
	// Created is when the bundle was written.
	Created time.Time `json:"created"`
	// Producer names the program that wrote the bundle.
	Producer string `json:"producer,omitempty"`
	// Items lists every file of the bundle the manifest vouches for.
	Items []Item `json:"items"`
}

// Item is one file of a bundle.
type Item struct {
	// Path is slash-separated, relative to the bundle root ("tdx/qe_identity.json").
	Path string `json:"path"`
	// Kind says what the item is: "tdx.tcb_info", "tdx.qe_identity",
	// "tdx.pck_crl", "tdx.root_ca_crl", their issuer chains with the suffix
	// ".issuer_chain", "snp.vcek", "snp.crl", "gpu.rim", "gpu.ocsp".
	Kind string `json:"kind"`
	// SHA256 is the lowercase hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// Source says where the item came from.
	Source Source `json:"source"`
	// Validity is the item's own validity window, read from its verified bytes.
	Validity Validity `json:"validity"`
}

// Source is the provenance of an item.
type Source struct {
	// URL is where the item was fetched from (empty when imported).
	URL string `json:"url,omitempty"`
	// Imported names the form an imported item came from ("dcap-qvl", "trustee-kds").
	Imported string `json:"imported,omitempty"`
	// Fetched is when the item was fetched or imported.
	Fetched time.Time `json:"fetched"`
}

// Validity is a validity window; a zero bound is unknown or open.
type Validity struct {
	// NotBefore is the item's issue date, thisUpdate or certificate notBefore.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// NotAfter is the item's nextUpdate or certificate notAfter.
	NotAfter time.Time `json:"notAfter,omitzero"`
}

// knownKinds are the kinds a manifest may name.
var knownKinds = map[string]bool{
	"tdx.tcb_info": true, "tdx.tcb_info.issuer_chain": true,
	"tdx.qe_identity": true, "tdx.qe_identity.issuer_chain": true,
	"tdx.pck_crl": true, "tdx.pck_crl.issuer_chain": true, "tdx.root_ca_crl": true,
	"snp.vcek": true, "snp.crl": true, "snp.cert_chain": true,
	"gpu.rim": true, "gpu.ocsp": true,
}

// ParseManifest decodes and checks a manifest: its format, the bounds on its
// size and item count, each path (relative, clean, no "..", unique), each
// kind and each SHA-256. Failures are verify.ErrMalformed or verify.ErrLimit.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestBytes {
		return nil, verify.Errorf(verify.ErrLimit, "bundle: manifest of %d bytes exceeds the cap of %d", len(b), MaxManifestBytes)
	}
	// Count items before decoding them all: a cheap bound on allocation.
	if n := bytes.Count(b, []byte(`"path"`)); n > MaxItems {
		return nil, verify.Errorf(verify.ErrLimit, "bundle: manifest: %d items exceed the cap of %d", n, MaxItems)
	}
	// The items are counted before they are decoded (itemList): the count
	// of "path" above misses items without one, and a megabyte of
	// [0,0,…] decoded into items allocated 480 times its size
	// (TestWorstShapeParse).
	var raw struct {
		Format   string    `json:"format"`
		Created  time.Time `json:"created"`
		Producer string    `json:"producer,omitempty"`
		Items    itemList  `json:"items"`
	}
	if err := decodeStrict(b, &raw); err != nil {
		return nil, err
	}
	m := Manifest{Format: raw.Format, Created: raw.Created, Producer: raw.Producer, Items: raw.Items}
	if m.Format != Format {
		return nil, verify.Errorf(verify.ErrMalformed, "bundle: manifest format: expected %q, got %q", Format, m.Format)
	}
	if len(m.Items) > MaxItems {
		return nil, verify.Errorf(verify.ErrLimit, "bundle: manifest: %d items exceed the cap of %d", len(m.Items), MaxItems)
	}
	seen := make(map[string]bool, len(m.Items))
	for i, it := range m.Items {
		if err := checkItem(it); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "bundle: manifest item %d: %w", i, err)
		}
		if seen[it.Path] {
			return nil, verify.Errorf(verify.ErrMalformed, "bundle: manifest item %d: path %q listed twice", i, it.Path)
		}
		seen[it.Path] = true
	}
	return &m, nil
}

// itemList is a manifest's items, counted before they are decoded.
// encoding/json decodes every occurrence of a repeated member, so each is
// counted, and one of the wrong type still fails the manifest.
type itemList []Item

// UnmarshalJSON refuses more than MaxItems items (ErrLimit), then decodes
// them strictly.
func (l *itemList) UnmarshalJSON(b []byte) error {
	if n := jsonbound.Elements(b); n > MaxItems {
		return verify.Errorf(verify.ErrLimit, "bundle: manifest: %d items exceed the cap of %d", n, MaxItems)
	}
	// b is exactly one value (encoding/json hands it over whole).
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*[]Item)(l))
}

// decodeStrict decodes the one JSON value b into v: unknown fields and
// trailing data are ErrMalformed.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, verify.ErrLimit) {
			return err
		}
		return verify.Errorf(verify.ErrMalformed, "bundle: manifest: %w", err)
	}
	// Not dec.More(), which reports false before a stray ']' or '}'.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return verify.Errorf(verify.ErrMalformed, "bundle: manifest: data after the JSON object")
	}
	return nil
}

func checkItem(it Item) error {
	if len(it.Path) > maxPathLen || !fs.ValidPath(it.Path) || it.Path == "." || it.Path == ManifestName || strings.Contains(it.Path, `\`) {
		return verify.Errorf(verify.ErrMalformed, "path %q: expected a clean relative slash-separated path", truncate(it.Path))
	}
	if !knownKinds[it.Kind] {
		return verify.Errorf(verify.ErrMalformed, "kind %q of %s: unknown", truncate(it.Kind), it.Path)
	}
	if d, err := hex.DecodeString(it.SHA256); err != nil || len(d) != 32 || strings.ToLower(it.SHA256) != it.SHA256 {
		return verify.Errorf(verify.ErrMalformed, "sha256 of %s: expected 64 lowercase hex digits, got %q", it.Path, truncate(it.SHA256))
	}
	if it.Size < 0 {
		return verify.Errorf(verify.ErrMalformed, "size of %s: negative (%d)", it.Path, it.Size)
	}
	if len(it.Source.URL) > maxURLLen {
		return verify.Errorf(verify.ErrLimit, "source URL of %s: %d bytes exceed the cap of %d", it.Path, len(it.Source.URL), maxURLLen)
	}
	if !it.Validity.NotBefore.IsZero() && !it.Validity.NotAfter.IsZero() && it.Validity.NotAfter.Before(it.Validity.NotBefore) {
		return verify.Errorf(verify.ErrMalformed, "validity of %s: notAfter %s before notBefore %s", it.Path,
			it.Validity.NotAfter.Format(time.RFC3339), it.Validity.NotBefore.Format(time.RFC3339))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Earliest returns the item whose validity ends first, and false when no
// item has an end.
func (m *Manifest) Earliest() (Item, bool) {
	var best Item
	found := false
	for _, it := range m.Items {
		if it.Validity.NotAfter.IsZero() {
			continue
		}
		if !found || it.Validity.NotAfter.Before(best.Validity.NotAfter) {
			best, found = it, true
		}
	}
	return best, found
}
