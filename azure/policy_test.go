package azure_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// The real Azure samples through the default policy, every reference value
// pinned to the sample's own: the SEV-SNP rules (VMPL 0, chip binding,
// launch and committed TCB floors, guest policy) pass on real paravisor
// reports. The only failing rule is the unsafe switch the samples need (no
// CRL for their VCEK), and version 1 evidence is not bound to the session.
func TestRealEvidenceDefaultPolicy(t *testing.T) {
	rd2, _ := hex.DecodeString("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef")
	for _, tc := range []struct {
		file     string
		exp      verify.Expectations
		failures []string
	}{
		{"trustee-evidence-v1.json", realExp(), []string{"unsafe", "binding", "az.report_fresh"}},
		{"trustee-evidence-v2.json", verify.Expectations{ReportData: rd2, Now: realTime}, []string{"unsafe", "binding"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile("../testdata/azure/" + tc.file)
			require.NoError(t, err)
			c, err := realVerifier(t).Verify(context.Background(), b, tc.exp)
			require.NoError(t, err)
			m := c.Map()
			rvs := []policy.Entry{{Name: "snp_launch_measurement", Value: m["measurement"]}}
			for _, part := range []string{"bootloader", "tee", "snp", "microcode"} {
				rvs = append(rvs, policy.Entry{Name: "snp_min_tcb_" + part, Value: m["reported_tcb_"+part]})
			}
			for i := 0; i < 24; i++ {
				rvs = append(rvs, policy.Entry{Name: fmt.Sprintf("tpm_pcr%02d", i), Value: m[fmt.Sprintf("pcr%02d", i)]})
			}
			rv, err := policy.FromEntries(rvs...)
			require.NoError(t, err)
			p, err := policy.New(rv)
			require.NoError(t, err)
			r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatAzureSNP, Claims: m, Now: realTime, Unsafe: verify.UnsafeSwitchesOf(c)})
			require.NoError(t, err)
			var failed []string
			for _, ch := range r.Checks {
				if !ch.OK {
					failed = append(failed, ch.ID)
				}
			}
			assert.ElementsMatch(t, tc.failures, failed, r.Checks)
			assert.Equal(t, ear.ApprovedBoot, r.TrustVector[ear.Executables])
			assert.NotEqual(t, ear.StatusAffirming, r.Status(), "the unsafe switch never affirms")
		})
	}
}
