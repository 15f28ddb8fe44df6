// Package rego appraises verified claims with a Rego policy evaluated by Open
// Policy Agent, so that Trustee's appraisal policies run unchanged. It lives
// apart from package policy so that programs using the Go policy never link
// OPA.
//
// A policy is one Rego module in package policy (Rego v1 syntax, as Trustee
// requires) whose rule trust_claims is an object of AR4SI category names
// ("executables", "hardware", ...) to integer trust claims. Its input is
// what Trustee gives the policy of the component's class (Input): for a CPU
// TEE the claims nested under the format's name, with report_data and
// init_data at the top; for an NVIDIA GPU or switch {"nvidia": <that
// device's claims>} in NVIDIA's flat EAT layout; for a protected-PCIe
// topology {"nvidia": {"gpu_count", "switch_count"}}. Trustee's four default
// policies (DefaultPolicies) run unchanged; a Set looks up the policy of
// each class as Trustee does ("<id>_cpu", "<id>_gpu", ...), and an Engine
// compiles policies by id for a service (attest serve --policy-engine rego).
//
// Reference values reach the policy two ways. The builtin
// query_reference_value(name), which Trustee's current policies call, returns
// the values of name that have not expired at the appraisal time, as an array
// of strings. When there are none the lookup is undefined, where Trustee
// returns null: both fail "x in ...", but Rego orders null below every
// number, so "svn >= null" would hold. Every lookup is listed in the result's
// checks, found or not; an argument that is not a string is a compile error,
// and any failure of the builtin fails the evaluation (strict builtin
// errors), never a silent default. The document data.reference.<name>, which
// older Trustee policies read, holds the values that never expire: a value
// with an expiry is only seen through the builtin, which checks it.
//
// Time is an input: time.now_ns returns the appraisal time
// (PolicyInput.Now). Builtins that reach the network or the host (http.send,
// net.lookup_ip_addr, opa.runtime) are not available; a policy calling them
// does not compile.
//
// To serve Rego policies, set serve.Config.PolicyEngine to an Engine: the
// service stores uploaded policies by id, compiles each before storing it,
// and recompiles them on every reference-value change.
//
// The policy can lower trust but never raise it past what attest vouches for:
// a component with unsafe switches in effect is at best warning, whatever the
// policy says.
package rego

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opa "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// Bounds of a policy and of its input.
const (
	// MaxPolicySize bounds the text of a policy module, in bytes.
	MaxPolicySize = 1 << 20
	// DefaultTimeout bounds one evaluation when the context has no earlier
	// deadline; Trustee gives up on its reference-value lookups after 10 s.
	DefaultTimeout = 10 * time.Second
	// maxInputDepth bounds the nesting of the input built from the claims.
	maxInputDepth = 32
)

// ReferenceValueBuiltin is the name of the builtin that looks up reference
// values, as Trustee's policies call it.
const ReferenceValueBuiltin = "query_reference_value"

// trustClaimsQuery is the rule whose value is the trust vector.
const trustClaimsQuery = "data.policy.trust_claims"

// deniedBuiltins reach outside the process or read the wall clock of the
// host; an appraisal depends only on its input, reference values and time.
var deniedBuiltins = map[string]bool{
	"http.send":          true,
	"net.lookup_ip_addr": true,
	"opa.runtime":        true,
}

// Policy is a Rego policy prepared for evaluation. It is immutable and safe
// for concurrent use: every appraisal evaluates the same prepared query.
type Policy struct {
	id      string
	rv      *policy.ReferenceValues
	timeout time.Duration
	query   opa.PreparedEvalQuery
}

// Option configures a Policy at construction.
type Option func(*config) error

type config struct {
	id      string
	rv      *policy.ReferenceValues
	rvSet   bool
	timeout time.Duration
}

// WithID sets the policy identifier reported in every result. The default is
// "rego-" followed by the first 16 hex digits of the SHA-256 of the module.
func WithID(id string) Option {
	return func(c *config) error {
		if strings.TrimSpace(id) == "" {
			return verify.Errorf(verify.ErrConfig, "rego: empty policy id")
		}
		c.id = id
		return nil
	}
}

