package gpu_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// opaqueWith returns p's default opaque fields plus extra, value types set
// as a CUDA 13.5 driver sets them (strings 0x82, FSP_UCODE_SVN 0x87).
func opaqueWith(p *gputest.PKI, extra ...gpu.OpaqueField) []gpu.OpaqueField {
	fs := p.DefaultOpaque()
	for i := range fs {
		fs[i].ValueType = 0x82
		if fs[i].Type == gpu.OpaqueFWID {
			fs[i].ValueType = gpu.OpaqueValueFWID
		}
	}
	return append(fs, extra...)
}

func TestCompareOpaqueRecords(t *testing.T) {
	field := func(typ, vt uint16, v []byte) gpu.OpaqueField {
		return gpu.OpaqueField{Type: typ, ValueType: vt, Value: v}
	}
	parse := func(t *testing.T, versioned bool, fs ...gpu.OpaqueField) *gpu.OpaqueData {
		o, err := gpu.ParseOpaqueData(gputest.EncodeOpaque(fs, versioned))
		require.NoError(t, err)
		return o
	}
	floor5 := gpu.OpaqueRecord{TypeID: 37, Name: "FSP_UCODE_MIN_SVN", MinSVN: 5, IncludeInResult: true}
	cases := []struct {
		name     string
		opaque   *gpu.OpaqueData
		rec      gpu.OpaqueRecord
		mismatch bool
		runtime  any // nil: no runtime value in the mismatch; else uint64
		attester any // nil: no attester claim
	}{
		{"equal to the floor passes", parse(t, true, field(37, 0x87, u16(5))), floor5, false, nil, uint64(5)},
		{"above the floor", parse(t, true, field(37, 0x87, u16(0x0102))), floor5, false, nil, uint64(0x102)},
		{"below the floor", parse(t, true, field(37, 0x87, u16(4))), floor5, true, uint64(4), uint64(4)},
		{"numeric, not a hash: 0x0500 > 5", parse(t, true, field(37, 0x87, u16(0x0500))), floor5, false, nil, uint64(0x500)},
		{"one-byte value", parse(t, true, field(37, 0x87, []byte{9})), floor5, false, nil, uint64(9)},
		{"eight-byte value", parse(t, true, field(37, 0x87, []byte{0, 0, 0, 0, 0, 0, 0, 1})), floor5, false, nil, uint64(1) << 56},
		{"nine-byte value is not a number", parse(t, true, field(37, 0x87, make([]byte, 9))), floor5, true, nil, nil},
		{"empty value", parse(t, true, field(37, 0x87, nil)), floor5, true, nil, nil},
		{"wrong value type, value would pass", parse(t, true, field(37, 0x86, u16(5))), floor5, true, nil, nil},
		{"entry missing", parse(t, true, field(38, 0x85, []byte{1})), floor5, true, nil, nil},
		{"legacy format has no value types", parse(t, false, field(37, 0, u16(9))), floor5, true, nil, nil},
		{"type 0 compares", parse(t, true, field(0, 0x87, u16(5))), gpu.OpaqueRecord{TypeID: 0, Name: "TYPE0", MinSVN: 5, IncludeInResult: true}, false, nil, uint64(5)},
		{"unknown type 40 compares", parse(t, true, field(40, 0x87, u16(7))), gpu.OpaqueRecord{TypeID: 40, Name: "FUTURE", MinSVN: 5}, false, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmp := gpu.CompareOpaqueRecords(c.opaque, []gpu.OpaqueRecord{c.rec})
			assert.Equal(t, !c.mismatch, cmp.OK())
			if c.mismatch {
				require.Len(t, cmp.Mismatches, 1)
				mm := cmp.Mismatches[0]
				assert.Equal(t, c.rec.TypeID, mm.ID)
				assert.Equal(t, "MIN_SVN", mm.GoldenType)
				assert.Equal(t, c.rec.MinSVN, mm.GoldenValue)
				m := mm.Map()
				if c.runtime == nil {
					assert.False(t, mm.HasRuntime)
					assert.NotContains(t, m, "runtimeValue")
				} else {
					assert.Equal(t, c.runtime, mm.RuntimeValue)
					assert.Equal(t, int64(c.runtime.(uint64)), m["runtimeValue"])
					assert.Equal(t, "MIN_SVN", m["runtimeType"])
				}
			}
			v, ok := cmp.AttesterClaims[c.rec.Name]
			if c.attester == nil {
				assert.False(t, ok)
			} else {
				assert.Equal(t, c.attester, v)
			}
		})
	}
}

