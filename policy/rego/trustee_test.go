package rego

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// TestDefaultPoliciesAreTrustees checks that the embedded defaults are
// Trustee's files byte for byte (the copies in testdata).
func TestDefaultPoliciesAreTrustees(t *testing.T) {
	d := DefaultPolicies()
	require.Len(t, d, 4)
	for _, c := range Classes() {
		assert.Equal(t, readFile(t, "ear_default_policy_"+c+".rego"), d["default_"+c], c)
	}
}

// defaultSet compiles Trustee's four defaults with rv, through the Engine
// a service uses, and selects the set a request naming "default" gets.
func defaultSet(t *testing.T, rv *policy.ReferenceValues) verify.Policy {
	t.Helper()
	e, err := NewEngine()
	require.NoError(t, err)
	compiled := map[string]verify.Policy{}
	for id, text := range e.Defaults() {
		p, err := e.Compile(context.Background(), id, text, rv)
		require.NoError(t, err, id)
		compiled[id] = p
	}
	s, ok := e.Select("default", compiled)
	require.True(t, ok)
	return s
}

// Vectors of Trustee's default gpu and switch policies, from their text:
// hardware 2 needs the attestation report's chain (OCSP good, valid),
// FWID match, parse, signature and arch check; executables 3 needs both
// RIMs fetched, verified, schema-validated, version-matched and measres
// "success"; configuration 2 needs secboot, dbgstat "disabled" and the
// firmware versions in the allowed_* reference values, 3 without the
// versions. Defaults: hardware 97, executables 33, configuration 36.
var (
	goodDevice = vector(map[ear.Category]ear.TrustClaim{ear.Executables: 3, ear.Hardware: 2, ear.Configuration: 2})
	// unknownVersion: the device is genuine and measured as its RIMs say,
	// but runs firmware no reference value allows. Trustee's policy gives
	// configuration 3, which is still in the affirming tier (2..31).
	unknownVersion = vector(map[ear.Category]ear.TrustClaim{ear.Executables: 3, ear.Hardware: 2, ear.Configuration: 3})
	// unchecked: no RIM comparison and no revocation check (unsafe), so no
	// secboot/dbgstat, measres "not-run" and OCSP "not-checked".
	unchecked     = vector(map[ear.Category]ear.TrustClaim{ear.Executables: 33, ear.Hardware: 97, ear.Configuration: 36})
	goodSwitch    = vector(map[ear.Category]ear.TrustClaim{ear.Executables: 3, ear.Hardware: 2, ear.Configuration: 2})
	unknownSwitch = vector(map[ear.Category]ear.TrustClaim{ear.Executables: 3, ear.Hardware: 2, ear.Configuration: 3})
	goodTDX       = vector(map[ear.Category]ear.TrustClaim{ear.Executables: 4, ear.Hardware: 2, ear.Configuration: 2})
)

