package pck_test

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/internal/pck"
)

// derHead returns a DER tag and length for n bytes of content.
func derHead(tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{tag, byte(n)}
	case n < 1<<8:
		return []byte{tag, 0x81, byte(n)}
	case n < 1<<16:
		return []byte{tag, 0x82, byte(n >> 8), byte(n)}
	default:
		return []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// TestWorstShapeParseExtensions: the SGX extension of a PCK certificate is
// read after the chain is verified (its content is Intel's), but
// ParseExtensions takes any certificate. Whatever the extension's shape, it
// costs a bounded multiple of its size: a record per item, about 20 bytes
// per byte of the smallest item (a two-byte OID and a NULL), and 8 bytes per
// arc of a long OID.
func TestWorstShapeParseExtensions(t *testing.T) {
	const size = 256 << 10
	oidSGX := asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}
	item := []byte{0x30, 0x05, 0x06, 0x01, 0x2a, 0x05, 0x00} // SEQUENCE { OID 1.2, NULL }
	items := bytes.Repeat(item, size/len(item))
	longOID := append(derHead(0x06, size-16), append(bytes.Repeat([]byte{0x2a}, 1), bytes.Repeat([]byte{0x01}, size-17)...)...)
	longItem := append(derHead(0x30, len(longOID)+2), append(longOID, 0x05, 0x00)...)
	deep := bytes.Repeat([]byte{0x30, 0x80}, size/2) // indefinite lengths: refused by DER
	shapes := []allocbudget.Shape{
		{Name: "many items", Value: append(derHead(0x30, len(items)), items...)},
		{Name: "one long OID", Value: append(derHead(0x30, len(longItem)), longItem...)},
		{Name: "deep sequences", Value: deep},
	}
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			cert := &x509.Certificate{Extensions: []pkix.Extension{{Id: oidSGX, Value: s.Value}}}
			allocbudget.Within(t, len(s.Value), 24, 8<<10, func() { _, _ = pck.ParseExtensions(cert) })
		})
	}
}