// Driver and VBIOS records (or any set) may not floor the same type twice
// nor use one name twice (NVIDIA's RimMeasurementConflict); bad names and
// too many records are refused too, all as ErrConfig.
func TestCheckOpaqueRecords(t *testing.T) {
	ok := gpu.OpaqueRecord{TypeID: 37, Name: "FSP_UCODE_MIN_SVN", MinSVN: 1}
	require.NoError(t, gpu.CheckOpaqueRecords([]gpu.OpaqueRecord{ok, {TypeID: 40, Name: "OTHER_MIN_SVN"}}))
	for name, recs := range map[string][]gpu.OpaqueRecord{
		"same type":  {ok, {TypeID: 37, Name: "OTHER_MIN_SVN"}},
		"same name":  {ok, {TypeID: 40, Name: "FSP_UCODE_MIN_SVN"}},
		"empty name": {{TypeID: 37}},
		"space":      {{TypeID: 37, Name: "A B"}},
		"too many":   make([]gpu.OpaqueRecord, gpu.MaxOpaqueRecords+1),
	} {
		assert.ErrorIs(t, gpu.CheckOpaqueRecords(recs), verify.ErrConfig, name)
	}
}

func opaqueVerifier(t *testing.T, p *gputest.PKI, recs ...gpu.OpaqueRecord) *gpu.Verifier {
	t.Helper()
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(p.Root()), gpu.WithoutRIMsUnsafe(),
		gpu.WithoutRevocationUnsafe(), gpu.WithOpaqueRecords(recs...))
	require.NoError(t, err)
	return v
}