// TestTrusteeDefaultGPUPolicyOnAttestGPUs appraises a composite (TD quote
// and two GPUs) from the test bed through the appraiser with Trustee's
// default policy set, unchanged: cpu0 by default_cpu, gpu0 and gpu1 by
// default_gpu.
func TestTrusteeDefaultGPUPolicyOnAttestGPUs(t *testing.T) {
	bed, err := testbed.New(testbed.Options{Now: now, GPUs: 2})
	require.NoError(t, err)
	all, err := bed.ReferenceValues()
	require.NoError(t, err)
	without := func(name string, other string) *policy.ReferenceValues {
		var es []policy.Entry
		for _, n := range all.Names() {
			for _, v := range all.Lookup(n, now) {
				if n == name {
					v = other
				}
				es = append(es, policy.Entry{Name: n, Value: v})
			}
		}
		rv, err := policy.FromEntries(es...)
		require.NoError(t, err)
		return rv
	}

	tests := []struct {
		name    string
		rv      *policy.ReferenceValues
		edit    func(i int, r *gputest.Report)
		gpuOpts bool // verify without RIMs (unsafe)
		want    []ear.TrustVector
		failed  []bool
		status  ear.Status
	}{
		{name: "good", rv: all, want: []ear.TrustVector{goodTDX, goodDevice, goodDevice}, status: ear.StatusAffirming},
		{name: "driver version not allowed", rv: without("allowed_driver_versions", "535.104.05"),
			want: []ear.TrustVector{goodTDX, unknownVersion, unknownVersion}, status: ear.StatusAffirming},
		{name: "VBIOS version not allowed", rv: without("allowed_vbios_versions", "96.00.74.00.1C"),
			want: []ear.TrustVector{goodTDX, unknownVersion, unknownVersion}, status: ear.StatusAffirming},
		{name: "measurement mismatch on gpu1", rv: all, edit: func(i int, r *gputest.Report) {
			if i == 1 {
				m := map[int][]byte{}
				for k, v := range r.Measurements {
					m[k] = v
				}
				m[1] = make([]byte, 48)
				r.Measurements = m
			}
		}, want: []ear.TrustVector{goodTDX, goodDevice, {}}, failed: []bool{false, false, true}, status: ear.StatusContraindicated},
		{name: "no RIMs, no revocation (unsafe)", rv: all, gpuOpts: true,
			want: []ear.TrustVector{goodTDX, unchecked, unchecked}, status: ear.StatusContraindicated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := appraiserWith(t, bed, tt.gpuOpts, defaultSet(t, tt.rv))
			s, err := testbed.NewSession()
			require.NoError(t, err)
			comps, err := bed.TDXComponents(s)
			require.NoError(t, err)
			require.Len(t, comps, 2)
			if tt.edit != nil {
				comps[1].Evidence, err = bed.GPUEvidence(comps[1].Expect.ReportData, tt.edit)
				require.NoError(t, err)
			}
			o, err := a.AppraiseOutcome(context.Background(), comps)
			require.NoError(t, err)
			require.Len(t, o.Submods, 3)
			for i, sub := range o.Submods {
				if tt.failed != nil && tt.failed[i] {
					require.Error(t, sub.Err, sub.Name)
					assert.True(t, errors.Is(sub.Err, verify.ErrPolicy), "%s: %v", sub.Name, sub.Err)
					continue
				}
				require.NoError(t, sub.Err, sub.Name)
				require.NotNil(t, sub.Policy, sub.Name)
				want := "default_cpu"
				if i > 0 {
					want = "default_gpu"
				}
				assert.Equal(t, want, sub.Policy.PolicyID, sub.Name)
				assert.Equal(t, tt.want[i], sub.Policy.TrustVector, sub.Name)
			}
			assert.Equal(t, tt.status, o.Status())
		})
	}
}

// TestTrusteeDefaultGPUPolicyRevokedGPU: a GPU whose BROM certificate
// OCSP answers "revoked" never reaches the policy affirming.
func TestTrusteeDefaultGPUPolicyRevokedGPU(t *testing.T) {
	bed, err := testbed.New(testbed.Options{Now: now, GPUs: 1})
	require.NoError(t, err)
	require.NoError(t, bed.RevokeGPU(0))
	rv, err := bed.ReferenceValues()
	require.NoError(t, err)
	a := appraiserWith(t, bed, false, defaultSet(t, rv))
	s, err := testbed.NewSession()
	require.NoError(t, err)
	comps, err := bed.TDXComponents(s)
	require.NoError(t, err)
	o, err := a.AppraiseOutcome(context.Background(), comps)
	require.NoError(t, err)
	require.Len(t, o.Submods, 2)
	g := o.Submods[1]
	if g.Err == nil {
		assert.Equal(t, ear.TrustClaim(97), g.Policy.TrustVector[ear.Hardware])
	}
	assert.Equal(t, ear.StatusContraindicated, o.Status())
}

