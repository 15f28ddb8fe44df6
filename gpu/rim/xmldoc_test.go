package rim

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// TestParseXMLRefuses: each document breaks one rule of parseXML, which
// names the kind of the failure.
func TestParseXMLRefuses(t *testing.T) {
	attrs := func(n int) string {
		var b strings.Builder
		b.WriteString("<a")
		for i := range n {
			fmt.Fprintf(&b, ` x%d="1"`, i)
		}
		return b.String() + "/>"
	}
	// Elements of 63 attributes, enough of them to pass maxAttrs.
	manyElemsWithAttrs := "<a>" + strings.Repeat(attrs(maxAttrsPerElement-1), maxAttrs/(maxAttrsPerElement-1)+1) + "</a>"
	for name, tc := range map[string]struct {
		doc  string
		kind error
	}{
		"empty":                      {"", verify.ErrMalformed},
		"only whitespace":            {" \n", verify.ErrMalformed},
		"unclosed":                   {"<a>", verify.ErrMalformed},
		"two roots":                  {"<a/><b/>", verify.ErrMalformed},
		"text outside root":          {"<a/>x", verify.ErrMalformed},
		"CDATA outside root":         {"<![CDATA[x]]><a/>", verify.ErrMalformed},
		"mismatched end tag":         {"<a></b>", verify.ErrMalformed},
		"stray end tag":              {"</a>", verify.ErrMalformed},
		"DOCTYPE":                    {"<!DOCTYPE a><a/>", verify.ErrMalformed},
		"processing instruction":     {"<a><?pi x?></a>", verify.ErrMalformed},
		"late XML declaration":       {" <?xml version=\"1.0\"?><a/>", verify.ErrMalformed},
		"XML 1.1":                    {"<?xml version=\"1.1\"?><a/>", verify.ErrMalformed},
		"UTF-16 declared":            {"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>", verify.ErrMalformed},
		"invalid UTF-8":              {"<a>\xff</a>", verify.ErrMalformed},
		"control character":          {"<a>\x01</a>", verify.ErrMalformed},
		"non-character":              {"<a>\uffff</a>", verify.ErrMalformed},
		"double hyphen in comment":   {"<a><!-- a -- b --></a>", verify.ErrMalformed},
		"unterminated comment":       {"<a><!-- a </a>", verify.ErrMalformed},
		"]]> in text":                {"<a>]]></a>", verify.ErrMalformed},
		"undeclared entity":          {"<a>&x;</a>", verify.ErrMalformed},
		"bare ampersand":             {"<a>& b</a>", verify.ErrMalformed},
		"NUL reference":              {"<a>&#0;</a>", verify.ErrMalformed},
		"surrogate reference":        {"<a>&#xD800;</a>", verify.ErrMalformed},
		"out of range reference":     {"<a>&#x110000;</a>", verify.ErrMalformed},
		"lt in attribute":            {`<a b="<"/>`, verify.ErrMalformed},
		"unquoted attribute":         {`<a b=1/>`, verify.ErrMalformed},
		"attribute without space":    {`<a b="1"c="2"/>`, verify.ErrMalformed},
		"repeated attribute":         {`<a b="1" b="2"/>`, verify.ErrMalformed},
		"same attribute, two prefix": {`<a xmlns:p="urn:x" xmlns:q="urn:x" p:b="1" q:b="2"/>`, verify.ErrMalformed},
		"repeated declaration":       {`<a xmlns:p="urn:x" xmlns:p="urn:y"/>`, verify.ErrMalformed},
		"unbound element prefix":     {`<p:a/>`, verify.ErrMalformed},
		"unbound attribute prefix":   {`<a p:b="1"/>`, verify.ErrMalformed},
		"two colons":                 {`<a:b:c/>`, verify.ErrMalformed},
		"non-ASCII name":             {`<é/>`, verify.ErrMalformed},
		"non-ASCII attribute name":   {`<a é="1"/>`, verify.ErrMalformed},
		"prefix bound to nothing":    {`<a xmlns:p=""/>`, verify.ErrMalformed},
		"xmlns namespace bound":      {`<a xmlns:p="http://www.w3.org/2000/xmlns/"/>`, verify.ErrMalformed},
		"xml prefix declared":        {`<a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>`, verify.ErrUnsupported},
		"relative namespace":         {`<a xmlns="x"/>`, verify.ErrUnsupported},
		"tab in attribute":           {"<a b=\"1\t2\"/>", verify.ErrUnsupported},
		"newline in attribute":       {"<a b=\"1\n2\"/>", verify.ErrUnsupported},
		"too deep":                   {strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1), verify.ErrLimit},
		"too many elements":          {"<a>" + strings.Repeat("<b/>", maxElements) + "</a>", verify.ErrLimit},
		"too many attributes on one": {attrs(maxAttrsPerElement + 1), verify.ErrLimit},
		"too many attributes":        {manyElemsWithAttrs, verify.ErrLimit},
		"too many declarations":      {"<a>" + strings.Repeat(`<b xmlns:p="urn:x"/>`, maxNamespaceDecls+1) + "</a>", verify.ErrLimit},
		"too many comments":          {"<a>" + strings.Repeat("<!---->", maxNodes) + "</a>", verify.ErrLimit},
		"too many text runs":         {"<a>" + strings.Repeat("x<![CDATA[y]]>", maxNodes/2+1) + "</a>", verify.ErrLimit},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := parseXML([]byte(tc.doc))
			require.Nil(t, d)
			require.True(t, errors.Is(err, tc.kind), "got %v, want %v", err, tc.kind)
		})
	}
}

