package rego

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
)

// TestTrusteeDefaultCPUPolicyOnAttestTDX runs Trustee's default CPU policy,
// unchanged, on the claims attest's TDX verifier proves from a test-bed
// quote, through the appraiser. Expected vectors from the policy text: with
// mr_td, rtmr_1, rtmr_2 and xfam pinned, executables 4 (no UEFI event log,
// so the tdvfkernel rule cannot hold and its "else" applies), hardware 2
// (Intel header, mr_td, UpToDate, collateral not expired) and configuration
// 2 (no debug bit, xfam pinned).
func TestTrusteeDefaultCPUPolicyOnAttestTDX(t *testing.T) {
	bed, err := testbed.New(testbed.Options{Now: now})
	require.NoError(t, err)
	all, err := bed.ReferenceValues()
	require.NoError(t, err)
	q := bed.QuoteSpec(nil)
	hexOf := hex.EncodeToString
	noMRTD, err := policy.FromEntries(
		policy.Entry{Name: "rtmr_1", Value: hexOf(q.Body.RTMR[1][:])},
		policy.Entry{Name: "rtmr_2", Value: hexOf(q.Body.RTMR[2][:])},
		policy.Entry{Name: "xfam", Value: hexOf(q.Body.XFAM[:])},
	)
	require.NoError(t, err)

	tests := []struct {
		name   string
		rv     *policy.ReferenceValues
		edit   func(*tdxtest.QuoteSpec)
		want   ear.TrustVector
		status ear.Status
	}{
		{"bed reference values", all, nil, vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 4, ear.Hardware: 2, ear.Configuration: 2}), ear.StatusAffirming},
		{"mr_td not pinned", noMRTD, nil, vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 4, ear.Hardware: 97, ear.Configuration: 2}), ear.StatusContraindicated},
		{"other rtmr_1", all, func(s *tdxtest.QuoteSpec) { s.Body.RTMR[1][0] ^= 1 }, vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 33, ear.Hardware: 2, ear.Configuration: 2}), ear.StatusWarning},
		{"debug TD", all, func(s *tdxtest.QuoteSpec) { s.Body.TDAttributes[0] |= 1 }, vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 4, ear.Hardware: 2, ear.Configuration: 36}), ear.StatusWarning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(context.Background(), readFile(t, "ear_default_policy_cpu.rego"), WithID("default_cpu"), WithReferenceValues(tt.rv))
			require.NoError(t, err)
			a, err := bed.Appraiser()
			require.NoError(t, err)
			a, err = a.WithPolicy(p)
			require.NoError(t, err)
			s, err := testbed.NewSession()
			require.NoError(t, err)
			comps, err := bed.TDXComponents(s)
			require.NoError(t, err)
			if tt.edit != nil {
				comps[0].Evidence = bed.Quote(comps[0].Expect.ReportData, tt.edit)
			}
			o, err := a.AppraiseOutcome(context.Background(), comps)
			require.NoError(t, err)
			require.Len(t, o.Submods, 1)
			sub := o.Submods[0]
			require.NoError(t, sub.Err)
			require.NotNil(t, sub.Policy)
			assert.Equal(t, "default_cpu", sub.Policy.PolicyID)
			assert.Equal(t, tt.want, sub.Policy.TrustVector)
			assert.Equal(t, tt.status, o.Status())
		})
	}
}
