package rim

import (
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"strings"

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
	el         int32  // the ds:Signature element, a child of the root
	signedInfo int32  // ds:SignedInfo
	digest     []byte // ds:DigestValue, 48 bytes
	rawSig     []byte // 96-byte r‖s
	certs      []*x509.Certificate
}

// checkSignatureShape finds the one enveloped signature of d's root and
// checks it element by element against NVIDIA's profile: exactly SignedInfo,
// SignatureValue, KeyInfo; in SignedInfo exactly C14N 1.1, ecdsa-sha384 and
// one Reference URI="" whose transforms are exactly enveloped-signature then
// C14N 1.1 and whose digest is sha384; in KeyInfo exactly one X509Data of
// X509Certificate elements. Structural deviations are ErrMalformed; a missing
// signature or another algorithm is ErrSignature.
func checkSignatureShape(d *xdoc) (*signature, error) {
	sigEl, count := int32(-1), 0
	for i := range d.nodes {
		if n := &d.nodes[i]; n.elem && n.local == "Signature" && n.space == nsDSig {
			sigEl = int32(i)
			count++
		}
	}
	switch {
	case count == 0:
		return nil, verify.Errorf(verify.ErrSignature, "rim: document has no ds:Signature")
	case count > 1:
		return nil, verify.Errorf(verify.ErrMalformed, "rim: document has %d ds:Signature elements, want 1", count)
	}
	if d.nodes[sigEl].parent != d.root {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:Signature is not a child of the root element")
	}
	// C14N 1.1 would make the detached SignedInfo inherit xml:lang,
	// xml:space and xml:base from the root; no RIM carries them and
	// implementations differ, so they are refused.
	for _, a := range d.nodes[d.root].attrs {
		if a.space == nsXML {
			return nil, verify.Errorf(verify.ErrUnsupported, "rim: attribute %s on the root element: xml:* attributes are not supported", a.fullName())
		}
	}
	if err := noAttrs(d, sigEl); err != nil {
		return nil, err
	}
	if err := dsigOnly(d, sigEl); err != nil {
		return nil, err
	}
	kids, err := children(d, sigEl, "SignedInfo", "SignatureValue", "KeyInfo")
	if err != nil {
		return nil, err
	}
	signedInfo, sigValue, keyInfo := kids[0], kids[1], kids[2]

	// SignedInfo
	if err := noAttrs(d, signedInfo); err != nil {
		return nil, err
	}
	si, err := children(d, signedInfo, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if err != nil {
		return nil, err
	}
	if err := algorithm(d, si[0], algC14N11); err != nil {
		return nil, err
	}
	if err := algorithm(d, si[1], algECDSASHA384); err != nil {
		return nil, err
	}
	ref := si[2]
	if uri, ok := unqualified(d.el(ref), "URI"); !ok || uri != "" {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:Reference must have URI=\"\" (the whole document)")
	}
	if err := noAttrs(d, ref, "URI"); err != nil {
		return nil, err
	}
	rk, err := children(d, ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return nil, err
	}
	if err := noAttrs(d, rk[0]); err != nil {
		return nil, err
	}
	tr, err := children(d, rk[0], "Transform", "Transform")
	if err != nil {
		// The transform list is an algorithm choice: exactly NVIDIA's two.
		return nil, verify.Errorf(verify.ErrSignature, "rim: ds:Transforms must be exactly enveloped-signature, C14N 1.1: %w", err)
	}
	if err := algorithm(d, tr[0], algEnveloped); err != nil {
		return nil, err
	}
	if err := algorithm(d, tr[1], algC14N11); err != nil {
		return nil, err
	}
	if err := algorithm(d, rk[1], algSHA384); err != nil {
		return nil, err
	}
	if err := noAttrs(d, rk[2]); err != nil {
		return nil, err
	}
	// Exactly 48 bytes (SHA-384).
	digest, err := base64Text(d, rk[2], "DigestValue", 48, 48)
	if err != nil {
		return nil, err
	}

	// SignatureValue: raw r‖s of P-384.
	if err := noAttrs(d, sigValue); err != nil {
		return nil, err
	}
	raw, err := base64Text(d, sigValue, "SignatureValue", 0, 2*p384ScalarLen)
	if err != nil {
		return nil, verify.Errorf(verify.ErrSignature, "rim: %w", err)
	}
	if len(raw) != 2*p384ScalarLen {
		return nil, verify.Errorf(verify.ErrSignature, "rim: ds:SignatureValue: expected %d bytes (raw P-384 r||s), got %d", 2*p384ScalarLen, len(raw))
	}

	// KeyInfo/X509Data/X509Certificate+
	if err := noAttrs(d, keyInfo); err != nil {
		return nil, err
	}
	xd, err := children(d, keyInfo, "X509Data")
	if err != nil {
		return nil, err
	}
	if err := noAttrs(d, xd[0]); err != nil {
		return nil, err
	}
	certEls := d.childElements(xd[0])
	if len(certEls) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:X509Data has no ds:X509Certificate")
	}
	if len(certEls) > maxCerts {
		return nil, verify.Errorf(verify.ErrLimit, "rim: ds:X509Data has %d certificates, more than %d", len(certEls), maxCerts)
	}
	if err := textOnlyWhitespace(d, xd[0]); err != nil {
		return nil, err
	}
	s := &signature{el: sigEl, signedInfo: signedInfo, digest: digest, rawSig: raw}
	for i, ce := range certEls {
		if d.el(ce).local != "X509Certificate" {
			return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:X509Data: unexpected element %s", d.el(ce).fullName())
		}
		if err := noAttrs(d, ce); err != nil {
			return nil, err
		}
		der, err := base64Text(d, ce, "X509Certificate", 1, maxCertLen)
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
// and forbids comments anywhere inside it (processing instructions are
// refused everywhere), so no value can be split or hidden.
func dsigOnly(d *xdoc, e int32) error {
	n := d.el(e)
	if n.comments != 0 {
		return verify.Errorf(verify.ErrMalformed, "rim: comment inside ds:%s", n.local)
	}
	for c := n.first; c >= 0; c = d.nodes[c].next {
		k := d.el(c)
		if !k.elem {
			continue
		}
		if k.space != nsDSig {
			return verify.Errorf(verify.ErrMalformed, "rim: element %s in ds:Signature is not in the XML-DSig namespace", k.fullName())
		}
		if err := dsigOnly(d, c); err != nil {
			return err
		}
	}
	return nil
}

// children requires e's element children to be exactly the given local names
// in order, and e to carry no text but whitespace.
func children(d *xdoc, e int32, names ...string) ([]int32, error) {
	kids := d.childElements(e)
	ok := len(kids) == len(names)
	for i := 0; ok && i < len(kids); i++ {
		ok = d.el(kids[i]).local == names[i]
	}
	if !ok {
		got := make([]string, len(kids))
		for i, k := range kids {
			got[i] = d.el(k).local
		}
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s children: expected %v, got %v", d.el(e).local, names, got)
	}
	if err := textOnlyWhitespace(d, e); err != nil {
		return nil, err
	}
	return kids, nil
}

func textOnlyWhitespace(d *xdoc, e int32) error {
	for c := d.el(e).first; c >= 0; c = d.nodes[c].next {
		if k := d.el(c); !k.elem && strings.TrimLeft(k.text, " \t\r\n") != "" {
			return verify.Errorf(verify.ErrMalformed, "rim: unexpected text in ds:%s", d.el(e).local)
		}
	}
	return nil
}

// noAttrs allows only the named unqualified attributes (namespace
// declarations are not attributes in an xdoc).
func noAttrs(d *xdoc, e int32, allowed ...string) error {
	n := d.el(e)
	for _, a := range n.attrs {
		ok := false
		for _, name := range allowed {
			if a.prefix == "" && a.local == name {
				ok = true
			}
		}
		if !ok {
			return verify.Errorf(verify.ErrMalformed, "rim: unexpected attribute %s on ds:%s", a.fullName(), n.local)
		}
	}
	return nil
}

// unqualified returns the value of e's unqualified attribute name.
func unqualified(n *node, name string) (string, bool) {
	for _, a := range n.attrs {
		if a.prefix == "" && a.local == name {
			return a.value, true
		}
	}
	return "", false
}

// algorithm checks an empty element whose only attribute is Algorithm=want.
// Another algorithm is ErrSignature: the profile allows exactly one.
func algorithm(d *xdoc, e int32, want string) error {
	n := d.el(e)
	if len(d.childElements(e)) != 0 {
		return verify.Errorf(verify.ErrMalformed, "rim: ds:%s must be empty", n.local)
	}
	if err := textOnlyWhitespace(d, e); err != nil {
		return err
	}
	if err := noAttrs(d, e, "Algorithm"); err != nil {
		return err
	}
	if got, _ := unqualified(n, "Algorithm"); got != want {
		return verify.Errorf(verify.ErrSignature, "rim: ds:%s Algorithm: expected %q, got %q", n.local, want, got)
	}
	return nil
}

// base64Text decodes the base64 text of a leaf element (whitespace ignored),
// refusing more than max decoded bytes before decoding.
func base64Text(d *xdoc, e int32, name string, min, max int) ([]byte, error) {
	if len(d.childElements(e)) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s must contain only text", name)
	}
	// Count the base64 characters before copying any.
	n := 0
	for c := d.el(e).first; c >= 0; c = d.nodes[c].next {
		n += len(d.el(c).text) - countSpace(d.el(c).text)
	}
	if base64.StdEncoding.DecodedLen(n) > max+2 {
		return nil, verify.Errorf(verify.ErrLimit, "rim: ds:%s longer than %d bytes", name, max)
	}
	buf := make([]byte, 0, n)
	for c := d.el(e).first; c >= 0; c = d.nodes[c].next {
		t := d.el(c).text
		for i := 0; i < len(t); i++ {
			if !isSpace(t[i]) {
				buf = append(buf, t[i])
			}
		}
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(buf)))
	m, err := base64.StdEncoding.Decode(b, buf)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s: %w", name, err)
	}
	b = b[:m]
	if len(b) < min {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: ds:%s: expected at least %d bytes, got %d", name, min, len(b))
	}
	return b, nil
}

