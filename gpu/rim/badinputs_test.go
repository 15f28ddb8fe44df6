package rim_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

// One test per RIM-* case of badinputs.md §E. Every case starts from a RIM
// that verifies and changes one thing; "signed" variants are re-signed with
// the test PKI so that only the targeted check can fire.

func replaceOnce(t testing.TB, doc []byte, old, new string) []byte {
	t.Helper()
	if bytes.Count(doc, []byte(old)) < 1 {
		t.Fatalf("%q not in document", old)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

func (f *fixture) unsignedDriver() []byte {
	return rimtest.Unsigned(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(f.blocks, 64, driverActive...)})
}

func (f *fixture) sign(t testing.TB, unsigned []byte) []byte {
	t.Helper()
	doc, err := f.pki.Sign(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (f *fixture) mustVerify(t testing.TB, doc []byte) *rim.Manifest {
	t.Helper()
	m, err := f.verify(t, doc)
	if err != nil {
		t.Fatalf("baseline does not verify: %v", err)
	}
	return m
}

func TestRIM01DigestChangedHash(t *testing.T) {
	f := newFixture(t)
	f.mustVerify(t, f.driver)
	golden := fmt.Sprintf("%x", f.blocks[8])
	bad := replaceOnce(t, f.driver, golden, strings.Repeat("0", len(golden)))
	m, err := f.verify(t, bad)
	wantKind(t, m, err, verify.ErrSignature)
}

func TestRIM02Wrapping(t *testing.T) {
	f := newFixture(t)
	attacker := rimtest.Unsigned(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(fakeBlocks(64), 64)})

	// XSW: the genuine signed content moved into ds:Object Id="x" inside the
	// Signature, the reference re-pointed to "#x" with a valid signature over
	// it, and the attacker's Payload at the normal place.
	d := etree.NewDocument()
	if err := d.ReadFromBytes(attacker); err != nil {
		t.Fatal(err)
	}
	genuine := etree.NewDocument()
	if err := genuine.ReadFromBytes(f.unsignedDriver()); err != nil {
		t.Fatal(err)
	}
	obj := etree.NewElement("ds:Object")
	obj.CreateAttr("xmlns:ds", dsig.Namespace)
	obj.CreateAttr("Id", "x")
	obj.AddChild(genuine.Root().Copy())
	ctx, err := dsig.NewSigningContext(f.pki.SignerKey, [][]byte{f.pki.Signer.Raw, f.pki.L3.Raw, f.pki.CA.Raw, f.pki.Root.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.IdAttribute = "Id"
	if err := ctx.SetSignatureMethod(dsig.ECDSASHA384SignatureMethod); err != nil {
		t.Fatal(err)
	}
	sig, err := ctx.ConstructSignature(obj, false)
	if err != nil {
		t.Fatal(err)
	}
	sv := sig.FindElement("./SignatureValue")
	der, _ := base64.StdEncoding.DecodeString(sv.Text())
	raw, err := rimtest.DERToRaw(der, 48)
	if err != nil {
		t.Fatal(err)
	}
	sv.SetText(base64.StdEncoding.EncodeToString(raw))
	sig.AddChild(obj)
	d.Root().AddChild(sig)
	wrapped, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(wrapped, []byte(`URI="#x"`)) {
		t.Fatal("wrapped document does not reference #x")
	}
	m, err := f.verify(t, wrapped)
	wantKind(t, m, err, verify.ErrMalformed)

	// A second Payload sibling added after signing breaks the digest; signed
	// into the document it is rejected by the parser of the verified output.
	second := `    <ns0:Payload><ns0:Resource type="Measurement" index="7" active="True" alternatives="1" ns2:Hash0="` +
		strings.Repeat("00", 48) + `" name="x" size="48"/></ns0:Payload>` + "\n</SoftwareIdentity>"
	injected := replaceOnce(t, f.driver, "</ns0:Payload>\n", "</ns0:Payload>\n"+strings.TrimSuffix(second, "\n</SoftwareIdentity>")+"\n")
	m, err = f.verify(t, injected)
	wantKind(t, m, err, verify.ErrSignature)
	signed := f.sign(t, replaceOnce(t, f.unsignedDriver(), "\n</SoftwareIdentity>", "\n"+second))
	m, err = f.verify(t, signed)
	wantKind(t, m, err, verify.ErrMalformed)
}

func TestRIM03DuplicateSignedInfo(t *testing.T) {
	f := newFixture(t)
	d := etree.NewDocument()
	if err := d.ReadFromBytes(f.driver); err != nil {
		t.Fatal(err)
	}
	sig := d.Root().FindElement("./Signature")
	si := sig.FindElement("./SignedInfo")
	forged := si.Copy()
	forged.FindElement("./Reference/DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 48)))
	sig.InsertChildAt(si.Index()+1, forged)
	bad, _ := d.WriteToBytes()
	m, err := f.verify(t, bad)
	wantKind(t, m, err, verify.ErrMalformed)
	// Forged one first.
	sig.RemoveChild(forged)
	sig.InsertChildAt(si.Index(), forged)
	bad, _ = d.WriteToBytes()
	m, err = f.verify(t, bad)
	wantKind(t, m, err, verify.ErrMalformed)
}

func TestRIM04TwoReferences(t *testing.T) {
	f := newFixture(t)
	d := etree.NewDocument()
	if err := d.ReadFromBytes(f.driver); err != nil {
		t.Fatal(err)
	}
	ref := d.Root().FindElement("./Signature/SignedInfo/Reference")
	extra := ref.Copy()
	extra.SelectAttr("URI").Value = "#attacker"
	ref.Parent().AddChild(extra)
	bad, _ := d.WriteToBytes()
	m, err := f.verify(t, bad)
	wantKind(t, m, err, verify.ErrMalformed)

	// A single reference with another URI, or none at all.
	bad = replaceOnce(t, f.driver, `<ds:Reference URI="">`, `<ds:Reference URI="#x">`)
	m, err = f.verify(t, bad)
	wantKind(t, m, err, verify.ErrMalformed)
	bad = replaceOnce(t, f.driver, `<ds:Reference URI="">`, `<ds:Reference>`)
	m, err = f.verify(t, bad)
	wantKind(t, m, err, verify.ErrMalformed)
}

func TestRIM05MissingPieces(t *testing.T) {
	f := newFixture(t)
	d := etree.NewDocument()
	if err := d.ReadFromBytes(f.driver); err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(sig *etree.Element)) []byte {
		c := d.Copy()
		fn(c.Root().FindElement("./Signature"))
		b, err := c.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]struct {
		doc   []byte
		kinds []error
	}{
		"no Signature": {f.unsignedDriver(), []error{verify.ErrSignature}},
		"empty SignatureValue": {edit(func(s *etree.Element) { s.FindElement("./SignatureValue").SetText("") }),
			[]error{verify.ErrSignature}},
		"no SignatureValue": {edit(func(s *etree.Element) { s.RemoveChild(s.FindElement("./SignatureValue")) }),
			[]error{verify.ErrMalformed}},
		"no KeyInfo": {edit(func(s *etree.Element) { s.RemoveChild(s.FindElement("./KeyInfo")) }),
			[]error{verify.ErrMalformed}},
		"empty X509Data": {edit(func(s *etree.Element) {
			xd := s.FindElement("./KeyInfo/X509Data")
			for _, c := range xd.ChildElements() {
				xd.RemoveChild(c)
			}
		}), []error{verify.ErrMalformed}},
		"empty X509Certificate": {edit(func(s *etree.Element) { s.FindElement("./KeyInfo/X509Data/X509Certificate").SetText("") }),
			[]error{verify.ErrMalformed}},
		"garbage X509Certificate": {edit(func(s *etree.Element) { s.FindElement("./KeyInfo/X509Data/X509Certificate").SetText("aW52YWxpZA==") }),
			[]error{verify.ErrMalformed}},
		"no SignedInfo": {edit(func(s *etree.Element) { s.RemoveChild(s.FindElement("./SignedInfo")) }),
			[]error{verify.ErrMalformed}},
		"no DigestValue": {edit(func(s *etree.Element) {
			r := s.FindElement("./SignedInfo/Reference")
			r.RemoveChild(r.FindElement("./DigestValue"))
		}), []error{verify.ErrMalformed}},
		"short DigestValue": {edit(func(s *etree.Element) {
			s.FindElement("./SignedInfo/Reference/DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 32)))
		}), []error{verify.ErrMalformed}},
		"long DigestValue": {edit(func(s *etree.Element) {
			s.FindElement("./SignedInfo/Reference/DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 64)))
		}), []error{verify.ErrLimit}},
		"short SignatureValue": {edit(func(s *etree.Element) {
			s.FindElement("./SignatureValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 95)))
		}), []error{verify.ErrSignature}},
		"zero SignatureValue": {edit(func(s *etree.Element) {
			s.FindElement("./SignatureValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 96)))
		}), []error{verify.ErrSignature}},
		"DER SignatureValue": {edit(func(s *etree.Element) {
			raw, _ := base64.StdEncoding.DecodeString(s.FindElement("./SignatureValue").Text())
			s.FindElement("./SignatureValue").SetText(base64.StdEncoding.EncodeToString(append([]byte{0x30, byte(len(raw))}, raw...)))
		}), []error{verify.ErrSignature}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, c.doc)
			wantKind(t, m, err, c.kinds...)
		})
	}
}

func TestRIM06SignerChain(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	unsigned := f.unsignedDriver()
	signWith := func(key *ecdsa.PrivateKey, certs ...*x509.Certificate) []byte {
		doc, err := rimtest.SignWith(unsigned, key, certs)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	attackerRoot, attackerKey, err := rimtest.NewCert(nil, nil, p.Root.Subject.CommonName, true, p.Root.NotBefore, p.Root.NotAfter)
	if err != nil {
		t.Fatal(err)
	}
	attackerSigner, attackerSignerKey, err := rimtest.NewCert(attackerRoot, attackerKey, "Test RIM L4 Signer", false, p.Signer.NotBefore, p.Signer.NotAfter)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := rimtest.NewPKI(rimtest.PKIOptions{SignerNotBefore: testTime.AddDate(-2, 0, 0), SignerNotAfter: testTime.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	expired.Root, expired.CA, expired.L3 = p.Root, p.CA, p.L3
	expired.Signer, expired.SignerKey, _ = rimtest.NewCert(p.L3, p.L3Key, "Test RIM L4 Signer", false, testTime.AddDate(-2, 0, 0), testTime.Add(-time.Second))
	notYet, notYetKey, _ := rimtest.NewCert(p.L3, p.L3Key, "Test RIM L4 Signer", false, testTime.Add(time.Hour), testTime.AddDate(2, 0, 0))
	expiredDoc, err := expired.Build(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(f.blocks, 64, driverActive...)})
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		doc  []byte
		kind error
	}{
		"attacker root":                {signWith(attackerSignerKey, attackerSigner, attackerRoot), verify.ErrChain},
		"extra attacker root appended": {signWith(p.SignerKey, p.Signer, p.L3, p.CA, p.Root, attackerRoot), verify.ErrChain},
		"stray certificate inserted":   {signWith(p.SignerKey, p.Signer, attackerSigner, p.L3, p.CA, p.Root), verify.ErrChain},
		"intermediate missing":         {signWith(p.SignerKey, p.Signer, p.CA, p.Root), verify.ErrChain},
		"chain out of order":           {signWith(p.SignerKey, p.Signer, p.CA, p.L3, p.Root), verify.ErrChain},
		"signer is a CA":               {signWith(p.L3Key, p.L3, p.CA, p.Root), verify.ErrChain},
		"signer not first":             {signWith(p.SignerKey, p.L3, p.Signer, p.CA, p.Root), verify.ErrChain},
		"key of another certificate":   {signWith(p.L3Key, p.Signer, p.L3, p.CA, p.Root), verify.ErrSignature},
		"expired signer":               {expiredDoc, verify.ErrExpired},
		"signer not yet valid":         {signWith(notYetKey, notYet, p.L3, p.CA, p.Root), verify.ErrExpired},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, c.doc)
			wantKind(t, m, err, c.kind)
		})
	}
	// The embedded root may be left out; the pinned one completes the chain.
	if _, err := f.verify(t, signWith(p.SignerKey, p.Signer, p.L3, p.CA)); err != nil {
		t.Fatalf("chain without the root: %v", err)
	}
	// OCSP revocation of the RIM chain is checked by the gpu package on
	// Manifest.Chain; here the chain it gets is the verified one.
	m := f.mustVerify(t, f.driver)
	if len(m.Chain) != 4 || !m.Chain[0].Equal(p.Signer) || !m.Chain[3].Equal(p.Root) {
		t.Fatalf("verified chain: %d certs", len(m.Chain))
	}
}

func TestRIM07Algorithms(t *testing.T) {
	f := newFixture(t)
	const (
		c14n  = `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>`
		meth  = `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/>`
		dm    = `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/>`
		trans = `<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>`
	)
	cases := map[string][]byte{
		"HMAC-SHA256":       replaceOnce(t, f.driver, meth, `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"/>`),
		"RSA-SHA1":          replaceOnce(t, f.driver, meth, `<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>`),
		"ECDSA-SHA1":        replaceOnce(t, f.driver, meth, `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"/>`),
		"ECDSA-SHA256":      replaceOnce(t, f.driver, meth, `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>`),
		"DigestMethod SHA1": replaceOnce(t, f.driver, dm, `<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>`),
		"XPath transform":   replaceOnce(t, f.driver, trans, trans+`<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>`),
		"XSLT transform":    replaceOnce(t, f.driver, trans, `<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>`),
		"base64 transform":  replaceOnce(t, f.driver, trans, trans+`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>`),
		"no c14n transform": replaceOnce(t, f.driver, trans, ``),
		"exclusive c14n":    replaceOnce(t, f.driver, c14n, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`),
		"c14n WithComments": replaceOnce(t, f.driver, c14n, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11#WithComments"/>`),
	}
	// Also a document validly signed with the same key under ECDSA-SHA256
	// and a SHA-256 digest: a good signature, but not NVIDIA's profile.
	d := etree.NewDocument()
	if err := d.ReadFromBytes(f.unsignedDriver()); err != nil {
		t.Fatal(err)
	}
	ctx, _ := dsig.NewSigningContext(f.pki.SignerKey, [][]byte{f.pki.Signer.Raw, f.pki.L3.Raw, f.pki.CA.Raw, f.pki.Root.Raw})
	if err := ctx.SetSignatureMethod(dsig.ECDSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	d.SetRoot(signed)
	cases["validly signed ECDSA-SHA256 (DER)"], _ = d.WriteToBytes()
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, doc)
			wantKind(t, m, err, verify.ErrSignature)
		})
	}
}

func TestRIM08XMLDoS(t *testing.T) {
	f := newFixture(t)
	big := newVerifier(t, rim.WithRoots(f.pki.Root), rim.WithMaxSize(64<<20))
	nested := func(n int) []byte {
		return []byte(`<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd">` +
			strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + `</SoftwareIdentity>`)
	}
	nsDecls := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd"`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, ` xmlns:p%d="urn:x:%d"`, i, i)
		}
		b.WriteString(`/>`)
		return []byte(b.String())
	}
	wide := func(n int) []byte {
		return []byte(`<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd">` +
			strings.Repeat("<a/>", n) + `</SoftwareIdentity>`)
	}
	huge := append(bytes.Clone(f.driver[:len(f.driver)-len("</SoftwareIdentity>")]), bytes.Repeat([]byte(" "), 50<<20)...)
	huge = append(huge, "</SoftwareIdentity>"...)
	cases := map[string]struct {
		v   *rim.Verifier
		doc []byte
	}{
		"1e6 nested elements (size cap)":  {f.v, nested(1_000_000)},
		"1e6 nested elements (depth cap)": {big, nested(1_000_000)},
		"1e5 namespace declarations":      {big, nsDecls(100_000)},
		"1e5 sibling elements":            {big, wide(100_000)},
		"50 MB RIM":                       {f.v, huge},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := c.v.Verify(context.Background(), c.doc, testTime)
			wantKind(t, m, err, verify.ErrLimit)
		})
	}
}

