package azure_test

import (
	"testing"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/internal/allocbudget"
)

// TestWorstShapeDecodeEvidence: Azure vTPM evidence JSON is decoded before
// any signature in it is checked. Whatever its shape, a document at
// azure.MaxEvidenceSize costs either decoder a bounded multiple of its size.
func TestWorstShapeDecodeEvidence(t *testing.T) {
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"skipped member", func(v string) string { return `{"x":` + v + `}` }},
		{"tpm_quote", func(v string) string { return `{"version":2,"tpm_quote":` + v + `}` }},
		{"pcrs", func(v string) string { return `{"version":2,"tpm_quote":{"pcrs":` + v + `}}` }},
		{"hcl_report", func(v string) string { return `{"version":2,"hcl_report":` + v + `}` }},
		{"version", func(v string) string { return `{"version":` + v + `}` }},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(azure.MaxEvidenceSize - 64) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 4, 8<<10, func() { _, _ = azure.DecodeEvidence(doc) })
				allocbudget.Within(t, len(doc), 4, 8<<10, func() { _, _ = azure.DecodeTDXEvidence(doc) })
			})
		}
	}
}

// TestWorstShapeParseRuntimeData: the runtime data is the HCL report's JSON,
// at most azure.MaxHCLReportSize bytes. Verify hashes it into the hardware
// report before parsing it, but ParseRuntimeData is exported: whatever its
// shape, it costs a bounded multiple of its size.
func TestWorstShapeParseRuntimeData(t *testing.T) {
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"keys", func(v string) string { return `{"keys":` + v + `}` }},
		{"key", func(v string) string { return `{"keys":[` + v + `]}` }},
		{"vm-configuration", func(v string) string { return `{"vm-configuration":` + v + `}` }},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(azure.MaxHCLReportSize - 32) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 8, 8<<10, func() { _, _ = azure.ParseRuntimeData(doc) })
			})
		}
	}
}
