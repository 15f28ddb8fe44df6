package jsonbound

import (
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