func TestRIM09DTDAndEntities(t *testing.T) {
	f := newFixture(t)
	lol := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
`
	xxe := `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + "\n"
	for name, doc := range map[string][]byte{
		"billion laughs":    append([]byte(lol), replaceOnce(t, f.driver, `name="Measurement_7"`, `name="&lol3;"`)...),
		"external entity":   append([]byte(xxe), replaceOnce(t, f.driver, `name="Measurement_7"`, `name="&xxe;"`)...),
		"plain DOCTYPE":     append([]byte("<!DOCTYPE SoftwareIdentity>\n"), f.driver...),
		"undeclared entity": replaceOnce(t, f.driver, `name="Measurement_7"`, `name="&xxe;"`),
		"stylesheet PI":     append([]byte(`<?xml-stylesheet href="x.xsl"?>`+"\n"), f.driver...),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, doc)
			wantKind(t, m, err, verify.ErrMalformed)
		})
	}
	// A byte-order mark is fine.
	if _, err := f.verify(t, append([]byte("\xef\xbb\xbf"), f.driver...)); err != nil {
		t.Fatalf("byte-order mark: %v", err)
	}
	// A plain XML declaration is fine.
	if _, err := f.verify(t, append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), f.driver...)); err != nil {
		t.Fatalf("XML declaration: %v", err)
	}
}

