package snp_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
)

// GEN-07: a SEV-SNP version 5 report from current Turin firmware sets
// PLATFORM_INFO bit 6 (reserved in ABI 1.58, set by real firmware) and the
// v5 mitigation vectors: it verifies, the defined bits are named claims and
// bit 6 is reported in platform_info_reserved. PLATFORM_INFO has no
// must-be-zero bits in any ABI revision, so a bit a report's version does not
// define (bit 6 in any version, TIO_EN before version 5, bits 8..63) is
// reported as reserved, never refused; a flag the version cannot state is
// absent rather than false.
func TestGEN07ForwardCompatiblePlatformInfo(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Turin]
	const bit6 = 1 << 6
	cases := []struct {
		name     string
		version  uint32
		info     uint64
		reserved uint64
		flags    map[string]any // expected named claims; nil value = absent
	}{
		{"v5 as current Turin firmware sets it", 5, snptest.TurinPlatformInfo, bit6, map[string]any{
			"platform_smt_enabled": true, "platform_tsme_enabled": false, "platform_ecc_enabled": true,
			"platform_rapl_disabled": false, "platform_ciphertext_hiding_enabled": false,
			"platform_alias_check_complete": true, "platform_tio_enabled": false}},
		{"v5 with every bit 0..7", 5, 0xFF, bit6, map[string]any{
			"platform_smt_enabled": true, "platform_tsme_enabled": true, "platform_ecc_enabled": true,
			"platform_rapl_disabled": true, "platform_ciphertext_hiding_enabled": true,
			"platform_alias_check_complete": true, "platform_tio_enabled": true}},
		{"v5 with bits 8 and 63", 5, 1<<8 | 1<<63 | snp.PlatformTIOEnabled, 1<<8 | 1<<63, map[string]any{
			"platform_tio_enabled": true, "platform_smt_enabled": false}},
		{"v4 with TIO_EN, which only ABI 1.58 defines", 4, snp.PlatformTIOEnabled | snp.PlatformAliasCheckComplete, snp.PlatformTIOEnabled, map[string]any{
			"platform_tio_enabled": nil, "platform_alias_check_complete": true}},
		{"v3 with bit 6", 3, bit6 | snp.PlatformECCEnabled, bit6, map[string]any{
			"platform_ecc_enabled": true, "platform_tio_enabled": nil}},
		{"v2 with ECC_EN and ALIAS_CHECK_COMPLETE, which ABI 1.55 added", 2, snp.PlatformECCEnabled | snp.PlatformAliasCheckComplete | snp.PlatformSMTEnabled,
			snp.PlatformECCEnabled | snp.PlatformAliasCheckComplete, map[string]any{
				"platform_smt_enabled": true, "platform_ecc_enabled": nil, "platform_alias_check_complete": nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := snptest.Report{Version: c.version, PlatformInfo: c.info}
			if c.version >= 5 {
				r.LaunchMitVector, r.CurrentMitVector = 0x3, 0x7
			}
			cl, err := v.Verify(context.Background(), mint(t, p, r), exp())
			require.NoError(t, err)
			sc := cl.(*snp.Claims)
			assert.Equal(t, c.reserved, sc.Platform.Reserved)
			assert.Equal(t, c.info, sc.Platform.Raw)
			m := cl.Map()
			assert.Equal(t, "0x"+strconv.FormatUint(c.info, 16), m["platform_info"])
			assert.Equal(t, "0x"+strconv.FormatUint(c.reserved, 16), m["platform_info_reserved"])
			for name, want := range c.flags {
				got, present := m[name]
				if want == nil {
					assert.False(t, present, "%s present (%v) in a version %d report", name, got, c.version)
					continue
				}
				assert.Equal(t, want, got, name)
			}
			if c.version >= 5 {
				assert.Equal(t, "0x3", m["launch_mit_vector"])
				assert.Equal(t, "0x7", m["current_mit_vector"])
			} else {
				assert.NotContains(t, m, "launch_mit_vector")
			}
		})
	}
}

// The Turin fix: a report minted with the version, PLATFORM_INFO bits and
// family of the real Turin report (AMDESE/AMDSEV#285), chained to the Turin
// PKI, verifies; its Turin TCB layout (FMC first) is decoded.
func TestTurinCurrentFirmwareReport(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	r := snptest.CurrentTurin()
	r.Firmware = &[3]byte{1, 58, 3}
	r.LaunchMitVector, r.CurrentMitVector = 0x1, 0x1
	cl, err := v.Verify(context.Background(), mint(t, f.pki[snp.Turin], r), exp())
	require.NoError(t, err)
	sc := cl.(*snp.Claims)
	assert.Equal(t, snp.Turin, sc.Product)
	assert.Equal(t, uint32(5), sc.Report.Version)
	assert.True(t, sc.Platform.AliasCheckComplete)
	assert.True(t, sc.Platform.ECCEnabled)
	m := cl.Map()
	assert.Equal(t, "0x65", m["platform_info"])
	assert.Equal(t, "0x40", m["platform_info_reserved"])
	assert.Equal(t, "1.58.3", m["current_version"])
	assert.Equal(t, 0x1A, m["cpuid_fam_id"])
	assert.Contains(t, m, "reported_tcb_fmc")
}

func TestDecodePlatformInfoVersion(t *testing.T) {
	for _, c := range []struct {
		version  uint32
		defined  uint64
		reserved uint64 // of 0xFF
	}{
		{2, 0x03, 0xFC},
		{3, 0x3F, 0xC0},
		{4, 0x3F, 0xC0},
		{5, 0xBF, 0x40},
	} {
		assert.Equal(t, c.defined, snp.PlatformInfoDefined(c.version), "version %d", c.version)
		assert.Equal(t, c.reserved, snp.DecodePlatformInfoVersion(c.version, 0xFF).Reserved, "version %d", c.version)
	}
	d := snp.DecodePlatformInfo(0xFF)
	assert.True(t, d.TIOEnabled)
	assert.Equal(t, uint64(0x40), d.Reserved)
}
