package gpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real H100 NVDAOD transcript (driver 620.12) against MIN_SVN floors on
// its FSP_UCODE_SVN (type 37, value type 0x87): a floor equal to the runtime
// value passes, one above it is a mismatch carrying both values, and the
// same type floored in the legacy format has no MIN_SVN to compare.
func TestOpaqueRecordsRealNVDAOD(t *testing.T) {
	o, err := ParseOpaqueData(readHex(t, "nvdaod", "sample_nvdaod_transcript.opaque_only.hex"))
	require.NoError(t, err)
	runtime, ok := o.minSVN(OpaqueFSPUcodeSVN)
	require.True(t, ok, "FSP_UCODE_SVN is a MIN_SVN")
	rec := OpaqueRecord{TypeID: OpaqueFSPUcodeSVN, Name: "FSP_UCODE_MIN_SVN", MinSVN: runtime, IncludeInResult: true}

	c := CompareOpaqueRecords(o, []OpaqueRecord{rec})
	require.True(t, c.OK(), "%v", c.Mismatches)
	assert.Equal(t, map[string]uint64{"FSP_UCODE_MIN_SVN": runtime}, c.AttesterClaims)

	rec.MinSVN = runtime + 1
	c = CompareOpaqueRecords(o, []OpaqueRecord{rec})
	require.Len(t, c.Mismatches, 1)
	assert.Equal(t, OpaqueMismatch{ID: 37, Name: "FSP_UCODE_MIN_SVN", GoldenType: "MIN_SVN", GoldenValue: runtime + 1,
		HasRuntime: true, RuntimeType: "MIN_SVN", RuntimeValue: runtime}, c.Mismatches[0])
	assert.Equal(t, runtime, c.AttesterClaims["FSP_UCODE_MIN_SVN"], "the runtime value is claimed, met or not")

	// A type the transcript carries with another value type (DRIVER_VERSION, 0x86).
	c = CompareOpaqueRecords(o, []OpaqueRecord{{TypeID: OpaqueDriverVersion, Name: "DRIVER_MIN_SVN", IncludeInResult: true}})
	require.Len(t, c.Mismatches, 1)
	assert.False(t, c.Mismatches[0].HasRuntime)
	assert.Empty(t, c.AttesterClaims)
}
