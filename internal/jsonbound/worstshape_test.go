package jsonbound

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

// TestWorstShapeCheck: Check is the scan that stands before the decoders of
// unauthenticated JSON (requests, evidence, headers); it allocates nothing
// whatever the shape, beyond an error when it refuses.
func TestWorstShapeCheck(t *testing.T) {
	for _, s := range allocbudget.JSONValues(allocbudget.Size(4 << 20)) {
		t.Run(s.Name, func(t *testing.T) {
			allocbudget.Within(t, len(s.Value), 0, 1<<10, func() { _ = Check(s.Value, "doc", 64, 1<<16) })
		})
	}
}

// TestWorstShapeObject: Object reads the additional evidence of a request,
// a JSON object of TEE names to evidence, before any of it is verified.
// Whatever its shape, and wherever the shape sits, it costs a bounded
// multiple of its size: the decoder's buffer and a copy of each value. The
// most is a document that is one long number, 10 bytes per byte: encoding/json
// copies its text into the number, the range error and the type error.
func TestWorstShapeObject(t *testing.T) {
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"member", func(v string) string { return `{"nvidia":` + v + `}` }},
		{"last of the most members", func(v string) string { return `{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":` + v + `}` }},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(1 << 20)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 12, 16<<10, func() { _, _ = Object(doc, "doc", 8) })
			})
		}
	}
}

// TestObjectErrorQuotesLittle: an error names the offending token in at most
// a few dozen bytes, not a copy of megabytes of the caller's input.
func TestObjectErrorQuotesLittle(t *testing.T) {
	for _, doc := range []string{
		`"` + strings.Repeat("x", 1<<20) + `"`,
		strings.Repeat("9", 1<<20),
		`{"a":0}` + strings.Repeat(" ", 1<<10) + `"x"`,
	} {
		_, err := Object([]byte(doc), "doc", 8)
		require.ErrorIs(t, err, verify.ErrMalformed)
		require.Less(t, len(err.Error()), 400, "%.200s", err)
	}
}

// TestElements counts the elements of an array without decoding them.
func TestElements(t *testing.T) {
	for doc, want := range map[string]int{
		`[]`: 0, ` [ ] `: 0, `null`: 0, `[0]`: 1, `[0,1]`: 2, `[[1,2],{"a":[3,4]},"x,y"]`: 3,
		`[{},{},{}]`: 3, `["\"]",1]`: 2, `[ "" ]`: 1,
	} {
		require.Equal(t, want, Elements([]byte(doc)), doc)
	}
	var n int
	doc := allocbudget.Fill(1<<20, "[", "{},", "{}]")
	allocbudget.Within(t, len(doc), 0, 0, func() { n = Elements(doc) })
	require.Equal(t, (len(doc)-2)/3+1, n)
}