func TestRIM10AmbiguousMeta(t *testing.T) {
	f := newFixture(t)
	u := f.unsignedDriver()
	i := bytes.Index(u, []byte("    <ns0:Meta "))
	j := bytes.Index(u[i:], []byte("/>\n"))
	meta := string(u[i : i+j+3])
	twoMeta := replaceOnce(t, u, meta, meta+strings.Replace(meta, "550.90.07", "999.99.99", 1))
	m, err := f.verify(t, f.sign(t, twoMeta))
	wantKind(t, m, err, verify.ErrMalformed)

	dupIndex := replaceOnce(t, u, `index="8" `, `index="7" `)
	m, err = f.verify(t, f.sign(t, dupIndex))
	wantKind(t, m, err, verify.ErrMalformed)

	noMeta := replaceOnce(t, u, meta, "")
	m, err = f.verify(t, f.sign(t, noMeta))
	wantKind(t, m, err, verify.ErrMalformed)
}

func TestRIM11CommentSplit(t *testing.T) {
	f := newFixture(t)
	base := f.mustVerify(t, f.driver)
	// Comments outside the signature are not part of the signed canonical
	// form: the RIM still verifies and reads exactly the same values.
	commented := replaceOnce(t, f.driver, `<ns0:Resource type="Measurement" index="7"`, `<!-- x --><ns0:Resource type="Measurement" index="7"`)
	commented = replaceOnce(t, commented, "<ns0:Entity ", "<!----><ns0:Entity ")
	m, err := f.verify(t, commented)
	if err != nil {
		t.Fatalf("comment outside the signature: %v", err)
	}
	if m.Version != base.Version || len(m.Measurements) != len(base.Measurements) ||
		!bytes.Equal(m.Measurements[7].Alternatives[0], base.Measurements[7].Alternatives[0]) {
		t.Fatal("a comment changed the values read")
	}
	// Inside the signature a comment could split a value: rejected, never truncated.
	d := etree.NewDocument()
	if err := d.ReadFromBytes(f.driver); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"./Signature/SignatureValue", "./Signature/SignedInfo/Reference/DigestValue", "./Signature/KeyInfo/X509Data/X509Certificate"} {
		t.Run(path, func(t *testing.T) {
			c := d.Copy()
			el := c.Root().FindElement(path)
			txt := el.Text()
			el.SetText(txt[:8])
			el.CreateComment("")
			el.CreateText(txt[8:])
			bad, _ := c.WriteToBytes()
			if !bytes.Contains(bad, []byte("<!---->")) {
				t.Fatal("comment not written")
			}
			m, err := f.verify(t, bad)
			wantKind(t, m, err, verify.ErrMalformed)
		})
	}
}

