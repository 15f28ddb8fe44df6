package jsonbound

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		ok   bool
	}{
		{"at the caps", `{"a":[1,2],"b":{"c":"d"}}`, true}, // depth 2, 5 values
		{"empty containers", `{"a":[],"b":{}}`, true},
		{"too deep", `{"a":[[1]]}`, false},
		{"too many values", `{"a":[1,2,3,4,5]}`, false},
		{"brackets and commas in strings", `{"a":"[[[,,,,,{{{","b":"\"[[,,"}`, true},
		{"escaped quote does not end the string", `{"a":"\",[[[[,,,,"}`, true},
		{"unterminated string", `{"a":"[[[[`, true}, // left to the decoder
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.doc), "doc", 2, 5)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, verify.ErrLimit)
			assert.Contains(t, err.Error(), "doc: ")
		})
	}
}

// The scan allocates nothing, whatever the document.
func TestCheckAllocatesNothing(t *testing.T) {
	doc := []byte("[" + strings.Repeat(`"x",[1,{"a":2}],`, 1000) + "0]")
	allocs := testing.AllocsPerRun(10, func() { _ = Check(doc, "doc", 8, 1<<20) })
	assert.Zero(t, allocs)
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"quote":"AAAA","cc_eventlog":null}`), 4, 16)
	f.Add([]byte(`[[[[[,,,,"\"]]`), 2, 3)
	f.Fuzz(func(t *testing.T, doc []byte, depth, values int) {
		if err := Check(doc, "doc", depth, values); err != nil && verify.KindOf(err) != verify.ErrLimit {
			t.Fatalf("error of another kind: %v", err)
		}
	})
}

// stringEnd finds the same closing quote as skipping the string byte by
// byte, each backslash taking the byte after it, on every string of the
// characters that matter up to six bytes long.
func TestStringEndAgreesWithByteByByte(t *testing.T) {
	ref := func(doc []byte, open int) int {
		i := open + 1
		for ; i < len(doc) && doc[i] != '"'; i++ {
			if doc[i] == '\\' {
				i++
			}
		}
		return min(i, len(doc))
	}
	alphabet := []byte{'"', '\\', 'a'}
	var walk func(doc []byte)
	walk = func(doc []byte) {
		if got, want := stringEnd(doc, 0), ref(doc, 0); got != want {
			t.Fatalf("%q: stringEnd %d, byte by byte %d", doc, got, want)
		}
		if len(doc) == 7 {
			return
		}
		for _, c := range alphabet {
			walk(append(doc, c))
		}
	}
	walk([]byte{'"'})
}

// Object agrees with json.Unmarshal into a map on what it accepts and
// what it reads, within its bound, and refuses more members than the bound
// before decoding them.
func TestObject(t *testing.T) {
	for _, doc := range []string{
		`{}`, ` {"a":1} `, `{"a":{"b":[1,2]},"c":"d"}`, `{"a":1,"a":2}`, `null`,
		`{"a":1,}`, `{"a" 1}`, `{"a":1]`, `{"a":1}]`, `{"a":1}}`, `{"a":1} {}`, `[1]`, `"a"`, `1`, ``, `{`, `{"a":}`, `{1:2}`,
	} {
		checkObjectAgrees(t, []byte(doc))
	}
	_, err := Object([]byte(`{"a":1,"b":2,"c":3}`), "doc", 2)
	require.ErrorIs(t, err, verify.ErrLimit)
	got, err := Object([]byte(`{"a":1,"b":2}`), "doc", 2)
	require.NoError(t, err)
	assert.Len(t, got, 2)
	many := []byte("{" + strings.Repeat(`"k":0,`, 100000) + `"k":0}`)
	allocs := testing.AllocsPerRun(3, func() {
		_, err := Object(many, "doc", 8)
		require.ErrorIs(t, err, verify.ErrLimit)
	})
	assert.Less(t, allocs, 1000.0, "100000 members would take hundreds of thousands")
}

func checkObjectAgrees(t *testing.T, doc []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	werr := json.Unmarshal(doc, &want)
	got, err := Object(doc, "doc", 1<<20)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: Object %v, json.Unmarshal %v", doc, err, werr)
	}
	if err != nil {
		require.ErrorIs(t, err, verify.ErrMalformed, "%q", doc)
		return
	}
	require.Equal(t, len(want), len(got), "%q", doc)
	for k, v := range want {
		require.JSONEq(t, string(v), string(got[k]), "%q member %q", doc, k)
	}
}

func FuzzObject(f *testing.F) {
	for _, s := range []string{`{"nvidia-gpu":{"device_evidence_list":[{"arch":"HOPPER","evidence":"AAAA"}]}}`, `{"a":1,"a":2}`, `null`, `{"a":1}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkObjectAgrees(t, doc)
	})
}
