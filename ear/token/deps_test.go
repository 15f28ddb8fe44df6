package token

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/trustfactory/attest"

// teeCode names what a relying party that only checks tokens must never
// link: the TEE packages, the packages that drive them, and the vendor
// libraries they use.
var teeCode = []string{
	modulePath + "/tdx", modulePath + "/snp", modulePath + "/gpu", modulePath + "/tpm",
	modulePath + "/azure", modulePath + "/sgx", modulePath + "/nitro",
	modulePath + "/policy", modulePath + "/binding", modulePath + "/kbs", modulePath + "/collateral",
	"github.com/google/go-tdx-guest", "github.com/google/go-sev-guest", "github.com/google/go-tpm",
	"github.com/google/go-eventlog", "github.com/russellhaering/goxmldsig",
}

// TestNoTEEDependency walks the non-test imports of this package and of
// every package of the module it reaches (what `go list -deps ./ear/token`
// lists) and fails on any TEE package: the relying party's import stays
// small, as DESIGN.md promises.
func TestNoTEEDependency(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(pkg string, via []string)
	walk = func(pkg string, via []string) {
		if seen[pkg] {
			return
		}
		seen[pkg] = true
		for _, bad := range teeCode {
			if pkg == bad || strings.HasPrefix(pkg, bad+"/") {
				t.Errorf("ear/token depends on %s via %s", pkg, strings.Join(via, " → "))
			}
		}
		if pkg != modulePath && !strings.HasPrefix(pkg, modulePath+"/") {
			return // outside the module: only its path matters
		}
		for _, imp := range imports(t, filepath.Join(root, strings.TrimPrefix(pkg, modulePath))) {
			walk(imp, append(slices.Clip(via), imp))
		}
	}
	walk(modulePath+"/ear/token", []string{"ear/token"})
	if !seen[modulePath+"/ear"] || !seen[modulePath+"/verify"] {
		t.Fatalf("the walk missed the known dependencies: %v", seen)
	}
}

// imports returns the imports of the non-test Go files in dir.
func imports(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Imports {
			p, _ := strconv.Unquote(s.Path.Value)
			out = append(out, p)
		}
	}
	return out
}
