package testbed_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// requiredChecks are the policy checks that must run and pass for each
// format: every register the evidence has is pinned, so each is compared.
var requiredChecks = map[verify.Format][]string{
	verify.FormatTDX: {"tdx.mr_td", "tdx.rtmr_0", "tdx.rtmr_1", "tdx.rtmr_2", "tdx.rtmr_3", "tdx.xfam", "tdx.mr_seam", "tdx.tee_tcb_svn", "tdx.executables", "tdx.configuration"},
	verify.FormatSNP: {"snp.measurement", "snp.reported_tcb_bootloader", "snp.reported_tcb_tee", "snp.reported_tcb_snp", "snp.reported_tcb_microcode", "snp.hardware"},
	verify.FormatTPM: {"tpm.executables"},
	verify.FormatGPU: {"gpu.driver_version", "gpu.vbios_version", "gpu.min_driver_version", "gpu.min_vbios_version", "gpu.configuration"},
}

func okChecks(s *verify.SubmodOutcome) map[string]bool {
	ok := map[string]bool{}
	if s.Policy != nil {
		for _, c := range s.Policy.Checks {
			ok[c.ID] = ok[c.ID] || c.OK
		}
	}
	return ok
}

func failed(s *verify.SubmodOutcome) []string {
	var out []string
	if s.Err != nil {
		out = append(out, s.Err.Error())
	}
	if s.Policy != nil {
		for _, c := range s.Policy.Checks {
			if !c.OK {
				out = append(out, fmt.Sprintf("%s: %s (expected %s, got %s)", c.ID, c.Reason, c.Expected, c.Actual))
			}
		}
	}
	return out
}

// SharedGPUCAs gives every GPU the first one's identity CA, provisioner ICA
// and root, and a BROM and attestation key of its own.
func TestSharedGPUCAs(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 3, SharedGPUCAs: true})
	require.NoError(t, err)
	require.Len(t, bed.GPURoots, 1)
	first := bed.GPUs[0]
	for _, p := range bed.GPUs[1:] {
		for j := 2; j < len(p.Certs); j++ { // ICA, identity CA, root
			require.True(t, p.Certs[j].Equal(first.Certs[j]), "certificate %d", j)
		}
		for j := range 2 { // attestation key, BROM
			require.False(t, p.Certs[j].Equal(first.Certs[j]), "certificate %d", j)
		}
		require.NoError(t, p.Certs[1].CheckSignatureFrom(first.Certs[2]))
	}
	// A BROM each, the ICA and identity CA once, the RIM chain below its root.
	require.Equal(t, 3+2+len(bed.RIM.Chain())-1, len(bed.OCSP))
}

// Every kind of evidence a bed mints is affirmed by the default policy with
// the bed's reference values, at the real clock and at chosen times, and
// every pinned register is actually compared.
func TestBedAffirms(t *testing.T) {
	later := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	cases := []struct {
		name string
		opts testbed.Options
		kind verify.Format // TDX: the TD and its GPUs
	}{
		{"TDX and 8 GPUs of 8 PKIs, real clock", testbed.Options{GPUs: 8}, verify.FormatTDX},
		{"TDX and 2 GPUs of one root, 2031", testbed.Options{GPUs: 2, SharedGPURoot: true, Now: later}, verify.FormatTDX},
		{"TDX and 8 GPUs sharing their CAs, real clock", testbed.Options{GPUs: 8, SharedGPUCAs: true}, verify.FormatTDX},
		{"TDX alone, June 2025", testbed.Options{Now: time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)}, verify.FormatTDX},
		{"TDX and a GPU, earliest year", testbed.Options{GPUs: 1, Now: time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)}, verify.FormatTDX},
		{"TDX and a GPU, latest year", testbed.Options{GPUs: 1, Now: time.Date(2043, 12, 30, 0, 0, 0, 0, time.UTC)}, verify.FormatTDX},
		{"SNP, real clock", testbed.Options{}, verify.FormatSNP},
		{"SNP, 2031", testbed.Options{Now: later}, verify.FormatSNP},
		{"TPM, real clock", testbed.Options{}, verify.FormatTPM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bed, err := testbed.New(c.opts)
			require.NoError(t, err)
			if !c.opts.Now.IsZero() {
				require.True(t, bed.Now.Equal(c.opts.Now))
			} else {
				require.WithinDuration(t, time.Now(), bed.Now, time.Hour)
			}
			a, err := bed.Appraiser()
			require.NoError(t, err)
			s, err := testbed.NewSession()
			require.NoError(t, err)
			var comps []verify.Component
			switch c.kind {
			case verify.FormatTDX:
				comps, err = bed.TDXComponents(s)
			case verify.FormatSNP:
				var comp verify.Component
				comp, err = bed.SNPComponent(s)
				comps = []verify.Component{comp}
			case verify.FormatTPM:
				var comp verify.Component
				comp, err = bed.TPMComponent(s)
				comps = []verify.Component{comp}
			}
			require.NoError(t, err)
			o, err := a.AppraiseOutcome(context.Background(), comps)
			require.NoError(t, err)
			for _, sub := range o.Submods {
				require.Empty(t, failed(sub), "submodule %s", sub.Name)
				ok := okChecks(sub)
				for _, id := range requiredChecks[sub.Format] {
					assert.True(t, ok[id], "submodule %s: check %s did not pass", sub.Name, id)
				}
			}
			require.Equal(t, ear.StatusAffirming, o.Status())
			wantSubs := 1
			if c.kind == verify.FormatTDX && c.opts.GPUs > 0 {
				wantSubs += c.opts.GPUs
			}
			assert.Len(t, o.Submods, wantSubs)
		})
	}
}