// WithReferenceValues gives the policy its reference values, served by
// query_reference_value and data.reference. Without it the policy has none:
// every lookup is undefined.
func WithReferenceValues(rv *policy.ReferenceValues) Option {
	return func(c *config) error {
		if rv == nil {
			return verify.Errorf(verify.ErrConfig, "rego: nil reference values")
		}
		if c.rvSet {
			return verify.Errorf(verify.ErrConfig, "rego: reference values given twice")
		}
		c.rv, c.rvSet = rv, true
		return nil
	}
}

// WithTimeout bounds one evaluation (default DefaultTimeout); an earlier
// context deadline wins. It must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return verify.Errorf(verify.ErrConfig, "rego: timeout %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// New compiles module, the text of one Rego v1 module in package policy that
// defines trust_claims, and prepares it for evaluation. A module that does
// not parse or compile is an ErrConfig error carrying the compiler's
// message; so is one in another package or without trust_claims, which
// could never set a trust claim.
func New(ctx context.Context, module string, opts ...Option) (*Policy, error) {
	c := config{timeout: DefaultTimeout}
	for _, o := range opts {
		if o == nil {
			return nil, verify.Errorf(verify.ErrConfig, "rego: nil option")
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if len(module) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "rego: empty policy module")
	}
	if len(module) > MaxPolicySize {
		return nil, verify.Errorf(verify.ErrLimit, "rego: policy module of %d bytes exceeds %d", len(module), MaxPolicySize)
	}
	sum := sha256.Sum256([]byte(module))
	if c.id == "" {
		c.id = "rego-" + hex.EncodeToString(sum[:8])
	}
	file := c.id + ".rego"
	parsed, err := ast.ParseModuleWithOpts(file, module, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy %s does not parse: %w", c.id, err)
	}
	if got := parsed.Package.Path.String(); got != "data.policy" {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy %s is in package %s, want package policy", c.id, strings.TrimPrefix(got, "data."))
	}
	if !definesRule(parsed, "trust_claims") {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy %s defines no trust_claims rule", c.id)
	}

	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if !deniedBuiltins[b.Name] {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept

	store := inmem.NewFromObject(map[string]any{"reference": staticReference(c.rv)})
	q, err := opa.New(
		opa.Query(trustClaimsQuery),
		opa.ParsedModule(parsed),
		opa.Store(store),
		opa.Capabilities(caps),
		opa.StrictBuiltinErrors(true),
		opa.Function1(&opa.Function{
			Name:             ReferenceValueBuiltin,
			Decl:             types.NewFunction(types.Args(types.S), types.A),
			Memoize:          true,
			Nondeterministic: true,
		}, lookupBuiltin(c.rv)),
	).PrepareForEval(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, verify.Errorf(verify.ErrCanceled, "rego: preparing policy %s: %w", c.id, err)
		}
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy %s does not compile: %w", c.id, err)
	}
	return &Policy{id: c.id, rv: c.rv, timeout: c.timeout, query: q}, nil
}

// ID returns the policy identifier.
func (p *Policy) ID() string { return p.id }

func definesRule(m *ast.Module, name string) bool {
	for _, r := range m.Rules {
		if r.Head.Name.String() == name || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.Compare(ast.Var(name)) == 0) {
			return true
		}
	}
	return false
}

// never is a time after every expiry a reference value can carry in
// practice: the values Lookup returns at it are those without an expiry.
var never = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// staticReference builds data.reference: the values that never expire.
func staticReference(rv *policy.ReferenceValues) map[string]any {
	out := map[string]any{}
	for _, n := range rv.Names() {
		vs := rv.Lookup(n, never)
		if len(vs) == 0 {
			continue
		}
		arr := make([]any, len(vs))
		for i, v := range vs {
			arr[i] = v
		}
		out[n] = arr
	}
	return out
}

// evalKey carries the per-appraisal state of the lookup builtin.
type evalKey struct{}