func TestRIM12ElementMatching(t *testing.T) {
	f := newFixture(t)
	u := f.unsignedDriver()
	cases := map[string][]byte{
		"PayloadX element":           bytes.ReplaceAll(u, []byte("ns0:Payload"), []byte("ns0:PayloadX")),
		"Payload in another ns":      replaceOnce(t, bytes.ReplaceAll(u, []byte("ns0:Payload"), []byte("x:Payload")), `<x:Payload `, `<x:Payload xmlns:x="urn:x" `),
		"Meta in another ns":         replaceOnce(t, u, `<ns0:Meta `, `<x:Meta xmlns:x="urn:x:Meta" `),
		"extra unknown element":      replaceOnce(t, u, "    <ns0:Entity ", "    <ns0:Evidence/>\n    <ns0:Entity "),
		"Resource renamed":           replaceOnce(t, u, `<ns0:Resource type="Measurement" index="7"`, `<ns0:ResourceX type="Measurement" index="7"`),
		"Hash0 without namespace":    replaceOnce(t, u, `index="7" active="True" alternatives="1" ns2:Hash0=`, `index="7" active="True" alternatives="1" Hash0=`),
		"Hash0 in another ns":        replaceOnce(t, replaceOnce(t, u, `index="7" active="True" alternatives="1" ns2:Hash0=`, `index="7" active="True" alternatives="1" xmlns:h="http://www.w3.org/2001/04/xmlenc#sha256" h:Hash0=`), "", ""),
		"Hash0 twice (two prefixes)": replaceOnce(t, u, `index="7" active="True" alternatives="1" ns2:Hash0="`, `index="7" active="True" alternatives="1" SHA384:Hash0="`+strings.Repeat("00", 48)+`" ns2:Hash0="`),
		"Hash1 beyond alternatives":  replaceOnce(t, u, `index="7" active="True" alternatives="1" ns2:Hash0="`, `index="7" active="True" alternatives="1" ns2:Hash1="`+strings.Repeat("00", 48)+`" ns2:Hash0="`),
		"root in no namespace":       replaceOnce(t, u, `<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" `, `<SoftwareIdentity `),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, f.sign(t, doc))
			wantKind(t, m, err, verify.ErrMalformed)
		})
	}
}

