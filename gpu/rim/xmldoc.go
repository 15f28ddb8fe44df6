package rim

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/trustfactory/attest/verify"
)

// Structural limits, checked while reading and before anything is stored.
// NVIDIA RIMs are about 20 KiB, 5 levels deep, with ~70 elements of at most
// ~12 attributes.
const (
	defaultMaxSize     = 512 << 10
	maxDepth           = 16
	maxElements        = 2048
	maxAttrsPerElement = 64
	maxAttrs           = 16384
	maxNamespaceDecls  = 64
	// maxNodes bounds elements, text runs and comments together.
	maxNodes = 8192

	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// A RIM is read once, by parseXML, into an xdoc: the elements, their
// attributes with resolved namespaces, their namespace declarations and
// their text, with every reference resolved. Everything later (the
// signature shape, both canonical forms the signature covers, the manifest)
// is read from that one tree, so what is signed and what is claimed cannot
// come from two different readings of the bytes.

// node is an element or a run of text.
type node struct {
	elem bool
	// text holds a text run's characters, references resolved and line
	// ends normalised to LF.
	text string

	// An element's name as written, its namespace URI, attributes other
	// than namespace declarations, and its own namespace declarations.
	prefix, local, space string
	attrs                []xattr
	decls                []xdecl
	// comments counts the comments directly inside the element (dropped by
	// the canonical form; refused inside ds:Signature).
	comments int

	parent, first, next int32 // node indices; -1 for none
}

// xattr is an attribute other than a namespace declaration.
type xattr struct {
	prefix, local string // as written; prefix "" is unqualified
	space         string // namespace URI, "" when unqualified
	value         string // references resolved
}

// xdecl is a namespace declaration: prefix "" is the default namespace, and
// uri "" undeclares it.
type xdecl struct{ prefix, uri string }

// xdoc is a parsed document: nodes[root] is its root element.
type xdoc struct {
	nodes []node
	root  int32
}

// el returns the element at index i.
func (d *xdoc) el(i int32) *node { return &d.nodes[i] }

// childElements returns the indices of i's child elements.
func (d *xdoc) childElements(i int32) []int32 {
	var out []int32
	for c := d.nodes[i].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].elem {
			out = append(out, c)
		}
	}
	return out
}

// fullName is the element's name as written.
func (n *node) fullName() string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

func (a *xattr) fullName() string {
	if a.prefix == "" {
		return a.local
	}
	return a.prefix + ":" + a.local
}

// parser reads one document. Names and values without references are
// substrings of s, so reading allocates little beyond the nodes.
type parser struct {
	s       string
	i       int
	d       *xdoc
	scope   []xdecl // in-scope declarations, innermost last
	open    []int32 // open elements, innermost last
	marks   []int   // len(scope) when each open element was entered
	last    []int32 // last child of each open element
	attrs   int
	decls   int
	elems   int
	nodes   int     // nodes and comments read
	scratch []xattr // the current start tag's attributes
	slab    []xattr // storage the elements' attributes are cut from
	sb      strings.Builder
}

func malformed(format string, args ...any) error {
	return verify.Errorf(verify.ErrMalformed, "rim: XML: "+format, args...)
}

// parseXML reads doc (UTF-8, byte-order mark already removed) strictly:
// well-formed XML 1.0 with namespaces; no DTD or other directive, no
// processing instruction but a leading XML declaration (version 1.0,
// UTF-8); every prefix bound, namespace URIs absolute; no attribute twice
// (by name, or by namespace and local name); no literal tab or line end in
// an attribute value (XML would turn them into spaces, and canonicalisers
// disagree on that); names are ASCII. Depth, element, attribute,
// namespace-declaration and node counts are checked before anything is
// stored for them; the nodes are preallocated for at most one per '<' (and
// never more than maxNodes).
func parseXML(doc []byte) (*xdoc, error) {
	if err := checkChars(doc); err != nil {
		return nil, err
	}
	est := bytes.Count(doc, []byte{'<'})
	if est > maxNodes {
		est = maxNodes
	}
	p := &parser{s: string(doc), d: &xdoc{root: -1, nodes: make([]node, 0, est+1)}}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.d, nil
}

