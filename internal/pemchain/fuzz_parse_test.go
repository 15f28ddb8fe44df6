package pemchain

import (
	"encoding/pem"
	"os"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// FuzzParse drives Parse and ParseDER with arbitrary PEM and DER: no
// panic, errors carry a kind, at most max certificates come back, and the
// DER of what Parse accepts parses again with ParseDER to the same chain.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/tdx/spr_tcbinfo_issuer_chain.pem"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 4
		certs, err := Parse(b, max)
		if err != nil {
			if certs != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with certificates: %v", err)
			}
		} else {
			if len(certs) > max {
				t.Fatalf("%d certificates, max %d", len(certs), max)
			}
			ders := make([][]byte, len(certs))
			for i, c := range certs {
				ders[i] = c.Raw
			}
			again, err := ParseDER(ders)
			if err != nil || len(again) != len(certs) {
				t.Fatalf("DER of accepted certificates: %v", err)
			}
			for i := range again {
				if !again[i].Equal(certs[i]) {
					t.Fatalf("certificate %d differs after DER round trip", i)
				}
			}
		}
		// The raw input as one DER item.
		if blk, _ := pem.Decode(b); blk == nil {
			if got, err := ParseDER([][]byte{b}); err != nil && (got != nil || verify.KindOf(err) == nil) {
				t.Fatalf("ParseDER: error without kind or with certificates: %v", err)
			}
		}
	})
}
