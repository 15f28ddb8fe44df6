package verify_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// fakeEvidence is the evidence of the fake verifiers: what a real verifier
// would prove, plus switches that make it fail.
type fakeEvidence struct {
	ReportData string         `json:"rd"`
	Claims     map[string]any `json:"claims"`
	Fail       string         `json:"fail,omitempty"` // an error kind to fail with
	Partial    bool           `json:"partial,omitempty"`
}

type fakeClaims struct {
	f verify.Format
	m map[string]any
}

func (c fakeClaims) Format() verify.Format { return c.f }
func (c fakeClaims) Map() map[string]any {
	m := make(map[string]any, len(c.m))
	for k, v := range c.m {
		m[k] = v
	}
	return m
}

var kinds = map[string]error{"signature": verify.ErrSignature, "malformed": verify.ErrMalformed,
	"collateral": verify.ErrCollateral, "revoked": verify.ErrRevoked}

type fakeVerifier struct {
	f     verify.Format
	calls atomic.Int32
	delay time.Duration
	// before, when set, runs first in every Verify.
	before func()
}

func (v *fakeVerifier) Format() verify.Format { return v.f }
func (v *fakeVerifier) SubmodClass() string   { return classOf(v.f) }

// classOf is the submodule class the fake verifiers give their format.
func classOf(f verify.Format) string {
	switch f {
	case verify.FormatGPU:
		return verify.ClassGPU
	case verify.FormatNVSwitch:
		return verify.ClassSwitch
	}
	return verify.ClassCPU
}

// Expiry implements verify.ExpiringClaims from a "not_after" claim.
func (c fakeClaims) Expiry() (time.Time, bool) {
	s, _ := c.m["not_after"].(string)
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func (v *fakeVerifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	v.calls.Add(1)
	if v.before != nil {
		v.before()
	}
	if v.delay > 0 {
		time.Sleep(v.delay)
	}
	var e fakeEvidence
	if err := json.Unmarshal(evidence, &e); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "fake evidence: %w", err)
	}
	if e.Fail != "" {
		err := verify.Errorf(kinds[e.Fail], "fake failure %s", e.Fail)
		if e.Partial { // a broken verifier that leaks partial claims with its error
			return fakeClaims{v.f, e.Claims}, err
		}
		return nil, err
	}
	rd, _ := hex.DecodeString(e.ReportData)
	if err := exp.CheckReportData("report data", rd); err != nil {
		return nil, err
	}
	m := map[string]any{"report_data": e.ReportData}
	for k, x := range e.Claims {
		m[k] = x
	}
	return fakeClaims{v.f, m}, nil
}

func (v *fakeVerifier) Detect(b []byte) bool {
	return strings.Contains(string(b), `"fmt":"`+string(v.f)+`"`)
}

// fakeGPU also splits a JSON list of devices.
type fakeGPU struct{ fakeVerifier }

func (v *fakeGPU) Split(evidence []byte) ([][]byte, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(evidence, &list); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "device list: %w", err)
	}
	out := make([][]byte, len(list))
	for i, d := range list {
		out[i] = d
	}
	return out, nil
}

