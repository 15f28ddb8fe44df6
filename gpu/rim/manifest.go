package rim

import (
	"crypto/x509"
	"strings"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Manifest is a verified RIM: every field comes from the bytes covered by the
// RIM's XML signature, whose signer chains to a pinned root. A Manifest may be
// shared between callers (it is cached): treat it as read-only.
type Manifest struct {
	// ID is the RIM ID the document was fetched under (Verifier.Get); empty
	// when the document was verified from bytes alone (Verifier.Verify).
	ID string
	// Version is Meta/@colloquialVersion: the driver version ("550.90.07") or
	// the VBIOS / switch BIOS version ("96.00.9F.00.01").
	Version string
	// Kind is the kind of firmware, derived from the signed content: a
	// "SWITCH" edition is a switch BIOS, a five-byte-pair version a VBIOS,
	// anything else a driver.
	Kind Kind
	// Product is Meta/@product (e.g. "GH100", "LS10"); Edition is
	// Meta/@edition ("GPU", "SWITCH").
	Product, Edition string
	// Name and TagID are the SoftwareIdentity's name and tagId attributes.
	Name, TagID string
	// FirmwareManufacturerID is Meta/@FirmwareManufacturerId in the TCG RIM
	// namespace ("5703" for NVIDIA): NVIDIA's "oemid" claim.
	FirmwareManufacturerID string
	// Chain is the verified signer chain, signer first, ending with the
	// pinned root it was verified to. Revocation (OCSP) of Chain[:len-1] is
	// the caller's to check.
	Chain []*x509.Certificate
	// Measurements are the Payload's Resource entries in document order,
	// active and inactive.
	Measurements []Measurement
	// Digest is the SHA-256 of the document bytes as verified.
	Digest [32]byte
	// NotBefore and NotAfter bound the validity of Chain and of the
	// certificates embedded in the document: the latest notBefore and the
	// earliest notAfter among them.
	NotBefore, NotAfter time.Time
}

// Measurement is one golden measurement entry of a RIM.
type Measurement struct {
	// Index is the RIM index; it corresponds to SPDM measurement block Index+1.
	Index int
	// Name is the entry's name attribute, e.g. "Measurement_7".
	Name string
	// Active entries must be matched by the runtime measurement.
	Active bool
	// Size is the byte length every runtime value must have.
	Size int
	// Alternatives are the acceptable values (ns2:Hash0 … Hash{n-1}), each Size bytes.
	Alternatives [][]byte
}

// Active returns the active entries keyed by RIM index.
func (m *Manifest) Active() map[int]*Measurement {
	out := make(map[int]*Measurement)
	for i := range m.Measurements {
		if m.Measurements[i].Active {
			out[m.Measurements[i].Index] = &m.Measurements[i]
		}
	}
	return out
}

// Expect checks that the manifest is the one asked for: the RIM named id
// (derived from the signed report) for firmware version (from the same
// report). Both must be non-empty (ErrConfig). A mismatch is ErrCollateral,
// and for the version also ErrBinding: the RIM does not describe the firmware
// the device reports.
//
// Beyond m.ID (set when fetched by ID), Expect binds the ID to the signed
// content: the ID's kind must be the manifest's kind, the version embedded in
// the ID must be the manifest's version and, for driver RIMs, the chip in the
// ID must be the manifest's product.
func (m *Manifest) Expect(id, version string) error {
	if id == "" {
		return verify.Errorf(verify.ErrConfig, "rim: expected RIM ID is empty")
	}
	if version == "" {
		return verify.Errorf(verify.ErrConfig, "rim: expected RIM version is empty")
	}
	if m == nil {
		return verify.Errorf(verify.ErrCollateral, "rim: RIM %s: no manifest", id)
	}
	if m.Version != version {
		return verify.Errorf(verify.ErrCollateral, "rim: RIM %s colloquialVersion: expected %q, got %q: %w", id, version, m.Version, verify.ErrBinding)
	}
	if m.ID != "" && m.ID != id {
		return verify.Errorf(verify.ErrCollateral, "rim: RIM ID: expected %q, got %q", id, m.ID)
	}
	kind, err := KindOfID(id)
	if err != nil {
		return verify.Errorf(verify.ErrCollateral, "rim: expected RIM ID: %w", err)
	}
	if kind != m.Kind {
		return verify.Errorf(verify.ErrCollateral, "rim: RIM %s kind: expected %s, got %s (edition %q, version %q)", id, kind, m.Kind, m.Edition, m.Version)
	}
	var idVersion string
	switch kind {
	case KindDriver:
		// NV_GPU_DRIVER_<chip>_<version> or NV_GPU_CC_DRIVER_<chip>_<version>
		rest := strings.TrimPrefix(strings.TrimPrefix(id, prefixBlackwellDriver), prefixHopperDriver)
		chip, v, ok := strings.Cut(rest, "_")
		if !ok {
			return verify.Errorf(verify.ErrCollateral, "rim: RIM ID %q has no chip and version", id)
		}
		if !strings.EqualFold(chip, m.Product) {
			return verify.Errorf(verify.ErrCollateral, "rim: RIM %s product: expected %q, got %q", id, chip, m.Product)
		}
		idVersion = v
	case KindVBIOS, KindSwitchBIOS:
		i := strings.LastIndexByte(id, '_')
		idVersion = id[i+1:]
		v, err := firmwareVersionForID("RIM version", m.Version)
		if err != nil {
			return verify.Errorf(verify.ErrCollateral, "rim: RIM %s: %w", id, err)
		}
		if !strings.EqualFold(idVersion, v) {
			return verify.Errorf(verify.ErrCollateral, "rim: RIM %s version in ID: expected %q, got %q", id, idVersion, v)
		}
		return nil
	}
	if idVersion != m.Version {
		return verify.Errorf(verify.ErrCollateral, "rim: RIM %s version in ID: expected %q, got %q", id, idVersion, m.Version)
	}
	return nil
}

// clone returns a copy that shares no mutable state with m, so a cached
// manifest cannot be altered through a returned one.
func (m *Manifest) clone() *Manifest {
	c := *m
	c.Chain = append([]*x509.Certificate(nil), m.Chain...)
	c.Measurements = make([]Measurement, len(m.Measurements))
	// One backing array for all alternatives keeps the warm path to a few allocations.
	nAlt, nBytes := 0, 0
	for _, ms := range m.Measurements {
		nAlt += len(ms.Alternatives)
		for _, a := range ms.Alternatives {
			nBytes += len(a)
		}
	}
	alts := make([][]byte, 0, nAlt)
	buf := make([]byte, 0, nBytes)
	for i, ms := range m.Measurements {
		start := len(alts)
		for _, a := range ms.Alternatives {
			off := len(buf)
			buf = append(buf, a...)
			alts = append(alts, buf[off:len(buf):len(buf)])
		}
		ms.Alternatives = alts[start:len(alts):len(alts)]
		c.Measurements[i] = ms
	}
	return &c
}