func countSpace(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			n++
		}
	}
	return n
}

// verifyEnveloped checks the enveloped signature sig of d, whose shape
// checkSignatureShape pinned (C14N 1.1, ECDSA P-384 with SHA-384, one
// Reference URI="" with the enveloped-signature transform then C14N 1.1,
// SHA-384), under pub: the raw r‖s signature over SHA-384 of the canonical
// SignedInfo, then the digest of the canonical document without the
// ds:Signature element. Both canonical forms are written from d itself, the
// tree the manifest is then read from; on success the ds:Signature element
// is detached from d, which then holds exactly what the digest covers (its
// comments, which the manifest never reads, aside).
func verifyEnveloped(d *xdoc, sig *signature, pub *ecdsa.PublicKey) error {
	h := sha512.New384()
	canonicalSubtree(d, sig.signedInfo, h)
	var sum [48]byte
	h.Sum(sum[:0])
	r := new(big.Int).SetBytes(sig.rawSig[:p384ScalarLen])
	sv := new(big.Int).SetBytes(sig.rawSig[p384ScalarLen:])
	if !ecdsa.Verify(pub, sum[:], r, sv) {
		return verify.Errorf(verify.ErrSignature, "rim: ds:SignatureValue does not verify over the canonical ds:SignedInfo (SHA-384 %x)", sum)
	}
	h.Reset()
	canonicalDocument(d, sig.el, h)
	h.Sum(sum[:0])
	if subtle.ConstantTimeCompare(sum[:], sig.digest) != 1 {
		return verify.Errorf(verify.ErrSignature, "rim: document digest: expected %x (ds:DigestValue), got SHA-384 %x of the canonical document", sig.digest, sum)
	}
	return d.detach(sig.el)
}
