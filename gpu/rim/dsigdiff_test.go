package rim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/stretchr/testify/require"
)

// Our canonicaliser must write the bytes goxmldsig's C14N 1.1 writes for
// the same document: these tests and FuzzCanonicalMatchesGoxmldsig are the
// proof. goxmldsig is the reference only here; the verifier never calls it.

func rimFiles(t testing.TB) []string {
	files, err := filepath.Glob("../../testdata/gpu/*/*.xml")
	require.NoError(t, err)
	more, err := filepath.Glob("../../testdata/gpu/*/*/*.xml")
	require.NoError(t, err)
	files = append(files, more...)
	require.NotEmpty(t, files)
	return files
}

// TestEnvelopedMatchesGoxmldsig: on every RIM in the test data, and on each
// with one byte of a measurement, the digest or the signature changed, our
// enveloped-signature check agrees with goxmldsig's Validate (fed the DER
// form of the signature): both accept, or both refuse. When both accept,
// the canonical form of the tree we read the manifest from equals the
// canonical form of the element goxmldsig returns, and the manifest read
// from our tree equals the manifest read from those canonical bytes parsed
// anew (so reading the one tree gives exactly the claims of the digested
// bytes).
func TestEnvelopedMatchesGoxmldsig(t *testing.T) {
	files := rimFiles(t)
	accepted := 0
	for _, f := range files {
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		variants := [][]byte{doc}
		for _, needle := range [][]byte{[]byte(`Hash0="`), []byte("<ds:DigestValue>"), []byte("<ds:SignatureValue>")} {
			if i := bytes.Index(doc, needle); i >= 0 {
				v := bytes.Clone(doc)
				v[i+len(needle)+2] ^= 0x01 // a base64 or hex digit, still one
				variants = append(variants, v)
			}
		}
		for n, v := range variants {
			ours, oursDoc, oursErr := ourEnveloped(v)
			theirs, theirsErr := goxmldsigEnveloped(v)
			if oursErr != nil && theirsErr != nil {
				continue
			}
			require.NoError(t, oursErr, "%s variant %d: goxmldsig accepts, we refuse", f, n)
			require.NoError(t, theirsErr, "%s variant %d: we accept, goxmldsig refuses", f, n)
			require.Equal(t, string(theirs), string(ours), "%s variant %d", f, n)

			reread, err := parseXML(theirs)
			require.NoError(t, err)
			fromTree, treeErr := parseManifest(oursDoc)
			fromBytes, bytesErr := parseManifest(reread)
			require.Equal(t, bytesErr, treeErr, "%s variant %d", f, n)
			require.Equal(t, fromBytes, fromTree, "%s variant %d", f, n)
			accepted++
		}
	}
	t.Logf("%d files, %d variants accepted by both", len(files), accepted)
	require.Positive(t, accepted)
}

// ourEnveloped runs parseXML, the shape check and verifyEnveloped, and
// returns the canonical form of the tree left for the manifest, and that
// tree.
func ourEnveloped(doc []byte) ([]byte, *xdoc, error) {
	d, err := parseXML(doc)
	if err != nil {
		return nil, nil, err
	}
	sig, err := checkSignatureShape(d)
	if err != nil {
		return nil, nil, err
	}
	if err := verifyEnveloped(d, sig, sig.certs[0].PublicKey.(*ecdsa.PublicKey)); err != nil {
		return nil, nil, err
	}
	return canonicalDocument(d, -1, nil), d, nil
}

