package rim

import (
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/trustfactory/attest/verify"
)

// The XML-DSig profile of NVIDIA RIMs. Nothing else is accepted.
const (
	nsDSig         = "http://www.w3.org/2000/09/xmldsig#"
	algC14N11      = "http://www.w3.org/2006/12/xml-c14n11"
	algECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algSHA384      = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algEnveloped   = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

	p384ScalarLen = 48
	maxCerts      = 8
	maxCertLen    = 8 << 10
)

// signature is the checked shape of a RIM's ds:Signature.
type signature struct {
	el         *etree.Element // the ds:Signature element, a child of the root
	signedInfo *etree.Element // ds:SignedInfo
	digest     []byte         // ds:DigestValue, 48 bytes
	rawSig     []byte         // 96-byte r‖s
	certs      []*x509.Certificate
}

// checkSignatureShape finds the one enveloped signature of root and checks
// it element by element against NVIDIA's profile: exactly SignedInfo,
// SignatureValue, KeyInfo; in SignedInfo exactly C14N 1.1, ecdsa-sha384 and
// one Reference URI="" whose transforms are exactly enveloped-signature then
// C14N 1.1 and whose digest is sha384; in KeyInfo exactly one X509Data of
// X509Certificate elements. Structural deviations are ErrMalformed; a missing
// signature or another algorithm is ErrSignature.
func checkSignatureShape(root *etree.Element) (*signature, error) {
	var sigs []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
				sigs = append(sigs, c)
			}
			walk(c)
		}
	}
	walk(root)
	switch {
	case len(sigs) == 0:
		return nil, verify.Errorf(verify.ErrSignature, "rim: document has no ds:Signature")
	case len(sigs) > 1:
		return nil, verify.Errorf(verify.ErrMalformed, "rim: document has %d ds:Signature elements, want 1", len(sigs))
	}
	sigEl := sigs[0]
	if sigEl.Parent() != root {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:Signature is not a child of the root element")
	}
	if err := noAttrs(sigEl, "xmlns"); err != nil {
		return nil, err
	}
	if err := dsigOnly(sigEl); err != nil {
		return nil, err
	}
	kids, err := children(sigEl, "SignedInfo", "SignatureValue", "KeyInfo")
	if err != nil {
		return nil, err
	}
	signedInfo, sigValue, keyInfo := kids[0], kids[1], kids[2]

	// SignedInfo
	if err := noAttrs(signedInfo); err != nil {
		return nil, err
	}
	si, err := children(signedInfo, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if err != nil {
		return nil, err
	}
	if err := algorithm(si[0], algC14N11); err != nil {
		return nil, err
	}
	if err := algorithm(si[1], algECDSASHA384); err != nil {
		return nil, err
	}
	ref := si[2]
	uri := ref.SelectAttr("URI")
	if uri == nil || uri.Space != "" || uri.Value != "" {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:Reference must have URI=\"\" (the whole document)")
	}
	if err := noAttrs(ref, "URI"); err != nil {
		return nil, err
	}
	rk, err := children(ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return nil, err
	}
	if err := noAttrs(rk[0]); err != nil {
		return nil, err
	}
	tr, err := children(rk[0], "Transform", "Transform")
	if err != nil {
		// The transform list is an algorithm choice: exactly NVIDIA's two.
		return nil, verify.Errorf(verify.ErrSignature, "rim: ds:Transforms must be exactly enveloped-signature, C14N 1.1: %w", err)
	}
	if err := algorithm(tr[0], algEnveloped); err != nil {
		return nil, err
	}
	if err := algorithm(tr[1], algC14N11); err != nil {
		return nil, err
	}
	if err := algorithm(rk[1], algSHA384); err != nil {
		return nil, err
	}
	if err := noAttrs(rk[2]); err != nil {
		return nil, err
	}
	// Exactly 48 bytes (SHA-384).
	digest, err := base64Text(rk[2], "DigestValue", 48, 48)
	if err != nil {
		return nil, err
	}

	// SignatureValue: raw r‖s of P-384.
	if err := noAttrs(sigValue); err != nil {
		return nil, err
	}
	raw, err := base64Text(sigValue, "SignatureValue", 0, 2*p384ScalarLen)
	if err != nil {
		return nil, verify.Errorf(verify.ErrSignature, "rim: %w", err)
	}
	if len(raw) != 2*p384ScalarLen {
		return nil, verify.Errorf(verify.ErrSignature, "rim: ds:SignatureValue: expected %d bytes (raw P-384 r||s), got %d", 2*p384ScalarLen, len(raw))
	}

	// KeyInfo/X509Data/X509Certificate+
	if err := noAttrs(keyInfo); err != nil {
		return nil, err
	}
	xd, err := children(keyInfo, "X509Data")
	if err != nil {
		return nil, err
	}
	if err := noAttrs(xd[0]); err != nil {
		return nil, err
	}
	certEls := xd[0].ChildElements()
	if len(certEls) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:X509Data has no ds:X509Certificate")
	}
	if len(certEls) > maxCerts {
		return nil, verify.Errorf(verify.ErrLimit, "rim: ds:X509Data has %d certificates, more than %d", len(certEls), maxCerts)
	}
	if err := textOnlyWhitespace(xd[0]); err != nil {
		return nil, err
	}
	s := &signature{el: sigEl, signedInfo: signedInfo, digest: digest, rawSig: raw}
	for i, ce := range certEls {
		if ce.Tag != "X509Certificate" {
			return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:X509Data: unexpected element %s", ce.FullTag())
		}
		if err := noAttrs(ce); err != nil {
			return nil, err
		}
		der, err := base64Text(ce, "X509Certificate", 1, maxCertLen)
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:X509Certificate %d: %w", i, err)
		}
		s.certs = append(s.certs, c)
	}
	return s, nil
}