var (
	cpuRD = strings.Repeat("c1", 64)
	gpuRD = strings.Repeat("61", 32)
	mrtd  = strings.Repeat("4d", 48)
	rtmr  = strings.Repeat("52", 48)
	tNow  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// tdxPins pins the fake TD's boot: MRTD and RTMR0..2.
func tdxPins() []policy.Entry {
	return []policy.Entry{{Name: "mr_td", Value: mrtd}, {Name: "rtmr_0", Value: rtmr}, {Name: "rtmr_1", Value: rtmr}, {Name: "rtmr_2", Value: rtmr}}
}

func tdxEvidence(mut func(*fakeEvidence)) []byte {
	e := fakeEvidence{ReportData: cpuRD, Claims: map[string]any{
		"quote.body.mr_td": mrtd, "td_attributes.debug": false, "tcb_status": "UpToDate",
		"quote.body.rtmr_0": rtmr, "quote.body.rtmr_1": rtmr, "quote.body.rtmr_2": rtmr,
		"quote.body.td_attributes": "0000001000000000", "quote.body.xfam": "e702060000000000",
		"quote.body.mr_config_id": strings.Repeat("00", 48)}}
	if mut != nil {
		mut(&e)
	}
	b, _ := json.Marshal(e)
	return b
}

func gpuDevice(mut func(*fakeEvidence)) fakeEvidence {
	good := map[string]any{"x-nvidia-cert-ocsp-status": "good"}
	e := fakeEvidence{ReportData: gpuRD, Claims: map[string]any{
		"measres": "success", "x-nvidia-gpu-driver-version": "550.90.07", "x-nvidia-gpu-vbios-version": "96.00.9F.00.01",
		"x-nvidia-gpu-attestation-report-cert-chain-fwid-match": true,
		"x-nvidia-gpu-attestation-report-cert-chain":            good,
		"x-nvidia-gpu-driver-rim-signature-verified":            true, "x-nvidia-gpu-driver-rim-version-match": true,
		"x-nvidia-gpu-driver-rim-cert-chain":        good,
		"x-nvidia-gpu-vbios-rim-signature-verified": true, "x-nvidia-gpu-vbios-rim-version-match": true,
		"x-nvidia-gpu-vbios-rim-cert-chain": good}}
	if mut != nil {
		mut(&e)
	}
	return e
}

func gpuEvidence(n int, mut map[int]func(*fakeEvidence)) []byte {
	devs := make([]fakeEvidence, n)
	for i := range devs {
		devs[i] = gpuDevice(mut[i])
	}
	b, _ := json.Marshal(devs)
	return b
}

func newAppraiser(t *testing.T, opts ...verify.AppraiserOption) (*verify.Appraiser, *fakeVerifier, *fakeGPU) {
	t.Helper()
	cpu := &fakeVerifier{f: verify.FormatTDX}
	gpu := &fakeGPU{fakeVerifier{f: verify.FormatGPU}}
	reg, err := verify.NewRegistry(cpu, gpu)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := policy.FromEntries(tdxPins()...)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := policy.New(rv)
	a, err := verify.NewAppraiser(reg, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a, cpu, gpu
}

func expect(rd string) verify.Expectations {
	b, _ := hex.DecodeString(rd)
	return verify.Expectations{ReportData: b, Now: tNow}
}

func comps(cpu, gpus []byte) []verify.Component {
	return []verify.Component{
		{Format: verify.FormatTDX, Evidence: cpu, Expect: expect(cpuRD)},
		{Format: verify.FormatGPU, Evidence: gpus, Expect: expect(gpuRD)},
	}
}

func run(t *testing.T, a *verify.Appraiser, cs []verify.Component) *verify.Outcome {
	t.Helper()
	o, err := a.AppraiseOutcome(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Result.Validate(); err != nil {
		t.Fatalf("invalid result: %v", err)
	}
	if w := o.Result.WorstSubmodStatus(); !o.Status().NoMoreTrustedThan(w) {
		t.Fatalf("overall %s better than worst submod %s", o.Status(), w)
	}
	return o
}

func submod(t *testing.T, o *verify.Outcome, name string) *verify.SubmodOutcome {
	t.Helper()
	for _, s := range o.Submods {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no submod %s", name)
	return nil
}

func TestCompositeAffirming(t *testing.T) {
	a, _, gpu := newAppraiser(t)
	o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(8, nil)))
	if o.Status() != ear.StatusAffirming {
		for _, s := range o.Submods {
			t.Logf("%s %s %v %+v", s.Name, s.Appraisal.Status, s.Err, s.Appraisal.Extensions)
		}
		t.Fatalf("status %s", o.Status())
	}
	want := []string{"cpu0", "gpu0", "gpu1", "gpu2", "gpu3", "gpu4", "gpu5", "gpu6", "gpu7"}
	if got := o.Result.SubmodNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("submods %v", got)
	}
	if gpu.calls.Load() != 8 {
		t.Fatalf("gpu verified %d times", gpu.calls.Load())
	}
	cpu := submod(t, o, "cpu0")
	if cpu.Appraisal.AnnotatedEvidence["tdx"] == nil || cpu.Appraisal.AnnotatedEvidence["report_data"] != cpuRD {
		t.Fatalf("annotated evidence %v", cpu.Appraisal.AnnotatedEvidence)
	}
	if len(cpu.Policy.Checks) == 0 || len(cpu.Appraisal.PolicyIDs) != 1 {
		t.Fatal("no checks or policy id")
	}
	if !o.Result.IssuedAt.Equal(tNow) || !o.Result.ExpiresAt.Equal(tNow.Add(5*time.Minute)) {
		t.Fatalf("iat %v exp %v", o.Result.IssuedAt, o.Result.ExpiresAt)
	}
}

func TestCompositeOneGPUFails(t *testing.T) {
	cases := []struct {
		name   string
		mut    func(*fakeEvidence)
		cat    ear.Category
		want   ear.TrustClaim
		reason string
	}{
		{"wrong nonce", func(e *fakeEvidence) { e.ReportData = strings.Repeat("00", 32) }, ear.InstanceIdentity, ear.UntrustworthyInstance, "freshness"},
		{"measurement mismatch", func(e *fakeEvidence) { e.Claims["measres"] = "fail" }, ear.Executables, ear.ContraindicatedRuntime, "gpu.measurements"},
		{"revoked OCSP", func(e *fakeEvidence) {
			e.Claims["x-nvidia-gpu-attestation-report-cert-chain"] = map[string]any{"x-nvidia-cert-ocsp-status": "revoked"}
		}, ear.Hardware, ear.ContraindicatedHardware, "gpu.ocsp"},
		{"revoked in verifier", func(e *fakeEvidence) { e.Fail = "revoked" }, ear.Hardware, ear.ContraindicatedHardware, "revoked"},
		{"bad signature", func(e *fakeEvidence) { e.Fail = "signature" }, ear.InstanceIdentity, ear.CryptoValidationFailed, "signature"},
		{"malformed", func(e *fakeEvidence) { e.Fail = "malformed" }, ear.InstanceIdentity, ear.UnexpectedEvidence, "malformed"},
		{"collateral", func(e *fakeEvidence) { e.Fail = "collateral" }, ear.InstanceIdentity, ear.VerifierMalfunction, "collateral"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _, _ := newAppraiser(t)
			o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(8, map[int]func(*fakeEvidence){5: c.mut})))
			g := submod(t, o, "gpu5")
			if g.Appraisal.Status != ear.StatusContraindicated || o.Status() != ear.StatusContraindicated {
				t.Fatalf("gpu5 %s, overall %s", g.Appraisal.Status, o.Status())
			}
			if got := g.Appraisal.TrustVector[c.cat]; got != c.want {
				t.Fatalf("%s = %d, want %d", c.cat, got, c.want)
			}
			reason, _ := g.Appraisal.Extensions[ear.ExtReason().Name].(string)
			if !strings.Contains(reason, c.reason) {
				t.Fatalf("reason %q, want %q", reason, c.reason)
			}
			for _, n := range []string{"cpu0", "gpu4", "gpu6"} {
				if s := submod(t, o, n); s.Appraisal.Status != ear.StatusAffirming {
					t.Fatalf("%s dragged down: %s", n, s.Appraisal.Status)
				}
			}
		})
	}
}