// checkChars requires valid UTF-8 made only of XML characters.
func checkChars(doc []byte) error {
	for i := 0; i < len(doc); {
		b := doc[i]
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				return malformed("control character %#x at byte %d", b, i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			return malformed("invalid UTF-8 or non-character at byte %d", i)
		}
		i += n
	}
	return nil
}

func (p *parser) document() error {
	if strings.HasPrefix(p.s, "<?xml") && len(p.s) > 5 && isSpace(p.s[5]) {
		if err := p.xmlDecl(); err != nil {
			return err
		}
	}
	for p.i < len(p.s) {
		if p.s[p.i] != '<' {
			j := strings.IndexByte(p.s[p.i:], '<')
			if j < 0 {
				j = len(p.s) - p.i
			}
			if len(p.open) == 0 {
				if strings.TrimLeft(p.s[p.i:p.i+j], " \t\r\n") != "" {
					return malformed("text outside the root element at byte %d", p.i)
				}
				p.i += j
				continue
			}
			if err := p.text(p.s[p.i : p.i+j]); err != nil {
				return err
			}
			p.i += j
			continue
		}
		rest := p.s[p.i:]
		var err error
		switch {
		case strings.HasPrefix(rest, "</"):
			err = p.endTag()
		case strings.HasPrefix(rest, "<!--"):
			err = p.comment()
		case strings.HasPrefix(rest, "<![CDATA["):
			err = p.cdata()
		case strings.HasPrefix(rest, "<!"):
			err = malformed("directive <!%.20s> (DTD or entity declaration) not allowed", rest[2:])
		case strings.HasPrefix(rest, "<?"):
			err = malformed("processing instruction at byte %d not allowed", p.i)
		default:
			err = p.startTag()
		}
		if err != nil {
			return err
		}
	}
	if p.d.root < 0 || len(p.open) != 0 {
		return malformed("document has no complete root element")
	}
	return nil
}

// xmlDecl reads <?xml version="1.0" encoding="UTF-8" standalone="…"?>.
func (p *parser) xmlDecl() error {
	end := strings.Index(p.s, "?>")
	if end < 0 {
		return malformed("unterminated XML declaration")
	}
	body := p.s[5:end]
	p.i = end + 2
	for _, name := range []string{"version", "encoding", "standalone"} {
		body = strings.TrimLeft(body, " \t\r\n")
		rest, ok := strings.CutPrefix(body, name)
		if !ok {
			if name == "version" {
				return malformed("XML declaration without version")
			}
			continue
		}
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" || rest[0] != '=' {
			return malformed("XML declaration: %s without value", name)
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		if rest == "" || rest[0] != '"' && rest[0] != '\'' {
			return malformed("XML declaration: %s value not quoted", name)
		}
		j := strings.IndexByte(rest[1:], rest[0])
		if j < 0 {
			return malformed("XML declaration: %s value unterminated", name)
		}
		v := rest[1 : 1+j]
		switch {
		case name == "version" && v != "1.0":
			return malformed("XML version %q, want 1.0", v)
		case name == "encoding" && !strings.EqualFold(v, "UTF-8"):
			return malformed("XML encoding %q is not UTF-8", v)
		case name == "standalone" && v != "yes" && v != "no":
			return malformed("XML standalone=%q", v)
		}
		body = rest[2+j:]
	}
	if strings.TrimLeft(body, " \t\r\n") != "" {
		return malformed("XML declaration: unexpected %.20q", body)
	}
	return nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// isNameByte accepts the ASCII letters, digits, '_', '-' and '.' of XML
// names: RIM names are ASCII, and refusing the rest spares checking
// Unicode name classes.
func isNameByte(b byte, first bool) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '_':
		return true
	case b >= '0' && b <= '9', b == '-', b == '.':
		return !first
	}
	return false
}