func appraiserWith(t *testing.T, bed *testbed.Bed, unsafeNoRIMs bool, p verify.Policy) *verify.Appraiser {
	t.Helper()
	a, err := bed.Appraiser()
	require.NoError(t, err)
	if unsafeNoRIMs {
		tv, err := bed.TDXVerifier()
		require.NoError(t, err)
		gv, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(bed.GPURoots...), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
		require.NoError(t, err)
		reg, err := verify.NewRegistry(tv, gv)
		require.NoError(t, err)
		a, err = verify.NewAppraiser(reg, p)
		require.NoError(t, err)
		return a
	}
	a, err = a.WithPolicy(p)
	require.NoError(t, err)
	return a
}

// TestTrusteeDefaultSwitchPolicyOnAttestSwitches appraises two test-bed
// NVSwitches with Trustee's default switch policy, unchanged. Its hardware
// rule requires x-nvidia-switch-attestation-report-cert-chain-fwid-match;
// an LS10 report carries no FWID, and the Rego input reports the match as
// NVIDIA's tools do (TestSwitchFWIDAsNVIDIAReportsIt), so a good switch is
// affirming, as Trustee expects.
func TestTrusteeDefaultSwitchPolicyOnAttestSwitches(t *testing.T) {
	bed, err := testbed.New(testbed.Options{Now: now, Switches: 2})
	require.NoError(t, err)
	all, err := bed.ReferenceValues()
	require.NoError(t, err)
	other, err := policy.FromEntries(policy.Entry{Name: "allowed_switch_bios_versions", Value: "96.10.6D.00.01"})
	require.NoError(t, err)

	tests := []struct {
		name   string
		rv     *policy.ReferenceValues
		edit   func(i int, r *gputest.Report)
		want   []ear.TrustVector
		failed []bool
		status ear.Status
	}{
		{name: "good", rv: all, want: []ear.TrustVector{goodSwitch, goodSwitch}, status: ear.StatusAffirming},
		{name: "BIOS version not allowed", rv: other, want: []ear.TrustVector{unknownSwitch, unknownSwitch}, status: ear.StatusAffirming},
		{name: "measurement mismatch on switch0", rv: all, edit: func(i int, r *gputest.Report) {
			if i == 0 {
				m := map[int][]byte{}
				for k, v := range r.Measurements {
					m[k] = v
				}
				m[5] = make([]byte, 48)
				r.Measurements = m
			}
		}, want: []ear.TrustVector{{}, goodSwitch}, failed: []bool{true, false}, status: ear.StatusContraindicated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := bed.Appraiser()
			require.NoError(t, err)
			a, err = a.WithPolicy(defaultSet(t, tt.rv))
			require.NoError(t, err)
			s, err := testbed.NewSession()
			require.NoError(t, err)
			exp, err := bed.Expect(s, verify.FormatNVSwitch)
			require.NoError(t, err)
			ev, err := bed.SwitchEvidence(exp.ReportData, tt.edit)
			require.NoError(t, err)
			o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatNVSwitch, Evidence: ev, Expect: exp}})
			require.NoError(t, err)
			require.Len(t, o.Submods, 2)
			for i, sub := range o.Submods {
				if tt.failed != nil && tt.failed[i] {
					require.Error(t, sub.Err, sub.Name)
					continue
				}
				require.NoError(t, sub.Err, sub.Name)
				assert.Equal(t, "default_switch", sub.Policy.PolicyID, sub.Name)
				assert.Equal(t, tt.want[i], sub.Policy.TrustVector, sub.Name)
			}
			assert.Equal(t, tt.status, o.Status())
		})
	}
}

// TestTrusteeDefaultPPCIePolicy: Trustee adds the ppcie class only for a
// valid topology, so its default sets configuration 2 and nothing else.
func TestTrusteeDefaultPPCIePolicy(t *testing.T) {
	res, err := defaultSet(t, emptyRV(t)).Appraise(context.Background(), PPCIeInput(8, 4, now))
	require.NoError(t, err)
	assert.Equal(t, "default_ppcie", res.PolicyID)
	assert.Equal(t, vector(map[ear.Category]ear.TrustClaim{ear.Configuration: 2}), res.TrustVector)
}

