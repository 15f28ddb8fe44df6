package tpm_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// tpmShapeSize is the size of the shapes: a quarter of the 4 MiB Decode
// accepts, which keeps the test to seconds; the cost per byte is the same.
const tpmShapeSize = 1 << 20

// TestWorstShapeDecode: TPM evidence JSON (Trustee's or attest's own) is
// decoded before the quote's signature is checked. Whatever its shape, a
// document costs Decode a bounded multiple of its size.
func TestWorstShapeDecode(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document member", func(v string) string { return `{"quotes":[],"x":` + v + `}` }},
		{"document", func(v string) string { return v }},
		{"tpm_quote", func(v string) string { return `{"ak_public":"","tpm_quote":` + v + `}` }},
		{"tpm_quote pcrs", func(v string) string { return `{"ak_public":"","tpm_quote":{"pcrs":` + v + `}}` }},
		{"quotes", func(v string) string { return `{"quotes":` + v + `}` }},
		{"quotes element", func(v string) string { return `{"quotes":[` + v + `]}` }},
		{"quote pcrs", func(v string) string { return `{"quotes":[{"pcr_bank":"sha256","pcrs":` + v + `}]}` }},
		{"intermediate_certs", func(v string) string { return `{"quotes":[],"intermediate_certs":` + v + `}` }},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(tpmShapeSize)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 4, 64<<10, func() { _, _, _ = tpm.Decode(doc) })
			})
		}
	}
}

// TestWorstShapeEventLog: the event log arrives beside the quote and is
// parsed before it is replayed against it. The most events the limits allow,
// each of the smallest size (one SHA-1 digest, no data), cost a bounded
// multiple of the log's size: an event's record (264 bytes for 38 of input:
// one slot per possible bank) and the copies append makes of the list, about
// five times its final size. Measured 33 bytes per byte; bounded in total by
// MaxEvents (10 MB at the default 8192).
func TestWorstShapeEventLog(t *testing.T) {
	le := binary.LittleEndian
	spec := append([]byte("Spec ID Event03\x00"), 0, 0, 0, 0, 0, 2, 0, 2)
	spec = le.AppendUint32(spec, 1)
	spec = le.AppendUint16(spec, 0x0004) // TPM_ALG_SHA1
	spec = le.AppendUint16(spec, 20)
	spec = append(spec, 0) // vendorInfoSize
	log := le.AppendUint32(nil, 0)
	log = le.AppendUint32(log, 3) // EV_NO_ACTION
	log = append(log, make([]byte, 20)...)
	log = le.AppendUint32(log, uint32(len(spec)))
	log = append(log, spec...)
	const events = 8192 // the default MaxEvents
	for range events {
		log = le.AppendUint32(log, 0)    // PCR 0
		log = le.AppendUint32(log, 0xd)  // EV_IPL
		log = le.AppendUint32(log, 1)    // one digest
		log = le.AppendUint16(log, 0x04) // SHA-1
		log = append(log, make([]byte, 20)...)
		log = le.AppendUint32(log, 0) // no data
	}
	var el *tpm.EventLog
	var err error
	allocbudget.Within(t, len(log), 40, 8<<10, func() { el, err = tpm.ParseEventLog(log, tpm.Limits{}) })
	require.NoError(t, err)
	require.Len(t, el.Events, events)
	// One event more is refused, within the same budget.
	log = append(log, log[len(log)-38:]...)
	allocbudget.Within(t, len(log), 40, 8<<10, func() { _, err = tpm.ParseEventLog(log, tpm.Limits{}) })
	require.ErrorIs(t, err, verify.ErrLimit)
}
