package snp_test

import (
	"encoding/binary"
	"testing"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/snp"
)

// TestWorstShapeDecodeEvidence: SNP evidence (raw, with a certificate table,
// or Trustee's JSON) is decoded before its signature is checked. Whatever
// its shape, a document at snp.MaxEvidenceSize costs DecodeEvidence a
// bounded multiple of its size, plus what the structure caps let through
// before they refuse it: up to 16 Ki values at about 350 bytes each, 6 MB
// (measured 5.6 MB; the small inputs of a -race run are all that cost).
func TestWorstShapeDecodeEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document member", func(v string) string { return `{"x":` + v + `}` }},
		{"attestation_report", func(v string) string { return `{"attestation_report":` + v + `}` }},
		{"cert_chain", func(v string) string { return `{"cert_chain":` + v + `}` }},
		{"cert_chain element", func(v string) string { return `{"cert_chain":[` + v + `]}` }},
		{"cert data", func(v string) string { return `{"cert_chain":[{"cert_type":"VCEK","data":` + v + `}]}` }},
		{"report field", func(v string) string { return `{"attestation_report":{"report_data":` + v + `}}` }},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(snp.MaxEvidenceSize - 128)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 12, 6<<20, func() { _, _ = snp.DecodeEvidence(doc) })
			})
		}
	}
}

// TestWorstShapeCertTable: the largest certificate table, with the most
// entries, each of the longest span, is parsed within a small multiple of
// its size (ParseCertTable allocates nothing in proportion to a length).
func TestWorstShapeCertTable(t *testing.T) {
	table := make([]byte, snp.MaxCertTableSize)
	entries := snp.MaxCertTableEntries
	blob := (len(table) - (entries+1)*24) / entries
	for i := range entries {
		e := table[i*24:]
		e[0] = byte(i + 1) // distinct GUIDs
		binary.LittleEndian.PutUint32(e[16:], uint32((entries+1)*24+i*blob))
		binary.LittleEndian.PutUint32(e[20:], uint32(blob))
	}
	var got []snp.CertEntry
	allocbudget.Within(t, len(table), 1, 8<<10, func() { got, _ = snp.ParseCertTable(table) })
	if len(got) != entries {
		t.Fatalf("parsed %d entries, want %d", len(got), entries)
	}
	// The same table after a zero report: DecodeEvidence also checks the
	// padding (a byte per table byte) before it finds no certificate role.
	ev := append(make([]byte, snp.ReportSize), table...)
	allocbudget.Within(t, len(ev), 4, 64<<10, func() { _, _ = snp.DecodeEvidence(ev) })
}
