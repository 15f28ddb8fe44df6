package policy

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

const yamlHead = "version: \"1\"\nreference_values:\n  - name: a\n    value: "

// fill repeats unit between head and tail up to about size bytes.
func fill(size int, head, unit, tail string) string {
	return head + strings.Repeat(unit, max(0, (size-len(head)-len(tail))/len(unit))) + tail
}

// TestGEN05ReferenceValuesStructureRefused: documents whose decode costs
// hundreds of times their size are refused by a scan before decoding, within
// a small bytes budget. Before the scan, 3.3 MB of valid YAML allocated
// 825 MB and was accepted with 1.6M values, and a 4 MB flow sequence
// allocated 528 MB before MaxValuesInEntry was checked.
func TestGEN05ReferenceValuesStructureRefused(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
	}{
		{"YAML block entries", fill(3300<<10, "version: \"1\"\nreference_values:\n", "- {name: a, value: 1}\n", "")},
		{"YAML block values", fill(3300<<10, yamlHead+"\n", "      - 1\n", "")},
		{"YAML flow sequence", fill(MaxDocumentSize, yamlHead+"[", "1,", "1]\n")},
		{"YAML nested flow", fill(MaxDocumentSize, yamlHead, "[", "")},
		{"YAML block mapping", fill(MaxDocumentSize, "", "a: 1\n", "")},
		{"YAML nested block sequences", fill(MaxDocumentSize, yamlHead+"\n", "- ", "1\n")},
		{"JSON array", fill(MaxDocumentSize, `{"version":"1","reference_values":[{"name":"a","value":[`, "1,", `1]}]}`)},
		{"JSON entries", fill(MaxDocumentSize, `{"version":"1","reference_values":[`, `{"name":"a","value":1},`, `{"name":"a","value":1}]}`)},
		{"JSON object keys", fill(MaxDocumentSize, `{`, `"version":"1",`, `"version":"1"}`)},
		{"JSON nesting", fill(MaxDocumentSize, `{"version":"1","reference_values":[{"name":"a","value":`, "[", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.doc)
			var err error
			n := allocbudget.Bytes(func() { _, err = ParseReferenceValues(doc) })
			require.ErrorIs(t, err, verify.ErrLimit)
			assert.Less(t, n, uint64(64<<10), "bytes allocated refusing %d bytes", len(doc))
		})
	}
}

// TestGEN05ReferenceValuesAtTheCaps: the worst shapes the scan lets through
// still decode within a budget of a few tens of megabytes: the caps, not the
// document size, bound the decoders.
func TestGEN05ReferenceValuesAtTheCaps(t *testing.T) {
	const budget = 48 << 20
	under := MaxDocumentNodes - 64
	for _, tc := range []struct {
		name, doc string
	}{
		{"YAML flow sequence", yamlHead + "[" + strings.Repeat("1,", MaxValuesInEntry-1) + "1]\n" + strings.Repeat("  - {name: b, value: [1,1]}\n", (under-MaxValuesInEntry)/7)},
		{"YAML nested flow", yamlHead + strings.Repeat("[", under) + strings.Repeat("]", under) + "\n"},
		{"YAML nested block sequences", yamlHead + "\n" + strings.Repeat("- ", under) + "1\n"},
		{"YAML block entries", "version: \"1\"\nreference_values:\n" + strings.Repeat("- name: a\n  value: 1\n", under/3)},
		{"JSON entries", `{"version":"1","reference_values":[` + strings.Repeat(`{"name":"a","value":[1,1]},`, under/6) + `{"name":"a","value":1}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.doc)
			require.NoError(t, boundYAMLOrJSON(doc))
			n := allocbudget.Bytes(func() { _, _ = ParseReferenceValues(doc) })
			t.Logf("%d bytes: %d bytes allocated", len(doc), n)
			assert.Less(t, n, uint64(budget))
		})
	}
}

func boundYAMLOrJSON(doc []byte) error {
	if doc[0] == '{' {
		return nil
	}
	return boundYAML(doc)
}

// TestGEN05ReferenceValuesRealDocuments: the scan leaves real documents, and
// YAML's timestamps, hex values and indicators inside scalars, alone.
func TestGEN05ReferenceValuesRealDocuments(t *testing.T) {
	for _, p := range []string{"../testdata/policy/reference-values.yaml", "../testdata/policy/reference-values.json"} {
		rv, err := LoadReferenceValues(p)
		require.NoError(t, err, p)
		require.NotEmpty(t, rv.Names())
	}
	doc := "version: \"1\"\nreference_values:\n" +
		"  - name: mr_td\n    value: [\"b8-a:b,c\", 'x: [y]', 0011aabb]\n    expiration: 2027-01-01T00:00:00Z\n" +
		"  # a comment, with: [brackets] - and dashes\n"
	rv, err := ParseReferenceValues([]byte(doc))
	require.NoError(t, err)
	assert.Len(t, rv.Lookup("mr_td", now), 3)
}

// MaxValuesInEntry is a limit (ErrLimit), in YAML and in JSON.
func TestGEN05TooManyValuesInEntry(t *testing.T) {
	values := "[" + strings.Repeat("1,", MaxValuesInEntry) + "1]"
	for _, doc := range []string{
		yamlHead + values + "\n",
		`{"version":"1","reference_values":[{"name":"a","value":` + values + `}]}`,
	} {
		_, err := ParseReferenceValues([]byte(doc))
		require.ErrorIs(t, err, verify.ErrLimit)
	}
}

// LoadReferenceValues refuses a file of the same shapes with the same kind.
func TestGEN05LoadReferenceValuesStructureRefused(t *testing.T) {
	path := t.TempDir() + "/rv.yaml"
	require.NoError(t, os.WriteFile(path, []byte(fill(3300<<10, "version: \"1\"\nreference_values:\n", "- {name: a, value: 1}\n", "")), 0o600))
	var err error
	n := allocbudget.Bytes(func() { _, err = LoadReferenceValues(path) })
	require.ErrorIs(t, err, verify.ErrLimit)
	assert.Less(t, n, uint64(4<<20), "the file's bytes and little more")
}
