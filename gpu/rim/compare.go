package rim

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// NVDEC0_STATUS values of the signed report's opaque data.
const (
	NVDEC0Enabled  byte = 0xAA
	NVDEC0Disabled byte = 0x55
)

// nvdec0Index is the RIM index of the NVDEC0 measurement, which a GPU with
// NVDEC0 disabled does not extend.
const nvdec0Index = 35

// CompareOptions carries what the signed report says beyond its measurement
// blocks.
type CompareOptions struct {
	// NVDEC0Status is the report's NVDEC0_STATUS byte, meaningful when
	// HasNVDEC0Status is set. NVDEC0Disabled (0x55) skips RIM index 35;
	// NVDEC0Enabled (0xAA) compares it; any other value is ErrMalformed.
	// Without a status (old firmware) index 35 is compared: skipping is
	// only ever done on the report's say-so.
	NVDEC0Status    byte
	HasNVDEC0Status bool
}

// Comparison is the outcome of matching the golden measurements of one or
// two RIMs with the measurement blocks of a report.
type Comparison struct {
	// Matched lists the RIM indices whose runtime value matched, ascending.
	Matched []int
	// Skipped lists the active RIM indices not compared (index 35 when
	// NVDEC0 is disabled).
	Skipped []int
	// Mismatches lists every active entry the report did not match, by index.
	Mismatches []Mismatch
	// Conflicts lists RIM indices active in both the driver and the VBIOS RIM.
	Conflicts []int
}

// OK reports whether every compared entry matched and nothing conflicted.
func (c *Comparison) OK() bool {
	return c != nil && len(c.Mismatches) == 0 && len(c.Conflicts) == 0
}

// Mismatch is one active golden entry that the report did not match.
type Mismatch struct {
	// Index is the RIM index; the report's block is Index+1.
	Index int
	// Source is the kind of RIM the entry came from.
	Source Kind
	// Name is the RIM entry's name.
	Name string
	// ExpectedSize is the entry's size; Expected its alternatives.
	ExpectedSize int
	Expected     [][]byte
	// Missing is set when the report has no block Index+1; then Actual is nil.
	Missing bool
	// ActualSize and Actual are the report's value.
	ActualSize int
	Actual     []byte
}

// String names the index, the RIM entry, the expected alternatives and the
// report's value.
func (m Mismatch) String() string {
	alts := make([]string, len(m.Expected))
	for i, a := range m.Expected {
		alts[i] = fmt.Sprintf("%x", a)
	}
	if m.Missing {
		return fmt.Sprintf("index %d (%s RIM %s): expected one of [%s] (size %d), report has no block %d",
			m.Index, m.Source, m.Name, strings.Join(alts, " "), m.ExpectedSize, m.Index+1)
	}
	return fmt.Sprintf("index %d (%s RIM %s): expected one of [%s] (size %d), got %x (size %d)",
		m.Index, m.Source, m.Name, strings.Join(alts, " "), m.ExpectedSize, m.Actual, m.ActualSize)
}

// Compare matches the active entries of a GPU's driver and VBIOS RIMs with the
// measurement blocks of its signed report (report maps SPDM block index, from
// 1, to the block's value): RIM index i is block i+1; each active entry must
// equal one of its alternatives and have its size; a missing block is a
// mismatch; an index active in both RIMs is a conflict. NVDEC0 handling is as
// in CompareOptions.
//
// On success it returns the comparison and nil. On mismatches or conflicts it
// returns the comparison, listing every one, and an ErrPolicy error naming
// them. Wrong inputs (nil or wrong-kind manifests, empty report, unknown
// NVDEC0 status) are ErrConfig or ErrMalformed with a nil comparison.
func Compare(driver, vbios *Manifest, report map[int][]byte, opts CompareOptions) (*Comparison, error) {
	c, err := NewComparer(driver, vbios)
	if err != nil {
		return nil, err
	}
	return c.Compare(report, opts)
}

// CompareSwitch matches the active entries of an NVSwitch's BIOS RIM with the
// measurement blocks of its signed report, by the same rule as Compare.
func CompareSwitch(bios *Manifest, report map[int][]byte) (*Comparison, error) {
	c, err := NewSwitchComparer(bios)
	if err != nil {
		return nil, err
	}
	return c.Compare(report, CompareOptions{})
}

// Comparer holds the golden measurements of a GPU's driver and VBIOS RIMs, or
// of a switch's BIOS RIM, merged and ordered by index once, to compare the
// reports of many devices with. It is immutable and safe for concurrent use.
type Comparer struct {
	goldens   []golden // active entries by index, the first of an index only
	conflicts []int    // indices active in both RIMs
}

type golden struct {
	m   *Measurement
	src Kind
}

