package rim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"github.com/beevik/etree"
	"github.com/trustfactory/attest/verify"
)

// Structural limits applied before any tree is built. NVIDIA RIMs are about
// 20 KiB, 5 levels deep, with ~70 elements of at most ~12 attributes.
const (
	defaultMaxSize     = 512 << 10
	maxDepth           = 16
	maxElements        = 2048
	maxAttrsPerElement = 64
	maxAttrs           = 16384
	maxNamespaceDecls  = 64
)

// scan walks the raw tokens of doc once, before etree or the canonicalizer
// see it, and rejects what a RIM never contains and what would make later
// stages expensive: DTDs and other directives (no entity can be declared,
// so none can be expanded), processing instructions other than the XML
// declaration, duplicate attributes, excessive depth, element, attribute or
// namespace-declaration counts, and anything outside the single root.
func scan(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: XML encoding %q is not UTF-8", charset)
	}
	var (
		depth, elements, attrs, nsDecls int
		roots                           int
		first                           = true
	)
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return verify.Errorf(verify.ErrMalformed, "rim: XML syntax at byte %d: %w", d.InputOffset(), err)
		}
		isFirst := first
		first = false
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return verify.Errorf(verify.ErrMalformed, "rim: XML has more than one root element")
				}
			}
			depth++
			elements++
			if depth > maxDepth {
				return verify.Errorf(verify.ErrLimit, "rim: XML depth exceeds %d", maxDepth)
			}
			if elements > maxElements {
				return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d elements", maxElements)
			}
			if len(t.Attr) > maxAttrsPerElement {
				return verify.Errorf(verify.ErrLimit, "rim: element %s has %d attributes, more than %d", t.Name.Local, len(t.Attr), maxAttrsPerElement)
			}
			attrs += len(t.Attr)
			if attrs > maxAttrs {
				return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d attributes", maxAttrs)
			}
			for i, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					nsDecls++
					if nsDecls > maxNamespaceDecls {
						return verify.Errorf(verify.ErrLimit, "rim: XML has more than %d namespace declarations", maxNamespaceDecls)
					}
				}
				for _, b := range t.Attr[:i] {
					if a.Name == b.Name {
						return verify.Errorf(verify.ErrMalformed, "rim: element %s repeats attribute %s", t.Name.Local, rawName(a.Name))
					}
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) != 0 {
				return verify.Errorf(verify.ErrMalformed, "rim: text outside the root element")
			}
		case xml.Comment:
			// Comments are not part of the canonical form that is signed;
			// the signature checks reject them where they could split a value.
		case xml.ProcInst:
			if t.Target != "xml" || !isFirst {
				return verify.Errorf(verify.ErrMalformed, "rim: processing instruction <?%s?> not allowed", t.Target)
			}
		case xml.Directive:
			return verify.Errorf(verify.ErrMalformed, "rim: XML directive <!%.20s> (DTD or entity declaration) not allowed", t)
		}
	}
	if roots != 1 || depth != 0 {
		return verify.Errorf(verify.ErrMalformed, "rim: XML document has no complete root element")
	}
	return nil
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// parseTree builds the etree document of a scanned RIM.
func parseTree(doc []byte) (*etree.Document, error) {
	d := etree.NewDocument()
	d.ReadSettings = etree.ReadSettings{MaxDepth: maxDepth}
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: XML: %w", err)
	}
	if d.Root() == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: XML has no root element")
	}
	return d, nil
}
