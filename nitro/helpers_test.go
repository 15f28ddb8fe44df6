package nitro_test

import (
	"encoding/base64"
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// sample is a real NSM document from testdata/nitro with the time to pin.
type sample struct {
	file string
	at   time.Time // the document's timestamp, to the second (INDEX.md)
}

var (
	sampleNSM   = sample{"nsm-qvl_nitro_attestation.bin", time.Date(2025, 12, 25, 13, 15, 37, 0, time.UTC)}
	sampleDstck = sample{"dstack-attest_nitro_attestation.bin", time.Date(2025, 12, 25, 16, 4, 19, 0, time.UTC)}
	sampleDebug = sample{"dstack-attest_nitro_attestation_dbg.bin", time.Date(2025, 12, 25, 8, 20, 46, 0, time.UTC)}
	samples     = []sample{sampleNSM, sampleDstck, sampleDebug}
)

// read returns the bare COSE_Sign1 of a Dstack-framed sample: 2 enum bytes,
// a 2-byte SCALE compact length (u16le >> 2), the document, Dstack's tail.
func (s sample) read(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("../testdata/nitro/" + s.file)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 4 || b[0] != 0 || b[1] != 2 || b[2]&3 != 1 {
		tb.Fatalf("%s: not Dstack framing: % x", s.file, b[:min(len(b), 4)])
	}
	n := int(binary.LittleEndian.Uint16(b[2:4]) >> 2)
	if 4+n > len(b) {
		tb.Fatalf("%s: framed length %d exceeds the file's %d bytes", s.file, n, len(b))
	}
	return b[4 : 4+n]
}

func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out []byte
	for len(s) > 64 {
		out = append(append(out, s[:64]...), '\n')
		s = s[64:]
	}
	return string(append(out, s...))
}
