package gpu

import (
	"bytes"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// FuzzParseRequest drives the SPDM GET_MEASUREMENTS request parser: no
// panic, errors carry a kind, and an accepted request holds exactly the
// bytes it was read from.
func FuzzParseRequest(f *testing.F) {
	valid := make([]byte, RequestSize)
	valid[0], valid[1] = SPDMVersion11, 0xE0
	f.Add(valid)
	f.Add(valid[:RequestSize-1])
	f.Add(append(bytes.Clone(valid), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			if r != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a request: %v", err)
			}
			return
		}
		if len(b) != RequestSize || r.Version != b[0] || r.Code != b[1] || r.SlotID != b[36] || !bytes.Equal(r.Nonce[:], b[4:36]) {
			t.Fatalf("request %+v does not hold its bytes %x", r, b)
		}
	})
}
