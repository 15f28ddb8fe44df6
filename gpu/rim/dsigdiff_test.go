package rim

import (
	"bytes"
	"crypto/ecdsa"
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
	"github.com/stretchr/testify/require"
)

// TestEnvelopedMatchesGoxmldsig: on every RIM in the test data, and on each
// with one byte of a measurement, the digest or the signature changed, our
// enveloped-signature check agrees with goxmldsig's Validate (fed the DER
// form of the signature): both accept, or both refuse; when both accept,
// the trees rebuilt from the digested bytes are the same.
func TestEnvelopedMatchesGoxmldsig(t *testing.T) {
	files, err := filepath.Glob("../../testdata/gpu/*/*.xml")
	require.NoError(t, err)
	more, err := filepath.Glob("../../testdata/gpu/*/*/*.xml")
	require.NoError(t, err)
	files = append(files, more...)
	require.NotEmpty(t, files)
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
			ours, oursErr := ourEnveloped(v)
			theirs, theirsErr := goxmldsigEnveloped(v)
			if oursErr != nil && theirsErr != nil {
				continue
			}
			require.NoError(t, oursErr, "%s variant %d: goxmldsig accepts, we refuse", f, n)
			require.NoError(t, theirsErr, "%s variant %d: we accept, goxmldsig refuses", f, n)
			require.Equal(t, theirs, ours, "%s variant %d", f, n)
			accepted++
		}
	}
	t.Logf("%d files, %d variants accepted by both", len(files), accepted)
	require.Positive(t, accepted)
}

// ourEnveloped runs the shape check and verifyEnveloped, returning the
// rebuilt tree serialized.
func ourEnveloped(doc []byte) ([]byte, error) {
	tree, err := parseTree(doc)
	if err != nil {
		return nil, err
	}
	sig, err := checkSignatureShape(tree.Root())
	if err != nil {
		return nil, err
	}
	el, err := verifyEnveloped(tree.Root(), sig, sig.certs[0].PublicKey.(*ecdsa.PublicKey))
	if err != nil {
		return nil, err
	}
	return serialize(el)
}

// goxmldsigEnveloped verifies the same document with goxmldsig, trusting the
// same signer certificate at a time inside its validity.
func goxmldsigEnveloped(doc []byte) ([]byte, error) {
	tree, err := parseTree(doc)
	if err != nil {
		return nil, err
	}
	sig, err := checkSignatureShape(tree.Root())
	if err != nil {
		return nil, err
	}
	n := len(sig.rawSig) / 2
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig.rawSig[:n]), new(big.Int).SetBytes(sig.rawSig[n:])})
	if err != nil {
		return nil, err
	}
	sv := sig.el.FindElement("./SignatureValue")
	sv.SetText(base64.StdEncoding.EncodeToString(der))
	signer := sig.certs[0]
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{signer}})
	ctx.Clock = dsig.NewFakeClockAt(signer.NotBefore.Add(time.Hour))
	el, err := ctx.Validate(tree.Root())
	if err != nil {
		return nil, err
	}
	return serialize(el)
}

func serialize(el *etree.Element) ([]byte, error) {
	d := etree.NewDocument()
	d.SetRoot(el.Copy())
	return d.WriteToBytes()
}