// Hopper and Blackwell reports with versioned opaque data, verified with a
// MIN_SVN floor on FSP_UCODE_SVN: met, the claims are version 4.0 with the
// runtime value in x-nvidia-attester-claims and no opaque mismatch; below
// the floor, in the legacy format or without the entry, refused as ErrPolicy.
func TestOpaqueRecordsVerify(t *testing.T) {
	rec := gpu.OpaqueRecord{TypeID: gpu.OpaqueFSPUcodeSVN, Name: "FSP_UCODE_MIN_SVN", MinSVN: 7, IncludeInResult: true}
	svn := func(v uint16) gpu.OpaqueField {
		return gpu.OpaqueField{Type: gpu.OpaqueFSPUcodeSVN, ValueType: gpu.OpaqueValueMinSVN, Value: u16(v)}
	}
	for _, arch := range []gpu.Arch{gpu.ArchHopper, gpu.ArchBlackwell} {
		t.Run(string(arch), func(t *testing.T) {
			p := gputest.NewPKI(gputest.PKIOptions{Arch: arch})
			v := opaqueVerifier(t, p, rec)
			mint := func(versioned bool, fs []gpu.OpaqueField) []byte {
				return p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Versioned: versioned, Opaque: fs}), testNonce)
			}
			c, err := v.Verify(context.Background(), mint(true, opaqueWith(p, svn(7))), exp())
			require.NoError(t, err)
			m := c.Map()
			assert.Equal(t, "4.0", m["x-nvidia-gpu-claims-version"])
			assert.Equal(t, map[string]any{"FSP_UCODE_MIN_SVN": int64(7)}, m["x-nvidia-attester-claims"])
			assert.Equal(t, []any{}, m["x-nvidia-mismatch-opaque-data-records"])
			// The default policy reads the same claim as for NRAS results.
			pol, err := policy.New(nil)
			require.NoError(t, err)
			res, err := pol.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatGPU, Claims: m, Now: testNow})
			require.NoError(t, err)
			found := false
			for _, chk := range res.Checks {
				if chk.ID == "gpu.opaque_records" {
					found = true
					assert.True(t, chk.OK, "%+v", chk)
				}
			}
			assert.True(t, found, "gpu.opaque_records check")

			for name, ev := range map[string][]byte{
				"below the floor":      mint(true, opaqueWith(p, svn(6))),
				"legacy format":        mint(false, opaqueWith(p, svn(9))),
				"entry missing":        mint(true, opaqueWith(p)),
				"not a MIN_SVN (0x86)": mint(true, opaqueWith(p, gpu.OpaqueField{Type: gpu.OpaqueFSPUcodeSVN, ValueType: 0x86, Value: u16(9)})),
			} {
				c, err := v.Verify(context.Background(), ev, exp())
				assert.ErrorIs(t, err, verify.ErrPolicy, name)
				assert.ErrorContains(t, err, "FSP_UCODE_MIN_SVN", name)
				assert.Nil(t, c, name)
			}
			// Bad opaque data is refused by kind before any floor is
			// compared: an FSP_UCODE_SVN wider than 4 bytes, a truncated
			// NVDAOD header, an unknown major version, a truncated entry.
			fields := opaqueWith(p, svn(7))
			orig := gputest.EncodeOpaque(fields, true)
			replace := func(op []byte) func([]byte) []byte {
				return func(b []byte) []byte {
					b = b[:len(b)-len(orig)-2]
					b = binary.LittleEndian.AppendUint16(b, uint16(len(op)))
					return append(b, op...)
				}
			}
			for name, bad := range map[string]struct {
				op   []byte
				kind error
			}{
				"nine-byte SVN":    {gputest.EncodeOpaque(opaqueWith(p, gpu.OpaqueField{Type: gpu.OpaqueFSPUcodeSVN, ValueType: gpu.OpaqueValueMinSVN, Value: make([]byte, 9)}), true), verify.ErrMalformed},
				"truncated header": {[]byte("NVDAOD\x00\x00\x02"), verify.ErrMalformed},
				"major 3":          {append([]byte("NVDAOD\x00\x00\x03\x00\x00\x00"), orig[12:]...), verify.ErrUnsupported},
				"truncated entry":  {orig[:len(orig)-1], verify.ErrMalformed},
			} {
				raw := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Versioned: true, Opaque: fields, Mutate: replace(bad.op)}), testNonce)
				c, err := v.Verify(context.Background(), raw, exp())
				assert.ErrorIs(t, err, bad.kind, name)
				assert.Nil(t, c, name)
			}
		})
	}
}

// Without records the claims are still 4.0, with no attester claims and no
// mismatches, for GPUs and switches alike; records on a switch verifier, or
// an empty or conflicting set, are configuration errors.
func TestOpaqueRecordsConfig(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Versioned: true}), testNonce), exp())
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, "4.0", m["x-nvidia-gpu-claims-version"])
	assert.Equal(t, map[string]any{}, m["x-nvidia-attester-claims"])
	assert.Equal(t, []any{}, m["x-nvidia-mismatch-opaque-data-records"])

	sw := gputest.NewPKI(gputest.PKIOptions{Arch: gpu.ArchLS10})
	c, err = verifierFor(t, sw).Verify(context.Background(), sw.Evidence(sw.Sign(gputest.Report{Nonce: testNonce}), testNonce), exp())
	require.NoError(t, err)
	assert.Equal(t, "4.0", c.Map()["x-nvidia-switch-claims-version"])
	assert.Equal(t, map[string]any{}, c.Map()["x-nvidia-attester-claims"])
	assert.Equal(t, []any{}, c.Map()["x-nvidia-mismatch-opaque-data-records"])

	rec := gpu.OpaqueRecord{TypeID: 37, Name: "FSP_UCODE_MIN_SVN", MinSVN: 1}
	_, err = gpu.NewVerifier(verify.FormatNVSwitch, gpu.WithDeviceRoots(sw.Root()), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe(), gpu.WithOpaqueRecords(rec))
	assert.ErrorIs(t, err, verify.ErrConfig)
	_, err = gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(p.Root()), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe(), gpu.WithOpaqueRecords())
	assert.ErrorIs(t, err, verify.ErrConfig)
	_, err = gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(p.Root()), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe(), gpu.WithOpaqueRecords(rec, rec))
	assert.ErrorIs(t, err, verify.ErrConfig)
}
