package rim

import "hash"

// Canonical XML 1.1 without comments (https://www.w3.org/TR/xml-c14n11/),
// the only canonicalisation NVIDIA's RIM profile names, written from an
// xdoc for the two node sets its signature covers:
//
//   - the whole document minus the enveloped ds:Signature (Reference URI=""
//     with the enveloped-signature transform then C14N 1.1): every element
//     is rendered with its ancestors, so a namespace declaration is written
//     where it changes the binding in scope at the parent;
//   - ds:SignedInfo alone: its ancestors are not rendered, so every
//     namespace in scope at it is written on it.
//
// The document may carry nothing whose canonical form these two rules do
// not cover: parseXML refuses DTDs (no defaulted attributes or entities),
// processing instructions and attribute values that would need
// normalising; checkSignatureShape refuses xml:* attributes where C14N 1.1
// would make SignedInfo inherit them. Comments and whitespace outside the
// root are not part of either form.

// canon writes canonical bytes into buf, handing full buffers to h when h is
// set (so a digest needs no copy of the whole document).
type canon struct {
	d     *xdoc
	buf   []byte
	h     hash.Hash
	skip  int32   // element left out with its subtree; -1 for none
	scope []xdecl // bindings rendered so far, innermost last
	decls []xdecl // scratch: the declarations being written
	attrs []int   // scratch: attribute order
}

const canonFlush = 4 << 10

// canonicalDocument returns (or, with h, hashes) the canonical form of d
// without the element skip and its subtree.
func canonicalDocument(d *xdoc, skip int32, h hash.Hash) []byte {
	c := &canon{d: d, h: h, skip: skip, buf: make([]byte, 0, 2*canonFlush)}
	c.element(d.root, false)
	return c.finish()
}

// canonicalSubtree returns (or hashes) the canonical form of the element
// apex and its subtree as a document subset.
func canonicalSubtree(d *xdoc, apex int32, h hash.Hash) []byte {
	c := &canon{d: d, h: h, skip: -1, buf: make([]byte, 0, 2*canonFlush)}
	c.element(apex, true)
	return c.finish()
}

func (c *canon) finish() []byte {
	if c.h != nil {
		c.h.Write(c.buf)
		return nil
	}
	return c.buf
}

func (c *canon) flush() {
	if c.h != nil && len(c.buf) >= canonFlush {
		c.h.Write(c.buf)
		c.buf = c.buf[:0]
	}
}

// bound returns the namespace bound to prefix among the rendered bindings
// ("" when none).
func (c *canon) bound(prefix string) string {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i].prefix == prefix {
			return c.scope[i].uri
		}
	}
	return ""
}

// inScope collects every binding in scope at element i, innermost winning.
func (c *canon) inScope(i int32) []xdecl {
	var chain []int32
	for e := i; e >= 0; e = c.d.nodes[e].parent {
		chain = append(chain, e)
	}
	var out []xdecl
	for k := len(chain) - 1; k >= 0; k-- {
	next:
		for _, dcl := range c.d.nodes[chain[k]].decls {
			for j := range out {
				if out[j].prefix == dcl.prefix {
					out[j].uri = dcl.uri
					continue next
				}
			}
			out = append(out, dcl)
		}
	}
	return out
}

func (c *canon) element(i int32, apex bool) {
	n := &c.d.nodes[i]
	mark := len(c.scope)
	c.buf = append(c.buf, '<')
	c.buf = appendName(c.buf, n.prefix, n.local)

	// Namespace declarations: at the apex every binding in scope, below it
	// those that change the binding rendered on the parent. An empty
	// default namespace is written only to undo a non-empty one.
	c.decls = c.decls[:0]
	var own []xdecl
	if apex {
		own = c.inScope(i)
	} else {
		own = n.decls
	}
	for _, dcl := range own {
		if c.bound(dcl.prefix) != dcl.uri {
			c.decls = append(c.decls, dcl)
		}
	}
	c.scope = append(c.scope, c.decls...)
	// Sorted by prefix; the default namespace (prefix "") first.
	for a := 1; a < len(c.decls); a++ {
		for b := a; b > 0 && c.decls[b].prefix < c.decls[b-1].prefix; b-- {
			c.decls[b], c.decls[b-1] = c.decls[b-1], c.decls[b]
		}
	}
	for _, dcl := range c.decls {
		if dcl.prefix == "" {
			c.buf = append(c.buf, ` xmlns="`...)
		} else {
			c.buf = append(c.buf, ` xmlns:`...)
			c.buf = append(c.buf, dcl.prefix...)
			c.buf = append(c.buf, `="`...)
		}
		c.buf = appendAttrValue(c.buf, dcl.uri)
		c.buf = append(c.buf, '"')
	}

	// Attributes sorted by namespace URI (unqualified first), then local
	// name.
	c.attrs = c.attrs[:0]
	for k := range n.attrs {
		c.attrs = append(c.attrs, k)
	}
	for a := 1; a < len(c.attrs); a++ {
		for b := a; b > 0 && attrLess(&n.attrs[c.attrs[b]], &n.attrs[c.attrs[b-1]]); b-- {
			c.attrs[b], c.attrs[b-1] = c.attrs[b-1], c.attrs[b]
		}
	}
	for _, k := range c.attrs {
		a := &n.attrs[k]
		c.buf = append(c.buf, ' ')
		c.buf = appendName(c.buf, a.prefix, a.local)
		c.buf = append(c.buf, `="`...)
		c.buf = appendAttrValue(c.buf, a.value)
		c.buf = append(c.buf, '"')
	}
	c.buf = append(c.buf, '>')

	for k := n.first; k >= 0; k = c.d.nodes[k].next {
		switch ch := &c.d.nodes[k]; {
		case k == c.skip:
		case ch.elem:
			c.element(k, false)
		default:
			c.buf = appendText(c.buf, ch.text)
		}
		c.flush()
	}
	c.buf = append(c.buf, "</"...)
	c.buf = appendName(c.buf, n.prefix, n.local)
	c.buf = append(c.buf, '>')
	c.scope = c.scope[:mark]
}

func attrLess(a, b *xattr) bool {
	if a.space != b.space {
		return a.space < b.space
	}
	return a.local < b.local
}

func appendName(buf []byte, prefix, local string) []byte {
	if prefix != "" {
		buf = append(buf, prefix...)
		buf = append(buf, ':')
	}
	return append(buf, local...)
}

// appendText escapes text as C14N does: &, <, > and CR.
func appendText(buf []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case '&':
			r = "&amp;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		case '\r':
			r = "&#xD;"
		default:
			continue
		}
		buf = append(append(buf, s[last:i]...), r...)
		last = i + 1
	}
	return append(buf, s[last:]...)
}

// appendAttrValue escapes an attribute value as C14N does: &, <, ", tab,
// LF and CR.
func appendAttrValue(buf []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case '&':
			r = "&amp;"
		case '<':
			r = "&lt;"
		case '"':
			r = "&quot;"
		case '\t':
			r = "&#x9;"
		case '\n':
			r = "&#xA;"
		case '\r':
			r = "&#xD;"
		default:
			continue
		}
		buf = append(append(buf, s[last:i]...), r...)
		last = i + 1
	}
	return append(buf, s[last:]...)
}