func TestCompositeCPUDebug(t *testing.T) {
	a, _, _ := newAppraiser(t)
	o := run(t, a, comps(tdxEvidence(func(e *fakeEvidence) { e.Claims["td_attributes.debug"] = true }), gpuEvidence(2, nil)))
	cpu := submod(t, o, "cpu0")
	if cpu.Appraisal.TrustVector[ear.Configuration] != ear.UnsupportableConfig || o.Status() != ear.StatusContraindicated {
		t.Fatalf("%v %s", cpu.Appraisal.TrustVector, o.Status())
	}
}

func TestCompositeMissingReferenceValues(t *testing.T) {
	cpu := &fakeVerifier{f: verify.FormatTDX}
	reg, _ := verify.NewRegistry(cpu)
	p, _ := policy.New(nil)
	a, _ := verify.NewAppraiser(reg, p)
	o := run(t, a, comps(tdxEvidence(nil), nil)[:1])
	if o.Status() != ear.StatusWarning {
		t.Fatalf("status %s", o.Status())
	}
}

// POL-11: claims returned with an error are never used.
func TestPOL11CompositePartialClaimsIgnored(t *testing.T) {
	a, _, _ := newAppraiser(t)
	o := run(t, a, comps(tdxEvidence(func(e *fakeEvidence) { e.Fail = "malformed"; e.Partial = true }), gpuEvidence(1, nil)))
	cpu := submod(t, o, "cpu0")
	if cpu.Claims != nil || cpu.Policy != nil || cpu.Appraisal.AnnotatedEvidence != nil || cpu.Appraisal.Status != ear.StatusContraindicated {
		t.Fatalf("partial claims used: %+v", cpu)
	}
}

