package outsidemodule

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// goBinary finds the go command (go test puts its own first in PATH).
func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go binary to build the outside module with")
	}
	return p
}

// modFlags keeps the caller's GOFLAGS but for its -mod, which becomes
// -mod=mod (the outside module's requirements are filled in from attest's).
func modFlags(flags string) string {
	var keep []string
	for _, f := range strings.Fields(flags) {
		if !strings.HasPrefix(f, "-mod=") {
			keep = append(keep, f)
		}
	}
	return strings.Join(append(keep, "-mod=mod"), " ")
}

// goVersion is the go line of the repository's go.mod.
func goVersion(t *testing.T, gomod []byte) string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// TestOutsideModule builds testdata/prog as a module of its own, requiring
// attest by a replace directive to this checkout, and runs it. It needs no
// network: the module cache and build cache are the caller's, GOPROXY is
// off, and go.sum is the repository's.
func TestOutsideModule(t *testing.T) {
	goCmd := goBinary(t)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(gomod), "module github.com/trustfactory/attest\n")
	gosum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	require.NoError(t, err)
	prog, err := os.ReadFile(filepath.Join("testdata", "prog", "main.go"))
	require.NoError(t, err)

	dir := t.TempDir()
	mod := "module example.com/outside\n\ngo " + goVersion(t, gomod) + "\n\n" +
		"require github.com/trustfactory/attest v0.0.0\n\n" +
		"replace github.com/trustfactory/attest => " + repo + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), prog, 0o644))

	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-10*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, goCmd, "run", ".")
	cmd.Dir = dir
	// The caller's environment (module and build caches) with the module
	// resolved from the replace directive and go.sum alone.
	cmd.Env = append(os.Environ(), "GOFLAGS="+modFlags(os.Getenv("GOFLAGS")), "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "outside module:\n%s", out)
	for _, line := range []string{
		"ok online: TDX, SNP and GPU verified",
		"ok shared store: the second verifiers fetched nothing",
		"ok header: without the API key the front refuses",
		"ok config: a contradictory fetcher is refused",
		"PASS",
	} {
		require.Contains(t, string(out), line)
	}
}
