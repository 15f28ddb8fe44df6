package verify

import (
	"bytes"
	"time"
)

// The small optional interfaces below carry what differs from one evidence
// format to the next, so that a new TEE is its own package plus one
// registration: the composite appraiser, package binding and package kbs ask
// the verifier instead of switching on its Format.

// SubmodClasser is implemented by verifiers that say which Trustee
// submodule class their evidence belongs to: "cpu", "gpu", "switch", … The
// appraiser names unnamed submodules <class><n>; a verifier without it is of
// class "device".
type SubmodClasser interface {
	SubmodClass() string
}

// Submodule classes of the verifiers that ship with attest.
const (
	ClassCPU    = "cpu"
	ClassGPU    = "gpu"
	ClassSwitch = "switch"
	ClassDevice = "device" // the class of a verifier that names none
)

// ExpiringClaims is implemented by claims whose verification relied on
// something that expires: collateral, certificates, CRLs, RIMs. Expiry is
// the earliest such expiry (ok false when there is none), so that a token
// can be capped not to outlive its evidence (Outcome.NotAfter).
type ExpiringClaims interface {
	Expiry() (t time.Time, ok bool)
}

// TEENamer is implemented by verifiers whose evidence has a name in the KBS
// protocol (kbs-types' Tee: "tdx", "snp", "az-snp-vtpm", "nvidia", …).
// Package kbs routes a request's TEE name to the verifier that answers to it
// and names the verified claims by it in Trustee-shaped tokens.
type TEENamer interface {
	TEEName() string
}

// Placement is how a runtime-data digest D becomes the report data a
// format's evidence carries.
type Placement int

// Placements of a runtime-data digest.
const (
	// PlacePadded: D followed by zero bytes up to Size (TDX, SEV-SNP
	// REPORTDATA).
	PlacePadded Placement = iota + 1
	// PlaceTruncated: the first Size bytes of D (SPDM nonce, TPM extraData).
	PlaceTruncated
	// PlaceExact: D itself, at most Size bytes (Azure vTPM extraData).
	PlaceExact
)

// ReportDataPlacement says where a format's evidence carries a session's
// runtime-data digest.
type ReportDataPlacement struct {
	Mode Placement
	Size int // bytes of the field
}

// Place returns the Expectations.ReportData for digest d. An empty digest,
// a digest too long for a padded or exact field or too short for a
// truncated one, and an unknown mode are ErrConfig errors.
func (p ReportDataPlacement) Place(d []byte) ([]byte, error) {
	if len(d) == 0 {
		return nil, Errorf(ErrConfig, "report data: empty runtime-data digest")
	}
	if p.Size <= 0 {
		return nil, Errorf(ErrConfig, "report data: field of %d bytes", p.Size)
	}
	switch p.Mode {
	case PlacePadded, PlaceExact:
		if len(d) > p.Size {
			return nil, Errorf(ErrConfig, "report data: digest of %d bytes exceeds the %d-byte field", len(d), p.Size)
		}
		if p.Mode == PlaceExact {
			return bytes.Clone(d), nil
		}
		out := make([]byte, p.Size)
		copy(out, d)
		return out, nil
	case PlaceTruncated:
		if len(d) < p.Size {
			return nil, Errorf(ErrConfig, "report data: digest of %d bytes, the %d-byte field needs at least as many", len(d), p.Size)
		}
		return bytes.Clone(d[:p.Size]), nil
	}
	return nil, Errorf(ErrConfig, "report data: unknown placement %d", p.Mode)
}

// ReportDataPlacer is implemented by verifiers that say where their
// evidence carries a session's runtime-data digest (package binding's
// ExpectFor uses it).
type ReportDataPlacer interface {
	ReportDataPlacement() ReportDataPlacement
}
