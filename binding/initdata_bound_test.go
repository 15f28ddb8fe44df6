package binding

import (
	"crypto"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// allocated returns the bytes ParseInitData(doc) allocates, the least of a few
// runs so that a collection or another goroutine does not inflate it.
func allocated(doc []byte) (uint64, error) {
	var least uint64
	var err error
	for run := 0; run < 3; run++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err = ParseInitData(doc)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; run == 0 || n < least {
			least = n
		}
	}
	return least, err
}

// nested returns n closed inline tables, {a={a=...1}}, as the value of version.
func nested(n int) string {
	return "version = " + strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n) + "\n"
}

// TestGEN05InitDataStructureRefused: documents whose structure makes the TOML
// decoder's time and memory grow with the square of their size are refused by
// the scan before decoding, allocating next to nothing (each allocated hundreds
// of megabytes to gigabytes before the scan existed).
func TestGEN05InitDataStructureRefused(t *testing.T) {
	var many strings.Builder
	many.WriteString("version = '0.1.0'\nalgorithm = 'sha256'\n[data]\n")
	for i := 0; many.Len() < 64<<10; i++ {
		fmt.Fprintf(&many, "'f%d' = ''\n", i)
	}
	cases := []struct {
		name string
		doc  string
	}{
		{"open inline tables 18 KB", "version = " + strings.Repeat("{a=", 6000)},
		{"closed inline tables 32 KB", nested(32 << 10 / 4)},
		{"closed inline tables 100 KB", nested(100 << 10 / 4)},
		{"deep arrays", "version = " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000)},
		{"arrays of inline tables", "version = " + strings.Repeat("[{a=", 5000)},
		{"long dotted key", "a" + strings.Repeat(".a", 20000) + " = 1\n"},
		{"quoted dotted key", strings.Repeat("'a'.", 20000) + "a = 1\n"},
		{"dotted key in an inline table", "version = {" + "a" + strings.Repeat(" . a", 20000) + " = 1}\n"},
		{"long key", strings.Repeat("k", 64<<10) + " = 1\n"},
		{"long quoted key", `"` + strings.Repeat("k", 64<<10) + `" = 1` + "\n"},
		{"deep table header", "[a" + strings.Repeat(".a", 20000) + "]\n"},
		{"deep array-of-tables header", "[[a" + strings.Repeat(".a", 20000) + "]]\n"},
		{"many headers", strings.Repeat("[[a]]\n", 20000)},
		{"many keys", many.String()},
		{"long array", "version = [" + strings.Repeat("1,", 50000) + "]\n"},
		{"nested after a string", "version = '}]'\nalgorithm = \"\\\"}\"\n" + nested(8000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := []byte(c.doc)
			require.LessOrEqual(t, len(doc), MaxInitData)
			n, err := allocated(doc)
			require.ErrorIs(t, err, verify.ErrLimit)
			assert.LessOrEqual(t, n, uint64(4<<10), "refusing %d bytes allocated %d", len(doc), n)
		})
	}
}

// TestGEN05InitDataAtTheCaps: a document at every structure cap at once still
// decodes within a small budget: the caps, not luck, bound the decoder.
func TestGEN05InitDataAtTheCaps(t *testing.T) {
	var b strings.Builder
	key := strings.Repeat("k.", maxInitDataKeySegments-1) // 8 segments with the index
	value := strings.Repeat("{a=", maxInitDataDepth) + "1" + strings.Repeat("}", maxInitDataDepth)
	for i := 0; i < maxInitDataEntries/(maxInitDataDepth+1); i++ {
		fmt.Fprintf(&b, "%s%d = %s\n", key, i, value)
	}
	doc := []byte(b.String())
	n, err := allocated(doc)
	require.NoError(t, boundInitData(doc))
	require.ErrorIs(t, err, verify.ErrMalformed) // decoded, then refused as not init data
	assert.LessOrEqual(t, n, uint64(1<<20), "%d bytes at the caps allocated %d", len(doc), n)
	t.Logf("%d bytes at the caps: decoder allocated %d bytes", len(doc), n)
}

