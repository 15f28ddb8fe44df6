package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// x-nvidia-mismatch-opaque-data-records (claims 4.0): empty or null is met,
// any record is firmware below its RIM's floor (hardware 96), and claims
// without the list (3.0) get no check.
func TestGPUOpaqueRecords(t *testing.T) {
	find := func(r *verify.PolicyResult) (verify.Check, bool) { return checkByID(r, "gpu.opaque_records") }
	for name, c := range map[string]struct {
		val     any
		present bool
		ok      bool
	}{
		"empty list": {[]any{}, true, true},
		"null":       {nil, true, true},
		"one record": {[]any{map[string]any{"id": int64(37), "name": "FSP_UCODE_MIN_SVN", "goldenType": "MIN_SVN", "goldenValue": int64(5), "runtimeValue": int64(4)}}, true, false},
		"not a list": {"none", true, false},
	} {
		t.Run(name, func(t *testing.T) {
			cl := gpuClaims()
			cl["x-nvidia-mismatch-opaque-data-records"] = c.val
			chk, found := find(appraise(t, nil, verify.FormatGPU, cl))
			require.Equal(t, c.present, found)
			assert.Equal(t, c.ok, chk.OK)
			if !c.ok {
				assert.Equal(t, ear.ContraindicatedHardware, chk.Value)
			}
		})
	}
	_, found := find(appraise(t, nil, verify.FormatGPU, gpuClaims()))
	assert.False(t, found, "no list, no check")
}
