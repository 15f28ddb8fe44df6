package verify

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/internal/buildid"
)

// Default bounds of one composite appraisal.
const (
	DefaultMaxComponents   = 64       // submodules, after splitting multi-device evidence
	DefaultMaxEvidenceSize = 4 << 20  // bytes per component
	DefaultMaxTotalSize    = 32 << 20 // bytes across all components
)

// DefaultVerifierID identifies attest in the results it issues: the
// project, and the build (module version, commit and Go version, as
// "attest version" prints them), so a relying party can tell which verifier
// appraised the evidence.
func DefaultVerifierID() ear.VerifierID {
	return ear.VerifierID{Developer: "https://github.com/trustfactory/attest", Build: buildid.Read().String()}
}

// Appraiser verifies the components of a composite attestation (a CPU TEE and
// any number of GPUs and switches) in parallel, appraises each with its
// policy and combines them into one EAR result. It is immutable after
// NewAppraiser and safe for concurrent use.
type Appraiser struct {
	reg        *Registry
	policy     Policy
	byFormat   map[Format]Policy
	maxComps   int
	maxSize    int
	maxTotal   int
	workers    int
	verifierID ear.VerifierID
	profile    string
	annotate   bool
	checks     bool
	required   map[Format]int
	log        *slog.Logger
	ttl        time.Duration
}

// WithPolicy returns a copy of a that appraises with p instead of a's
// default policy; the per-format policies of WithFormatPolicy still take
// precedence for their formats. The copy shares a's registry and settings and
// costs one allocation, so a policy can be chosen per call. A nil p is an
// ErrConfig error.
func (a *Appraiser) WithPolicy(p Policy) (*Appraiser, error) {
	if isNil(p) {
		return nil, Errorf(ErrConfig, "nil policy")
	}
	c := *a // the maps are never written after NewAppraiser: sharing them is safe
	c.policy = p
	return &c, nil
}

// policies are the policies of one appraisal, each PolicySnapshotter read
// once.
type policies struct {
	def      Policy
	byFormat map[Format]Policy
}

// snapshot resolves a's policies for one appraisal.
func (a *Appraiser) snapshot() (policies, error) {
	ps := policies{def: a.policy, byFormat: a.byFormat}
	resolve := func(p Policy) (Policy, error) {
		s, ok := p.(PolicySnapshotter)
		if !ok {
			return p, nil
		}
		q := s.Snapshot()
		if isNil(q) {
			return nil, Errorf(ErrConfig, "policy snapshot of %T is nil", p)
		}
		return q, nil
	}
	var err error
	if ps.def, err = resolve(a.policy); err != nil {
		return policies{}, err
	}
	cloned := false
	for f, p := range a.byFormat {
		if _, ok := p.(PolicySnapshotter); !ok {
			continue
		}
		if !cloned { // a's map is shared by concurrent appraisals: never write it
			ps.byFormat, cloned = maps.Clone(a.byFormat), true
		}
		if ps.byFormat[f], err = resolve(p); err != nil {
			return policies{}, err
		}
	}
	return ps, nil
}

// AppraiserOption configures an Appraiser.
type AppraiserOption func(*Appraiser) error

// WithFormatPolicy appraises components of format f with p instead of the
// default policy.
func WithFormatPolicy(f Format, p Policy) AppraiserOption {
	return func(a *Appraiser) error {
		if isNil(p) {
			return Errorf(ErrConfig, "nil policy (%T) for format %q", p, f)
		}
		a.byFormat[f] = p
		return nil
	}
}