// TestPPCIeInputReachesThePolicy checks the counts arrive where Trustee
// puts them.
func TestPPCIeInputReachesThePolicy(t *testing.T) {
	p, err := New(context.Background(), `package policy
default configuration := 97
configuration := 2 if {
	input.nvidia.gpu_count == 8
	input.nvidia.switch_count == 4
}
trust_claims := {"configuration": configuration}
`)
	require.NoError(t, err)
	for _, tt := range []struct {
		gpus, switches int
		want           ear.TrustClaim
	}{{8, 4, 2}, {7, 4, 97}, {8, 3, 97}} {
		res, err := p.Appraise(context.Background(), PPCIeInput(tt.gpus, tt.switches, now))
		require.NoError(t, err)
		assert.Equal(t, tt.want, res.TrustVector[ear.Configuration], "%d GPUs, %d switches", tt.gpus, tt.switches)
	}
}

func TestClassOf(t *testing.T) {
	for f, want := range map[verify.Format]string{
		verify.FormatTDX: ClassCPU, verify.FormatSNP: ClassCPU, verify.FormatAzureTDX: ClassCPU, verify.FormatTPM: ClassCPU,
		verify.FormatGPU: ClassGPU, verify.FormatNRASGPU: ClassGPU,
		verify.FormatNVSwitch: ClassSwitch, verify.FormatNRASSwitch: ClassSwitch,
		FormatPPCIe: ClassPPCIe,
	} {
		assert.Equal(t, want, ClassOf(f), f)
	}
}

// TestSchemaValidatedOnlyForFetchedRIMs: the added claim follows the RIM
// having been fetched, never invents one.
func TestSchemaValidatedOnlyForFetchedRIMs(t *testing.T) {
	in := verify.PolicyInput{Format: verify.FormatGPU, Claims: map[string]any{
		"x-nvidia-gpu-driver-rim-fetched":            true,
		"x-nvidia-gpu-driver-rim-signature-verified": true,
		"x-nvidia-gpu-vbios-rim-fetched":             false,
	}}
	got := Input(in)["nvidia"].(map[string]any)
	assert.Equal(t, true, got["x-nvidia-gpu-driver-rim-schema-validated"])
	assert.NotContains(t, got, "x-nvidia-gpu-vbios-rim-schema-validated")
	assert.NotContains(t, in.Claims, "x-nvidia-gpu-driver-rim-schema-validated", "claims modified")
}

// TestSchemaValidatedNotAddedToNRASClaims: NRAS's claims come from its
// signed token; a schema-validated claim NRAS left out (or null) is not
// vouched for by anyone, so the input must not invent it, and a RIM whose
// signature did not verify is not schema-validated either.
func TestSchemaValidatedNotAddedToNRASClaims(t *testing.T) {
	for _, f := range []verify.Format{verify.FormatNRASGPU, verify.FormatNRASSwitch} {
		in := verify.PolicyInput{Format: f, Claims: map[string]any{
			"x-nvidia-gpu-driver-rim-fetched":         true,
			"x-nvidia-switch-bios-rim-fetched":        true,
			"x-nvidia-gpu-vbios-rim-fetched":          true,
			"x-nvidia-gpu-vbios-rim-schema-validated": false,
		}}
		got := Input(in)["nvidia"].(map[string]any)
		assert.NotContains(t, got, "x-nvidia-gpu-driver-rim-schema-validated", f)
		assert.NotContains(t, got, "x-nvidia-switch-bios-rim-schema-validated", f)
		assert.Equal(t, false, got["x-nvidia-gpu-vbios-rim-schema-validated"], f)
	}
	in := verify.PolicyInput{Format: verify.FormatGPU, Claims: map[string]any{
		"x-nvidia-gpu-driver-rim-fetched":            true,
		"x-nvidia-gpu-driver-rim-signature-verified": false,
	}}
	got := Input(in)["nvidia"].(map[string]any)
	assert.NotContains(t, got, "x-nvidia-gpu-driver-rim-schema-validated")
}

