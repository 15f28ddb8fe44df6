package verify_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// stubVerifier stands in for a TEE verifier: it "proves" fixed claims for
// evidence that carries the expected report data. Its class names its
// submodules (cpu0, gpu0, …).
type stubVerifier struct {
	f      verify.Format
	class  string
	claims map[string]any
}

func (d stubVerifier) Format() verify.Format { return d.f }
func (d stubVerifier) SubmodClass() string   { return d.class }

func (d stubVerifier) Verify(_ context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	if err := exp.CheckReportData("report data", evidence); err != nil {
		return nil, err
	}
	return fakeClaims{d.f, d.claims}, nil
}

// Appraise a CPU and a GPU together: the GPU answered another session's
// nonce, so it is contraindicated with the reason, and so is the result.
func ExampleAppraiser_AppraiseOutcome() {
	cpu := stubVerifier{verify.FormatTDX, verify.ClassCPU, map[string]any{"quote.body.mr_td": "aa", "td_attributes.debug": false, "tcb_status": "UpToDate"}}
	gpu := stubVerifier{verify.FormatGPU, verify.ClassGPU, map[string]any{"measres": "success"}}
	reg, _ := verify.NewRegistry(cpu, gpu)
	// A policy that affirms every verified component; use package policy in
	// real code.
	affirm := verify.PolicyFunc(func(_ context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
		return &verify.PolicyResult{PolicyID: "demo", TrustVector: ear.TrustVector{ear.TrustworthyInstance, ear.ApprovedConfig}}, nil
	})
	a, _ := verify.NewAppraiser(reg, affirm)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out, err := a.AppraiseOutcome(context.Background(), []verify.Component{
		{Format: verify.FormatTDX, Evidence: []byte("session-1"), Expect: verify.Expectations{ReportData: []byte("session-1"), Now: now}},
		{Format: verify.FormatGPU, Evidence: []byte("session-0"), Expect: verify.Expectations{ReportData: []byte("session-1"), Now: now}},
	})
	if err != nil {
		panic(err)
	}
	for _, s := range out.Submods {
		fmt.Println(s.Name, s.Appraisal.Status, s.Appraisal.TrustVector[ear.InstanceIdentity])
	}
	fmt.Println("overall:", out.Status())
	// Output:
	// cpu0 affirming 2
	// gpu0 contraindicated 96
	// overall: contraindicated
}

// Appraise components that answer one relying-party session: the result
// carries the session's nonce as eat_nonce and, in every submodule whose
// evidence verified against the session's report data, the TEE key, so that
// a token verifier's nonce check and token.CheckKeyBinding need nothing
// filled in by hand. A component that failed gets no key.
func ExampleAppraiser_AppraiseSession() {
	cpu := stubVerifier{verify.FormatTDX, verify.ClassCPU, map[string]any{"quote.body.mr_td": "aa"}}
	gpu := stubVerifier{verify.FormatGPU, verify.ClassGPU, map[string]any{"measres": "success"}}
	reg, _ := verify.NewRegistry(cpu, gpu)
	affirm := verify.PolicyFunc(func(_ context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
		return &verify.PolicyResult{PolicyID: "demo", TrustVector: ear.TrustVector{ear.TrustworthyInstance}}, nil
	})
	a, _ := verify.NewAppraiser(reg, affirm)

	// The KBS nonce and the TEE's key; in real code binding.Expect derives
	// each component's report data from the same runtime data.
	s, err := verify.NewSession("2u4xnPZkIqJfk7Vkk9S0TgAKMz0qXkb7WVRhU8h0Kfc=",
		[]byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out, err := a.AppraiseSession(context.Background(), s, []verify.Component{
		{Format: verify.FormatTDX, Evidence: []byte("rd-1"), Expect: verify.Expectations{ReportData: []byte("rd-1"), Now: now}},
		{Format: verify.FormatGPU, Evidence: []byte("rd-0"), Expect: verify.Expectations{ReportData: []byte("rd-1"), Now: now}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("eat_nonce:", string(out.Result.Nonce))
	for _, sm := range out.Submods {
		_, hasKey := sm.Appraisal.Extensions[ear.ExtTEEPubKey().Name]
		fmt.Println(sm.Name, sm.Appraisal.Status, "TEE key:", hasKey)
	}
	// Output:
	// eat_nonce: 2u4xnPZkIqJfk7Vkk9S0TgAKMz0qXkb7WVRhU8h0Kfc=
	// cpu0 affirming TEE key: true
	// gpu0 contraindicated TEE key: false
}
