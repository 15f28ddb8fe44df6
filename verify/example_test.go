package verify_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/trustfactory/attest/verify"
)

// demoVerifier stands in for a TEE verifier such as tdx.Verifier: it accepts
// evidence "DEMO" followed by one report-data byte.
type demoVerifier struct{}

type demoClaims struct{ reportData byte }

func (demoClaims) Format() verify.Format   { return "demo" }
func (c demoClaims) Map() map[string]any   { return map[string]any{"report_data": c.reportData} }
func (demoVerifier) Format() verify.Format { return "demo" }
func (demoVerifier) Detect(ev []byte) bool { return len(ev) == 5 && string(ev[:4]) == "DEMO" }
func (v demoVerifier) Verify(_ context.Context, ev []byte, exp verify.Expectations) (verify.Claims, error) {
	if !v.Detect(ev) {
		return nil, verify.Errorf(verify.ErrMalformed, "evidence: want 5 bytes starting DEMO, got %d bytes", len(ev))
	}
	if err := exp.CheckReportData("report_data", ev[4:]); err != nil {
		return nil, err
	}
	return demoClaims{ev[4]}, nil
}

// A registry detects the evidence format, runs its verifier and returns
// errors whose kind callers test with errors.Is.
func Example() {
	reg, err := verify.NewRegistry(demoVerifier{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	nonce := []byte{0x2a}

	claims, err := reg.Verify(ctx, "", []byte("DEMO\x2a"), verify.Expectations{ReportData: nonce})
	fmt.Println(claims.Map(), err)

	// Evidence bound to another session's nonce is a freshness failure.
	_, err = reg.Verify(ctx, "", []byte("DEMO\x2b"), verify.Expectations{ReportData: nonce})
	fmt.Println(errors.Is(err, verify.ErrFreshness), verify.FailureVector(err)[0])

	// Forgetting the nonce is refused, never silently unchecked.
	_, err = reg.Verify(ctx, "", []byte("DEMO\x2a"), verify.Expectations{})
	fmt.Println(errors.Is(err, verify.ErrConfig))
	// Output:
	// map[report_data:42] <nil>
	// true 96
	// true
}