// TestSetRefusesMissingClass: a component whose class has no policy fails,
// never passes unappraised.
func TestSetRefusesMissingClass(t *testing.T) {
	p, err := New(context.Background(), readFile(t, "ear_default_policy_cpu.rego"), WithID("mine_cpu"))
	require.NoError(t, err)
	s, err := NewSet("mine", map[string]verify.Policy{ClassCPU: p})
	require.NoError(t, err)
	_, err = s.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatGPU, Now: now, Claims: map[string]any{}})
	require.ErrorIs(t, err, verify.ErrPolicy)
	assert.Contains(t, err.Error(), "mine_gpu")

	for name, m := range map[string]map[string]verify.Policy{
		"none": {}, "unknown class": {"fpga": p}, "nil policy": {ClassCPU: nil},
	} {
		_, err := NewSet("x", m)
		assert.ErrorIs(t, err, verify.ErrConfig, name)
	}
	_, err = NewSet(" ", map[string]verify.Policy{ClassCPU: p})
	assert.ErrorIs(t, err, verify.ErrConfig)
}

func TestEngine(t *testing.T) {
	_, err := NewEngine(WithID("x"))
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = NewEngine(WithReferenceValues(emptyRV(t)))
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = NewEngine(nil)
	require.ErrorIs(t, err, verify.ErrConfig)

	e, err := NewEngine(WithTimeout(DefaultTimeout))
	require.NoError(t, err)
	assert.Equal(t, "rego", e.Name())
	_, err = e.Compile(context.Background(), "bad_cpu", []byte("package policy\ntrust_claims := {\"hardware\": undefined_fn(1)}\n"), nil)
	require.ErrorIs(t, err, verify.ErrConfig)
	assert.Contains(t, err.Error(), "undefined function")

	p, err := e.Compile(context.Background(), "x_gpu", []byte(DefaultPolicies()["default_gpu"]), nil)
	require.NoError(t, err)
	_, ok := e.Select("y", map[string]verify.Policy{"x_gpu": p})
	assert.False(t, ok, "unknown id")
	_, ok = e.Select("x", map[string]verify.Policy{"x_gpu": p})
	assert.True(t, ok)
}

func emptyRV(t *testing.T) *policy.ReferenceValues {
	t.Helper()
	rv, err := policy.FromEntries()
	require.NoError(t, err)
	return rv
}

// TestSwitchFWIDAsNVIDIAReportsIt: the switch FWID match is reported true
// only where attest's verified claims say false (no FWID to compare); the
// GPU claim and the device's own claims map are left as they are.
func TestSwitchFWIDAsNVIDIAReportsIt(t *testing.T) {
	const sw = "x-nvidia-switch-attestation-report-cert-chain-fwid-match"
	const gpu = "x-nvidia-gpu-attestation-report-cert-chain-fwid-match"
	claims := map[string]any{sw: false}
	in := Input(verify.PolicyInput{Format: verify.FormatNVSwitch, Claims: claims})
	assert.Equal(t, true, in["nvidia"].(map[string]any)[sw])
	assert.Equal(t, false, claims[sw], "the verifier's claims are not modified")
	in = Input(verify.PolicyInput{Format: verify.FormatGPU, Claims: map[string]any{gpu: false}})
	assert.Equal(t, false, in["nvidia"].(map[string]any)[gpu], "a GPU without a matching FWID stays unmatched")
	in = Input(verify.PolicyInput{Format: verify.FormatNRASSwitch, Claims: map[string]any{sw: false}})
	assert.Equal(t, false, in["nvidia"].(map[string]any)[sw], "NRAS's own false is a mismatch NRAS found")
}
