package nras_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// Claims 4.0 opaque-data records through NRAS map onto the names and
// values the local gpu verifier emits: NVIDIA's null "no mismatches"
// becomes an empty list, attester claims are int64, and a mismatched record
// (measres fail) is refused by the default policy's gpu.opaque_records and
// gpu.measurements checks.
func TestClaims40OpaqueRecords(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	verifyClaims := func(t *testing.T, claims map[string]any) (map[string]any, error) {
		t.Helper()
		eat := mint(t, a, nrastest.Request{Version: "4.0", Devices: []nrastest.Device{{Name: "GPU-0", Claims: claims}}})
		c, err := v.VerifyEAT(context.Background(), eat, expect())
		if err != nil {
			return nil, err
		}
		return c.Map(), nil
	}

	m, err := verifyClaims(t, nrastest.GPUClaims("4.0", "100"))
	require.NoError(t, err)
	assert.Equal(t, []any{}, m["x-nvidia-mismatch-opaque-data-records"])
	assert.Equal(t, map[string]any{"FSP_UCODE_MIN_SVN": int64(5)}, m["x-nvidia-attester-claims"])
	checks := policyChecks(t, verify.FormatGPU, m, mintTime)
	assert.True(t, checks["gpu.opaque_records"].OK, "%+v", checks["gpu.opaque_records"])

	bad := nrastest.GPUClaims("4.0", "100")
	bad["measres"] = "fail"
	bad["secboot"], bad["dbgstat"] = nil, nil
	bad["x-nvidia-mismatch-opaque-data-records"] = []any{map[string]any{
		"id": 37, "name": "FSP_UCODE_MIN_SVN", "goldenType": "MIN_SVN", "goldenValue": 5, "runtimeType": "MIN_SVN", "runtimeValue": 4}}
	m, err = verifyClaims(t, bad)
	require.NoError(t, err)
	rec := m["x-nvidia-mismatch-opaque-data-records"].([]any)[0].(map[string]any)
	assert.Equal(t, int64(37), rec["id"])
	assert.Equal(t, int64(4), rec["runtimeValue"])
	checks = policyChecks(t, verify.FormatGPU, m, mintTime)
	oc := checks["gpu.opaque_records"]
	assert.False(t, oc.OK)
	assert.Equal(t, ear.ContraindicatedHardware, oc.Value)
	assert.Equal(t, "FSP_UCODE_MIN_SVN (at least 5, got 4)", oc.Actual)
	assert.False(t, checks["gpu.measurements"].OK)

	// Claims 3.0 have no opaque records: no list is invented, no check made.
	eat := mint(t, a, nrastest.Request{Version: "3.0"})
	c, err := v.VerifyEAT(context.Background(), eat, expect())
	require.NoError(t, err)
	assert.NotContains(t, c.Map(), "x-nvidia-mismatch-opaque-data-records")
	assert.NotContains(t, policyChecks(t, verify.FormatGPU, c.Map(), mintTime), "gpu.opaque_records")
}

// Opaque-record claims of the wrong shape in a signed token are refused by
// kind rather than handed to a policy.
func TestClaims40OpaqueRecordsMalformed(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	many := make([]any, 257)
	for i := range many {
		many[i] = map[string]any{"id": i, "name": "X", "goldenType": "MIN_SVN", "goldenValue": 1}
	}
	for name, c := range map[string]struct {
		key  string
		val  any
		kind error
	}{
		"attester claims a list":   {"x-nvidia-attester-claims", []any{1}, verify.ErrMalformed},
		"attester value a string":  {"x-nvidia-attester-claims", map[string]any{"FSP_UCODE_MIN_SVN": "5"}, verify.ErrMalformed},
		"attester value negative":  {"x-nvidia-attester-claims", map[string]any{"FSP_UCODE_MIN_SVN": -1}, verify.ErrMalformed},
		"mismatches an object":     {"x-nvidia-mismatch-opaque-data-records", map[string]any{}, verify.ErrMalformed},
		"mismatch not an object":   {"x-nvidia-mismatch-opaque-data-records", []any{"x"}, verify.ErrMalformed},
		"mismatch without an id":   {"x-nvidia-mismatch-opaque-data-records", []any{map[string]any{"name": "X", "goldenType": "MIN_SVN", "goldenValue": 1}}, verify.ErrMalformed},
		"mismatch golden a string": {"x-nvidia-mismatch-opaque-data-records", []any{map[string]any{"id": 1, "name": "X", "goldenType": "MIN_SVN", "goldenValue": "1"}}, verify.ErrMalformed},
		"mismatch without a name":  {"x-nvidia-mismatch-opaque-data-records", []any{map[string]any{"id": 1, "goldenType": "MIN_SVN", "goldenValue": 1}}, verify.ErrMalformed},
		"more than 256 mismatches": {"x-nvidia-mismatch-opaque-data-records", many, verify.ErrLimit},
	} {
		t.Run(name, func(t *testing.T) {
			claims := nrastest.GPUClaims("4.0", "100")
			claims[c.key] = c.val
			eat := mint(t, a, nrastest.Request{Version: "4.0", Devices: []nrastest.Device{{Name: "GPU-0", Claims: claims}}})
			got, err := v.VerifyEAT(context.Background(), eat, expect())
			require.ErrorIs(t, err, c.kind)
			assert.Nil(t, got)
		})
	}
}
