package sgx_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/verify"
)

// TestWorstShapeEvidenceJSON: Trustee's SGX evidence, a JSON object around
// the quote, is read before the quote is verified. Whatever its shape,
// wherever the shape sits, refusing it costs a bounded multiple of its size.
func TestWorstShapeEvidenceJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"unknown member", func(v string) string { return `{"x":` + v + `}` }},
		{"quote", func(v string) string { return `{"quote":` + v + `}` }},
	}
	exp := verify.Expectations{AllowMissingReportDataUnsafe: true}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(sgx.MaxEvidenceSize - 64)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 4, 64<<10, func() { _, _ = v.Verify(context.Background(), doc, exp) })
			})
		}
	}
}
