package verify_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// unsafeClaims are claims that report typed unsafe switches.
type unsafeClaims struct {
	fakeClaims
	sw []verify.UnsafeSwitch
}

func (c unsafeClaims) UnsafeSwitches() []verify.UnsafeSwitch { return c.sw }

// unsafeVerifier returns claims with the switches sw; its claim map holds a
// key that merely looks like a switch.
type unsafeVerifier struct{ sw []verify.UnsafeSwitch }

func (unsafeVerifier) Format() verify.Format { return verify.FormatTDX }
func (unsafeVerifier) SubmodClass() string   { return verify.ClassCPU }
func (v unsafeVerifier) Verify(_ context.Context, _ []byte, exp verify.Expectations) (verify.Claims, error) {
	if err := exp.CheckReportData("report data", []byte(cpuRD)); err != nil && !exp.AllowMissingReportDataUnsafe {
		return nil, err
	}
	m := map[string]any{"quote.body.mr_td": mrtd, "td_attributes.debug": false, "tcb_status": "UpToDate", "x-unsafe-lookalike": true}
	verify.PutUnsafeClaim(m, v.sw)
	return unsafeClaims{fakeClaims{verify.FormatTDX, m}, v.sw}, nil
}

// The appraiser fills PolicyInput.Unsafe from the claims' typed switches
// (and the report-data expectation), records them in the token and caps the
// submodule at warning; a claim named like a switch is none. (Package
// policy's tests show its rule reads the same list.)
func TestUnsafeSwitchesTyped(t *testing.T) {
	var mu sync.Mutex
	var seen []verify.UnsafeSwitch
	spy := verify.PolicyFunc(func(_ context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
		mu.Lock()
		seen = in.Unsafe
		mu.Unlock()
		r := &verify.PolicyResult{PolicyID: "spy"}
		r.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
		r.TrustVector[ear.Hardware] = ear.GenuineHardware
		return r, nil
	})
	evidence := []byte(`{}`)
	for name, tc := range map[string]struct {
		sw     []verify.UnsafeSwitch
		exp    verify.Expectations
		want   []verify.UnsafeSwitch
		status ear.Status
	}{
		"none": {exp: verify.Expectations{ReportData: []byte(cpuRD), Now: tNow}, status: ear.StatusAffirming},
		"typed": {sw: []verify.UnsafeSwitch{"tdx.WithoutCollateralUnsafe"}, exp: verify.Expectations{ReportData: []byte(cpuRD), Now: tNow},
			want: []verify.UnsafeSwitch{"tdx.WithoutCollateralUnsafe"}, status: ear.StatusWarning},
		"expectation, reported once": {sw: []verify.UnsafeSwitch{verify.UnsafeMissingReportData}, exp: verify.Expectations{AllowMissingReportDataUnsafe: true, Now: tNow},
			want: []verify.UnsafeSwitch{verify.UnsafeMissingReportData}, status: ear.StatusWarning},
	} {
		reg, err := verify.NewRegistry(unsafeVerifier{tc.sw})
		require.NoError(t, err)
		a, err := verify.NewAppraiser(reg, spy)
		require.NoError(t, err)
		o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatTDX, Evidence: evidence, Expect: tc.exp}})
		require.NoError(t, err, name)
		require.Equal(t, tc.want, seen, name)
		cpu := o.Result.Submods["cpu0"]
		require.Equal(t, tc.status, cpu.Status, name)
		require.Equal(t, verify.UnsafeNames(tc.want), toStrings(cpu.Extensions[ear.ExtUnsafe().Name]), name)
		require.Equal(t, verify.UnsafeNames(tc.want), toStrings(o.Result.Extensions[ear.ExtUnsafe().Name]), name)
	}
}

func toStrings(v any) []string {
	s, _ := v.([]string)
	return s
}

func TestAddUnsafe(t *testing.T) {
	got := verify.AddUnsafe([]verify.UnsafeSwitch{"a"}, "b", "a", "", "b", "c")
	require.Equal(t, []verify.UnsafeSwitch{"a", "b", "c"}, got)
	require.Nil(t, verify.UnsafeNames(nil))
	m := map[string]any{}
	verify.PutUnsafeClaim(m, nil)
	require.Empty(t, m)
	verify.PutUnsafeClaim(m, got)
	require.Equal(t, []string{"a", "b", "c"}, m[verify.ClaimUnsafe])
}