// evalState is what one appraisal's lookups read and record.
type evalState struct {
	now time.Time
	mu  sync.Mutex
	// looked maps each name looked up to the number of values found.
	looked map[string]int
	order  []string
}

func (s *evalState) record(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.looked[name]; !seen {
		s.order = append(s.order, name)
	}
	s.looked[name] = n
}

func lookupBuiltin(rv *policy.ReferenceValues) opa.Builtin1 {
	return func(bctx opa.BuiltinContext, arg *ast.Term) (*ast.Term, error) {
		name, ok := arg.Value.(ast.String)
		if !ok {
			return nil, fmt.Errorf("%s: argument is %s, want a string", ReferenceValueBuiltin, ast.ValueName(arg.Value))
		}
		st, _ := bctx.Context.Value(evalKey{}).(*evalState)
		if st == nil {
			// Only Appraise evaluates the query; a lookup without its
			// state has no time to check expiry against.
			return nil, fmt.Errorf("%s(%q): no appraisal time", ReferenceValueBuiltin, string(name))
		}
		vs := rv.Lookup(string(name), st.now)
		st.record(string(name), len(vs))
		if len(vs) == 0 {
			// Undefined, not Trustee's null: Rego orders null below
			// every number, so "svn >= query_reference_value(min)"
			// would hold for a missing minimum. Undefined makes every
			// expression using the lookup undefined, so its rule fails.
			return nil, nil
		}
		terms := make([]*ast.Term, len(vs))
		for i, v := range vs {
			terms[i] = ast.StringTerm(v)
		}
		return ast.ArrayTerm(terms...), nil
	}
}

// Appraise evaluates the policy on in. The trust vector is trust_claims;
// an undefined trust_claims sets no claim (status none), as in Trustee. A
// trust_claims that is not an object of AR4SI names to integers in -128..127
// is an ErrPolicy error, never a guess. Evaluation is bounded by the
// context's deadline and the policy's timeout (ErrCanceled).
func (p *Policy) Appraise(ctx context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
	if p == nil || p.timeout <= 0 {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy not built by New")
	}
	if err := ctx.Err(); err != nil {
		return nil, verify.Errorf(verify.ErrCanceled, "rego: policy %s: %w", p.id, err)
	}
	if in.Now.IsZero() {
		return nil, verify.Errorf(verify.ErrConfig, "rego: policy %s: no appraisal time", p.id)
	}
	input, err := jsonValue(Input(in), 0)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "rego: policy %s: input: %w", p.id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	st := &evalState{now: in.Now, looked: map[string]int{}}
	ctx = context.WithValue(ctx, evalKey{}, st)

	// time.now_ns is the appraisal time, never the host clock.
	rs, err := p.query.Eval(ctx, opa.EvalInput(input), opa.EvalTime(in.Now))
	if err != nil {
		if ctx.Err() != nil || isCancel(err) {
			return nil, verify.Errorf(verify.ErrCanceled, "rego: policy %s: evaluation stopped: %w", p.id, err)
		}
		return nil, verify.Errorf(verify.ErrPolicy, "rego: policy %s: evaluation failed: %w", p.id, err)
	}

	res := &verify.PolicyResult{PolicyID: p.id}
	for _, name := range st.order {
		res.Checks = append(res.Checks, lookupCheck(p.rv, name, st.looked[name], in.Now))
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		res.Checks = append(res.Checks, verify.Check{
			ID: "rego.trust_claims", Title: "policy sets trust_claims",
			Reason: "trust_claims is undefined: no claim set",
		})
	} else {
		tv, checks, err := trustVector(rs[0].Expressions[0].Value)
		if err != nil {
			return nil, verify.Errorf(verify.ErrPolicy, "rego: policy %s: %w", p.id, err)
		}
		res.TrustVector = tv
		res.Checks = append(res.Checks, checks...)
	}
	capUnsafe(res, in.Unsafe)
	return res, nil
}

func isCancel(err error) bool {
	var te *topdown.Error
	return errors.As(err, &te) && te.Code == topdown.CancelErr
}

