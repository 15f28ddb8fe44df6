package snp_test

import (
	"os"
	"strings"
	"testing"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// FuzzParseRoots drives the reader of AMD root bundles (operator-supplied
// PEM): no panic, errors carry a kind, and accepted roots name an ARK.
func FuzzParseRoots(f *testing.F) {
	for _, p := range snp.Products() {
		if b, err := os.ReadFile("roots/" + strings.ToLower(string(p)) + "_ask_ark_asvk.pem"); err == nil {
			f.Add(string(p), b)
		}
	}
	f.Add("Milan", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, product string, b []byte) {
		r, err := snp.ParseRoots(snp.Product(product), b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
			return
		}
		if r.ARK == nil {
			t.Fatal("roots without an ARK")
		}
	})
}
