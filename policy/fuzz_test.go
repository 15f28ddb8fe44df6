package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// FuzzAppraise: any claim map, under every format's rules, appraises without
// panicking, and no failed check sets an affirming claim.
func FuzzAppraise(f *testing.F) {
	for _, cl := range []map[string]any{tdxClaims(), snpClaims()} {
		b, err := json.Marshal(cl)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"quote.body.td_attributes":"ffffffffffffffff","quote.body.xfam":"zz","vmpl":"0x10","current_mit_vector":"-1","chip_id_masked":"yes"}`))
	rv, err := FromEntries(append(tdxEntries(), Entry{Name: "snp_required_mitigations", Value: "0x3"},
		Entry{Name: "snp_min_tcb_snp", Value: 8}, Entry{Name: "tpm_pcr00", Value: strings.Repeat("00", 32)})...)
	require.NoError(f, err)
	p, err := New(rv)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, b []byte) {
		var cl map[string]any
		if json.Unmarshal(b, &cl) != nil || cl == nil {
			return
		}
		for _, format := range []verify.Format{verify.FormatTDX, verify.FormatSNP, verify.FormatTPM, verify.FormatAzureSNP, verify.FormatGPU} {
			r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: format, Claims: cl, Now: now})
			if err != nil {
				continue
			}
			for _, c := range r.Checks {
				if !c.OK && c.Value.Tier() == ear.StatusAffirming {
					t.Fatalf("%s: failed check %s sets affirming %d", format, c.ID, c.Value)
				}
			}
		}
	})
}