// WithLimits bounds the work of one appraisal: the number of submodules (after
// splitting), the evidence size per component and in total. Zero keeps a default.
func WithLimits(maxComponents, maxEvidenceSize, maxTotalSize int) AppraiserOption {
	return func(a *Appraiser) error {
		if maxComponents < 0 || maxEvidenceSize < 0 || maxTotalSize < 0 {
			return Errorf(ErrConfig, "negative limit: %d components, %d bytes, %d bytes total", maxComponents, maxEvidenceSize, maxTotalSize)
		}
		if maxComponents > 0 {
			a.maxComps = maxComponents
		}
		if maxEvidenceSize > 0 {
			a.maxSize = maxEvidenceSize
		}
		if maxTotalSize > 0 {
			a.maxTotal = maxTotalSize
		}
		return nil
	}
}

// WithConcurrency sets how many components are verified at once (default
// GOMAXPROCS).
func WithConcurrency(n int) AppraiserOption {
	return func(a *Appraiser) error {
		if n < 1 {
			return Errorf(ErrConfig, "concurrency %d: expected at least 1", n)
		}
		a.workers = n
		return nil
	}
}

// WithVerifierID sets the ear_verifier_id of the results.
func WithVerifierID(id ear.VerifierID) AppraiserOption {
	return func(a *Appraiser) error {
		if id.Developer == "" || id.Build == "" {
			return Errorf(ErrConfig, "verifier id: developer %q and build %q are both required", id.Developer, id.Build)
		}
		a.verifierID = id
		return nil
	}
}

// WithProfile sets the EAT profile of the results (ear.ProfileIETF03 by
// default; ear.ProfileTrustee for a Trustee KBS).
func WithProfile(profile string) AppraiserOption {
	return func(a *Appraiser) error {
		if _, ok := ear.ProfileGeneration(profile); !ok {
			return Errorf(ErrConfig, "unknown EAT profile %q", profile)
		}
		a.profile = profile
		return nil
	}
}

// WithAnnotatedEvidence puts each component's verified claims in its
// appraisal's annotated evidence (as Trustee does). On by default; turn it
// off to keep tokens for many devices small.
func WithAnnotatedEvidence(on bool) AppraiserOption {
	return func(a *Appraiser) error { a.annotate = on; return nil }
}

// WithChecks puts each appraisal's explained checks in the token as the
// attest_checks extension. Off by default: the checks are always in the
// Outcome.
func WithChecks(on bool) AppraiserOption {
	return func(a *Appraiser) error { a.checks = on; return nil }
}

// WithRequired demands at least n components of format f: fewer make the
// result contraindicated, because absent evidence is no wildcard.
func WithRequired(f Format, n int) AppraiserOption {
	return func(a *Appraiser) error {
		if n < 0 {
			return Errorf(ErrConfig, "required %s components: %d", f, n)
		}
		a.required[f] = n
		return nil
	}
}

// WithResultLifetime sets the result's expiry relative to its issue time
// (default 5 minutes); zero leaves the result without expiry.
func WithResultLifetime(d time.Duration) AppraiserOption {
	return func(a *Appraiser) error {
		if d < 0 {
			return Errorf(ErrConfig, "negative result lifetime %v", d)
		}
		a.ttl = d
		return nil
	}
}

// WithLogger logs each component's outcome at debug level. Silent by default.
func WithLogger(l *slog.Logger) AppraiserOption {
	return func(a *Appraiser) error { a.log = l; return nil }
}

