package ocsp_test

import (
	"bytes"
	"encoding/asn1"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/internal/allocbudget"
)

// der returns a DER element of tag with content.
func der(tag byte, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	n := len(c)
	var head []byte
	switch {
	case n < 0x80:
		head = []byte{tag, byte(n)}
	case n < 1<<8:
		head = []byte{tag, 0x81, byte(n)}
	case n < 1<<16:
		head = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	default:
		head = []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(head, c...)
}

// basicResponse wraps a BasicOCSPResponse of the given responses and
// certificates (each a list of DER elements) in an OCSPResponse.
func basicResponse(responses, certs [][]byte) []byte {
	oid := func(o asn1.ObjectIdentifier) []byte { b, _ := asn1.Marshal(o); return b }
	at := []byte("\x18\x0f20250101000000Z") // GeneralizedTime
	tbs := der(0x30, der(0xa1, der(0x30)), at, der(0x30, responses...))
	basic := der(0x30, tbs, der(0x30, oid(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3})), der(0x03, []byte{0, 0}),
		der(0xa0, der(0x30, certs...)))
	rb := der(0x30, oid(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}), der(0x04, basic))
	return der(0x30, []byte{0x0a, 0x01, 0x00}, der(0xa0, rb))
}

// TestWorstShapeVerifyResponse: an OCSP response is parsed before its
// signature is checked. The structures with the most elements per byte that
// fit the 64 KiB cap (thousands of empty certificates, thousands of minimal
// single responses) cost a bounded multiple of the response's size. The
// responder is NVIDIA's, or the operator's file; the cap bounds the total.
// Measured 49 bytes per byte for empty certificates (x/crypto/ocsp decodes
// each into an asn1.RawValue before it reads the first), 3 MB at the cap,
// and 15 for single responses.
func TestWorstShapeVerifyResponse(t *testing.T) {
	chain, err := os.ReadFile(td + "/v1/hopperCertChain.txt")
	require.NoError(t, err)
	certs, err := gpu.ParsePEMChain(chain)
	require.NoError(t, err)
	cert, issuer := certs[1], certs[2]
	const size = 60 << 10
	emptyCert := der(0x30)
	single := der(0x30, der(0x30, der(0x30, []byte{0x06, 0x01, 0x2a}), der(0x04), der(0x04), []byte{0x02, 0x01, 0x01}),
		[]byte{0x80, 0x00}, []byte("\x18\x0f20250101000000Z"))
	shapes := []allocbudget.Shape{
		{Name: "empty certificates", Value: basicResponse(nil, bytes.SplitAfter(bytes.Repeat(emptyCert, size/2), emptyCert)[:size/2])},
		{Name: "minimal single responses", Value: basicResponse(bytes.SplitAfter(bytes.Repeat(single, size/len(single)), single)[:size/len(single)], nil)},
	}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			require.LessOrEqual(t, len(s.Value), 64<<10)
			allocbudget.Within(t, len(s.Value), 56, 16<<10, func() { _, _ = ocsp.VerifyResponse(s.Value, cert, issuer, nil, now, 0) })
		})
	}
}