// TestGEN05InitDataRealDocuments: the caps leave real documents, and TOML's
// string forms holding brackets, dots and quotes, alone.
func TestGEN05InitDataRealDocuments(t *testing.T) {
	trustee, err := os.ReadFile("../testdata/binding/init-data-with-policy.toml")
	require.NoError(t, err)
	// policy.rego holds hundreds of { [ and . that the scan must skip.
	require.Greater(t, strings.Count(string(trustee), "{"), 100)
	big := "version = '0.1.0'\nalgorithm = 'sha384'\n[data]\n'policy.rego' = '''\n" +
		strings.Repeat(strings.Repeat("{[", 40)+"\n", (MaxInitData-200)/81) + "'''\n"
	cases := []struct {
		name, doc string
		files     int
	}{
		{"trustee integration test", string(trustee), 1},
		{"coco initdata", `algorithm = "sha384"
version = "0.1.0"

[data]
"aa.toml" = '''
[token_configs]
[token_configs.coco_as]
url = 'http://127.0.0.1:8080'

[token_configs.kbs]
url = 'http://127.0.0.1:8080'
'''

"cdh.toml"  = '''
socket = 'unix:///run/confidential-containers/cdh.sock'
credentials = []

[kbc]
name = 'cc_kbc'
url = 'http://1.2.3.4:8080'
'''

"policy.rego" = '''
package agent_policy
default AllowRequestsFailingPolicy := true
'''
`, 3},
		{"string forms", "version = \"0.1.\\\"{[\"\nalgorithm = 'sha256' # {{{{{ a.b.c.d.e.f.g.h.i.j\n[data]\n" +
			"\"a.b.c.d.e.f.g.h.i.j\" = \"\"\"\n{{{{{{\\\"\"\"\n]]]]\"\"\"\"\"\n" +
			"'x' = '''{[{[{[{['''''\n" +
			"\"y\" = \"\\\\\"\n", 3},
		{"CRLF", "version = '0.1.0'\r\nalgorithm = 'sha256'\r\n[data]\r\n'a' = 'b'\r\n", 1},
		{"largest policy", big, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseInitData([]byte(c.doc))
			require.NoError(t, err)
			assert.Len(t, d.Data, c.files)
			assert.NotEmpty(t, d.Digest())
		})
	}
}

// TestGEN05RuntimeDataStructureRefused: runtime data is canonicalised only
// when its structure is bounded; before the scan, 4 MiB of array elements
// allocated 381 MB. Real runtime data (a JWK, GPU evidence as a string) passes.
func TestGEN05RuntimeDataStructureRefused(t *testing.T) {
	refused := []struct{ name, doc string }{
		{"long array", "[" + strings.Repeat("1,", 2<<20-10) + "1]"},
		{"many members", "{" + strings.Repeat(`"a":1,`, 100000) + `"b":1}`},
		{"deep arrays", strings.Repeat("[", 100) + strings.Repeat("]", 100)},
		{"deep objects", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)},
		{"array after a string", `{"s":"\"[[[,,,","a":[` + strings.Repeat("0,", 5000) + "0]}"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			doc := []byte(c.doc)
			var err error
			// The least of a few runs: a pool emptied by a collection
			// (fmt's, for the error) costs the first run more.
			n, _ := allocatedBy(func() { _, err = Digest(doc, crypto.SHA384) })
			require.ErrorIs(t, err, verify.ErrLimit)
			assert.LessOrEqual(t, n, uint64(4<<10))
		})
	}
	gpuEvidence := strings.Repeat(`{\"arch\":\"HOPPER\",\"evidence\":\"`+strings.Repeat("QUFB", 2000)+`\"},`, 8)
	accepted := []string{
		`{"nonce":"bm9uY2U=","tee-pubkey":{"kty":"EC","crv":"P-256","x":"eA","y":"eQ","x5c":["a","b","c"]},"additional-evidence":"{\"nvidia\":[` + gpuEvidence + `{}]}"}`,
		strings.Repeat("[", maxRuntimeDataDepth) + strings.Repeat("]", maxRuntimeDataDepth),
		"[" + strings.Repeat("0,", maxRuntimeDataValues-1) + "0]",
	}
	for i, doc := range accepted {
		_, err := Digest([]byte(doc), crypto.SHA384)
		require.NoError(t, err, "document %d", i)
	}
}
