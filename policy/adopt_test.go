package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// TestDebugCheckTitleSaysWhatPassed: a user reads "✓ <title>" in attest
// verify's output, so a passed debug check must not read as its hazard
// ("✓ debug TD" read as "this is a debug TD"); a failed one names the flag.
func TestDebugCheckTitleSaysWhatPassed(t *testing.T) {
	p, err := policy.New(nil)
	require.NoError(t, err)
	cases := []struct {
		format verify.Format
		id     string
		key    string
		flag   string
	}{
		{verify.FormatTDX, "tdx.debug", "td_attributes.debug", "TD_ATTRIBUTES.DEBUG"},
		{verify.FormatSGX, "sgx.debug", "debug", "ATTRIBUTES.DEBUG"},
		{verify.FormatSNP, "snp.debug", "policy_debug_allowed", "POLICY.DEBUG"},
		{verify.FormatNitro, "nitro.debug", "debug", "PCR0–3"},
	}
	for _, tc := range cases {
		for _, on := range []bool{false, true} {
			res, err := p.Appraise(context.Background(), verify.PolicyInput{
				Submod: "x", Format: tc.format, Claims: map[string]any{tc.key: on},
				Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			})
			require.NoError(t, err, tc.id)
			var found bool
			for _, c := range res.Checks {
				if c.ID != tc.id {
					continue
				}
				found = true
				assert.Equal(t, !on, c.OK, "%s with %s=%v", tc.id, tc.key, on)
				assert.True(t, strings.HasPrefix(c.Title, "not a ") || strings.Contains(c.Title, "forbids"),
					"%s: title %q reads as the hazard, not as what passed", tc.id, c.Title)
				if on {
					assert.Contains(t, c.Reason, tc.flag, "%s: the failure names the flag", tc.id)
				}
			}
			assert.True(t, found, "%s: no check", tc.id)
		}
	}
}
