package policy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// The TCB status lists are fixed per Policy at construction (issue #12.4):
// no package variable an importer could loosen for the whole process.
func TestTCBStatusOptions(t *testing.T) {
	hardware := func(t *testing.T, p *Policy, status string) ear.TrustClaim {
		t.Helper()
		cl := tdxClaims()
		cl["tcb_status"] = status
		r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatTDX, Claims: cl, Now: now})
		require.NoError(t, err)
		return r.TrustVector[ear.Hardware]
	}
	for _, tc := range []struct {
		name   string
		rv     []Entry
		opts   []Option
		status string
		want   ear.TrustClaim
	}{
		{"default accepts UpToDate", nil, nil, "UpToDate", ear.GenuineHardware},
		{"default tolerates OutOfDate", nil, nil, "OutOfDate", ear.UnsafeHardware},
		{"default refuses Revoked", nil, nil, "Revoked", ear.ContraindicatedHardware},
		{"accepted widened", nil, []Option{WithAcceptedTCBStatus("UpToDate", "SWHardeningNeeded")}, "SWHardeningNeeded", ear.GenuineHardware},
		{"accepted widened, default tolerated still applies", nil, []Option{WithAcceptedTCBStatus("UpToDate", "SWHardeningNeeded")}, "OutOfDate", ear.UnsafeHardware},
		{"tolerated narrowed", nil, []Option{WithToleratedTCBStatus("SWHardeningNeeded")}, "OutOfDate", ear.ContraindicatedHardware},
		{"tolerated narrowed, listed status", nil, []Option{WithToleratedTCBStatus("SWHardeningNeeded")}, "SWHardeningNeeded", ear.UnsafeHardware},
		{"reference value takes precedence", []Entry{{Name: "tdx_accepted_tcb_status", Value: "OutOfDate"}},
			[]Option{WithAcceptedTCBStatus("UpToDate")}, "OutOfDate", ear.GenuineHardware},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv, err := FromEntries(append(tdxEntries(), tc.rv...)...)
			require.NoError(t, err)
			p, err := New(rv, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, tc.want, hardware(t, p, tc.status))
		})
	}
}

func TestTCBStatusOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"empty accepted", []Option{WithAcceptedTCBStatus()}},
		{"empty tolerated", []Option{WithToleratedTCBStatus()}},
		{"empty name", []Option{WithAcceptedTCBStatus("UpToDate", " ")}},
		{"Revoked accepted", []Option{WithAcceptedTCBStatus("UpToDate", "revoked")}},
		{"Revoked tolerated", []Option{WithToleratedTCBStatus("Revoked")}},
		{"overlap", []Option{WithAcceptedTCBStatus("UpToDate", "OutOfDate"), WithToleratedTCBStatus("OutOfDate")}},
		{"tolerated overlaps the default accepted", []Option{WithToleratedTCBStatus("UpToDate")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(nil, tc.opts...)
			require.ErrorIs(t, err, verify.ErrConfig)
			assert.Nil(t, p)
		})
	}
}

// The accessors return copies: changing one changes no policy.
func TestDefaultTCBStatusIsACopy(t *testing.T) {
	a := DefaultAcceptedTCBStatus()
	a[0] = "OutOfDate"
	tol := DefaultToleratedTCBStatus()
	tol[0] = "UpToDate"
	assert.Equal(t, []string{"UpToDate"}, DefaultAcceptedTCBStatus())
	assert.NotContains(t, DefaultToleratedTCBStatus(), "UpToDate")
	p, err := New(nil)
	require.NoError(t, err)
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatTDX, Claims: map[string]any{"tcb_status": "OutOfDate"}, Now: now})
	require.NoError(t, err)
	assert.Equal(t, ear.UnsafeHardware, r.TrustVector[ear.Hardware])
}

// tdxEntries are tdxRV's entries.
func tdxEntries() []Entry {
	return []Entry{{Name: "mr_td", Value: mrtd}, {Name: "xfam", Value: xfam}}
}