// POL-10: absent evidence is no wildcard.
func TestPOL10CompositeRequiredComponents(t *testing.T) {
	a, _, _ := newAppraiser(t, verify.WithRequired(verify.FormatGPU, 8))
	o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(7, nil)))
	if o.Status() != ear.StatusContraindicated {
		t.Fatalf("status %s", o.Status())
	}
	c := submod(t, o, "composite")
	if !errors.Is(c.Err, verify.ErrPolicy) || !strings.Contains(c.Err.Error(), "8 nvidia-gpu components required, 7 present") {
		t.Fatal(c.Err)
	}
	o = run(t, a, comps(tdxEvidence(nil), gpuEvidence(8, nil)))
	if o.Status() != ear.StatusAffirming {
		t.Fatalf("status %s", o.Status())
	}
	// A component named like the requirement's submodule does not hide it.
	cs := comps(tdxEvidence(nil), gpuEvidence(1, nil))
	cs[0].Name = "composite"
	o = run(t, a, cs)
	if o.Status() != ear.StatusContraindicated || o.Result.Submods["composite1"] == nil {
		t.Fatalf("status %s, submods %v", o.Status(), o.Result.SubmodNames())
	}
}

// POL-03: a policy that fails makes the component contraindicated.
func TestPOL03CompositePolicyError(t *testing.T) {
	cpu := &fakeVerifier{f: verify.FormatTDX}
	reg, _ := verify.NewRegistry(cpu)
	bad := verify.PolicyFunc(func(context.Context, verify.PolicyInput) (*verify.PolicyResult, error) {
		return nil, errors.New("undefined rule")
	})
	a, _ := verify.NewAppraiser(reg, bad)
	o := run(t, a, comps(tdxEvidence(nil), nil)[:1])
	cpu0 := submod(t, o, "cpu0")
	if o.Status() != ear.StatusContraindicated || cpu0.Appraisal.TrustVector[ear.Configuration] != ear.UnsupportableConfig {
		t.Fatalf("%s %v", o.Status(), cpu0.Appraisal.TrustVector)
	}
	nilPolicy := verify.PolicyFunc(func(context.Context, verify.PolicyInput) (*verify.PolicyResult, error) { return nil, nil })
	a, _ = verify.NewAppraiser(reg, nilPolicy)
	if o := run(t, a, comps(tdxEvidence(nil), nil)[:1]); o.Status() != ear.StatusContraindicated {
		t.Fatal(o.Status())
	}
}

// POL-06: unsafe expectations are recorded and cap the result at warning.
func TestCompositeUnsafe(t *testing.T) {
	a, _, _ := newAppraiser(t)
	cs := comps(tdxEvidence(nil), gpuEvidence(1, nil))
	cs[0].Expect = verify.Expectations{AllowMissingReportDataUnsafe: true, Now: tNow}
	o := run(t, a, cs)
	if o.Status() != ear.StatusWarning {
		t.Fatalf("status %s", o.Status())
	}
	if u, _ := o.Result.Extensions[ear.ExtUnsafe().Name].([]string); len(u) != 1 {
		t.Fatalf("unsafe not recorded: %v", o.Result.Extensions)
	}
}

func TestCompositeNamingAndDetection(t *testing.T) {
	a, _, _ := newAppraiser(t)
	cs := []verify.Component{
		{Name: "gpu", Evidence: gpuEvidence(2, nil), Format: verify.FormatGPU, Expect: expect(gpuRD)},
		{Evidence: []byte(`{"fmt":"tdx","rd":"` + cpuRD + `","claims":{}}`), Expect: expect(cpuRD)},
		{Evidence: []byte(`not evidence`), Expect: expect(cpuRD)},
		{Format: "sample", Evidence: []byte(`{}`), Expect: expect(cpuRD)},
	}
	o := run(t, a, cs)
	got := strings.Join(o.Result.SubmodNames(), ",")
	if got != "cpu0,device0,device1,gpu0,gpu1" {
		t.Fatalf("submods %s", got)
	}
	for _, n := range []string{"device0", "device1"} {
		if s := submod(t, o, n); !errors.Is(s.Err, verify.ErrUnsupported) || s.Appraisal.TrustVector[ear.InstanceIdentity] != ear.UnexpectedEvidence {
			t.Fatalf("%s: %v", n, s.Err)
		}
	}
}