// TestParseXMLReads: what parseXML accepts, and the tree it builds.
func TestParseXMLReads(t *testing.T) {
	d, err := parseXML([]byte("<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<!-- c -->\n" +
		`<p:a xmlns:p="urn:p" xmlns="urn:d" x="&lt;&#x41;&#66;" p:y='"'>t&amp;<![CDATA[<c>]]><b xmlns=""><!--n--></b>` + "\r\n</p:a >\n"))
	require.NoError(t, err)
	a := d.el(d.root)
	require.Equal(t, [3]string{"p", "a", "urn:p"}, [3]string{a.prefix, a.local, a.space})
	require.Equal(t, []xattr{{local: "x", value: "<AB"}, {prefix: "p", local: "y", space: "urn:p", value: `"`}}, a.attrs)
	require.Equal(t, []xdecl{{"p", "urn:p"}, {"", "urn:d"}}, a.decls)
	var texts []string
	for c := a.first; c >= 0; c = d.nodes[c].next {
		if !d.el(c).elem {
			texts = append(texts, d.el(c).text)
		}
	}
	require.Equal(t, []string{"t&", "<c>", "\n"}, texts)
	kids := d.childElements(d.root)
	require.Len(t, kids, 1)
	b := d.el(kids[0])
	require.Equal(t, [2]string{"b", ""}, [2]string{b.local, b.space})
	require.Equal(t, 1, b.comments)
	require.Equal(t, d.root, b.parent)
}

// TestParseXMLAllocations bounds what reading a real RIM costs (the parser
// replaced encoding/xml, etree and a second parse; keep it that way).
func TestParseXMLAllocations(t *testing.T) {
	doc, err := os.ReadFile("../../testdata/gpu/rim/v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := parseXML(doc); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%v allocs", allocs)
	require.LessOrEqual(t, allocs, 40.0, "parseXML allocations")
}

// FuzzParseXML: parseXML never panics, every error has a kind, and every
// tree it returns keeps the structural limits.
func FuzzParseXML(f *testing.F) {
	fuzzSeeds(f)
	for _, c := range canonicalCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := parseXML(doc)
		if err != nil {
			if d != nil || verify.KindOf(err) == nil {
				t.Fatalf("bad error: %v", err)
			}
			return
		}
		if d.root < 0 || !d.el(d.root).elem || d.el(d.root).parent != -1 {
			t.Fatal("no root element")
		}
		elems, attrs, decls := 0, 0, 0
		for i := range d.nodes {
			n := &d.nodes[i]
			depth := 0
			for p := n.parent; p >= 0; p = d.nodes[p].parent {
				depth++
			}
			if depth >= maxDepth || len(n.attrs)+len(n.decls) > maxAttrsPerElement {
				t.Fatalf("node %d: depth %d, %d attributes", i, depth, len(n.attrs))
			}
			if n.elem {
				elems++
			}
			attrs += len(n.attrs) + len(n.decls)
			decls += len(n.decls)
		}
		if len(d.nodes) > maxNodes || elems > maxElements || attrs > maxAttrs || decls > maxNamespaceDecls {
			t.Fatalf("limits: %d nodes, %d elements, %d attributes, %d declarations", len(d.nodes), elems, attrs, decls)
		}
	})
}
