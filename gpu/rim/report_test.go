package rim_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/trustfactory/attest/gpu/rim"
	"os"
	"strings"
	"testing"
)

// testReport is the little of a signed SPDM GET_MEASUREMENTS report the RIM
// tests need: the measurement blocks and a few opaque fields. The gpu package
// owns the real parser (with its signature check); this one only reads
// NVIDIA's published samples, whose signatures that package verifies.
type testReport struct {
	blocks map[int][]byte
	opaque map[uint16][]byte
}

// parseTestReport reads request(37) ‖ response as laid out in spec/gpu.md §1a.
func parseTestReport(t testing.TB, raw []byte) *testReport {
	t.Helper()
	const reqLen = 37
	if len(raw) < reqLen+8 || raw[0] != 0x11 || raw[1] != 0xE0 || raw[reqLen] != 0x11 || raw[reqLen+1] != 0x60 {
		t.Fatalf("not an SPDM 1.1 GET_MEASUREMENTS/MEASUREMENTS transcript")
	}
	resp := raw[reqLen:]
	n := int(resp[4])
	recLen := int(resp[5]) | int(resp[6])<<8 | int(resp[7])<<16
	rec := resp[8 : 8+recLen]
	r := &testReport{blocks: map[int][]byte{}, opaque: map[uint16][]byte{}}
	for len(rec) > 0 {
		idx, spec, size := int(rec[0]), rec[1], int(binary.LittleEndian.Uint16(rec[2:4]))
		v := rec[4 : 4+size]
		if spec != 1 || v[0] != 1 || int(binary.LittleEndian.Uint16(v[1:3])) != size-3 {
			t.Fatalf("block %d: unexpected DMTF header", idx)
		}
		if _, dup := r.blocks[idx]; dup {
			t.Fatalf("block %d twice", idx)
		}
		r.blocks[idx] = v[3:]
		rec = rec[4+size:]
	}
	if len(r.blocks) != n {
		t.Fatalf("%d blocks, header says %d", len(r.blocks), n)
	}
	off := 8 + recLen + 32
	opLen := int(binary.LittleEndian.Uint16(resp[off:]))
	op := resp[off+2 : off+2+opLen]
	for len(op) > 0 {
		typ, l := binary.LittleEndian.Uint16(op), int(binary.LittleEndian.Uint16(op[2:]))
		r.opaque[typ] = op[4 : 4+l]
		op = op[4+l:]
	}
	return r
}

func readHexReport(t testing.TB, path string) *testReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return parseTestReport(t, raw)
}

// readEvidenceJSON reads the first report of NVIDIA's serialized evidence array.
func readEvidenceJSON(t testing.TB, path string) *testReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ev []struct {
		Evidence string `json:"evidence"`
	}
	if err := json.Unmarshal(b, &ev); err != nil || len(ev) == 0 {
		t.Fatalf("evidence JSON: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(ev[0].Evidence)
	if err != nil {
		t.Fatal(err)
	}
	return parseTestReport(t, raw)
}

// Opaque field types (spec/gpu.md §1a).
const (
	opDriverVersion = 3
	opVBIOSVersion  = 6
	opNVDEC0        = 11
	opChipSKU       = 15
	opProject       = 17
	opProjectSKU    = 18
)

func (r *testReport) str(typ uint16) string {
	return strings.TrimRight(string(r.opaque[typ]), "\x00")
}

// gpuVBIOSVersion formats the 8-byte binary VBIOS version as NVIDIA does:
// bytes b3.b2.b1.b0.b4 in upper-case hex.
func (r *testReport) gpuVBIOSVersion() string {
	b := r.opaque[opVBIOSVersion]
	return fmt.Sprintf("%02X.%02X.%02X.%02X.%02X", b[3], b[2], b[1], b[0], b[4])
}

func (r *testReport) nvdec0() (byte, bool) {
	b, ok := r.opaque[opNVDEC0]
	if !ok || len(b) != 1 {
		return 0, false
	}
	return b[0], true
}

func (r *testReport) compareOptions() rim.CompareOptions {
	s, ok := r.nvdec0()
	return rim.CompareOptions{NVDEC0Status: s, HasNVDEC0Status: ok}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cloneBlocks(m map[int][]byte) map[int][]byte {
	out := make(map[int][]byte, len(m))
	for k, v := range m {
		out[k] = bytes.Clone(v)
	}
	return out
}
