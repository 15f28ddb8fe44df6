package verify

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
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
	// Unsafe lists the unsafe switches in effect for this component: those
	// its claims report (UnsafeReporter) and UnsafeMissingReportData. A
	// policy must not affirm a component that has any; it reads them here,
	// never from claim names.
	Unsafe []UnsafeSwitch
}

// Map returns the input in the shape of a Trustee policy input: the claims,
// nested at their dots (Nest), under the format's name, with report_data and
// init_data lifted to the top. A Rego policy reads input.tdx.quote.body.mr_td.
func (in PolicyInput) Map() map[string]any {
	m := map[string]any{string(in.Format): Nest(in.Claims)}
	for _, k := range []string{"report_data", "init_data"} {
		if v, ok := in.Claims[k]; ok {
			m[k] = v
		}
	}
	return m
}

// Nest turns flat claims with dotted names into nested objects, as Trustee
// presents them: "quote.body.mr_td" becomes quote → body → mr_td. A name that
// would collide with another claim stays flat. m is not modified; values are
// shared, not copied.
func Nest(m map[string]any) map[string]any {
	type node struct {
		val  any
		leaf bool
		kids map[string]*node
	}
	root := &node{kids: map[string]*node{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Shorter names first, so that a flat "a" wins over a nested "a.b".
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	flat := map[string]any{}
	for _, k := range keys {
		parts := strings.Split(k, ".")
		if slices.Contains(parts, "") {
			flat[k] = m[k]
			continue
		}
		n, ok := root, true
		for _, p := range parts[:len(parts)-1] {
			c := n.kids[p]
			if c == nil {
				c = &node{kids: map[string]*node{}}
				n.kids[p] = c
			}
			if c.leaf {
				ok = false
				break
			}
			n = c
		}
		last := parts[len(parts)-1]
		if !ok || n.kids[last] != nil {
			flat[k] = m[k]
			continue
		}
		n.kids[last] = &node{val: m[k], leaf: true}
	}
	var build func(n *node) map[string]any
	build = func(n *node) map[string]any {
		out := make(map[string]any, len(n.kids))
		for k, c := range n.kids {
			if c.leaf {
				out[k] = c.val
			} else {
				out[k] = build(c)
			}
		}
		return out
	}
	out := build(root)
	for k, v := range flat {
		if _, taken := out[k]; !taken {
			out[k] = v
		}
	}
	return out
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

// PolicySnapshotter is a Policy that can change between appraisals, such as
// a PolicyRef. The composite appraiser calls Snapshot once per appraisal and
// appraises every component of that appraisal with the policy it returned,
// so that one result never mixes two policy versions.
type PolicySnapshotter interface {
	Policy
	// Snapshot returns the policy in effect now. It must not return nil.
	Snapshot() Policy
}

// PolicyRef is a policy that can be replaced while appraisals run: reference
// values reloaded, a rule set changed. Store swaps it atomically; an
// appraiser given a PolicyRef reads it once per appraisal (it is a
// PolicySnapshotter). It is safe for concurrent use.
type PolicyRef struct {
	cur atomic.Pointer[policyBox]
}

// policyBox holds a Policy so that atomic.Pointer can hold an interface.
type policyBox struct{ p Policy }

// NewPolicyRef returns a PolicyRef holding p.
func NewPolicyRef(p Policy) (*PolicyRef, error) {
	r := &PolicyRef{}
	if err := r.Store(p); err != nil {
		return nil, err
	}
	return r, nil
}

// Store makes p the policy of every appraisal that starts after it returns.
// Appraisals already running keep the policy they started with. A nil
// policy is an ErrConfig error and leaves the current one in place.
func (r *PolicyRef) Store(p Policy) error {
	if isNil(p) {
		return Errorf(ErrConfig, "policy ref: nil policy")
	}
	if _, self := p.(*PolicyRef); self {
		// A ref holding a ref would be read twice per appraisal, and a
		// ref holding itself would never return.
		return Errorf(ErrConfig, "policy ref: a PolicyRef cannot hold another PolicyRef")
	}
	r.cur.Store(&policyBox{p})
	return nil
}

// Snapshot returns the current policy.
func (r *PolicyRef) Snapshot() Policy { return r.cur.Load().p }

// Appraise appraises in with the current policy. Callers that appraise
// several components as one result should take a Snapshot once instead, as
// the composite appraiser does.
func (r *PolicyRef) Appraise(ctx context.Context, in PolicyInput) (*PolicyResult, error) {
	return r.Snapshot().Appraise(ctx, in)
}
