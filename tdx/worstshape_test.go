package tdx_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// TestWorstShapeEvidenceJSON: the Trustee JSON wrapper of a quote is read
// before the quote is verified. Whatever its shape, wherever the shape sits,
// refusing it costs a bounded multiple of its size.
func TestWorstShapeEvidenceJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	v, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"unknown member", func(v string) string { return `{"x":` + v + `}` }},
		{"quote", func(v string) string { return `{"quote":` + v + `}` }},
		{"cc_eventlog", func(v string) string { return `{"quote":"AA==","cc_eventlog":` + v + `}` }},
	}
	exp := verify.Expectations{AllowMissingReportDataUnsafe: true}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(1 << 20)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 8, 64<<10, func() { _, _ = v.Verify(context.Background(), doc, exp) })
			})
		}
	}
}

// TestWorstShapeBase64Quote: base64 of the largest quote (and of one byte
// more, and in the unpadded URL alphabet, the last of the four tried) is
// decoded once per alphabet tried, within a small multiple of its size
// (measured 7 bytes per byte for the unpadded URL alphabet: four decodings).
func TestWorstShapeBase64Quote(t *testing.T) {
	v, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	exp := verify.Expectations{AllowMissingReportDataUnsafe: true}
	n := allocbudget.Size(tdx.MaxQuoteSize)
	for name, text := range map[string]string{
		"std":           base64.StdEncoding.EncodeToString(make([]byte, n)),
		"std, one more": base64.StdEncoding.EncodeToString(make([]byte, n+1)),
		"raw url":       base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, n)),
	} {
		t.Run(name, func(t *testing.T) {
			doc := []byte(`{"quote":"` + text + `"}`)
			allocbudget.Within(t, len(doc), 8, 64<<10, func() { _, _ = v.Verify(context.Background(), doc, exp) })
		})
	}
}

// TestWorstShapeParseCCEL: the CCEL comes beside the quote and is parsed
// before it is replayed against the RTMRs. The most events the caps allow,
// each of the smallest size (one SHA-384 digest, no data), cost a bounded
// multiple of the log's size: an event's record, 264 bytes for 66 of input,
// and the copies append makes of the list.
func TestWorstShapeParseCCEL(t *testing.T) {
	le := binary.LittleEndian
	spec := append([]byte("Spec ID Event03\x00"), 0, 0, 0, 0, 0, 2, 0, 2)
	spec = le.AppendUint32(spec, 1)
	spec = le.AppendUint16(spec, 0x000c) // TPM_ALG_SHA384
	spec = le.AppendUint16(spec, sha512.Size384)
	spec = append(spec, 0)
	log := le.AppendUint32(nil, 0)
	log = le.AppendUint32(log, 3) // EV_NO_ACTION
	log = append(log, make([]byte, 20)...)
	log = le.AppendUint32(log, uint32(len(spec)))
	log = append(log, spec...)
	const events = 16384 // maxCCELEvents
	for range events {
		log = le.AppendUint32(log, 1)   // RTMR 0
		log = le.AppendUint32(log, 0xd) // EV_IPL
		log = le.AppendUint32(log, 1)
		log = le.AppendUint16(log, 0x000c)
		log = append(log, make([]byte, sha512.Size384)...)
		log = le.AppendUint32(log, 0)
	}
	var err error
	allocbudget.Within(t, len(log), 12, 8<<10, func() { _, err = tdx.ParseCCEL(log) })
	require.NoError(t, err)
}

// TestWorstShapeParseAAEL: the legacy AA event log is text read before it is
// replayed into RTMR3. The most lines of the least text cost what the line
// cap allows: about 250 bytes a line (its event, its text, the split), 49
// per byte of "a b \n" but 1 MB in all at 4096 lines; text costs a copy.
func TestWorstShapeParseAAEL(t *testing.T) {
	init := "INIT sha384/" + strings.Repeat("00", 48) + "\n"
	for name, body := range map[string]string{
		"shortest events": strings.Repeat("a b \n", 4095),
		"empty lines":     strings.Repeat("\n", 4095),
		"one long line":   "a b " + strings.Repeat("c", (1<<20)-200),
	} {
		t.Run(name, func(t *testing.T) {
			doc := []byte(init + body)
			allocbudget.Within(t, len(doc), 4, 2<<20, func() { _, _ = tdx.ParseAAEL(doc) })
		})
	}
}
