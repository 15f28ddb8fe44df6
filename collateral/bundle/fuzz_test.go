package bundle_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trustfactory/attest/collateral/bundle"
)

// FuzzParseManifest: no input panics, and an accepted manifest has only
// clean relative paths.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"attest-collateral-bundle/1","created":"2025-01-01T00:00:00Z","items":[]}`))
	f.Add([]byte(`{"format":"attest-collateral-bundle/1","items":[{"path":"tdx/qe_identity.json","kind":"tdx.qe_identity","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"source":{},"validity":{"notAfter":"2025-01-01T00:00:00Z"}}]}`))
	f.Add([]byte(`{"format":"attest-collateral-bundle/1","items":[{"path":"../x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := bundle.ParseManifest(b)
		if err != nil {
			return
		}
		for _, it := range m.Items {
			if !filepath.IsLocal(it.Path) || filepath.IsAbs(it.Path) {
				t.Fatalf("accepted path %q", it.Path)
			}
		}
		m.Earliest()
	})
}

// FuzzParseDCAPQVL: no input panics, and accepted collateral carries every item.
func FuzzParseDCAPQVL(f *testing.F) {
	for _, n := range []string{"dcapqvl_collateral.json", "dcapqvl_near_quote_collateral.json", "dcapqvl_td15ex_collateral.json", "../sgx/dcapqvl_sgx_collateral.json"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"pck_crl":[1,2,3]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := bundle.ParseDCAPQVL(b)
		if err != nil {
			return
		}
		if len(c.TCBInfo) == 0 || len(c.QEIdentity) == 0 || len(c.PCKCRL) == 0 || len(c.RootCACRL) == 0 {
			t.Fatal("accepted collateral with an empty item")
		}
	})
}