// qname reads prefix:local or local at p.i (each part an NCName).
func (p *parser) qname() (prefix, local string, err error) {
	start := p.i
	colon := -1
	for p.i < len(p.s) {
		b := p.s[p.i]
		if b == ':' {
			if colon >= 0 || p.i == start {
				return "", "", malformed("bad name at byte %d", start)
			}
			colon = p.i
			p.i++
			continue
		}
		if !isNameByte(b, p.i == start || p.i == colon+1) {
			break
		}
		p.i++
	}
	switch {
	case p.i == start:
		return "", "", malformed("expected a name at byte %d", start)
	case colon < 0:
		return "", p.s[start:p.i], nil
	case colon == p.i-1:
		return "", "", malformed("bad name at byte %d", start)
	}
	return p.s[start:colon], p.s[colon+1 : p.i], nil
}

func (p *parser) skipSpace() bool {
	start := p.i
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
	return p.i > start
}

// addNode appends n as the last child of the innermost open element.
func (p *parser) addNode(n node) (int32, error) {
	if p.nodes++; p.nodes > maxNodes {
		return 0, verify.Errorf(verify.ErrLimit, "rim: XML has more than %d nodes", maxNodes)
	}
	idx := int32(len(p.d.nodes))
	n.first, n.next, n.parent = -1, -1, -1
	if k := len(p.open); k > 0 {
		n.parent = p.open[k-1]
		if l := p.last[k-1]; l >= 0 {
			p.d.nodes[l].next = idx
		} else {
			p.d.nodes[n.parent].first = idx
		}
		p.last[k-1] = idx
	}
	p.d.nodes = append(p.d.nodes, n)
	return idx, nil
}

func (p *parser) text(raw string) error {
	if strings.Contains(raw, "]]>") {
		return malformed("\"]]>\" in text at byte %d", p.i)
	}
	t, err := p.unescape(raw)
	if err != nil {
		return err
	}
	_, err = p.addNode(node{text: t})
	return err
}

func (p *parser) cdata() error {
	if len(p.open) == 0 {
		return malformed("CDATA section outside the root element")
	}
	start := p.i + len("<![CDATA[")
	end := strings.Index(p.s[start:], "]]>")
	if end < 0 {
		return malformed("unterminated CDATA section")
	}
	raw := p.s[start : start+end]
	p.i = start + end + 3
	if strings.IndexByte(raw, '\r') >= 0 {
		raw = normaliseLineEnds(raw)
	}
	_, err := p.addNode(node{text: raw})
	return err
}

func (p *parser) comment() error {
	start := p.i + len("<!--")
	end := strings.Index(p.s[start:], "--")
	if end < 0 || !strings.HasPrefix(p.s[start+end:], "-->") {
		return malformed("comment at byte %d is unterminated or contains \"--\"", p.i)
	}
	p.i = start + end + 3
	// A comment takes no node but counts towards the bound.
	if p.nodes++; p.nodes > maxNodes {
		return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d nodes", maxNodes)
	}
	if k := len(p.open); k > 0 {
		p.d.nodes[p.open[k-1]].comments++
	}
	return nil
}