func TestRIM13AttributeValues(t *testing.T) {
	f := newFixture(t)
	u := f.unsignedDriver()
	const r7 = `index="7" active="True" alternatives="1"`
	h := fmt.Sprintf("%x", f.blocks[8])
	cases := map[string][]byte{
		`active="false"`:           replaceOnce(t, u, r7, `index="7" active="false" alternatives="1"`),
		`active="FALSE"`:           replaceOnce(t, u, r7, `index="7" active="FALSE" alternatives="1"`),
		`active="0"`:               replaceOnce(t, u, r7, `index="7" active="0" alternatives="1"`),
		`active="true"`:            replaceOnce(t, u, r7, `index="7" active="true" alternatives="1"`),
		`no active`:                replaceOnce(t, u, r7, `index="7" alternatives="1"`),
		`alternatives="-1"`:        replaceOnce(t, u, r7, `index="7" active="True" alternatives="-1"`),
		`alternatives="0"`:         replaceOnce(t, u, r7, `index="7" active="True" alternatives="0"`),
		`alternatives="99999"`:     replaceOnce(t, u, r7, `index="7" active="True" alternatives="99999"`),
		`alternatives="2"`:         replaceOnce(t, u, r7, `index="7" active="True" alternatives="2"`),
		`alternatives="01"`:        replaceOnce(t, u, r7, `index="7" active="True" alternatives="01"`),
		`size="32"`:                replaceOnce(t, u, `name="Measurement_7" size="48"`, `name="Measurement_7" size="32"`),
		`size="abc"`:               replaceOnce(t, u, `name="Measurement_7" size="48"`, `name="Measurement_7" size="abc"`),
		`no size`:                  replaceOnce(t, u, `name="Measurement_7" size="48"`, `name="Measurement_7"`),
		`non-hex Hash0`:            replaceOnce(t, u, h, "zz"+h[2:]),
		`short Hash0`:              replaceOnce(t, u, h, h[2:]),
		`long Hash0`:               replaceOnce(t, u, h, h+"00"),
		`index="-1"`:               replaceOnce(t, u, r7, `index="-1" active="True" alternatives="1"`),
		`index="07"`:               replaceOnce(t, u, r7, `index="07" active="True" alternatives="1"`),
		`index="254"`:              replaceOnce(t, u, r7, `index="254" active="True" alternatives="1"`),
		`index="abc"`:              replaceOnce(t, u, r7, `index="abc" active="True" alternatives="1"`),
		`no index`:                 replaceOnce(t, u, r7, `active="True" alternatives="1"`),
		`duplicated index`:         replaceOnce(t, u, `index="9" `, `index="7" `),
		`empty colloquialVersion`:  replaceOnce(t, u, `colloquialVersion="550.90.07"`, `colloquialVersion=""`),
		`padded colloquialVersion`: replaceOnce(t, u, `colloquialVersion="550.90.07"`, `colloquialVersion=" 550.90.07"`),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := f.verify(t, f.sign(t, doc))
			wantKind(t, m, err, verify.ErrMalformed)
		})
	}
	// A Resource of an unknown type is not silently ignored.
	m, err := f.verify(t, f.sign(t, replaceOnce(t, u, `type="Measurement" index="7"`, `type="Opaque" index="7"`)))
	wantKind(t, m, err, verify.ErrUnsupported)
}