func lookupCheck(rv *policy.ReferenceValues, name string, found int, now time.Time) verify.Check {
	c := verify.Check{
		ID: "rego.reference_value." + name, Title: "reference value " + name + " looked up",
		Expected: "at least one unexpired value", Actual: strconv.Itoa(found) + " values",
		OK: found > 0,
	}
	switch {
	case found > 0:
		c.Reason = "the policy compared claims with these values"
	case len(rv.Expired(name, now)) > 0:
		c.Reason = "every value has expired: the lookup was undefined"
	default:
		c.Reason = "no such reference value: the lookup was undefined"
	}
	return c
}

// trustVector reads trust_claims: an object of AR4SI names to integers.
func trustVector(v any) (ear.TrustVector, []verify.Check, error) {
	var tv ear.TrustVector
	obj, ok := v.(map[string]any)
	if !ok {
		return tv, nil, fmt.Errorf("trust_claims is %T, want an object", v)
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	checks := make([]verify.Check, 0, len(names))
	for _, k := range names {
		cat, ok := ear.ParseCategory(k)
		if !ok {
			return tv, nil, fmt.Errorf("trust_claims key %q is no AR4SI category", k)
		}
		n, ok := obj[k].(json.Number)
		if !ok {
			return tv, nil, fmt.Errorf("trust_claims %q is %T, want an integer", k, obj[k])
		}
		i, err := n.Int64()
		if err != nil || i < math.MinInt8 || i > math.MaxInt8 {
			return tv, nil, fmt.Errorf("trust_claims %q is %s, want an integer in -128..127", k, n)
		}
		tv[cat] = ear.TrustClaim(i)
		checks = append(checks, verify.Check{
			ID: "rego.trust_claims." + k, Title: "policy's " + k + " claim",
			Actual: n.String(), OK: tv[cat].Tier() == ear.StatusAffirming,
			Reason: "set by " + trustClaimsQuery, Category: cat, Value: tv[cat],
		})
	}
	return tv, checks, nil
}

// capUnsafe keeps a component with unsafe switches from affirming, as the
// Go policy does: configuration becomes unsafe, and instance identity,
// which rests on the binding the switches may have skipped, is not
// asserted.
func capUnsafe(res *verify.PolicyResult, unsafe []verify.UnsafeSwitch) {
	names := verify.UnsafeNames(unsafe)
	c := verify.Check{ID: "unsafe", Title: "no unsafe switch in effect", Expected: "none", Category: ear.Configuration}
	if len(names) == 0 {
		c.OK = true
		res.Checks = append(res.Checks, c)
		return
	}
	c.Actual = strings.Join(names, ", ")
	c.Reason = "unsafe switches make the result unfit for production"
	tv := &res.TrustVector
	if tv[ear.Configuration].Tier() < ear.StatusWarning {
		tv[ear.Configuration] = ear.UnsafeConfig
		c.Value = ear.UnsafeConfig
	} else {
		c.Value = tv[ear.Configuration]
	}
	if tv[ear.InstanceIdentity].Tier() == ear.StatusAffirming {
		tv[ear.InstanceIdentity] = ear.NoClaim
	}
	res.Checks = append(res.Checks, c)
}

// jsonValue converts claims into values OPA reads as JSON, as Trustee
// renders them: byte strings as lower-case hex, times as RFC 3339, numbers
// in decimal. Nesting is bounded.
func jsonValue(v any, depth int) (any, error) {
	if depth > maxInputDepth {
		return nil, fmt.Errorf("claims nest deeper than %d", maxInputDepth)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := jsonValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := jsonValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case string, bool, json.Number:
		return x, nil
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case float32:
		return json.Number(strconv.FormatFloat(float64(x), 'g', -1, 32)), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return json.Number(fmt.Sprintf("%d", x)), nil
	}
	if t, ok := policy.Text(v); ok {
		return t, nil
	}
	// Other values (structs a verifier may keep) take their JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("claim of type %T: %w", v, err)
	}
	var out any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, fmt.Errorf("claim of type %T: %w", v, err)
	}
	return jsonValue(out, depth+1)
}
