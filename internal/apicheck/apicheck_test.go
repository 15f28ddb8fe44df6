package apicheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/trustfactory/attest"

// listed is what go list says of one package.
type listed struct {
	ImportPath string
	Export     string
	Standard   bool
	Module     *struct{ Path string }
	Name       string
}

// TestNoInternalTypeInExportedAPI loads the export data of every package of
// the module (go list -export) and checks the exported API of each one
// outside internal/ with go/types.
func TestNoInternalTypeInExportedAPI(t *testing.T) {
	goCmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skip("no go binary to list the packages with")
	}
	cmd := exec.Command(goCmd, "list", "-export", "-deps", "-json=ImportPath,Export,Standard,Module,Name", "./...")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())

	exports := map[string]string{}
	var ours []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == module && !IsInternal(p.ImportPath) && p.Name != "main" {
			ours = append(ours, p.ImportPath)
		}
	}
	require.Greater(t, len(ours), 10, "the module's public packages")

	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var leaks, mutable []string
	for _, path := range ours {
		pkg, err := imp.Import(path)
		require.NoError(t, err, path)
		leaks = append(leaks, Leaks(pkg)...)
		mutable = append(mutable, MutableVars(pkg)...)
	}
	require.Empty(t, leaks, "exported API naming internal types")
	require.Empty(t, mutable, "exported variables other than error sentinels (use constants or functions)")
}

// MutableVars lets error sentinels through and nothing else exported.
func TestMutableVars(t *testing.T) {
	fset := token.NewFileSet()
	src := `package p
import "errors"
var ErrX = errors.New("x")
var ErrNotAnError = 3
var Table = []int{1}
var Key = [2]byte{}
var unexported = 1
const C = 1
var _ error = ErrX
`
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err)
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("example.com/m/p", fset, []*ast.File{f}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"example.com/m/p.ErrNotAnError", "example.com/m/p.Key", "example.com/m/p.Table"}, MutableVars(pkg))
}

// The walker finds an internal type wherever the exported API can name it,
// and ignores what the API does not expose.
func TestLeaksFindsEveryPosition(t *testing.T) {
	internalPkg := types.NewPackage("example.com/m/internal/x", "x")
	tn := types.NewTypeName(token.NoPos, internalPkg, "T", nil)
	types.NewNamed(tn, types.NewStruct(nil, nil), nil)
	internalPkg.Scope().Insert(tn)
	internalPkg.MarkComplete()

	tests := []struct {
		name  string
		src   string
		leaks int
	}{
		{"func result", "func F() x.T { return x.T{} }", 1},
		{"func param", "func F(*x.T) {}", 1},
		{"variable", "var V []x.T", 1},
		{"map and chan", "var V map[string]chan x.T", 1},
		{"struct field", "type S struct{ F x.T }", 1},
		{"embedded field", "type S struct{ x.T }", 1},
		{"unexported field", "type S struct{ f x.T }", 0},
		{"anonymous struct", "var V struct{ F func() x.T }", 1},
		{"method", "type S struct{}\nfunc (S) M() x.T { return x.T{} }", 1},
		{"pointer method", "type S struct{}\nfunc (*S) M(x.T) {}", 1},
		{"unexported method", "type S struct{}\nfunc (S) m() x.T { return x.T{} }", 0},
		{"interface method", "type I interface{ M() x.T }", 1},
		{"unexported interface method", "type I interface{ m() x.T }", 0},
		{"alias", "type A = x.T", 1},
		{"defined type (takes the definition, names nothing)", "type D x.T", 0},
		{"type parameter", "type G[P interface{ *x.T }] struct{}", 1},
		{"generic instance", "type G[P any] struct{ F P }\nvar V G[x.T]", 1},
		{"unexported function", "func f() x.T { return x.T{} }", 0},
		{"unexported type", "type s struct{ F x.T }", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "p.go", "package p\nimport \"example.com/m/internal/x\"\nvar _ x.T\n"+tt.src+"\n", 0)
			require.NoError(t, err)
			conf := types.Config{Importer: importerFunc(func(path string) (*types.Package, error) {
				if path == internalPkg.Path() {
					return internalPkg, nil
				}
				return nil, fmt.Errorf("unknown import %s", path)
			})}
			pkg, err := conf.Check("example.com/m/p", fset, []*ast.File{f}, nil)
			require.NoError(t, err)
			require.Len(t, Leaks(pkg), tt.leaks, "%v", Leaks(pkg))
		})
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

func TestIsInternal(t *testing.T) {
	for path, want := range map[string]bool{
		"github.com/trustfactory/attest/internal/lru": true,
		"internal/abi":                       true,
		"github.com/x/internal":              true,
		"github.com/trustfactory/attest/tdx": false,
		"github.com/x/internals":             false,
	} {
		require.Equal(t, want, IsInternal(path), path)
	}
}