func (p *parser) startTag() error {
	if len(p.open) == 0 && p.d.root >= 0 {
		return malformed("more than one root element")
	}
	if len(p.open) >= maxDepth {
		return verify.Errorf(verify.ErrLimit, "rim: XML depth exceeds %d", maxDepth)
	}
	if p.elems++; p.elems > maxElements {
		return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d elements", maxElements)
	}
	p.i++ // '<'
	nameStart := p.i
	prefix, local, err := p.qname()
	if err != nil {
		return err
	}
	qname := p.s[nameStart:p.i]
	attrs := p.scratch[:0]
	var decls []xdecl
	selfClosing := false
	for {
		sp := p.skipSpace()
		if p.i >= len(p.s) {
			return malformed("unterminated start tag <%s>", qname)
		}
		if p.s[p.i] == '>' {
			p.i++
			break
		}
		if strings.HasPrefix(p.s[p.i:], "/>") {
			p.i += 2
			selfClosing = true
			break
		}
		if !sp {
			return malformed("expected space before attribute in <%s> at byte %d", qname, p.i)
		}
		if len(attrs)+len(decls) >= maxAttrsPerElement {
			return verify.Errorf(verify.ErrLimit, "rim: element %s has more than %d attributes", qname, maxAttrsPerElement)
		}
		if p.attrs++; p.attrs > maxAttrs {
			return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d attributes", maxAttrs)
		}
		aStart := p.i
		ap, al, err := p.qname()
		if err != nil {
			return err
		}
		aName := p.s[aStart:p.i]
		val, err := p.attrValue(aName, qname)
		if err != nil {
			return err
		}
		// No attribute twice by name.
		for _, a := range attrs {
			if a.prefix == ap && a.local == al {
				return malformed("element %s repeats attribute %s", qname, aName)
			}
		}
		switch {
		case ap == "" && al == "xmlns", ap == "xmlns":
			declPrefix := al
			if ap == "" {
				declPrefix = ""
			}
			for _, d := range decls {
				if d.prefix == declPrefix {
					return malformed("element %s repeats attribute %s", qname, aName)
				}
			}
			if err := checkDecl(declPrefix, val); err != nil {
				return err
			}
			if p.decls++; p.decls > maxNamespaceDecls {
				return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d namespace declarations", maxNamespaceDecls)
			}
			decls = append(decls, xdecl{prefix: declPrefix, uri: val})
		default:
			attrs = append(attrs, xattr{prefix: ap, local: al, value: val})
		}
	}
	p.scratch = attrs[:0]

	// Enter the element's scope and resolve its names.
	p.marks = append(p.marks, len(p.scope))
	p.scope = append(p.scope, decls...)
	space, ok := p.lookup(prefix)
	if !ok || prefix == "xml" {
		return malformed("element %s: prefix %q is not declared", qname, prefix)
	}
	var own []xattr
	if len(attrs) > 0 {
		if cap(p.slab)-len(p.slab) < len(attrs) {
			p.slab = make([]xattr, 0, max(len(attrs), 256))
		}
		n := len(p.slab)
		p.slab = append(p.slab, attrs...)
		own = p.slab[n:len(p.slab):len(p.slab)]
	}
	for i := range own {
		a := &own[i]
		if a.prefix != "" {
			if a.space, ok = p.lookup(a.prefix); !ok || a.space == "" {
				return malformed("element %s: attribute prefix %q is not declared", qname, a.prefix)
			}
		}
		for _, b := range own[:i] {
			if b.space == a.space && b.local == a.local {
				return malformed("element %s has attribute {%s}%s twice", qname, a.space, a.local)
			}
		}
	}
	idx, err := p.addNode(node{elem: true, prefix: prefix, local: local, space: space, attrs: own, decls: decls})
	if err != nil {
		return err
	}
	if len(p.open) == 0 {
		p.d.root = idx
	}
	p.open = append(p.open, idx)
	p.last = append(p.last, -1)
	if selfClosing {
		p.close()
	}
	return nil
}

// attrValue reads ="value" or ='value' after an attribute name and resolves
// its references.
func (p *parser) attrValue(name, elem string) (string, error) {
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '=' {
		return "", malformed("attribute %s of <%s> has no value", name, elem)
	}
	p.i++
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '"' && p.s[p.i] != '\'' {
		return "", malformed("attribute %s of <%s>: value not quoted", name, elem)
	}
	end := strings.IndexByte(p.s[p.i+1:], p.s[p.i])
	if end < 0 {
		return "", malformed("attribute %s of <%s>: unterminated value", name, elem)
	}
	raw := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	for k := 0; k < len(raw); k++ {
		switch raw[k] {
		case '<':
			return "", malformed("attribute %s of <%s>: '<' in value", name, elem)
		case '\t', '\n', '\r':
			return "", verify.Errorf(verify.ErrUnsupported, "rim: XML: attribute %s of <%s>: literal tab or line end in value (attribute-value normalisation is not supported)", name, elem)
		}
	}
	return p.unescape(raw)
}

