package rim

import (
	"context"
	"testing"
	"time"

	"github.com/trustfactory/attest/internal/allocbudget"
)

// TestWorstShapeVerify: a RIM is XML read before its signature is checked
// (from NVIDIA's service, or handed over with the evidence). Whatever its
// shape within the default 512 KiB, Verify costs a bounded multiple of its
// size plus what the reader's caps (depth, elements, attributes, nodes) let
// through: a node costs about 150 bytes, 37 per byte of "<a/>", and the caps
// stop such shapes within about 1.2 MB (measured 3.3 bytes per byte at
// 512 KiB, where they do).
func TestWorstShapeVerify(t *testing.T) {
	v, err := NewVerifier(WithCacheSize(1))
	if err != nil {
		t.Fatal(err)
	}
	size := allocbudget.Size(defaultMaxSize - 256)
	fill := func(head, unit, tail string) []byte { return allocbudget.Fill(size, head, unit, tail) }
	shapes := []allocbudget.Shape{
		{Name: "deep elements", Value: allocbudget.Nest(size/7, "<a>", "", "</a>")},
		{Name: "many empty elements", Value: fill("<r>", "<a/>", "</r>")},
		{Name: "many attributes", Value: fill("<r ", `a="" `, "/>")},
		{Name: "many elements of an attribute", Value: fill("<r>", `<a b=""/>`, "</r>")},
		{Name: "many comments", Value: fill("<r>", "<!---->", "</r>")},
		{Name: "text and elements", Value: fill("<r>", "x<a/>", "</r>")},
		{Name: "character references", Value: fill("<r>", "&#65;", "</r>")},
		{Name: "entity references", Value: fill("<r>", "&amp;", "</r>")},
		{Name: "long text", Value: fill("<r>", "x", "</r>")},
		{Name: "long attribute", Value: fill(`<r a="`, "x", `"/>`)},
		{Name: "long name", Value: fill("<", "r", "/>")},
		{Name: "namespace declarations", Value: fill("<r>", `<a xmlns:p="u"/>`, "</r>")},
		{Name: "whitespace", Value: fill("<r>", " ", "</r>")},
		{Name: "CDATA sections", Value: fill("<r>", "<![CDATA[]]>", "</r>")},
	}
	at := time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			allocbudget.Within(t, len(s.Value), 8, 2<<20, func() { _, _ = v.Verify(context.Background(), s.Value, at) })
		})
	}
}
