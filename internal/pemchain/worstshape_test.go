package pemchain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
)

// manyExtensions returns a self-signed certificate carrying n tiny
// non-critical extensions: the most parsed structure per byte of DER.
func manyExtensions(t *testing.T, n int) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	exts := make([]pkix.Extension, n)
	for i := range exts {
		exts[i] = pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 9999, i / 40000, i % 40000}, Value: []byte{5, 0}}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "worst"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0), ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return der
}

// TestWorstShapeParse: certificate chains in evidence (a TDX or SGX quote's
// certification data, GPU and SNP chains) are parsed before they are
// verified. Whatever the text's shape, Parse costs a bounded multiple of its
// size: the blocks' base64 decoded once and each certificate's structure.
// The most per byte is crypto/x509's own: a certificate of thousands of
// tiny extensions costs 21 bytes per byte of its PEM (a record per
// extension); the callers bound the text (a quote, 64 KiB of GPU chain).
func TestWorstShapeParse(t *testing.T) {
	const size = 1 << 20
	blk := func(body string) string {
		return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n"
	}
	der := manyExtensions(t, 4000)
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	shapes := []allocbudget.Shape{
		{Name: "one long block", Value: []byte(blk(strings.Repeat("A", size-64)))},
		{Name: "base64 a byte a line", Value: []byte(blk(strings.Repeat("AAAA\n", (size-64)/5)))},
		{Name: "many empty blocks", Value: []byte(strings.Repeat(blk(""), size/56))},
		{Name: "BEGIN lines only", Value: []byte(strings.Repeat("-----BEGIN CERTIFICATE-----\n", size/28))},
		{Name: "whitespace", Value: []byte(strings.Repeat(" \n", size/2) + blk("AAAA"))},
		{Name: "NUL padding", Value: []byte(blk("AAAA") + strings.Repeat("\x00", size))},
		{Name: "sixteen certificates of many extensions", Value: []byte(strings.Repeat(cert, 16))},
		{Name: "seventeen certificates", Value: []byte(strings.Repeat(cert, 17))},
	}
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			allocbudget.Within(t, len(s.Value), 24, 64<<10, func() { _, _ = Parse(s.Value, 16) })
		})
	}
}