// goxmldsigEnveloped verifies the same document with goxmldsig alone (etree
// tree, signer taken from the first ds:X509Certificate, trusted at a time
// inside its validity) and returns the C14N 1.1 form of what it validated.
func goxmldsigEnveloped(doc []byte) ([]byte, error) {
	tree := etree.NewDocument()
	if err := tree.ReadFromBytes(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))); err != nil {
		return nil, err
	}
	root := tree.Root()
	sv := root.FindElement("./Signature/SignatureValue")
	ce := root.FindElement("./Signature/KeyInfo/X509Data/X509Certificate")
	if sv == nil || ce == nil {
		return nil, errString("no signature")
	}
	raw, err := base64.StdEncoding.DecodeString(sv.Text())
	if err != nil || len(raw) != 96 {
		return nil, errString("bad signature value")
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:48]), new(big.Int).SetBytes(raw[48:])})
	if err != nil {
		return nil, err
	}
	sv.SetText(base64.StdEncoding.EncodeToString(der))
	certDER, err := base64.StdEncoding.DecodeString(ce.Text())
	if err != nil {
		return nil, err
	}
	signer, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, err
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{signer}})
	ctx.Clock = dsig.NewFakeClockAt(signer.NotBefore.Add(time.Hour))
	el, err := ctx.Validate(root)
	if err != nil {
		return nil, err
	}
	return dsig.MakeC14N11Canonicalizer().Canonicalize(el)
}

type errString string

func (e errString) Error() string { return string(e) }

// goxmldsigCanonical returns goxmldsig's C14N 1.1 forms of doc: the whole
// document without its ds:Signature child of the root (if any), and the
// detached ds:SignedInfo (nil without a signature). ok is false when etree
// cannot read doc.
func goxmldsigCanonical(t testing.TB, doc []byte) (document, signedInfo []byte, ok bool) {
	tree := etree.NewDocument()
	if err := tree.ReadFromBytes(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))); err != nil || tree.Root() == nil {
		return nil, nil, false
	}
	root := tree.Root()
	c14n := dsig.MakeC14N11Canonicalizer()
	var sigEl *etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			sigEl = c
		}
	}
	if sigEl != nil {
		var si *etree.Element
		for _, c := range sigEl.ChildElements() {
			if c.Tag == "SignedInfo" && c.NamespaceURI() == nsDSig && si == nil {
				si = c
			}
		}
		if si != nil {
			ns, err := etreeutils.NSBuildParentContext(si)
			require.NoError(t, err)
			detached, err := etreeutils.NSDetatch(ns, si)
			require.NoError(t, err)
			signedInfo, err = c14n.Canonicalize(detached)
			require.NoError(t, err)
		}
		root.RemoveChild(sigEl)
	}
	document, err := c14n.Canonicalize(root)
	require.NoError(t, err)
	return document, signedInfo, true
}

