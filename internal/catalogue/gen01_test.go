package catalogue

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// parsers returns, per package directory, the exported functions and
// methods named Parse… that the package's own files declare.
func parsers(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	walkGo(t, func(path string, f *ast.File) {
		if strings.HasSuffix(path, "_test.go") {
			return
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.IsExported() && strings.HasPrefix(fd.Name.Name, "Parse") {
				dir := filepath.Dir(path)
				out[dir] = append(out[dir], fd.Name.Name)
			}
		}
	})
	return out
}

// fuzzed returns, per package directory, the names called inside the
// package's Fuzz functions.
func fuzzed(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	walkGo(t, func(path string, f *ast.File) {
		if !strings.HasSuffix(path, "_test.go") {
			return
		}
		dir := filepath.Dir(path)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fd.Name.Name, "Fuzz") || fd.Body == nil {
				continue
			}
			if out[dir] == nil {
				out[dir] = map[string]bool{}
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.SelectorExpr:
					out[dir][x.Sel.Name] = true
				case *ast.Ident:
					out[dir][x.Name] = true
				}
				return true
			})
		}
	})
	return out
}

func walkGo(t *testing.T, visit func(path string, f *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		visit(path, f)
		return nil
	})
	require.NoError(t, err)
}

// nameParsers read a name from a small fixed set (a configuration value or a
// claim), not an input format: their table tests enumerate the set, and a
// fuzz target would add nothing.
var nameParsers = map[string]bool{
	"ear.ParseCategory": true, "ear.ParseStatus": true, "ear/token.ParseAlgorithm": true,
	"gpu.ParseArch": true, "snp.ParseProduct": true, "snp.ParseGUID": true,
}

// GEN-01: every exported parser (a Parse… function or method) is driven by
// a native Go fuzz target of its own package, which CI runs on every
// change. The targets themselves check no panic, bounded allocation and,
// where the format has an encoder, parse→marshal→parse.
func TestGEN01EveryParserHasAFuzzTarget(t *testing.T) {
	ps, fz := parsers(t), fuzzed(t)
	require.NotEmpty(t, ps)
	var missing []string
	for dir, names := range ps {
		for _, n := range names {
			rel, _ := filepath.Rel(root, dir)
			if name := filepath.ToSlash(rel) + "." + n; !fz[dir][n] && !nameParsers[name] {
				missing = append(missing, name)
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "parsers no fuzz target of their package calls")
}