// checkDecl refuses declarations XML namespaces forbid or the canonical
// form cannot express: the reserved prefixes and URIs, undeclaring a
// prefix, and relative namespace URIs (C14N requires failing on them).
func checkDecl(prefix, uri string) error {
	switch {
	case prefix == "xml" || prefix == "xmlns":
		return verify.Errorf(verify.ErrUnsupported, "rim: XML: declaring the reserved prefix %q is not supported", prefix)
	case uri == nsXML || uri == nsXMLNS:
		return malformed("namespace %q bound to prefix %q", uri, prefix)
	case uri == "" && prefix != "":
		return malformed("prefix %q bound to the empty namespace", prefix)
	case uri != "" && !strings.Contains(uri, ":"):
		return verify.Errorf(verify.ErrUnsupported, "rim: XML: relative namespace URI %q", uri)
	}
	return nil
}

// lookup resolves prefix in the current scope ("" is the default
// namespace, unbound means no namespace).
func (p *parser) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].prefix == prefix {
			return p.scope[i].uri, true
		}
	}
	return "", prefix == ""
}

func (p *parser) close() {
	k := len(p.open) - 1
	p.scope = p.scope[:p.marks[k]]
	p.open, p.last, p.marks = p.open[:k], p.last[:k], p.marks[:k]
}

func (p *parser) endTag() error {
	p.i += 2
	start := p.i
	if _, _, err := p.qname(); err != nil {
		return err
	}
	name := p.s[start:p.i]
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '>' {
		return malformed("unterminated end tag </%s>", name)
	}
	p.i++
	if len(p.open) == 0 {
		return malformed("end tag </%s> without start tag", name)
	}
	if e := p.d.el(p.open[len(p.open)-1]); e.fullName() != name {
		return malformed("end tag </%s> closes <%s>", name, e.fullName())
	}
	p.close()
	return nil
}

// unescape resolves the predefined entities and character references of
// raw and normalises line ends.
func (p *parser) unescape(raw string) (string, error) {
	if strings.IndexByte(raw, '&') < 0 {
		if strings.IndexByte(raw, '\r') >= 0 {
			return normaliseLineEnds(raw), nil
		}
		return raw, nil
	}
	sb := &p.sb
	sb.Reset()
	sb.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\r':
			sb.WriteByte('\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
			continue
		case c != '&':
			sb.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(raw[i:], ';')
		if end < 0 || end > 12 {
			return "", malformed("unterminated reference %.12q", raw[i:])
		}
		ref := raw[i+1 : i+end]
		i += end + 1
		switch ref {
		case "lt":
			sb.WriteByte('<')
		case "gt":
			sb.WriteByte('>')
		case "amp":
			sb.WriteByte('&')
		case "apos":
			sb.WriteByte('\'')
		case "quot":
			sb.WriteByte('"')
		default:
			r, ok := charRef(ref)
			if !ok {
				return "", malformed("reference &%s; is not a predefined entity or a valid character", ref)
			}
			sb.WriteRune(r)
		}
	}
	return sb.String(), nil
}

// charRef decodes "#123" or "#x7B" into an XML character.
func charRef(ref string) (rune, bool) {
	digits, ok := strings.CutPrefix(ref, "#")
	if !ok || digits == "" {
		return 0, false
	}
	base := 10
	if h, ok := strings.CutPrefix(digits, "x"); ok {
		digits, base = h, 16
	}
	if digits == "" || len(digits) > 8 {
		return 0, false
	}
	var r rune
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*rune(base) + v
		if r > utf8.MaxRune {
			return 0, false
		}
	}
	switch {
	case r == '\t' || r == '\n' || r == '\r':
	case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return 0, false
	}
	return r, true
}

func normaliseLineEnds(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// detach unlinks element i from its parent's children.
func (d *xdoc) detach(i int32) error {
	par := d.nodes[i].parent
	if par < 0 {
		return malformed("cannot detach the root element")
	}
	prev := int32(-1)
	for c := d.nodes[par].first; c >= 0; prev, c = c, d.nodes[c].next {
		if c != i {
			continue
		}
		if prev < 0 {
			d.nodes[par].first = d.nodes[c].next
		} else {
			d.nodes[prev].next = d.nodes[c].next
		}
		d.nodes[i].parent, d.nodes[i].next = -1, -1
		return nil
	}
	return malformed("element is not among its parent's children")
}