func TestCompositeLimits(t *testing.T) {
	a, _, _ := newAppraiser(t, verify.WithLimits(4, 1<<10, 3<<10))
	ctx := context.Background()
	if _, err := a.Appraise(ctx, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
	if _, err := a.Appraise(ctx, comps(tdxEvidence(nil), gpuEvidence(8, nil))); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("8 GPUs over a limit of 4 submods: %v", err)
	}
	big := make([]verify.Component, 5)
	for i := range big {
		big[i] = verify.Component{Format: verify.FormatTDX, Evidence: tdxEvidence(nil), Expect: expect(cpuRD)}
	}
	if _, err := a.Appraise(ctx, big); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("5 components: %v", err)
	}
	huge := comps(tdxEvidence(func(e *fakeEvidence) { e.Claims["pad"] = strings.Repeat("x", 2<<10) }), gpuEvidence(1, nil))
	if _, err := a.Appraise(ctx, huge); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("oversized evidence: %v", err)
	}
	mid := func() verify.Component {
		return verify.Component{Format: verify.FormatTDX, Evidence: tdxEvidence(func(e *fakeEvidence) { e.Claims["pad"] = strings.Repeat("x", 800) }), Expect: expect(cpuRD)}
	}
	if _, err := a.Appraise(ctx, []verify.Component{mid(), mid(), mid(), mid()}); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("oversized total: %v", err)
	}
	dup := comps(tdxEvidence(nil), gpuEvidence(1, nil))
	dup[0].Name, dup[1].Name = "x", "x"
	if _, err := a.Appraise(ctx, dup); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("duplicate names: %v", err)
	}
	for _, opt := range []verify.AppraiserOption{verify.WithLimits(-1, 0, 0), verify.WithConcurrency(0),
		verify.WithProfile("tag:example"), verify.WithVerifierID(ear.VerifierID{}), verify.WithFormatPolicy(verify.FormatTDX, nil),
		verify.WithRequired(verify.FormatGPU, -1), verify.WithResultLifetime(-time.Second)} {
		reg, _ := verify.NewRegistry()
		p, _ := policy.New(nil)
		if _, err := verify.NewAppraiser(reg, p, opt); !errors.Is(err, verify.ErrConfig) {
			t.Fatalf("bad option accepted: %v", err)
		}
	}
	if _, err := verify.NewAppraiser(nil, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
}

func TestCompositeCancelled(t *testing.T) {
	a, _, _ := newAppraiser(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Appraise(ctx, comps(tdxEvidence(nil), gpuEvidence(8, nil))); !errors.Is(err, verify.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled appraisal: expected ErrCanceled, got %v", err)
	}
}

// A context cancelled while units are being verified ends the appraisal
// with ErrCanceled, whatever the concurrency: units taken afterwards are not
// verified (one worker: none of the GPUs after the TDX quote), and the
// caller does not wait for work that will never come.
func TestCompositeCancelledMidway(t *testing.T) {
	for _, workers := range []int{1, 2, 8} {
		a, cpu, gpu := newAppraiser(t, verify.WithConcurrency(workers))
		ctx, cancel := context.WithCancel(context.Background())
		cpu.before = cancel
		_, err := a.Appraise(ctx, comps(tdxEvidence(nil), gpuEvidence(8, nil)))
		require.ErrorIs(t, err, verify.ErrCanceled, "%d workers", workers)
		require.ErrorIs(t, err, context.Canceled, "%d workers", workers)
		require.Equal(t, int32(1), cpu.calls.Load())
		if workers == 1 {
			require.Zero(t, gpu.calls.Load(), "GPUs verified after the cancellation")
		}
		cancel()
	}
}

func TestCompositeParallel(t *testing.T) {
	a, _, gpu := newAppraiser(t, verify.WithConcurrency(8))
	gpu.delay = 50 * time.Millisecond
	start := time.Now()
	o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(8, nil)))
	if o.Status() != ear.StatusAffirming {
		t.Fatal(o.Status())
	}
	// Sequential would take 400 ms; the bound is generous for a loaded machine.
	if d := time.Since(start); d > 350*time.Millisecond {
		t.Logf("8 × 50 ms took %v", d)
	}
}

