package nitro_test

import (
	"bytes"
	"testing"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/nitro"
)

// cborHead returns the head of a CBOR item of major type major and argument n.
func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	}
}

// bstr returns a definite byte string holding b.
func bstr(b []byte) []byte { return append(cborHead(2, len(b)), b...) }

// tstr returns a definite text string holding s.
func tstr(s string) []byte { return append(cborHead(3, len(s)), s...) }

// chunked returns an indefinite byte string of n chunks of one byte each,
// or of no byte when empty: the most chunks per byte of input.
func chunked(n int, empty bool) []byte {
	chunk := []byte{0x41, 0}
	if empty {
		chunk = []byte{0x40}
	}
	return append(append([]byte{0x5f}, bytes.Repeat(chunk, n)...), 0xff)
}

// sign1 returns an untagged COSE_Sign1 of NSM's headers around payload.
func sign1(payload []byte) []byte {
	doc := []byte{0x84}
	doc = append(doc, bstr([]byte{0xa1, 0x01, 0x38, 0x22})...) // {1: -35}
	doc = append(doc, 0xa0)                                    // {}
	doc = append(doc, payload...)
	return append(doc, bstr(make([]byte, 96))...)
}

// TestWorstShapeParseDocument: the attestation document is parsed before its
// signature is checked. Whatever its shape within nitro.MaxDocumentBytes
// (the decoder's caps hold counts and nesting; indefinite-length strings
// stay allowed, so a string may come in thousands of chunks), ParseDocument
// costs a bounded multiple of its size.
func TestWorstShapeParseDocument(t *testing.T) {
	const size = nitro.MaxDocumentBytes - 256
	member := func(name string, v []byte) []byte {
		p := append([]byte{0xbf}, tstr(name)...)
		return bstr(append(append(p, v...), 0xff))
	}
	shapes := []allocbudget.Shape{
		{Name: "payload in one-byte chunks", Value: sign1(chunked(size/2, false))},
		{Name: "payload in empty chunks", Value: sign1(chunked(size, true))},
		{Name: "certificate in one-byte chunks", Value: sign1(member("certificate", chunked(size/2-16, false)))},
		{Name: "user_data in empty chunks", Value: sign1(member("user_data", chunked(size-16, true)))},
		{Name: "protected header in chunks", Value: append([]byte{0x84}, chunked(size, true)...)},
		{Name: "deep arrays", Value: append([]byte{0x84}, bytes.Repeat([]byte{0x81}, size)...)},
		{Name: "indefinite arrays", Value: append([]byte{0x84}, bytes.Repeat([]byte{0x9f}, size)...)},
		{Name: "long cabundle", Value: sign1(member("cabundle", append([]byte{0x9f}, append(bytes.Repeat([]byte{0x40}, size-32), 0xff)...)))},
		{Name: "many pcrs", Value: sign1(member("pcrs", append([]byte{0xbf}, append(bytes.Repeat([]byte{0x00, 0x40}, size/2-32), 0xff)...)))},
		{Name: "long text key", Value: sign1(bstr(append(append([]byte{0xa1}, tstr(string(make([]byte, size-64)))...), 0)))},
	}
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			if len(s.Value) > nitro.MaxDocumentBytes {
				t.Fatalf("shape of %d bytes, limit %d", len(s.Value), nitro.MaxDocumentBytes)
			}
			allocbudget.Within(t, len(s.Value), 4, 16<<10, func() { _, _ = nitro.ParseDocument(s.Value) })
		})
	}
}
