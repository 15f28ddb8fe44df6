package gpu

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Golden is a verified reference integrity manifest as the verifier needs
// it: every field comes from a signature-checked RIM whose signer chain
// reached a pinned root.
type Golden struct {
	ID      string
	Version string
	Kind    string // "driver", "vbios" or "switch-bios"
	// OEMID is the RIM's FirmwareManufacturerId.
	OEMID string
	// Chain is the signer chain, signer first, ending with the pinned root.
	// The verifier checks its revocation with OCSP.
	Chain        []*x509.Certificate
	Measurements []GoldenMeasurement
	Digest       [32]byte
	NotAfter     time.Time
}

// GoldenMeasurement is one RIM entry: RIM index i describes SPDM block i+1.
type GoldenMeasurement struct {
	Index        int
	Name         string
	Active       bool
	Size         int
	Alternatives [][]byte
}

// RIMProvider fetches a RIM by ID, verifies it at now and checks that it
// describes version. NewRIMProvider adapts the gpu/rim package.
type RIMProvider interface {
	RIM(ctx context.Context, id, version string, now time.Time) (*Golden, error)
}

// Mismatch is one failed measurement comparison.
type Mismatch struct {
	Index        int      `json:"index"` // RIM index (SPDM block index − 1)
	Source       string   `json:"measurementSource"`
	GoldenSize   int      `json:"goldenSize"`
	GoldenValues []string `json:"goldenValues"`
	RuntimeSize  int      `json:"runtimeSize"`
	RuntimeValue string   `json:"runtimeValue"`
}

// Comparison is the result of comparing the report with its RIMs.
type Comparison struct {
	Compared   int // active golden entries compared
	Skipped    []int
	Mismatches []Mismatch
}

// nvdecIndex is the RIM index whose comparison depends on NVDEC0 status.
const nvdecIndex = 35

// CompareMeasurements applies the rule of spec/gpu.md §1c: the union of
// the active entries of the RIMs (an index active in two RIMs is an
// ErrPolicy conflict), RIM index i against SPDM block i+1, a match is one of
// the alternatives with the entry's size, index 35 is skipped iff NVDEC0 is
// disabled (0x55). A nil RIM contributes nothing; nvdec is the NVDEC0 status
// byte (0 when the report has none).
func CompareMeasurements(resp *Response, nvdec byte, rims ...*Golden) (*Comparison, error) {
	type entry struct {
		m   *GoldenMeasurement
		src string
	}
	active := make(map[int]entry)
	for _, g := range rims {
		if g == nil {
			continue
		}
		src := "Firmware"
		if g.Kind == "driver" {
			src = "Driver"
		}
		for i := range g.Measurements {
			m := &g.Measurements[i]
			if !m.Active {
				continue
			}
			if prev, dup := active[m.Index]; dup {
				return nil, verify.Errorf(verify.ErrPolicy, "RIM index %d is active in both the %s and the %s RIM", m.Index, prev.src, src)
			}
			active[m.Index] = entry{m, src}
		}
	}
	if len(active) == 0 {
		return nil, verify.Errorf(verify.ErrCollateral, "RIMs hold no active measurement")
	}
	if len(active) > len(resp.Blocks) {
		return nil, verify.Errorf(verify.ErrPolicy, "RIMs hold %d active measurements, the report only %d blocks", len(active), len(resp.Blocks))
	}
	idx := make([]int, 0, len(active))
	for i := range active {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	c := &Comparison{}
	for _, i := range idx {
		e := active[i]
		if i == nvdecIndex {
			switch nvdec {
			case StatusDisabled:
				c.Skipped = append(c.Skipped, i)
				continue
			case StatusEnabled:
			default:
				return nil, verify.Errorf(verify.ErrMalformed, "RIM index %d depends on NVDEC0_STATUS, which the report does not carry (got 0x%02x)", i, nvdec)
			}
		}
		c.Compared++
		got, ok := resp.Measurement(i + 1)
		if ok && len(got) == e.m.Size {
			matched := false
			for _, alt := range e.m.Alternatives {
				if len(alt) == len(got) && string(alt) == string(got) {
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		mm := Mismatch{Index: i, Source: e.src, GoldenSize: e.m.Size, RuntimeSize: len(got), RuntimeValue: hex.EncodeToString(got)}
		for _, alt := range e.m.Alternatives {
			mm.GoldenValues = append(mm.GoldenValues, hex.EncodeToString(alt))
		}
		if !ok {
			mm.RuntimeValue = "absent"
		}
		c.Mismatches = append(c.Mismatches, mm)
	}
	return c, nil
}

// Err returns an ErrPolicy error listing every mismatch, or nil.
func (c *Comparison) Err() error {
	if len(c.Mismatches) == 0 {
		return nil
	}
	var b strings.Builder
	for i, m := range c.Mismatches {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "index %d (%s): expected one of %v (size %d), got %s (size %d)",
			m.Index, m.Source, m.GoldenValues, m.GoldenSize, m.RuntimeValue, m.RuntimeSize)
	}
	return verify.Errorf(verify.ErrPolicy, "%d of %d measurements do not match the RIMs: %s", len(c.Mismatches), c.Compared, b.String())
}