// ourCanonical returns our forms of the same node sets; ok is false when
// parseXML refuses doc.
func ourCanonical(doc []byte) (document, signedInfo []byte, ok bool) {
	d, err := parseXML(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")))
	if err != nil {
		return nil, nil, false
	}
	skip := int32(-1)
	for c := d.el(d.root).first; c >= 0; c = d.nodes[c].next {
		if n := d.el(c); n.elem && n.local == "Signature" && n.space == nsDSig {
			skip = c
		}
	}
	if skip >= 0 {
		for c := d.el(skip).first; c >= 0; c = d.nodes[c].next {
			if n := d.el(c); n.elem && n.local == "SignedInfo" && n.space == nsDSig && signedInfo == nil {
				signedInfo = canonicalSubtree(d, c, nil)
			}
		}
	}
	return canonicalDocument(d, skip, nil), signedInfo, true
}

// mixedQualifiedAttrs reports whether an element of doc has qualified
// attributes in two namespaces: goxmldsig then orders them by local name
// (its own note says this is incomplete), C14N and we by namespace URI.
func mixedQualifiedAttrs(doc []byte) bool {
	d, err := parseXML(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")))
	if err != nil {
		return false
	}
	for _, n := range d.nodes {
		space := ""
		for _, a := range n.attrs {
			if a.space != "" && space != "" && a.space != space {
				return true
			}
			if a.space != "" {
				space = a.space
			}
		}
	}
	return false
}

// canonicalCases are documents that exercise what real RIMs do not: the
// references, line ends, comments, CDATA, namespace redeclarations and
// undeclarations, attribute order, and a signature in another position.
var canonicalCases = []string{
	`<a/>`,
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c --><a b='x&amp;y&lt;&gt;&quot;&apos;' c=\"&#9;&#10;&#13;&#x20;\">t&amp;&lt;&gt;&#13;&#xD;\r\nu\rv<!-- gone -->w</a>\n<!-- after -->",
	`<a xmlns="urn:x" xmlns:p="urn:p"><b xmlns="urn:x" xmlns:p="urn:q"><p:c p:z="1" a="2" y="3"/></b><d xmlns=""><e xmlns=""/></d></a>`,
	`<a xmlns:p="urn:p"><p:b xmlns:p="urn:p" xmlns:q="urn:q"><![CDATA[<x>&amp;]]></p:b></a>`,
	`<r xmlns="urn:r" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><x/>
  <ds:Signature><ds:SignedInfo xmlns:z="urn:z"><ds:CanonicalizationMethod Algorithm="a"/></ds:SignedInfo></ds:Signature>
</r>`,
	`<r xmlns="urn:r"><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><X>1</X></SignedInfo></Signature><y xmlns="">&#x10FFFF;é</y></r>`,
	`<r xmlns="urn:r"><s xmlns=""><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo xmlns=""/></Signature></s></r>`,
	`<r xmlns="urn:r" xmlns:a="urn:a"><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo xmlns=""><k xmlns="urn:k"/></SignedInfo></Signature></r>`,
	"<a>\n\t<b   c = \"1\"\n\td='2' ></b   >\n</a>",
}

// TestCanonicalMatchesGoxmldsig compares both canonical forms with
// goxmldsig's on every RIM in the test data and on canonicalCases.
func TestCanonicalMatchesGoxmldsig(t *testing.T) {
	docs := map[string][]byte{}
	for _, f := range rimFiles(t) {
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[f] = doc
	}
	for i, c := range canonicalCases {
		docs["case "+string(rune('0'+i))] = []byte(c)
	}
	compared := 0
	for name, doc := range docs {
		theirs, theirsSI, ok := goxmldsigCanonical(t, doc)
		if !ok {
			continue
		}
		ours, oursSI, ok := ourCanonical(doc)
		if !ok {
			continue
		}
		require.Equal(t, string(theirs), string(ours), name)
		require.Equal(t, string(theirsSI), string(oursSI), name)
		compared++
	}
	// Every case and every well-formed RIM was compared.
	require.GreaterOrEqual(t, compared, len(canonicalCases)+60)
}

// TestCanonicalForms pins a few canonical forms written out by hand from
// the C14N 1.1 rules, independently of goxmldsig.
func TestCanonicalForms(t *testing.T) {
	for _, tc := range []struct{ in, doc, signedInfo string }{
		{in: `<a/>`, doc: `<a></a>`},
		{
			in:  "<?xml version=\"1.0\"?>\r\n<a  z='1' xmlns:p=\"urn:p\" p:y=\"&#9;\" b=\"&quot;&lt;>\">x\r\n&#13;]&gt;<!--c--></a>",
			doc: "<a xmlns:p=\"urn:p\" b=\"&quot;&lt;>\" z=\"1\" p:y=\"&#x9;\">x\n&#xD;]&gt;</a>",
		},
		{
			in:  `<a xmlns="urn:a"><b xmlns="urn:a"><c xmlns=""><d xmlns=""/></c></b></a>`,
			doc: `<a xmlns="urn:a"><b><c xmlns=""><d></d></c></b></a>`,
		},
		{
			in:         `<r xmlns="urn:r" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + "\n" + `<ds:Signature><ds:SignedInfo xmlns:b="urn:b"><ds:X/></ds:SignedInfo></ds:Signature></r>`,
			doc:        "<r xmlns=\"urn:r\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n</r>",
			signedInfo: `<ds:SignedInfo xmlns="urn:r" xmlns:b="urn:b" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X></ds:X></ds:SignedInfo>`,
		},
	} {
		doc, si, ok := ourCanonical([]byte(tc.in))
		require.True(t, ok, tc.in)
		require.Equal(t, tc.doc, string(doc), tc.in)
		require.Equal(t, tc.signedInfo, string(si), tc.in)
	}
}

// FuzzCanonicalMatchesGoxmldsig: whatever both parseXML and etree read,
// both canonical forms equal goxmldsig's (except for the attribute order
// goxmldsig gets wrong, see mixedQualifiedAttrs), and canonicalising is
// idempotent: the canonical document reads back to the same canonical
// bytes.
func FuzzCanonicalMatchesGoxmldsig(f *testing.F) {
	fuzzSeeds(f)
	for _, c := range canonicalCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		ours, oursSI, ok := ourCanonical(doc)
		if !ok {
			return
		}
		again, _, ok := ourCanonical(ours)
		if !ok || !bytes.Equal(again, ours) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", ours, again)
		}
		if mixedQualifiedAttrs(doc) {
			return
		}
		theirs, theirsSI, ok := goxmldsigCanonical(t, doc)
		if !ok {
			return
		}
		if !bytes.Equal(ours, theirs) || !bytes.Equal(oursSI, theirsSI) {
			t.Fatalf("canonical forms differ:\nours   %q\ntheirs %q\nours   %q\ntheirs %q", ours, theirs, oursSI, theirsSI)
		}
	})
}

// BenchmarkCanonicalize reads V1's driver RIM and writes (hashes) both
// canonical forms the signature covers, ours beside what the verifier did
// before with etree and goxmldsig (read, canonicalize SignedInfo and the
// document, read the canonical bytes again), on the same bytes. Ours also
// runs the signature shape check (it finds SignedInfo), with the parsing of
// the four embedded certificates, which the other side skips.
//
// Metrics: ours-µs, goxmldsig-µs and x-goxmldsig = goxmldsig / ours.
func BenchmarkCanonicalize(b *testing.B) {
	doc, err := os.ReadFile("../../testdata/gpu/rim/v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	require.NoError(b, err)
	ours := func() {
		d, err := parseXML(doc)
		require.NoError(b, err)
		sig, err := checkSignatureShape(d)
		require.NoError(b, err)
		h := sha512.New384()
		canonicalSubtree(d, sig.signedInfo, h)
		h.Reset()
		canonicalDocument(d, sig.el, h)
	}
	theirs := func() {
		tree := etree.NewDocument()
		require.NoError(b, tree.ReadFromBytes(doc))
		root := tree.Root()
		sigEl := root.FindElement("./Signature")
		c14n := dsig.MakeC14N11Canonicalizer()
		ns, err := etreeutils.NSBuildParentContext(sigEl.FindElement("./SignedInfo"))
		require.NoError(b, err)
		detached, err := etreeutils.NSDetatch(ns, sigEl.FindElement("./SignedInfo"))
		require.NoError(b, err)
		si, err := c14n.Canonicalize(detached)
		require.NoError(b, err)
		sha512.Sum384(si)
		root.RemoveChild(sigEl)
		canon, err := c14n.Canonicalize(root)
		require.NoError(b, err)
		sha512.Sum384(canon)
		require.NoError(b, etree.NewDocument().ReadFromBytes(canon))
	}
	var oursT, theirsT time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		ours()
		t1 := time.Now()
		theirs()
		oursT += t1.Sub(t0)
		theirsT += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(oursT.Microseconds())/n, "ours-µs")
	b.ReportMetric(float64(theirsT.Microseconds())/n, "goxmldsig-µs")
	b.ReportMetric(float64(theirsT)/float64(oursT), "x-goxmldsig")
}