func TestCompositeTokenShape(t *testing.T) {
	a, _, _ := newAppraiser(t, verify.WithProfile(ear.ProfileTrustee), verify.WithChecks(true), verify.WithAnnotatedEvidence(false))
	o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(1, nil)))
	cpu := submod(t, o, "cpu0")
	if cpu.Appraisal.AnnotatedEvidence != nil {
		t.Fatal("annotated evidence in non-verbose mode")
	}
	checks, _ := cpu.Appraisal.Extensions[ear.ExtChecks().Name].([]any)
	if len(checks) != len(cpu.Policy.Checks) {
		t.Fatalf("%d checks in token, %d in outcome", len(checks), len(cpu.Policy.Checks))
	}
	b, _ := json.Marshal(checks[0])
	if !strings.Contains(string(b), `"id":"tdx.mr_td"`) {
		t.Fatal(string(b))
	}
	if o.Result.Profile != ear.ProfileTrustee {
		t.Fatal(o.Result.Profile)
	}
}

func TestOutcomeNotAfter(t *testing.T) {
	a, _, _ := newAppraiser(t)
	o := run(t, a, comps(tdxEvidence(func(e *fakeEvidence) {
		e.Claims["not_after"] = "2026-04-01T00:00:00Z"
	}), gpuEvidence(2, map[int]func(*fakeEvidence){1: func(e *fakeEvidence) {
		e.Claims["not_after"] = "2026-03-15T00:00:00Z"
		// A claim named like an expiry is none: only ExpiringClaims count.
		e.Claims["earliest_expiration_date"] = "2026-03-02T00:00:00Z"
	}})))
	na, ok := o.NotAfter()
	if !ok || !na.Equal(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%v %v", na, ok)
	}
	o = run(t, a, comps(tdxEvidence(nil), gpuEvidence(1, nil)))
	if _, ok := o.NotAfter(); ok {
		t.Fatal("expiry without claims")
	}
}

type panicVerifier struct{}

func (panicVerifier) Format() verify.Format { return verify.FormatSNP }
func (panicVerifier) SubmodClass() string   { return verify.ClassCPU }
func (panicVerifier) Verify(context.Context, []byte, verify.Expectations) (verify.Claims, error) {
	panic("index out of range")
}

func TestCompositeVerifierPanics(t *testing.T) {
	reg, _ := verify.NewRegistry(panicVerifier{}, &fakeVerifier{f: verify.FormatTDX})
	p, _ := policy.New(nil)
	a, _ := verify.NewAppraiser(reg, p)
	o := run(t, a, []verify.Component{
		{Format: verify.FormatSNP, Evidence: []byte("x"), Expect: expect(cpuRD)},
		{Format: verify.FormatTDX, Evidence: tdxEvidence(nil), Expect: expect(cpuRD)},
	})
	s := submod(t, o, "cpu0")
	if s.Format != verify.FormatSNP || !errors.Is(s.Err, verify.ErrConfig) || s.Appraisal.Status != ear.StatusContraindicated ||
		s.Appraisal.TrustVector[ear.InstanceIdentity] != ear.VerifierMalfunction {
		t.Fatalf("%+v", s)
	}
	if o.Status() != ear.StatusContraindicated {
		t.Fatal(o.Status())
	}
}