// dsigOnly requires every element under e to be in the XML-DSig namespace
// and forbids comments and processing instructions anywhere inside it, so
// no value can be split or hidden.
func dsigOnly(e *etree.Element) error {
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			if c.NamespaceURI() != nsDSig {
				return verify.Errorf(verify.ErrMalformed, "rim: element %s in ds:Signature is not in the XML-DSig namespace", c.FullTag())
			}
			if err := dsigOnly(c); err != nil {
				return err
			}
		case *etree.Comment:
			return verify.Errorf(verify.ErrMalformed, "rim: comment inside ds:%s", e.Tag)
		case *etree.ProcInst, *etree.Directive:
			return verify.Errorf(verify.ErrMalformed, "rim: markup inside ds:%s", e.Tag)
		}
	}
	return nil
}

// children requires e's element children to be exactly the given local names
// in order, and e to carry no text but whitespace.
func children(e *etree.Element, names ...string) ([]*etree.Element, error) {
	kids := e.ChildElements()
	got := make([]string, len(kids))
	for i, k := range kids {
		got[i] = k.Tag
	}
	if len(kids) != len(names) {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s children: expected %v, got %v", e.Tag, names, got)
	}
	for i, k := range kids {
		if k.Tag != names[i] {
			return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s children: expected %v, got %v", e.Tag, names, got)
		}
	}
	if err := textOnlyWhitespace(e); err != nil {
		return nil, err
	}
	return kids, nil
}

func textOnlyWhitespace(e *etree.Element) error {
	for _, t := range e.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			return verify.Errorf(verify.ErrMalformed, "rim: unexpected text in ds:%s", e.Tag)
		}
	}
	return nil
}

// noAttrs allows only namespace declarations and the named attributes.
func noAttrs(e *etree.Element, allowed ...string) error {
	for _, a := range e.Attr {
		if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
			continue
		}
		ok := false
		for _, n := range allowed {
			if a.Space == "" && a.Key == n {
				ok = true
			}
		}
		if !ok {
			return verify.Errorf(verify.ErrMalformed, "rim: unexpected attribute %s on ds:%s", a.FullKey(), e.Tag)
		}
	}
	return nil
}

