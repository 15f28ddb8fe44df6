package verify

import (
	"context"
	"time"

	"github.com/trustfactory/attest/ear"
)

// Policy appraises the claims of one verified component: it turns them into an
// AR4SI trust vector and explains every rule it applied. A Policy is immutable
// after construction and safe for concurrent use. Rules that are not met lower
// trust claims; an error means the policy itself could not be evaluated, and
// the composite appraiser then treats the component as contraindicated.
//
// The interface is small on purpose: package policy implements it with Go
// rules over reference values, and a Rego engine can implement it with the
// same input (see PolicyInput.Map).
type Policy interface {
	Appraise(ctx context.Context, in PolicyInput) (*PolicyResult, error)
}

// PolicyFunc adapts a function to the Policy interface.
type PolicyFunc func(ctx context.Context, in PolicyInput) (*PolicyResult, error)

// Appraise calls f.
func (f PolicyFunc) Appraise(ctx context.Context, in PolicyInput) (*PolicyResult, error) {
	return f(ctx, in)
}

// PolicyInput is what a policy sees of one component: only claims that its
// verifier proved, never raw evidence.
type PolicyInput struct {
	Submod string         // submodule name, e.g. "cpu0", "gpu3"
	Format Format         // evidence format the claims came from
	Claims map[string]any // the verifier's flat claims (Claims.Map); read only
	Now    time.Time      // appraisal time: reference values expire against it
	// Unsafe lists the unsafe switches in effect for this component (for
	// example "AllowMissingReportDataUnsafe"). A policy must not affirm a
	// component that has any.
	Unsafe []string
}

// Map returns the input in the shape of a Trustee policy input: the claims
// under the format's name, with report_data and init_data lifted to the top.
func (in PolicyInput) Map() map[string]any {
	m := map[string]any{string(in.Format): in.Claims}
	for _, k := range []string{"report_data", "init_data"} {
		if v, ok := in.Claims[k]; ok {
			m[k] = v
		}
	}
	return m
}

// PolicyResult is a policy's appraisal of one component.
type PolicyResult struct {
	PolicyID    string          // identifies the policy and its reference values
	TrustVector ear.TrustVector // the AR4SI claims the rules set
	Checks      []Check         // one explained check per rule, in evaluation order
}

// Status is the tier of the worst claim of the trust vector.
func (r *PolicyResult) Status() ear.Status {
	return r.TrustVector.Status()
}

// Check explains one rule of a policy: what it compared, what it expected and
// found, and which trust claim it set.
type Check struct {
	ID       string         // stable rule identifier, e.g. "tdx.mr_td"
	Title    string         // what the rule checks, for people
	Claim    string         // the claim key compared ("" when none)
	Expected string         // the expected value or set, as text
	Actual   string         // the value found ("" when the claim is absent)
	OK       bool           // whether the rule was met
	Reason   string         // why the claim was set as it was
	Category ear.Category   // the trust-vector category the rule sets
	Value    ear.TrustClaim // the value the rule set for Category (0: none)
}

// Status is the tier of the claim value the check set.
func (c Check) Status() ear.Status {
	return c.Value.Tier()
}