// NewAppraiser returns an appraiser that verifies evidence with the verifiers
// of reg and appraises claims with p (and the per-format policies of the
// options).
func NewAppraiser(reg *Registry, p Policy, opts ...AppraiserOption) (*Appraiser, error) {
	if reg == nil {
		return nil, Errorf(ErrConfig, "nil registry")
	}
	// A typed nil (a nil *policy.Policy in the interface) is no policy
	// either: it would panic in every appraisal.
	if isNil(p) {
		return nil, Errorf(ErrConfig, "nil policy (%T)", p)
	}
	a := &Appraiser{
		reg: reg, policy: p, byFormat: map[Format]Policy{},
		maxComps: DefaultMaxComponents, maxSize: DefaultMaxEvidenceSize, maxTotal: DefaultMaxTotalSize,
		workers: runtime.GOMAXPROCS(0), verifierID: DefaultVerifierID(), profile: ear.ProfileIETF03,
		annotate: true, required: map[Format]int{}, ttl: 5 * time.Minute,
	}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// SubmodOutcome is everything known about one submodule of a composite
// appraisal: either a verification error or claims with their appraisal.
type SubmodOutcome struct {
	Name      string
	Format    Format
	Err       error         // verification (or policy) error; nil on success
	Claims    Claims        // nil when Err is set
	Policy    *PolicyResult // nil when verification failed
	Appraisal *ear.Appraisal

	claimMap map[string]any // Claims.Map(), built once and shared read-only
}

// ClaimMap returns the flat claims the policy appraised (nil when
// verification failed). The map is shared: do not modify it.
func (s *SubmodOutcome) ClaimMap() map[string]any { return s.claimMap }

// Outcome is the result of a composite appraisal: the EAR result and, per
// submodule, the claims and the explained checks behind it.
type Outcome struct {
	Result  *ear.Result
	Submods []*SubmodOutcome // in submodule order
}

// Status is the overall status of the result.
func (o *Outcome) Status() ear.Status { return o.Result.OverallStatus() }

// Appraise verifies and appraises comps and returns the EAR result. See
// AppraiseOutcome for the details behind it.
func (a *Appraiser) Appraise(ctx context.Context, comps []Component) (*ear.Result, error) {
	o, err := a.AppraiseOutcome(ctx, comps)
	if err != nil {
		return nil, err
	}
	return o.Result, nil
}

// unit is one submodule to verify: a component or one device split from it.
type unit struct {
	name     string
	format   Format
	evidence []byte
	expect   Expectations
	err      error // set when the unit failed before verification
}

// AppraiseOutcome verifies every component in parallel, appraises each with
// its policy, and combines them. A component that fails verification becomes a
// contraindicated submodule carrying the failure's trust claims and its error
// text; the overall status is never better than the worst submodule. Errors
// are returned only for requests that cannot be appraised at all (no
// components, limits exceeded, duplicate names, cancelled context: ErrCanceled).
//
// Submodules without a Name are named by their verifier's class
// (SubmodClasser) and order: cpu0 for TDX, SNP and TPM evidence, gpu0, gpu1,
// … for GPUs, switch0, … for NVSwitches, device0, … for verifiers without a
// class.
// Evidence whose verifier is a Splitter becomes one submodule per device.
// A component without Expectations.ReportData (and without
// AllowMissingReportDataUnsafe) fails with ErrConfig before its verifier
// runs, whatever the verifier would do: the policy's instance-identity
// claim stands for the binding.
// A device counts once: submodules whose claims name the same EAT "ueid",
// through one format or two (an NVIDIA GPU verified locally and through
// NRAS), all fail (ErrMalformed).
// The issue time is the first component's verification time.
//
// The result carries no eat_nonce and no TEE key: AppraiseSession is the
// same appraisal told its session.
func (a *Appraiser) AppraiseOutcome(ctx context.Context, comps []Component) (*Outcome, error) {
	return a.appraise(ctx, nil, comps)
}

// AppraiseSession is AppraiseOutcome for an appraisal that answers session
// s, whose components' Expectations.ReportData were derived from it (as
// binding.Expect derives them from KBS runtime data):
//
//   - the result's eat_nonce is s.Nonce, when every component was verified
//     against a non-empty report data; one left unbound (with
//     AllowMissingReportDataUnsafe) leaves the result without eat_nonce, so
//     a relying party's nonce check fails closed;
//   - s.TEEPubKey, when set, becomes the attest_tee_pubkey extension of
//     every submodule that verified against a non-empty report data, where
//     token.BoundKey and token.CheckKeyBinding find it. A submodule that
//     failed or was not bound gets none: nothing proved its evidence holds
//     the key.
//
// An invalid session (a nonce outside 8–64 bytes, a key that is no JWK
// object) is an ErrConfig error.
func (a *Appraiser) AppraiseSession(ctx context.Context, s Session, comps []Component) (*Outcome, error) {
	return a.appraise(ctx, &s, comps)
}

// appraise is AppraiseOutcome, told the session when sess is not nil.
func (a *Appraiser) appraise(ctx context.Context, sess *Session, comps []Component) (*Outcome, error) {
	var teeKey map[string]any
	if sess != nil {
		var err error
		if teeKey, err = sess.check(); err != nil {
			return nil, err
		}
	}
	if len(comps) == 0 {
		return nil, Errorf(ErrConfig, "no components to appraise")
	}
	pols, err := a.snapshot()
	if err != nil {
		return nil, err
	}
	if len(comps) > a.maxComps {
		return nil, Errorf(ErrLimit, "%d components, limit %d", len(comps), a.maxComps)
	}
	total := 0
	for i, c := range comps {
		if len(c.Evidence) > a.maxSize {
			return nil, Errorf(ErrLimit, "component %d (%s): evidence of %d bytes, limit %d", i, c.Name, len(c.Evidence), a.maxSize)
		}
		total += len(c.Evidence)
	}
	if total > a.maxTotal {
		return nil, Errorf(ErrLimit, "evidence of %d bytes in total, limit %d", total, a.maxTotal)
	}
	// Helpers for the components start before the evidence is split, so
	// that waking an idle thread overlaps that work instead of delaying the
	// first unit; helpers for the devices splitting adds start after it. No
	// more start than there are units. The caller works too, and waits only
	// for units a helper has taken, never for a helper to start: on a busy
	// machine a helper whose thread is not scheduled in time finds nothing
	// left, returns, and has cost the appraisal nothing.
	//
	// Each unit is two tasks: its verification (the signature checks: long)
	// and its appraisal (claims and policy: short). Workers take every
	// verification before any appraisal, so that the short tasks come last
	// and fill the time one worker would otherwise wait for another's last
	// verification: the workers finish together, whichever started late.
	// No worker ever waits for a task; the caller alone waits, at the end,
	// for the tasks others have taken.
	var (
		units    []unit
		out      []*SubmodOutcome
		verified []verifiedUnit // each unit's verification, set before it is queued
		next     atomic.Int64   // the next unit to verify
		left     atomic.Int64   // units not yet appraised
		done     chan struct{}  // closed when the last unit is appraised
		mu       sync.Mutex     // guards queue
		queue    []int          // verified units not yet appraised
	)
	// appraiseQueued appraises a verified unit, if one is queued. A unit
	// whose context has ended is neither verified nor appraised (the
	// appraisal fails as cancelled).
	appraiseQueued := func() bool {
		mu.Lock()
		if len(queue) == 0 {
			mu.Unlock()
			return false
		}
		j := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		mu.Unlock()
		if ctx.Err() == nil {
			out[j] = a.appraiseUnit(ctx, pols, units[j], verified[j])
		}
		if left.Add(-1) == 0 {
			close(done)
		}
		return true
	}
	work := func() {
		for {
			if i := int(next.Add(1)) - 1; i < len(units) {
				if ctx.Err() == nil {
					verified[i] = a.verifyUnit(ctx, units[i])
				}
				mu.Lock()
				queue = append(queue, i)
				mu.Unlock()
				continue
			}
			if !appraiseQueued() {
				return
			}
		}
	}
	early := min(a.workers, len(comps)) - 1
	ready := make(chan struct{})
	for range early {
		go func() {
			<-ready
			work()
		}()
	}
	units, err = a.expand(comps)
	if err != nil {
		units = nil // the early helpers find nothing to do
		close(ready)
		return nil, err
	}
	now := comps[0].Expect.Time()
	out = make([]*SubmodOutcome, len(units))
	verified = make([]verifiedUnit, len(units))
	queue = make([]int, 0, len(units))
	done = make(chan struct{})
	left.Store(int64(len(units)))
	close(ready)
	for range min(a.workers, len(units)) - 1 - early {
		go work()
	}
	work()
	if len(units) > 0 {
		<-done
	}
	if err := Canceled(ctx, "appraisal"); err != nil {
		return nil, err
	}
	a.checkSets(units, out)
	a.checkDevicesOnce(units, out)

	res := ear.NewResult(a.verifierID, now)
	res.Profile = a.profile
	if a.ttl > 0 {
		res.ExpiresAt = res.IssuedAt.Add(a.ttl)
	}
	var unsafe []string
	for _, so := range out {
		res.Submods[so.Name] = so.Appraisal
		if u, ok := so.Appraisal.Extensions[ear.ExtUnsafeName].([]string); ok {
			for _, n := range u { // each switch once, however many submodules had it
				if !slices.Contains(unsafe, n) {
					unsafe = append(unsafe, n)
				}
			}
		}
	}
	if missing := a.missing(units); missing != "" {
		name := "composite"
		for i := 1; res.Submods[name] != nil; i++ {
			name = "composite" + strconv.Itoa(i)
		}
		so := a.failed(unit{name: name}, Errorf(ErrPolicy, "%s", missing))
		res.Submods[so.Name] = so.Appraisal
		out = append(out, so)
	}
	if len(unsafe) > 0 {
		res.Extensions = map[string]any{ear.ExtUnsafeName: unsafe}
	}
	if sess != nil {
		// The nonce says the result answers the session: only when every
		// component was verified against report data (derived from it).
		bound := true
		for _, u := range units {
			bound = bound && len(u.expect.ReportData) > 0
		}
		if bound {
			res.Nonce = slices.Clone(sess.Nonce)
		}
		if teeKey != nil {
			for i, u := range units {
				so := out[i]
				if so.Err != nil || len(u.expect.ReportData) == 0 {
					continue
				}
				if so.Appraisal.Extensions == nil {
					so.Appraisal.Extensions = map[string]any{}
				}
				// Each submodule gets its own copy: callers (kbs) rewrite
				// appraisals one by one.
				so.Appraisal.Extensions[ear.ExtTEEPubKeyName] = maps.Clone(teeKey)
			}
		}
	}
	res.UpdateStatus()
	return &Outcome{Result: res, Submods: out}, nil
}

// expand names the components and splits multi-device evidence.
func (a *Appraiser) expand(comps []Component) ([]unit, error) {
	var units []unit
	for _, c := range comps {
		f := c.Format
		var ferr error
		if f == "" {
			f, ferr = a.reg.Detect(c.Evidence)
		}
		if ferr != nil {
			units = append(units, unit{name: c.Name, format: f, expect: c.Expect, err: ferr})
			continue
		}
		v, ok := a.reg.Lookup(f)
		if !ok {
			units = append(units, unit{name: c.Name, format: f, expect: c.Expect,
				err: Errorf(ErrUnsupported, "no verifier for format %q (have %v)", f, a.reg.Formats())})
			continue
		}
		s, ok := v.(Splitter)
		if !ok {
			units = append(units, unit{name: c.Name, format: f, evidence: c.Evidence, expect: c.Expect})
			continue
		}
		parts, err := s.Split(c.Evidence)
		if err != nil {
			units = append(units, unit{name: c.Name, format: f, expect: c.Expect, err: err})
			continue
		}
		if len(parts) == 0 {
			units = append(units, unit{name: c.Name, format: f, expect: c.Expect,
				err: Errorf(ErrMalformed, "%s evidence holds no device", f)})
			continue
		}
		if len(units)+len(parts) > a.maxComps {
			return nil, Errorf(ErrLimit, "more than %d submodules after splitting %s evidence into %d devices", a.maxComps, f, len(parts))
		}
		for i, p := range parts {
			name := c.Name
			if name != "" && len(parts) > 1 {
				name += strconv.Itoa(i)
			}
			units = append(units, unit{name: name, format: f, evidence: p, expect: c.Expect})
		}
	}
	if len(units) > a.maxComps {
		return nil, Errorf(ErrLimit, "%d submodules, limit %d", len(units), a.maxComps)
	}
	counters := map[string]int{}
	seen := map[string]bool{}
	for i := range units {
		if units[i].name != "" {
			seen[units[i].name] = true
		}
	}
	for i := range units {
		if units[i].name != "" {
			continue
		}
		class := a.reg.SubmodClass(units[i].format)
		for {
			n := class + strconv.Itoa(counters[class])
			counters[class]++
			if !seen[n] {
				units[i].name = n
				seen[n] = true
				break
			}
		}
	}
	names := map[string]bool{}
	for _, u := range units {
		if names[u.name] {
			return nil, Errorf(ErrConfig, "two submodules named %q", u.name)
		}
		names[u.name] = true
	}
	return units, nil
}

// checkSets gives the verified submodules of each format whose verifier is a
// SetChecker to CheckSet, and fails them all when the set is refused: which
// of two copies of a device is the impostor cannot be told.
func (a *Appraiser) checkSets(units []unit, out []*SubmodOutcome) {
	byFormat := map[Format][]int{}
	var formats []Format
	for i, so := range out {
		if so.Err != nil || so.Claims == nil {
			continue
		}
		if _, seen := byFormat[so.Format]; !seen {
			formats = append(formats, so.Format)
		}
		byFormat[so.Format] = append(byFormat[so.Format], i)
	}
	for _, f := range formats {
		v, _ := a.reg.Lookup(f)
		sc, ok := v.(SetChecker)
		if !ok {
			continue
		}
		idx := byFormat[f]
		claims := make([]Claims, len(idx))
		for k, i := range idx {
			claims[k] = out[i].Claims
		}
		err := a.checkSet(sc, claims)
		if err == nil {
			continue
		}
		names := make([]string, len(idx))
		for k, i := range idx {
			names[k] = out[i].Name
		}
		for _, i := range idx {
			out[i] = a.failed(units[i], fmt.Errorf("%s device set %v: %w", f, names, err))
		}
	}
}

// checkDevicesOnce fails every verified submodule whose claims name a
// device, by the EAT claim "ueid" (RFC 9711: the device's unique entity
// id; one per device, or one per element of "devices"), that another
// submodule names too. A SetChecker judges the devices of one format; the
// same device can also come twice through two formats (an NVIDIA GPU's
// report verified locally and NRAS's result for the same report), and would
// be counted twice: by WithRequired, by a relying party counting affirming
// GPUs. Which copy is the impostor cannot be told, so all of them fail.
func (a *Appraiser) checkDevicesOnce(units []unit, out []*SubmodOutcome) {
	var owners map[string][]int // ueid → indexes of the submodules naming it
	for i, so := range out {
		if so.Err != nil || so.claimMap == nil {
			continue
		}
		for _, id := range ueids(so.claimMap) {
			if owners == nil {
				owners = map[string][]int{}
			}
			if l := owners[id]; len(l) == 0 || l[len(l)-1] != i {
				owners[id] = append(l, i)
			}
		}
	}
	failed := map[int]error{}
	for _, id := range slices.Sorted(maps.Keys(owners)) {
		idx := owners[id]
		if len(idx) < 2 {
			continue
		}
		names := make([]string, len(idx))
		for k, i := range idx {
			names[k] = fmt.Sprintf("%s (%s)", out[i].Name, out[i].Format)
		}
		for _, i := range idx {
			if failed[i] == nil {
				failed[i] = Errorf(ErrMalformed, "ueid %s: the same device in submodules %v: each device counts once", id, names)
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(failed)) {
		out[i] = a.failed(units[i], failed[i])
	}
}

// ueids returns the "ueid" claims of a claim map: its own, or those of the
// elements of its "devices" list (multi-device claims).
func ueids(m map[string]any) []string {
	if id, ok := m["ueid"].(string); ok && id != "" {
		return []string{id}
	}
	devs, _ := m["devices"].([]any)
	var out []string
	for _, d := range devs {
		if dm, ok := d.(map[string]any); ok {
			if id, ok := dm["ueid"].(string); ok && id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// checkSet calls CheckSet, turning a panic into a refusal.
func (a *Appraiser) checkSet(sc SetChecker, claims []Claims) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Errorf(ErrConfig, "set check panicked: %v", r)
		}
	}()
	return sc.CheckSet(claims)
}

// Registry returns the registry the appraiser verifies with.
func (a *Appraiser) Registry() *Registry { return a.reg }

// Supports reports whether the appraiser's registry has a verifier for f.
func (a *Appraiser) Supports(f Format) bool {
	_, ok := a.reg.Lookup(f)
	return ok
}

func (a *Appraiser) missing(units []unit) string {
	have := map[Format]int{}
	for _, u := range units {
		have[u.format]++
	}
	for _, f := range slices.Sorted(maps.Keys(a.required)) {
		if n := a.required[f]; have[f] < n {
			return fmt.Sprintf("%d %s components required, %d present", n, f, have[f])
		}
	}
	return ""
}

// verifiedUnit is a unit's verification: its claims or why it failed.
type verifiedUnit struct {
	claims Claims
	err    error
}

// verifyUnit verifies one submodule's evidence. A verifier that panics
// fails its submodule (verifier malfunction) instead of the process.
func (a *Appraiser) verifyUnit(ctx context.Context, u unit) (v verifiedUnit) {
	defer func() {
		if r := recover(); r != nil {
			v = verifiedUnit{err: Errorf(ErrConfig, "%s: verifier or policy panicked: %v", u.format, r)}
		}
	}()
	if u.err != nil {
		return verifiedUnit{err: u.err}
	}
	// The policy's instance-identity claim says the evidence is bound to
	// this session, so the appraiser holds every verifier to the contract
	// of Expectations.ReportData itself: one that ignored an empty
	// expectation would otherwise have its unbound evidence affirmed.
	if len(u.expect.ReportData) == 0 && !u.expect.AllowMissingReportDataUnsafe {
		return verifiedUnit{err: Errorf(ErrConfig, "%s: no expected report data: set Expectations.ReportData (or AllowMissingReportDataUnsafe)", u.format)}
	}
	claims, err := a.reg.Verify(ctx, u.format, u.evidence, u.expect)
	return verifiedUnit{claims: claims, err: err}
}

// appraiseUnit appraises one verified submodule with its policy. A policy
// that panics fails its submodule instead of the process.
func (a *Appraiser) appraiseUnit(ctx context.Context, pols policies, u unit, v verifiedUnit) (so *SubmodOutcome) {
	defer func() {
		if r := recover(); r != nil {
			so = a.failed(u, Errorf(ErrConfig, "%s: verifier or policy panicked: %v", u.format, r))
		}
	}()
	if v.err != nil {
		return a.failed(u, v.err)
	}
	claims := v.claims
	p := pols.def
	if fp, ok := pols.byFormat[u.format]; ok {
		p = fp
	}
	unsafe := UnsafeSwitchesOf(claims)
	if u.expect.AllowMissingReportDataUnsafe {
		unsafe = AddUnsafe(unsafe, UnsafeMissingReportData)
	}
	m := claims.Map()
	pr, err := p.Appraise(ctx, PolicyInput{Submod: u.name, Format: u.format, Claims: m, Now: u.expect.Time(), Unsafe: unsafe})
	if err == nil && pr == nil {
		err = Errorf(ErrConfig, "policy returned no result and no error")
	}
	if err != nil {
		return a.failed(u, Errorf(ErrPolicy, "appraising %s claims: %w", u.format, err))
	}
	ap := &ear.Appraisal{TrustVector: pr.TrustVector, Extensions: map[string]any{}}
	if pr.PolicyID != "" {
		ap.PolicyIDs = []string{pr.PolicyID}
	}
	ap.StatusFromVector()
	if len(unsafe) > 0 {
		ap.Extensions[ear.ExtUnsafeName] = UnsafeNames(unsafe)
		ap.Status = ear.LeastTrusted(ap.Status, ear.StatusWarning)
	}
	if a.annotate {
		ap.AnnotatedEvidence = PolicyInput{Format: u.format, Claims: m}.Map()
	}
	if a.checks {
		ap.Extensions[ear.ExtChecksName] = ChecksJSON(pr.Checks)
	}
	if ap.Status != ear.StatusAffirming {
		if r := firstFailure(pr.Checks); r != "" {
			ap.Extensions[ear.ExtReasonName] = clipReason(r)
		}
	}
	if len(ap.Extensions) == 0 {
		ap.Extensions = nil
	}
	if a.log != nil {
		a.log.Debug("appraised", "submod", u.name, "format", u.format, "status", ap.Status.String())
	}
	return &SubmodOutcome{Name: u.name, Format: u.format, Claims: claims, Policy: pr, Appraisal: ap, claimMap: m}
}

// failed is the submodule of a component that did not verify: contraindicated,
// with the failure's trust claims and the error text as its reason.
func (a *Appraiser) failed(u unit, err error) *SubmodOutcome {
	ap := &ear.Appraisal{
		Status:      FailureStatus(err),
		TrustVector: FailureVector(err),
		Extensions:  map[string]any{ear.ExtReasonName: clipReason(err.Error())},
	}
	if a.log != nil {
		a.log.Debug("verification failed", "submod", u.name, "format", u.format, "err", err)
	}
	return &SubmodOutcome{Name: u.name, Format: u.format, Err: err, Appraisal: ap}
}

// maxReason caps the explanation a result carries. An error may quote what
// the caller sent (an unknown architecture, a name): the signed token must
// not grow with it. The full error stays in SubmodOutcome.Err.
const maxReason = 1024

// clipReason cuts s to maxReason bytes at a rune boundary, marking the cut.
func clipReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes more)", len(s)-cut)
}

func firstFailure(cs []Check) string {
	for _, c := range cs {
		if !c.OK && c.Value.Tier() != ear.StatusAffirming {
			if c.Reason != "" {
				return c.ID + ": " + c.Reason
			}
			return c.ID
		}
	}
	return ""
}

// ChecksJSON renders checks as JSON-friendly maps for the attest_checks extension.
func ChecksJSON(cs []Check) []any {
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		m := map[string]any{"id": c.ID, "ok": c.OK, "category": c.Category.String(), "value": int(c.Value)}
		if c.Claim != "" {
			m["claim"] = c.Claim
		}
		if c.Expected != "" {
			m["expected"] = c.Expected
		}
		if c.Actual != "" {
			m["actual"] = c.Actual
		}
		if c.Reason != "" {
			m["reason"] = c.Reason
		}
		out = append(out, m)
	}
	return out
}

// NotAfter returns the earliest expiry among the verified submodules' claims
// that implement ExpiringClaims (collateral, certificates, CRLs, RIMs the
// verification relied on), so that a token can be capped not to outlive its
// evidence (ok is false when no claims name one).
func (o *Outcome) NotAfter() (t time.Time, ok bool) {
	for _, s := range o.Submods {
		e, isExpiring := s.Claims.(ExpiringClaims)
		if s.Err != nil || !isExpiring {
			continue
		}
		if v, has := e.Expiry(); has && (!ok || v.Before(t)) {
			t, ok = v, true
		}
	}
	return t, ok
}