// algorithm checks an empty element whose only attribute is Algorithm=want.
// Another algorithm is ErrSignature: the profile allows exactly one.
func algorithm(e *etree.Element, want string) error {
	if len(e.ChildElements()) != 0 {
		return verify.Errorf(verify.ErrMalformed, "rim: ds:%s must be empty", e.Tag)
	}
	if err := textOnlyWhitespace(e); err != nil {
		return err
	}
	if err := noAttrs(e, "Algorithm"); err != nil {
		return err
	}
	got := e.SelectAttrValue("Algorithm", "")
	if got != want {
		return verify.Errorf(verify.ErrSignature, "rim: ds:%s Algorithm: expected %q, got %q", e.Tag, want, got)
	}
	return nil
}

// base64Text decodes the base64 text of a leaf element (whitespace ignored),
// refusing more than max decoded bytes before decoding.
func base64Text(e *etree.Element, name string, min, max int) ([]byte, error) {
	if len(e.ChildElements()) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s must contain only text", name)
	}
	var sb strings.Builder
	for _, t := range e.Child {
		if cd, ok := t.(*etree.CharData); ok {
			sb.WriteString(cd.Data)
		}
	}
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, sb.String())
	if base64.StdEncoding.DecodedLen(len(s)) > max+2 {
		return nil, verify.Errorf(verify.ErrLimit, "rim: ds:%s longer than %d bytes", name, max)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s: %w", name, err)
	}
	if len(b) < min {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s: expected at least %d bytes, got %d", name, min, len(b))
	}
	return b, nil
}

// verifyEnveloped checks the enveloped signature sig of root, whose shape
// checkSignatureShape pinned (C14N 1.1, ECDSA P-384 with SHA-384, one
// Reference URI="" with the enveloped-signature transform then C14N 1.1,
// SHA-384), under pub: the raw r‖s signature over SHA-384 of the canonical
// SignedInfo (detached with the namespaces in scope), then the digest of the
// canonical root without the ds:Signature element. It returns the root of
// those canonical bytes parsed anew: the only tree claims may be read from,
// since it is exactly what the digest covers (no comment, no whitespace or
// namespace the canonical form drops). It removes sig.el from root.
func verifyEnveloped(root *etree.Element, sig *signature, pub *ecdsa.PublicKey) (*etree.Element, error) {
	c14n := dsig.MakeC14N11Canonicalizer()
	ns, err := etreeutils.NSBuildParentContext(sig.signedInfo)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:SignedInfo namespaces: %w", err)
	}
	detached, err := etreeutils.NSDetatch(ns, sig.signedInfo)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:SignedInfo namespaces: %w", err)
	}
	signedInfo, err := c14n.Canonicalize(detached)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: canonicalizing ds:SignedInfo: %w", err)
	}
	h := sha512.Sum384(signedInfo)
	r := new(big.Int).SetBytes(sig.rawSig[:p384ScalarLen])
	sv := new(big.Int).SetBytes(sig.rawSig[p384ScalarLen:])
	if !ecdsa.Verify(pub, h[:], r, sv) {
		return nil, verify.Errorf(verify.ErrSignature, "rim: ds:SignatureValue does not verify over the canonical ds:SignedInfo (SHA-384 %x)", h)
	}
	if sig.el.Parent() != root || root.RemoveChild(sig.el) == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:Signature is not a child of the root element")
	}
	referenced, err := c14n.Canonicalize(root)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: canonicalizing the document: %w", err)
	}
	if d := sha512.Sum384(referenced); subtle.ConstantTimeCompare(d[:], sig.digest) != 1 {
		return nil, verify.Errorf(verify.ErrSignature, "rim: document digest: expected %x (ds:DigestValue), got SHA-384 %x of the canonical document", sig.digest, d)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(referenced); err != nil || doc.Root() == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: re-reading the canonical document: %v", err)
	}
	return doc.Root(), nil
}
