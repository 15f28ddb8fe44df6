package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// The host fills MRCONFIGID (TDX) and HOST_DATA (SEV-SNP) at launch;
// Confidential Containers puts the init-data digest (the agent policy) there.
// A request that leaves its init data out made nobody compare the register,
// and configuration was affirmed whatever the host had put there.
func TestLaunchConfigVouchedFor(t *testing.T) {
	configID := strings.Repeat("c1", 48)
	hostData := strings.Repeat("d4", 32)
	cases := []struct {
		name   string
		format verify.Format
		rv     []Entry
		claims func(map[string]any)
		want   ear.TrustClaim
		ok     bool
	}{
		{"TDX all zero", verify.FormatTDX, nil, func(map[string]any) {}, ear.ApprovedConfig, true},
		{"TDX set, nobody compared", verify.FormatTDX, nil,
			func(c map[string]any) { c["quote.body.mr_config_id"] = configID }, ear.UnavailableConfig, false},
		{"TDX set, init data compared", verify.FormatTDX, nil,
			func(c map[string]any) { c["quote.body.mr_config_id"] = configID; c["init_data_checked"] = true }, ear.ApprovedConfig, true},
		{"TDX set, pinned", verify.FormatTDX, []Entry{{Name: "tdx_mr_config_id", Value: configID}},
			func(c map[string]any) { c["quote.body.mr_config_id"] = configID }, ear.ApprovedConfig, true},
		{"TDX set, another pinned", verify.FormatTDX, []Entry{{Name: "tdx_mr_config_id", Value: strings.Repeat("c2", 48)}},
			func(c map[string]any) { c["quote.body.mr_config_id"] = configID }, ear.UnsupportableConfig, false},
		{"TDX claim absent", verify.FormatTDX, nil,
			func(c map[string]any) { delete(c, "quote.body.mr_config_id") }, ear.UnavailableConfig, false},
		{"TDX claim empty", verify.FormatTDX, nil,
			func(c map[string]any) { c["quote.body.mr_config_id"] = "" }, ear.UnavailableConfig, false},
		{"SNP all zero", verify.FormatSNP, nil, func(map[string]any) {}, ear.NoConfigVulns, true},
		{"SNP set, nobody compared", verify.FormatSNP, nil,
			func(c map[string]any) { c["host_data"] = hostData }, ear.UnavailableConfig, false},
		{"SNP set, init data compared", verify.FormatSNP, nil,
			func(c map[string]any) { c["host_data"] = hostData; c["init_data_checked"] = true }, ear.NoConfigVulns, true},
		{"SNP set, pinned", verify.FormatSNP, []Entry{{Name: "snp_host_data", Value: hostData}},
			func(c map[string]any) { c["host_data"] = hostData }, ear.NoConfigVulns, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rv *ReferenceValues
			var cl map[string]any
			id := "tdx.mr_config_id"
			if c.format == verify.FormatTDX {
				rv, cl = tdxRV(t, c.rv...), tdxClaims()
			} else {
				var err error
				rv, err = FromEntries(snpPinnedEntries(c.rv...)...)
				require.NoError(t, err)
				cl, id = snpClaims(), "snp.host_data"
			}
			c.claims(cl)
			r := appraise(t, rv, c.format, cl)
			wantVector(t, r, ear.Configuration, c.want)
			chk, found := checkByID(r, id)
			require.True(t, found)
			assert.Equal(t, c.ok, chk.OK, chk.Reason)
		})
	}
}