// NewComparer prepares the comparison of GPU reports with driver and vbios.
func NewComparer(driver, vbios *Manifest) (*Comparer, error) {
	if driver == nil || vbios == nil {
		return nil, verify.Errorf(verify.ErrConfig, "rim: Compare needs both a driver and a VBIOS manifest")
	}
	if driver.Kind != KindDriver {
		return nil, verify.Errorf(verify.ErrConfig, "rim: Compare driver manifest: expected kind %s, got %s", KindDriver, driver.Kind)
	}
	if vbios.Kind != KindVBIOS {
		return nil, verify.Errorf(verify.ErrConfig, "rim: Compare VBIOS manifest: expected kind %s, got %s", KindVBIOS, vbios.Kind)
	}
	return newComparer(driver, vbios), nil
}

// NewSwitchComparer prepares the comparison of NVSwitch reports with bios.
func NewSwitchComparer(bios *Manifest) (*Comparer, error) {
	if bios == nil {
		return nil, verify.Errorf(verify.ErrConfig, "rim: CompareSwitch needs a switch BIOS manifest")
	}
	if bios.Kind != KindSwitchBIOS {
		return nil, verify.Errorf(verify.ErrConfig, "rim: CompareSwitch manifest: expected kind %s, got %s", KindSwitchBIOS, bios.Kind)
	}
	return newComparer(bios), nil
}

func newComparer(rims ...*Manifest) *Comparer {
	n := 0
	for _, r := range rims {
		n += len(r.Measurements)
	}
	all := make([]golden, 0, n)
	for _, r := range rims {
		for i := range r.Measurements {
			if ms := &r.Measurements[i]; ms.Active {
				all = append(all, golden{ms, r.Kind})
			}
		}
	}
	// By index, keeping RIM order within one: the first golden value of an
	// index counts, and a later one from the other RIM is a conflict.
	slices.SortStableFunc(all, func(a, b golden) int { return cmp.Compare(a.m.Index, b.m.Index) })
	c := &Comparer{goldens: all[:0]}
	for _, g := range all {
		if k := len(c.goldens); k > 0 && c.goldens[k-1].m.Index == g.m.Index {
			if c.goldens[k-1].src != g.src {
				c.conflicts = append(c.conflicts, g.m.Index)
			}
			continue
		}
		c.goldens = append(c.goldens, g)
	}
	return c
}

// Compare matches report (SPDM block index, from 1, to value) with the
// golden measurements, by the rule and with the results of the package-level
// Compare.
func (c *Comparer) Compare(report map[int][]byte, opts CompareOptions) (*Comparison, error) {
	if len(report) == 0 {
		if _, err := nvdec0Skip(opts); err != nil {
			return nil, err
		}
		return nil, verify.Errorf(verify.ErrConfig, "rim: report has no measurement blocks")
	}
	return c.CompareFunc(func(i int) ([]byte, bool) { v, ok := report[i]; return v, ok }, opts)
}

func nvdec0Skip(opts CompareOptions) (bool, error) {
	if !opts.HasNVDEC0Status {
		return false, nil
	}
	switch opts.NVDEC0Status {
	case NVDEC0Enabled:
		return false, nil
	case NVDEC0Disabled:
		return true, nil
	}
	return false, verify.Errorf(verify.ErrMalformed, "rim: NVDEC0_STATUS: expected %#02x or %#02x, got %#02x", NVDEC0Enabled, NVDEC0Disabled, opts.NVDEC0Status)
}

// CompareFunc is Compare for a report read through measurement, which returns
// the value of the block with an SPDM index and whether the report has it; a
// report must have at least one block.
func (c *Comparer) CompareFunc(measurement func(index int) ([]byte, bool), opts CompareOptions) (*Comparison, error) {
	skip35, err := nvdec0Skip(opts)
	if err != nil {
		return nil, err
	}
	if measurement == nil {
		return nil, verify.Errorf(verify.ErrConfig, "rim: no report to compare")
	}
	res := &Comparison{Conflicts: slices.Clone(c.conflicts)}
	if len(c.goldens) > 0 {
		res.Matched = make([]int, 0, len(c.goldens))
	}
	for _, g := range c.goldens {
		i := g.m.Index
		if skip35 && i == nvdec0Index {
			res.Skipped = append(res.Skipped, i)
			continue
		}
		actual, ok := measurement(i + 1)
		if ok && len(actual) == g.m.Size && slices.ContainsFunc(g.m.Alternatives, func(alt []byte) bool { return bytes.Equal(actual, alt) }) {
			res.Matched = append(res.Matched, i)
			continue
		}
		mm := Mismatch{Index: i, Source: g.src, Name: g.m.Name, ExpectedSize: g.m.Size, Expected: g.m.Alternatives, Missing: !ok}
		if ok {
			mm.Actual, mm.ActualSize = actual, len(actual)
		}
		res.Mismatches = append(res.Mismatches, mm)
	}
	if res.OK() {
		return res, nil
	}
	var parts []string
	for _, i := range res.Conflicts {
		parts = append(parts, fmt.Sprintf("index %d is active in both the driver and the VBIOS RIM", i))
	}
	for _, mm := range res.Mismatches {
		parts = append(parts, mm.String())
	}
	return res, verify.Errorf(verify.ErrPolicy, "rim: %d measurement mismatches, %d index conflicts: %s",
		len(res.Mismatches), len(res.Conflicts), strings.Join(parts, "; "))
}
