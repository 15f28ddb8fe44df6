package gpu

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Value types of NVDAOD opaque entries (rmDataValueType). Only MIN_SVN has
// a published meaning: a security version number a reference value floors.
const (
	OpaqueValueFWID   = 0x01
	OpaqueValueMinSVN = 0x87
)

// OpaqueValueTypeName returns the name of an NVDAOD value type ("MIN_SVN",
// "FWID") or "UNKNOWN_0x<n>".
func OpaqueValueTypeName(t uint16) string {
	switch t {
	case OpaqueValueMinSVN:
		return "MIN_SVN"
	case OpaqueValueFWID:
		return "FWID"
	}
	return fmt.Sprintf("UNKNOWN_%#x", t)
}

// MaxOpaqueRecords bounds the opaque reference records one comparison takes.
const MaxOpaqueRecords = 256

// maxOpaqueRecordName bounds a record name: it becomes a claim key.
const maxOpaqueRecordName = 128

// OpaqueRecord is a reference value for one opaque-data entry, as NVIDIA's
// RIMs carry them next to the measurement hashes (the opaque-data RIM
// attributes): the entry of type TypeID must be a MIN_SVN whose value is at
// least MinSVN. Name labels the record in the claims.
type OpaqueRecord struct {
	TypeID uint16
	Name   string
	MinSVN uint64
	// IncludeInResult puts the entry's runtime value in the claim
	// x-nvidia-attester-claims under Name.
	IncludeInResult bool
}

// OpaqueMismatch is one reference record the opaque data did not meet, in
// the shape of NVIDIA's claims 4.0 x-nvidia-mismatch-opaque-data-records.
type OpaqueMismatch struct {
	ID          uint16
	Name        string
	GoldenType  string // "MIN_SVN"
	GoldenValue uint64
	// HasRuntime is false when the entry is absent, not a MIN_SVN, or not a
	// number: there is no runtime value to show.
	HasRuntime   bool
	RuntimeType  string
	RuntimeValue uint64
}

// String describes the mismatch with both values.
func (m OpaqueMismatch) String() string {
	if !m.HasRuntime {
		return fmt.Sprintf("opaque record %s (type %d): expected %s ≥ %d, the report has no such value", m.Name, m.ID, m.GoldenType, m.GoldenValue)
	}
	return fmt.Sprintf("opaque record %s (type %d): expected %s ≥ %d, got %d", m.Name, m.ID, m.GoldenType, m.GoldenValue, m.RuntimeValue)
}

// Map returns the claims 4.0 record: id, name, goldenType, goldenValue and,
// when there is one, runtimeType and runtimeValue (numbers as int64, as in
// NRAS results).
func (m OpaqueMismatch) Map() map[string]any {
	r := map[string]any{"id": int64(m.ID), "name": m.Name, "goldenType": m.GoldenType, "goldenValue": claimNumber(m.GoldenValue)}
	if m.HasRuntime {
		r["runtimeType"], r["runtimeValue"] = m.RuntimeType, claimNumber(m.RuntimeValue)
	}
	return r
}

// OpaqueComparison is the result of comparing opaque data with reference
// records.
type OpaqueComparison struct {
	Mismatches []OpaqueMismatch
	// AttesterClaims are the runtime MIN_SVN values of the records marked
	// IncludeInResult, by record name (x-nvidia-attester-claims).
	AttesterClaims map[string]uint64
}

// OK reports whether every record was met.
func (c *OpaqueComparison) OK() bool { return c != nil && len(c.Mismatches) == 0 }

// CheckOpaqueRecords checks a set of reference records before use: at most
// MaxOpaqueRecords, each with a printable name, and no two with the same type
// or the same name (NVIDIA's RimMeasurementConflict: the attester claims are
// keyed by name, so a second record would silently overwrite the first).
// Errors are verify.ErrConfig.
func CheckOpaqueRecords(recs []OpaqueRecord) error {
	if len(recs) > MaxOpaqueRecords {
		return verify.Errorf(verify.ErrConfig, "opaque records: %d, at most %d", len(recs), MaxOpaqueRecords)
	}
	byType := make(map[uint16]string, len(recs))
	byName := make(map[string]uint16, len(recs))
	for _, r := range recs {
		if r.Name == "" || len(r.Name) > maxOpaqueRecordName || strings.ContainsFunc(r.Name, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			return verify.Errorf(verify.ErrConfig, "opaque record of type %d: name %q, expected 1..%d printable ASCII characters", r.TypeID, r.Name, maxOpaqueRecordName)
		}
		if other, dup := byType[r.TypeID]; dup {
			return verify.Errorf(verify.ErrConfig, "opaque records %q and %q both floor type %d", other, r.Name, r.TypeID)
		}
		if other, dup := byName[r.Name]; dup {
			return verify.Errorf(verify.ErrConfig, "opaque records of types %d and %d are both named %q", other, r.TypeID, r.Name)
		}
		byType[r.TypeID], byName[r.Name] = r.Name, r.TypeID
	}
	return nil
}

// CompareOpaqueRecords compares the opaque data of a verified report with
// reference records, as NVIDIA's verifier does: a record is met when the
// report has an entry of its type whose value type is MIN_SVN and whose
// value, a little-endian unsigned number of 1 to 8 bytes, is at least the
// record's MinSVN (a numeric floor, not a hash: equal passes). An absent
// entry, another value type (the legacy TLV format has none) or a value that
// is not such a number is a mismatch with no runtime value. Records marked
// IncludeInResult whose entry is a MIN_SVN number yield an attester claim
// with the runtime value, met or not. Call CheckOpaqueRecords first.
func CompareOpaqueRecords(o *OpaqueData, recs []OpaqueRecord) *OpaqueComparison {
	c := &OpaqueComparison{AttesterClaims: map[string]uint64{}}
	for _, r := range recs {
		mm := OpaqueMismatch{ID: r.TypeID, Name: r.Name, GoldenType: OpaqueValueTypeName(OpaqueValueMinSVN), GoldenValue: r.MinSVN}
		runtime, ok := o.minSVN(r.TypeID)
		if !ok {
			c.Mismatches = append(c.Mismatches, mm)
			continue
		}
		if r.IncludeInResult {
			c.AttesterClaims[r.Name] = runtime
		}
		if runtime < r.MinSVN {
			mm.HasRuntime, mm.RuntimeType, mm.RuntimeValue = true, mm.GoldenType, runtime
			c.Mismatches = append(c.Mismatches, mm)
		}
	}
	return c
}

// minSVN returns the value of the entry of type t when it is a MIN_SVN
// number.
func (o *OpaqueData) minSVN(t uint16) (uint64, bool) {
	i, ok := o.byType[t]
	if !ok || o.Format != OpaqueVersioned {
		return 0, false
	}
	f := o.Fields[i]
	if f.ValueType != OpaqueValueMinSVN || len(f.Value) == 0 || len(f.Value) > 8 {
		return 0, false
	}
	var buf [8]byte
	copy(buf[:], f.Value)
	return binary.LittleEndian.Uint64(buf[:]), true
}
