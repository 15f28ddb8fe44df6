package tcglog

import (
	"testing"

	"github.com/google/go-eventlog/tcg"
)

// BenchmarkDecode decodes real logs; the go-eventlog cases parse the same
// bytes with go-eventlog's TCG parser (tcg.ParseEventLog), the alternative
// this package was measured against.
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name, path string
		f          Format
	}{
		{"tpm-cos-85", "../../testdata/tpm/eventlog-cos-85-amd-sev.bin", tpmFormat()},
		{"ccel-cos-113", "../../testdata/tdx/ccel_data.dat", ccelFormat()},
	} {
		log := readLog(b, tc.path)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := decodeAll(log, tc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/go-eventlog", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tcg.ParseEventLog(log, tcg.ParseOpts{AllowPadding: tc.f.Padded}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
