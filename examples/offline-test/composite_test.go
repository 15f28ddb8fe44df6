package offlinetest

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// session is one KBS-style session: runtime data with the TEE key, bound
// into the TDX report data and the GPU nonces.
type session struct {
	rd       binding.RuntimeData
	cpu, gpu verify.Expectations
}

func newSession(t testing.TB, nonce string) session {
	t.Helper()
	ae := ""
	rd := binding.RuntimeData{Nonce: nonce, TEEPubKey: json.RawMessage(`{"kty":"EC","crv":"P-256","alg":"ES256","x":"eA","y":"eQ"}`), AdditionalEvidence: &ae}
	cpu, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	cpu.Now, gpu.Now = Now(), Now()
	return session{rd: rd, cpu: cpu, gpu: gpu}
}

type world struct {
	bed *Bed
	a   *verify.Appraiser
}

func newWorld(t testing.TB, gpus int, opts ...verify.AppraiserOption) *world {
	t.Helper()
	b, err := New(gpus)
	if err != nil {
		t.Fatal(err)
	}
	return worldFor(t, b, opts...)
}

func worldFor(t testing.TB, b *Bed, opts ...verify.AppraiserOption) *world {
	t.Helper()
	reg, err := b.Registry()
	if err != nil {
		t.Fatal(err)
	}
	rv, err := b.ReferenceValues()
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.New(rv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := verify.NewAppraiser(reg, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &world{bed: b, a: a}
}

func (w *world) components(t testing.TB, s session, quote func(*tdxtest.QuoteSpec), gpuEdit func(int, *gputest.Report)) []verify.Component {
	t.Helper()
	ev, err := w.bed.GPUEvidence(s.gpu.ReportData, gpuEdit)
	if err != nil {
		t.Fatal(err)
	}
	return []verify.Component{
		{Format: verify.FormatTDX, Evidence: w.bed.Quote(s.cpu.ReportData, quote), Expect: s.cpu},
		{Format: verify.FormatGPU, Evidence: ev, Expect: s.gpu},
	}
}

func (w *world) appraise(t testing.TB, cs []verify.Component) *verify.Outcome {
	t.Helper()
	o, err := w.a.AppraiseOutcome(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Result.Validate(); err != nil {
		t.Fatal(err)
	}
	return o
}

func dump(t *testing.T, o *verify.Outcome) {
	t.Helper()
	for _, s := range o.Submods {
		t.Logf("%s %s err=%v reason=%v", s.Name, s.Appraisal.Status, s.Err, s.Appraisal.Extensions[ear.ExtReason().Name])
		if s.Policy != nil {
			for _, c := range s.Policy.Checks {
				if !c.OK {
					t.Logf("   ✗ %s %s: %s (expected %s, got %s)", c.ID, c.Title, c.Reason, c.Expected, c.Actual)
				}
			}
		}
	}
}

func sub(t *testing.T, o *verify.Outcome, name string) *verify.SubmodOutcome {
	t.Helper()
	for _, s := range o.Submods {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no submod %s", name)
	return nil
}

// TDX + 8 GPUs, correctly bound to one session: affirming.
func TestCompositeTDXAnd8GPUs(t *testing.T) {
	w := newWorld(t, 8)
	o := w.appraise(t, w.components(t, newSession(t, "bm9uY2UtMQ=="), nil, nil))
	if o.Status() != ear.StatusAffirming {
		dump(t, o)
		t.Fatalf("status %s", o.Status())
	}
	if got := strings.Join(o.Result.SubmodNames(), ","); got != "cpu0,gpu0,gpu1,gpu2,gpu3,gpu4,gpu5,gpu6,gpu7" {
		t.Fatal(got)
	}
	for _, s := range o.Submods {
		if s.Appraisal.Status != ear.StatusAffirming {
			t.Fatalf("%s %s", s.Name, s.Appraisal.Status)
		}
	}
}

func TestCompositeOneGPUBad(t *testing.T) {
	b, err := New(8)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeGPU(6); err != nil {
		t.Fatal(err)
	}
	w := worldFor(t, b)
	s := newSession(t, "bm9uY2UtMg==")
	other := newSession(t, "b3RoZXItc2Vzc2lvbg==")
	cs := w.components(t, s, nil, func(i int, r *gputest.Report) {
		switch i {
		case 2: // answers another session's nonce (POL-12)
			copy(r.Nonce[:], other.gpu.ReportData)
		case 4: // runs firmware whose measurement the RIMs do not list
			m := map[int][]byte{}
			for k, v := range r.Measurements {
				m[k] = v
			}
			m[5] = make([]byte, 48)
			r.Measurements = m
		}
	})
	o := w.appraise(t, cs)
	if o.Status() != ear.StatusContraindicated {
		t.Fatalf("status %s", o.Status())
	}
	want := map[string]struct {
		kind   error
		cat    ear.Category
		claim  ear.TrustClaim
		reason string
	}{
		"gpu2": {verify.ErrFreshness, ear.InstanceIdentity, ear.UntrustworthyInstance, "nonce"},
		"gpu4": {verify.ErrPolicy, ear.Configuration, ear.UnsupportableConfig, "measurement mismatch"},
		"gpu6": {verify.ErrRevoked, ear.Hardware, ear.ContraindicatedHardware, "revoked"},
	}
	for _, sm := range o.Submods {
		wnt, bad := want[sm.Name]
		if !bad {
			if sm.Appraisal.Status != ear.StatusAffirming {
				dump(t, o)
				t.Fatalf("%s: %s", sm.Name, sm.Appraisal.Status)
			}
			continue
		}
		if sm.Appraisal.Status != ear.StatusContraindicated || !errors.Is(sm.Err, wnt.kind) || sm.Claims != nil {
			t.Fatalf("%s: status %s, err %v", sm.Name, sm.Appraisal.Status, sm.Err)
		}
		if got := sm.Appraisal.TrustVector[wnt.cat]; got != wnt.claim {
			t.Fatalf("%s: %s = %d, want %d", sm.Name, wnt.cat, got, wnt.claim)
		}
		if r, _ := sm.Appraisal.Extensions[ear.ExtReason().Name].(string); !strings.Contains(r, wnt.reason) {
			t.Fatalf("%s: reason %q", sm.Name, r)
		}
	}
}

func TestCompositeDebugTD(t *testing.T) {
	w := newWorld(t, 2)
	o := w.appraise(t, w.components(t, newSession(t, "bm9uY2UtMw=="), func(q *tdxtest.QuoteSpec) { q.Body.TDAttributes[0] |= 1 }, nil))
	cpu := sub(t, o, "cpu0")
	if cpu.Appraisal.TrustVector[ear.Configuration] != ear.UnsupportableConfig || o.Status() != ear.StatusContraindicated {
		dump(t, o)
		t.Fatalf("%v %s", cpu.Appraisal.TrustVector, o.Status())
	}
}

// POL-08: no reference values → warning, never affirming.
func TestCompositeMissingReferenceValues(t *testing.T) {
	b, _ := New(1)
	reg, _ := b.Registry()
	p, _ := policy.New(nil)
	a, _ := verify.NewAppraiser(reg, p)
	w := &world{bed: b, a: a}
	o := w.appraise(t, w.components(t, newSession(t, "bm9uY2UtNA=="), nil, nil))
	if o.Status() != ear.StatusWarning {
		dump(t, o)
		t.Fatalf("status %s", o.Status())
	}
	if sub(t, o, "cpu0").Appraisal.TrustVector[ear.Executables] != ear.UnrecognizedRuntime {
		t.Fatal("executables not unrecognized")
	}
}

// Expired reference values are ignored.
func TestCompositeExpiredReferenceValues(t *testing.T) {
	b, _ := New(1)
	reg, _ := b.Registry()
	s := b.QuoteSpec(nil)
	past := Now().Add(-time1h)
	rv, _ := policy.FromEntries(policy.Entry{Name: "mr_td", Value: hexOf(s.Body.MRTD[:]), Expiration: &past})
	p, _ := policy.New(rv)
	a, _ := verify.NewAppraiser(reg, p)
	w := &world{bed: b, a: a}
	o := w.appraise(t, w.components(t, newSession(t, "bm9uY2UtNQ=="), nil, nil))
	if o.Status() == ear.StatusAffirming {
		t.Fatal("affirming on expired reference values")
	}
	c := sub(t, o, "cpu0")
	if c.Appraisal.TrustVector[ear.Executables] != ear.UnrecognizedRuntime {
		t.Fatal(c.Appraisal.TrustVector)
	}
}

// The same GPU twice, in one evidence list or as a second component, is not
// two GPUs: every GPU submodule is contraindicated, the CPU still appraised.
func TestCompositeSameGPUTwice(t *testing.T) {
	w := newWorld(t, 3)
	s := newSession(t, "bm9uY2UtNg==")
	cs := w.components(t, s, nil, nil)
	devs, err := gpu.ParseEvidence(cs[1].Evidence)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := gpu.EncodeEvidence([]gpu.DeviceEvidence{devs[0], devs[1], devs[2], devs[1]})
	if err != nil {
		t.Fatal(err)
	}
	second, err := gpu.EncodeEvidence(devs[2:3])
	if err != nil {
		t.Fatal(err)
	}
	for name, comps := range map[string][]verify.Component{
		"in one list":      {cs[0], {Format: verify.FormatGPU, Evidence: twice, Expect: s.gpu}},
		"second component": {cs[0], cs[1], {Format: verify.FormatGPU, Evidence: second, Expect: s.gpu}},
	} {
		o := w.appraise(t, comps)
		if o.Status() != ear.StatusContraindicated {
			dump(t, o)
			t.Fatalf("%s: status %s", name, o.Status())
		}
		gpus := 0
		for _, sm := range o.Submods {
			if sm.Format != verify.FormatGPU {
				if sm.Appraisal.Status != ear.StatusAffirming {
					t.Fatalf("%s: %s %s", name, sm.Name, sm.Appraisal.Status)
				}
				continue
			}
			gpus++
			if sm.Appraisal.Status != ear.StatusContraindicated || !errors.Is(sm.Err, verify.ErrMalformed) || sm.Claims != nil ||
				!strings.Contains(sm.Err.Error(), "same device") {
				t.Fatalf("%s: %s: status %s, err %v", name, sm.Name, sm.Appraisal.Status, sm.Err)
			}
		}
		if gpus != 4 {
			t.Fatalf("%s: %d GPU submodules", name, gpus)
		}
	}
	// Without the repeat, the same evidence is affirming.
	if o := w.appraise(t, cs); o.Status() != ear.StatusAffirming {
		dump(t, o)
		t.Fatalf("status %s", o.Status())
	}
}

// A list the GPU verifier refuses whole is refused when split too: a Trustee
// wrapper whose key repeats (encoding/json keeps an error from the first).
func TestCompositeRepeatedTrusteeKey(t *testing.T) {
	w := newWorld(t, 2)
	s := newSession(t, "bm9uY2UtNw==")
	cs := w.components(t, s, nil, nil)
	cs[1].Evidence = append(append([]byte(`{"device_evidence_list":5,"device_evidence_list":`), cs[1].Evidence...), '}')
	o := w.appraise(t, cs)
	if o.Status() != ear.StatusContraindicated {
		dump(t, o)
		t.Fatalf("status %s", o.Status())
	}
	for _, sm := range o.Submods {
		if sm.Format == verify.FormatGPU && (sm.Claims != nil || !errors.Is(sm.Err, verify.ErrMalformed)) {
			t.Fatalf("%s: claims %v, err %v", sm.Name, sm.Claims != nil, sm.Err)
		}
	}
}
