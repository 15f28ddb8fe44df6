package catalogue

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the module root, relative to this package.
const root = "../.."

// notYetCovered lists catalogue IDs whose tests are still being written
// elsewhere; empty: every ID has its test.
var notYetCovered = map[string]bool{}

var (
	idLine   = regexp.MustCompile(`^([A-Z]+)-([0-9]+)$`)
	testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]*)\(`)
)

// catalogueIDs reads testdata/badinputs/ids.txt.
func catalogueIDs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "testdata", "badinputs", "ids.txt"))
	require.NoError(t, err)
	var ids []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		require.Regexp(t, idLine, line, "ids.txt line")
		require.False(t, seen[line], "%s listed twice", line)
		seen[line] = true
		ids = append(ids, line)
	}
	require.NoError(t, sc.Err())
	return ids
}

// testFunctions returns the names of every Test and Fuzz function in the
// module's *_test.go files.
func testFunctions(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
		return nil
	})
	require.NoError(t, err)
	return names
}

// covers reports whether a test function name names catalogue case id:
// TDX-07 is named by TestTDX07…, TestTDX_07… or Test…TDX07… (the number
// not followed by another digit, so TDX07 does not name TDX-070).
func covers(name, id string) bool {
	m := idLine.FindStringSubmatch(id)
	re := regexp.MustCompile(m[1] + `_?` + m[2] + `(?:[^0-9]|$)`)
	return re.MatchString(name)
}

func TestCoversMatchesOnlyTheID(t *testing.T) {
	cases := []struct {
		name, id string
		want     bool
	}{
		{"TestTDX07PCKChainShape", "TDX-07", true},
		{"TestTDX_07", "TDX-07", true},
		{"TestPOL01_POL02_POL06Decide", "POL-02", true},
		{"TestTDX070", "TDX-07", false},
		{"TestTDX17", "TDX-07", false},
		{"TestSNP06to09", "SNP-09", false},
		{"TestCOL1", "COL-10", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, covers(c.name, c.id), "%s names %s", c.name, c.id)
	}
}

// Every catalogue case has a test function named after it, except the ones
// other branches are adding (notYetCovered); an ID on that list that is
// covered already must leave it.
func TestEveryCatalogueCaseHasATest(t *testing.T) {
	ids := catalogueIDs(t)
	require.Len(t, ids, 168, "the catalogue has 168 cases")
	funcs := testFunctions(t)
	require.NotEmpty(t, funcs)
	inCatalogue := map[string]bool{}
	for _, id := range ids {
		inCatalogue[id] = true
		covered := false
		for _, f := range funcs {
			if covers(f, id) {
				covered = true
				break
			}
		}
		switch {
		case !covered && !notYetCovered[id]:
			t.Errorf("%s: no test function named after it (e.g. Test%s…)", id, strings.ReplaceAll(id, "-", ""))
		case covered && notYetCovered[id]:
			t.Errorf("%s is covered now: remove it from notYetCovered", id)
		}
	}
	for id := range notYetCovered {
		assert.True(t, inCatalogue[id], "notYetCovered lists %s, which is not in the catalogue", id)
	}
}

// ids.txt is the catalogue's list: where the catalogue itself is at hand (a
// checkout with shared/ beside it, as on the developers' machines and in
// CI), the two must list the same IDs in the same order.
func TestIDsMatchTheCatalogue(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "..", "shared", "badinputs.md"))
	if err != nil {
		t.Skipf("the catalogue is not beside this checkout: %v", err)
	}
	row := regexp.MustCompile(`(?m)^\| ([A-Z]+-[0-9]+) \|`)
	var want []string
	for _, m := range row.FindAllSubmatch(b, -1) {
		want = append(want, string(m[1]))
	}
	require.Equal(t, want, catalogueIDs(t), "testdata/badinputs/ids.txt differs from shared/badinputs.md")
}