// The bed's evidence is bound to its session and its time: another
// session's expectations, a revoked GPU, an edited measurement and a
// verification after the collateral's window are not affirmed.
func TestBedRefuses(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 2})
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	other, err := testbed.NewSession()
	require.NoError(t, err)
	appraise := func(t *testing.T, bed *testbed.Bed, comps []verify.Component) ear.Status {
		a, err := bed.Appraiser()
		require.NoError(t, err)
		o, err := a.AppraiseOutcome(context.Background(), comps)
		require.NoError(t, err)
		return o.Status()
	}
	good, err := bed.TDXComponents(s)
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, appraise(t, bed, good))

	cases := []struct {
		name  string
		comps func(t *testing.T) ([]verify.Component, *testbed.Bed)
	}{
		{"another session's nonce", func(t *testing.T) ([]verify.Component, *testbed.Bed) {
			comps, err := bed.TDXComponents(s)
			require.NoError(t, err)
			for i := range comps {
				comps[i].Expect, err = bed.Expect(other, comps[i].Format)
				require.NoError(t, err)
			}
			return comps, bed
		}},
		{"GPU measurement not in the RIM", func(t *testing.T) ([]verify.Component, *testbed.Bed) {
			comps, err := bed.TDXComponents(s)
			require.NoError(t, err)
			ev, err := bed.GPUEvidence(comps[1].Expect.ReportData, func(i int, r *gputest.Report) {
				m := map[int][]byte{}
				for k, v := range r.Measurements {
					m[k] = v
				}
				m[1] = make([]byte, 48)
				r.Measurements = m
			})
			require.NoError(t, err)
			comps[1].Evidence = ev
			return comps, bed
		}},
		{"revoked GPU", func(t *testing.T) ([]verify.Component, *testbed.Bed) {
			revoked, err := testbed.New(testbed.Options{GPUs: 2})
			require.NoError(t, err)
			require.NoError(t, revoked.RevokeGPU(1))
			comps, err := revoked.TDXComponents(s)
			require.NoError(t, err)
			return comps, revoked
		}},
		{"after the collateral window", func(t *testing.T) ([]verify.Component, *testbed.Bed) {
			comps, err := bed.TDXComponents(s)
			require.NoError(t, err)
			for i := range comps {
				comps[i].Expect.Now = bed.Now.AddDate(0, 1, 0)
			}
			return comps, bed
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comps, b := c.comps(t)
			assert.NotEqual(t, ear.StatusAffirming, appraise(t, b, comps))
		})
	}
}

func TestNewOptions(t *testing.T) {
	for _, n := range []int{-1, testbed.MaxGPUs + 1} {
		_, err := testbed.New(testbed.Options{GPUs: n})
		require.ErrorIs(t, err, verify.ErrConfig, "%d GPUs", n)
	}
	for _, at := range []time.Time{time.Date(2022, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)} {
		_, err := testbed.New(testbed.Options{Now: at})
		require.ErrorIs(t, err, verify.ErrConfig, "at %s", at)
	}
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	_, err = bed.GPUVerifier()
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = bed.GPUEvidence(make([]byte, 32), nil)
	require.ErrorIs(t, err, verify.ErrConfig)
	require.ErrorIs(t, bed.RevokeGPU(0), verify.ErrConfig)
	_, err = bed.Expect(nil, verify.FormatTDX)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// Switches verify against their RIM through the bed's registry and the
// default policy affirms them with allowed_switch_bios_versions; a changed
// measurement is refused; bad counts and switch calls on a bed without
// switches are ErrConfig.
func TestSwitches(t *testing.T) {
	bed, err := testbed.New(testbed.Options{Switches: 2})
	require.NoError(t, err)
	a, err := bed.Appraiser()
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	exp, err := bed.Expect(s, verify.FormatNVSwitch)
	require.NoError(t, err)
	ev, err := bed.SwitchEvidence(exp.ReportData, nil)
	require.NoError(t, err)
	o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatNVSwitch, Evidence: ev, Expect: exp}})
	require.NoError(t, err)
	require.Len(t, o.Submods, 2)
	for _, sub := range o.Submods {
		require.NoError(t, sub.Err, sub.Name)
		assert.Equal(t, "success", sub.ClaimMap()["measres"], sub.Name)
		assert.Equal(t, testbed.SwitchBIOSVersion, sub.ClaimMap()["x-nvidia-switch-bios-version"], sub.Name)
	}
	assert.Equal(t, ear.StatusAffirming, o.Status())

	ev, err = bed.SwitchEvidence(exp.ReportData, func(i int, r *gputest.Report) {
		m := map[int][]byte{}
		for k, v := range r.Measurements {
			m[k] = v
		}
		m[3] = make([]byte, 48)
		r.Measurements = m
	})
	require.NoError(t, err)
	o, err = a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatNVSwitch, Evidence: ev, Expect: exp}})
	require.NoError(t, err)
	for _, sub := range o.Submods {
		require.ErrorIs(t, sub.Err, verify.ErrPolicy, sub.Name)
	}
	assert.Equal(t, ear.StatusContraindicated, o.Status())

	for _, n := range []int{-1, testbed.MaxGPUs + 1} {
		_, err := testbed.New(testbed.Options{Switches: n})
		require.ErrorIs(t, err, verify.ErrConfig, "%d switches", n)
	}
	none, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	_, err = none.SwitchVerifier()
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = none.SwitchEvidence(make([]byte, 32), nil)
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = bed.SwitchEvidence(make([]byte, 31), nil)
	require.ErrorIs(t, err, verify.ErrConfig)
}
