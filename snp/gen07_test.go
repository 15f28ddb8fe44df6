package snp_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// GEN-07: a SEV-SNP version 5 report from current Turin firmware sets
// PLATFORM_INFO bit 6 (reserved before ABI 1.58, set by real firmware) and
// the v5 mitigation vectors: it verifies and they are reported as claims.
// The same bit in a version 3 report, whose firmware cannot set it, and bits
// 8..63, reserved in every version, are refused as ErrMalformed.
func TestGEN07ForwardCompatiblePlatformInfo(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Turin]
	const bit6 = 1 << 6
	cases := []struct {
		name    string
		version uint32
		info    uint64
		want    error // nil: accepted
	}{
		{"v5 with bit 6, TIO and SMT, as Turin firmware sets them", 5, bit6 | snp.PlatformTIOEnabled | snp.PlatformSMTEnabled, nil},
		{"v5 with every bit 0..7", 5, 0xFF, nil},
		{"v3 with bit 6", 3, bit6, verify.ErrMalformed},
		{"v2 with bit 6", 2, bit6, verify.ErrMalformed},
		{"v5 with bit 8", 5, 1 << 8, verify.ErrMalformed},
		{"v5 with bit 63", 5, 1 << 63, verify.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := mint(t, p, snptest.Report{Version: c.version, PlatformInfo: c.info, LaunchMitVector: 0x3, CurrentMitVector: 0x7})
			cl, err := v.Verify(context.Background(), ev, exp())
			if c.want != nil {
				require.ErrorIs(t, err, c.want)
				assert.Nil(t, cl)
				return
			}
			require.NoError(t, err)
			m := cl.Map()
			assert.Equal(t, "0x"+strconv.FormatUint(c.info, 16), m["platform_info"])
			assert.Equal(t, c.info&snp.PlatformTIOEnabled != 0, m["platform_tio_enabled"])
			assert.Equal(t, c.info&snp.PlatformSMTEnabled != 0, m["platform_smt_enabled"])
			assert.Equal(t, "0x3", m["launch_mit_vector"])
			assert.Equal(t, "0x7", m["current_mit_vector"])
		})
	}
}
