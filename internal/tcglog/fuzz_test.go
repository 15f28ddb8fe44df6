package tcglog

import (
	"path/filepath"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// FuzzDecoder decodes any input in both formats, seeded from the real TPM
// logs and CCELs of testdata (the CCELs cut at 16 KiB, past their last
// firmware event): nothing may panic, every error has a kind, and every
// event decoded holds digests of the declared sizes within the input.
//
//	go test -run='^$' -fuzz='^FuzzDecoder$' -fuzztime=45s -fuzzminimizetime=2s ./internal/tcglog
func FuzzDecoder(f *testing.F) {
	logs, err := filepath.Glob("../../testdata/tpm/eventlog-*.bin")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range logs {
		f.Add(readLog(f, p))
	}
	for _, name := range []string{"CCEL_data", "CCEL_data_ovmf", "ccel_data.dat", "CCEL_AAEL_alibabacloud"} {
		b := readLog(f, "../../testdata/tdx/"+name)
		f.Add(b[:min(len(b), 16<<10)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []Format{tpmFormat(), ccelFormat()} {
			algs, events, err := decodeAll(b, format)
			if err != nil {
				if verify.KindOf(err) == nil {
					t.Fatalf("error without a kind: %v", err)
				}
				continue
			}
			if len(events) > format.MaxEvents || len(algs) == 0 || len(algs) > MaxAlgs {
				t.Fatalf("%d events, %d algorithms", len(events), len(algs))
			}
			for _, ev := range events {
				n := 0
				for i, d := range ev.Digests {
					if d == nil {
						continue
					}
					n++
					if i >= len(algs) || len(d) != algs[i].Size {
						t.Fatalf("event %d: digest %d of %d bytes", ev.Seq, i, len(d))
					}
				}
				if n == 0 || (format.AllDigests && n != len(algs)) || len(ev.Data) > len(b) {
					t.Fatalf("event %d: %d digests, %d bytes of data", ev.Seq, n, len(ev.Data))
				}
			}
		}
	})
}