func TestNest(t *testing.T) {
	inner := map[string]any{"x": 1}
	m := map[string]any{
		"quote.body.mr_td": "aa", "quote.body.rtmr_0": "bb", "quote.header.version": "0400",
		"td_attributes.debug": false, "tcb_status": "UpToDate",
		"a": "scalar", "a.b": "collides", // a is a value: a.b stays flat
		"obj": inner, "obj.y": 2, // obj is a claim value: obj.y stays flat
		"x.": "odd", ".y": "odd",
	}
	n := verify.Nest(m)
	b, _ := json.Marshal(n)
	want := `{".y":"odd","a":"scalar","a.b":"collides","obj":{"x":1},"obj.y":2,"quote":{"body":{"mr_td":"aa","rtmr_0":"bb"},"header":{"version":"0400"}},"tcb_status":"UpToDate","td_attributes":{"debug":false},"x.":"odd"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	if len(m) != 11 || len(inner) != 1 {
		t.Fatal("input modified")
	}
	in := verify.PolicyInput{Format: verify.FormatTDX, Claims: m}
	if v := in.Map()["tdx"].(map[string]any)["quote"].(map[string]any)["body"].(map[string]any)["mr_td"]; v != "aa" {
		t.Fatal(v)
	}
}

// FuzzNest: every claim stays reachable, under its flat name or its path.
func FuzzNest(f *testing.F) {
	f.Add("quote.body.mr_td\nquote.body\na\na.b\n.x\nx..y")
	f.Fuzz(func(t *testing.T, names string) {
		m := map[string]any{}
		for i, k := range strings.Split(names, "\n") {
			if len(m) > 64 {
				break
			}
			m[k] = i
		}
		n := verify.Nest(m)
		for k, v := range m {
			if got, ok := n[k]; ok && got == v {
				continue
			}
			var cur any = n
			for _, p := range strings.Split(k, ".") {
				cm, ok := cur.(map[string]any)
				if !ok {
					t.Fatalf("%q lost in %v", k, n)
				}
				cur = cm[p]
			}
			if cur != v {
				t.Fatalf("%q: got %v, want %v", k, cur, v)
			}
		}
	})
}

// setGPU is a fakeGPU that also judges its devices as a set: two with the
// same "serial" claim are refused, a "panic" claim makes CheckSet panic.
type setGPU struct {
	fakeGPU
	sets atomic.Int32
}

func (v *setGPU) CheckSet(claims []verify.Claims) error {
	v.sets.Add(1)
	seen := map[any]bool{}
	for _, c := range claims {
		m := c.Map()
		if m["panic"] != nil {
			panic("set check broken")
		}
		if seen[m["serial"]] {
			return verify.Errorf(verify.ErrMalformed, "serial %v twice", m["serial"])
		}
		seen[m["serial"]] = true
	}
	return nil
}

func TestCompositeSetCheck(t *testing.T) {
	cpu := &fakeVerifier{f: verify.FormatTDX}
	gpu := &setGPU{fakeGPU: fakeGPU{fakeVerifier{f: verify.FormatGPU}}}
	reg, err := verify.NewRegistry(cpu, gpu)
	if err != nil {
		t.Fatal(err)
	}
	rv, _ := policy.FromEntries(tdxPins()...)
	p, _ := policy.New(rv)
	a, err := verify.NewAppraiser(reg, p)
	if err != nil {
		t.Fatal(err)
	}
	serial := func(s ...any) map[int]func(*fakeEvidence) {
		m := map[int]func(*fakeEvidence){}
		for i, v := range s {
			m[i] = func(e *fakeEvidence) {
				switch v {
				case "panic":
					e.Claims["panic"] = true
				case "fail":
					e.Fail = "signature"
				default:
					e.Claims["serial"] = v
				}
			}
		}
		return m
	}
	for name, c := range map[string]struct {
		comps  []verify.Component
		status ear.Status
		kind   error
	}{
		"distinct":                {comps(tdxEvidence(nil), gpuEvidence(3, serial("a", "b", "c"))), ear.StatusAffirming, nil},
		"twice in one list":       {comps(tdxEvidence(nil), gpuEvidence(3, serial("a", "b", "a"))), ear.StatusContraindicated, verify.ErrMalformed},
		"twice across components": {append(comps(tdxEvidence(nil), gpuEvidence(2, serial("a", "b"))), verify.Component{Format: verify.FormatGPU, Evidence: gpuEvidence(1, serial("b")), Expect: expect(gpuRD)}), ear.StatusContraindicated, verify.ErrMalformed},
		"set check panics":        {comps(tdxEvidence(nil), gpuEvidence(2, serial("a", "panic"))), ear.StatusContraindicated, verify.ErrConfig},
		// A device that failed on its own is already contraindicated and is
		// not part of the set the others are judged in.
		"failed device left out": {comps(tdxEvidence(nil), gpuEvidence(3, serial("a", "fail", "b"))), ear.StatusContraindicated, nil},
	} {
		o := run(t, a, c.comps)
		if o.Status() != c.status {
			t.Fatalf("%s: status %s", name, o.Status())
		}
		if submod(t, o, "cpu0").Appraisal.Status != ear.StatusAffirming {
			t.Fatalf("%s: the CPU was failed by the GPU set", name)
		}
		for _, s := range o.Submods {
			if s.Format != verify.FormatGPU {
				continue
			}
			switch {
			case c.kind != nil && (!errors.Is(s.Err, c.kind) || s.Claims != nil || !strings.Contains(s.Err.Error(), "device set")):
				t.Fatalf("%s: %s: err %v", name, s.Name, s.Err)
			case c.kind == nil && s.Err != nil && !errors.Is(s.Err, verify.ErrSignature):
				t.Fatalf("%s: %s: err %v", name, s.Name, s.Err)
			}
		}
	}
	if gpu.sets.Load() != 5 {
		t.Fatalf("CheckSet called %d times, expected once per appraisal", gpu.sets.Load())
	}
}

// nilClaimsVerifier is a broken verifier that reports success without claims,
// as an untyped nil or as a nil pointer in the interface.
type nilClaimsVerifier struct {
	f     verify.Format
	typed bool
}

func (v nilClaimsVerifier) Format() verify.Format { return v.f }
func (v nilClaimsVerifier) SubmodClass() string   { return classOf(v.f) }

func (v nilClaimsVerifier) Verify(context.Context, []byte, verify.Expectations) (verify.Claims, error) {
	if v.typed {
		return (*fakeClaims)(nil), nil
	}
	return nil, nil
}

func TestCompositeVerifierReturnsNoClaims(t *testing.T) {
	for _, typed := range []bool{false, true} {
		reg, _ := verify.NewRegistry(nilClaimsVerifier{f: verify.FormatSNP, typed: typed})
		p, _ := policy.New(nil)
		a, _ := verify.NewAppraiser(reg, p)
		o := run(t, a, []verify.Component{{Format: verify.FormatSNP, Evidence: []byte("x"), Expect: expect(cpuRD)}})
		s := submod(t, o, "cpu0")
		if !errors.Is(s.Err, verify.ErrConfig) || !strings.Contains(s.Err.Error(), "returned no claims and no error") ||
			s.Appraisal.Status != ear.StatusContraindicated {
			t.Fatalf("typed nil %v: %+v", typed, s)
		}
	}
}

// TestVerificationsBeforeAppraisals: every unit is verified before any is
// appraised (the short appraisals are what workers share at the end), and
// each unit is still appraised once, with its own claims. With one worker
// the order is exact.
func TestVerificationsBeforeAppraisals(t *testing.T) {
	var mu sync.Mutex
	var order []string
	log := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	tv := &fakeVerifier{f: verify.FormatTDX, before: func() { log("verify") }}
	gv := &fakeGPU{fakeVerifier{f: verify.FormatGPU, before: func() { log("verify") }}}
	reg, err := verify.NewRegistry(tv, gv)
	require.NoError(t, err)
	p := verify.PolicyFunc(func(_ context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
		log("appraise " + in.Submod)
		return &verify.PolicyResult{TrustVector: ear.TrustVector{ear.InstanceIdentity: ear.TrustworthyInstance}}, nil
	})
	a, err := verify.NewAppraiser(reg, p, verify.WithConcurrency(1))
	require.NoError(t, err)
	o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(3, nil)))
	require.Len(t, o.Submods, 4)
	require.Len(t, order, 8)
	for i, s := range order {
		require.Equal(t, i < 4, s == "verify", "step %d of %v", i, order)
	}
	seen := map[string]bool{}
	for _, s := range order[4:] {
		require.False(t, seen[s], "%s twice", s)
		seen[s] = true
	}
	for _, so := range o.Submods {
		require.True(t, seen["appraise "+so.Name], "%s not appraised", so.Name)
		require.NoError(t, so.Err)
	}
}
