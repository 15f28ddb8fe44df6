package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// Policy is attest's default appraisal policy: Go rules per TEE over
// reference values. It implements verify.Policy and is safe for concurrent use.
type Policy struct {
	rv *ReferenceValues
	id string
	// accepted and tolerated are the TCB status lists used when no
	// *_accepted_tcb_status / *_tolerated_tcb_status reference value is given.
	accepted, tolerated       []string
	acceptedSet, toleratedSet bool
}

// Option configures a Policy.
type Option func(*Policy) error

// WithID sets the policy identifier recorded in appraisals (default
// "attest-default/" followed by a digest of the reference values).
func WithID(id string) Option {
	return func(p *Policy) error {
		if id == "" {
			return verify.Errorf(verify.ErrConfig, "empty policy id")
		}
		p.id = id
		return nil
	}
}

// WithAcceptedTCBStatus sets the TCB statuses that yield hardware 2 (default
// DefaultAcceptedTCBStatus). A *_accepted_tcb_status reference value still
// takes precedence for its TEE. An empty list, an empty name or Revoked is
// an ErrConfig error. Without WithToleratedTCBStatus, the default tolerated
// list loses the statuses accepted here.
func WithAcceptedTCBStatus(statuses ...string) Option {
	return func(p *Policy) error {
		l, err := tcbStatusList("accepted", statuses)
		if err != nil {
			return err
		}
		p.accepted, p.acceptedSet = l, true
		return nil
	}
}

// WithToleratedTCBStatus sets the TCB statuses that yield hardware 32, a
// warning (default DefaultToleratedTCBStatus). A *_tolerated_tcb_status
// reference value still takes precedence for its TEE. An empty list, an
// empty name, Revoked, or a status also given to WithAcceptedTCBStatus is an
// ErrConfig error.
func WithToleratedTCBStatus(statuses ...string) Option {
	return func(p *Policy) error {
		l, err := tcbStatusList("tolerated", statuses)
		if err != nil {
			return err
		}
		p.tolerated, p.toleratedSet = l, true
		return nil
	}
}

func tcbStatusList(which string, statuses []string) ([]string, error) {
	if len(statuses) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "empty list of %s TCB statuses", which)
	}
	for _, s := range statuses {
		switch {
		case strings.TrimSpace(s) == "":
			return nil, verify.Errorf(verify.ErrConfig, "%s TCB statuses %q: an empty status", which, statuses)
		case strings.EqualFold(s, "Revoked"):
			return nil, verify.Errorf(verify.ErrConfig, "%s TCB statuses %q: a revoked TCB is never %s", which, statuses, which)
		}
	}
	return slices.Clone(statuses), nil
}

// New returns the default policy over rv, which it checks first (see the
// package documentation: what the rules cannot read is an ErrConfig error).
// A nil rv is allowed: no CPU TEE's measurement is then recognized, so no
// TDX, SGX, SEV-SNP, TPM, Azure or Nitro evidence is affirmed. NVIDIA GPUs
// are the exception: their measurements are appraised against the RIMs
// NVIDIA signs (the vendor's reference values, verified as collateral), so
// a GPU whose measurements, RIMs and certificates check out is affirmed
// without any local value; allowed_driver_versions, gpu_min_driver_version
// and their VBIOS counterparts restrict which firmware is.
func New(rv *ReferenceValues, opts ...Option) (*Policy, error) {
	if rv == nil {
		rv = &ReferenceValues{byName: map[string][]value{}}
	}
	if err := checkReferenceValues(rv); err != nil {
		return nil, err
	}
	p := &Policy{rv: rv}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if !p.acceptedSet {
		p.accepted = DefaultAcceptedTCBStatus()
	}
	if !p.toleratedSet {
		// Accepting a status the default tolerates is no contradiction:
		// the default gives way.
		p.tolerated = slices.DeleteFunc(DefaultToleratedTCBStatus(), func(s string) bool { return contains(p.accepted, s) })
	}
	for _, s := range p.tolerated {
		if contains(p.accepted, s) {
			return nil, verify.Errorf(verify.ErrConfig, "TCB status %s both accepted %q and tolerated %q", s, p.accepted, p.tolerated)
		}
	}
	if p.id == "" {
		p.id = "attest-default/" + rv.digest()
	}
	return p, nil
}

// ID returns the policy identifier.
func (p *Policy) ID() string { return p.id }

func (rv *ReferenceValues) digest() string {
	h := sha256.New()
	for _, n := range rv.Names() {
		for _, v := range rv.byName[n] {
			fmt.Fprintf(h, "%q=%q@%d\n", n, v.text, v.expires.Unix())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Appraise applies the rules for in.Format. An unknown format is an
// ErrUnsupported error: no rules, no trust.
func (p *Policy) Appraise(ctx context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
	if err := verify.Canceled(ctx, "policy: appraisal not started"); err != nil {
		return nil, err
	}
	if in.Claims == nil {
		return nil, verify.Errorf(verify.ErrConfig, "%s: no claims to appraise", in.Submod)
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	// Sized for the largest rule sets (TDX; GPU with both RIMs: 17 checks
	// with those of common) so that appending the checks does not
	// reallocate.
	e := &eval{in: in, rv: p.rv, now: in.Now, accepted: p.accepted, tolerated: p.tolerated, checks: make([]verify.Check, 0, 20)}
	switch in.Format {
	case verify.FormatTDX:
		e.tdx()
	case verify.FormatSNP:
		e.snp()
	case verify.FormatGPU, verify.FormatNRASGPU:
		e.gpu(gpuKeys)
	case verify.FormatNVSwitch, verify.FormatNRASSwitch:
		e.gpu(switchKeys)
	case verify.FormatTPM:
		e.tpm()
	case verify.FormatAzureSNP:
		e.azureSNP()
	case verify.FormatAzureTDX:
		e.azureTDX()
	case verify.FormatNitro:
		e.nitro()
	case verify.FormatSGX:
		e.sgx()
	default:
		return nil, verify.Errorf(verify.ErrUnsupported, "no policy rules for evidence format %q", in.Format)
	}
	e.common()
	if e.err != nil {
		return nil, e.err
	}
	return &verify.PolicyResult{PolicyID: p.id, TrustVector: e.vector, Checks: e.checks}, nil
}

// eval accumulates the checks of one appraisal. Every category takes the
// worst value any rule proposes for it.
type eval struct {
	in     verify.PolicyInput
	rv     *ReferenceValues
	now    time.Time
	vector ear.TrustVector
	checks []verify.Check
	// accepted and tolerated are the Policy's TCB status lists (read only).
	accepted, tolerated []string
	err                 error // a reference value the rules cannot use: the policy is misconfigured
}

func (e *eval) badReference(rvName, v, want string) {
	if e.err == nil {
		e.err = verify.Errorf(verify.ErrConfig, "reference value %s %q: expected %s", rvName, v, want)
	}
}

// rank orders claim values by the trust they convey; lower is worse.
func rank(c ear.TrustClaim) int {
	switch c.Tier() {
	case ear.StatusContraindicated:
		return 0
	case ear.StatusWarning:
		return 1
	case ear.StatusNone:
		if c == ear.NoClaim {
			return 4
		}
		return 2
	}
	return 3
}

func (e *eval) add(c verify.Check) {
	e.checks = append(e.checks, c)
	if c.Value == ear.NoClaim {
		return
	}
	cur := e.vector[c.Category]
	if cur == ear.NoClaim || rank(c.Value) < rank(cur) || (rank(c.Value) == rank(cur) && abs(c.Value) > abs(cur)) {
		e.vector[c.Category] = c.Value
	}
}

func abs(c ear.TrustClaim) int {
	if c < 0 {
		return -int(c)
	}
	return int(c)
}

// claim returns the first present key of keys and its text.
func (e *eval) claim(keys ...string) (key, text string, ok bool) {
	for _, k := range keys {
		if v, present := lookupPath(e.in.Claims, k); present {
			t, isText := Text(v)
			return k, t, isText
		}
	}
	return keys[0], "", false
}

// lookupPath finds key in m; a key with "/" walks nested maps
// ("x-nvidia-gpu-attestation-report-cert-chain/x-nvidia-cert-ocsp-status").
func lookupPath(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	head, rest, nested := strings.Cut(key, "/")
	if !nested {
		return nil, false
	}
	sub, ok := m[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookupPath(sub, rest)
}

// claimBool returns a boolean claim; text "true"/"false" also counts.
func (e *eval) claimBool(keys ...string) (key string, val, ok bool) {
	k, t, ok := e.claim(keys...)
	if !ok {
		return k, false, false
	}
	switch strings.ToLower(t) {
	case "true":
		return k, true, true
	case "false":
		return k, false, true
	}
	return k, false, false
}

func equalText(a, b string) bool {
	return strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(a, "0x"), "0X"), strings.TrimPrefix(strings.TrimPrefix(b, "0x"), "0X"))
}

func contains(set []string, v string) bool {
	for _, s := range set {
		if equalText(s, v) {
			return true
		}
	}
	return false
}

func setText(vs []string) string {
	const max = 4
	if len(vs) > max {
		return "one of [" + strings.Join(vs[:max], ", ") + fmt.Sprintf(", … %d more]", len(vs)-max)
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return "one of [" + strings.Join(vs, ", ") + "]"
}

// pin compares a claim with the reference values rvName. Absent reference
// values set missing (when non-zero); a mismatch sets mismatch; a match sets ok.
// When the claim itself is absent the rule sets mismatch: unverified claims
// never pass.
func (e *eval) pin(id, title, rvName string, keys []string, cat ear.Category, okV, missing, mismatch ear.TrustClaim) bool {
	want := e.rv.Lookup(rvName, e.now)
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: got, Category: cat}
	switch {
	case len(want) == 0:
		c.Expected = "reference value " + rvName
		c.Value = missing
		c.Reason = "no reference value " + rvName
		if exp := e.rv.Expired(rvName, e.now); len(exp) > 0 {
			c.Reason += fmt.Sprintf(" (%d expired)", len(exp))
		}
		c.OK = missing.Tier() == ear.StatusAffirming || missing == ear.NoClaim
	case !present:
		c.Expected = setText(want)
		c.Value = mismatch
		c.Reason = "claim " + k + " absent"
	case contains(want, got):
		c.Expected = setText(want)
		c.Value = okV
		c.OK = true
		c.Reason = "matches reference value " + rvName
	default:
		c.Expected = setText(want)
		c.Value = mismatch
		c.Reason = "not among the reference values " + rvName
		if contains(e.rv.Lookup("warn_only", e.now), rvName) && mismatch.Tier() == ear.StatusContraindicated {
			c.Value = warningFor(c.Category)
			c.Reason += " (warn-only: a warning, never affirming)"
		}
	}
	e.add(c)
	return c.OK && len(want) > 0
}

// warningFor is the warning-tier claim of a category, for warn-only rules.
func warningFor(cat ear.Category) ear.TrustClaim {
	switch cat {
	case ear.Executables:
		return ear.UnrecognizedRuntime
	case ear.Hardware:
		return ear.UnsafeHardware
	case ear.Configuration:
		return ear.UnsafeConfig
	case ear.FileSystem:
		return ear.UnrecognizedFiles
	case ear.SourcedData:
		return ear.UntrustedSources
	case ear.RuntimeOpaque:
		return ear.IsolatedMemory
	case ear.StorageOpaque:
		return ear.SwKeysEncryptedSecrets
	}
	return ear.UnsafeConfig // instance-identity has no warning value: record it as configuration's
}

// optionalPin compares only when reference values exist; it records an
// informational check otherwise.
func (e *eval) optionalPin(id, title, rvName string, keys []string, cat ear.Category, mismatch ear.TrustClaim) (checked, ok bool) {
	if len(e.rv.Lookup(rvName, e.now)) == 0 {
		k, got, _ := e.claim(keys...)
		e.add(verify.Check{ID: id, Title: title, Claim: k, Actual: got, Category: cat, OK: true,
			Reason: "not pinned (no reference value " + rvName + ")"})
		return false, true
	}
	return true, e.pin(id, title, rvName, keys, cat, ear.NoClaim, ear.NoClaim, mismatch)
}

// flagOff checks a boolean claim that must be false (debug and similar).
// title says what passing means ("not a debug TD"), so that a passed check
// never reads as its hazard; flag names the hazard a failure reports.
func (e *eval) flagOff(id, title, flag string, keys []string, cat ear.Category, onV ear.TrustClaim) bool {
	k, on, ok := e.claimBool(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Expected: "false", Category: cat}
	switch {
	case !ok:
		c.Value = onV
		c.Reason = "claim " + k + " absent or not a boolean"
	case on:
		c.Actual = "true"
		c.Value = onV
		c.Reason = flag + ": set"
	default:
		c.Actual = "false"
		c.OK = true
	}
	e.add(c)
	return c.OK
}

// tcbStatus applies the accepted and tolerated TCB status lists of prefix
// (e.g. "tdx"): accepted → hardware 2, tolerated → hardware 32, anything
// else (Revoked, unknown, absent) → hardware 96.
func (e *eval) tcbStatus(prefix string, keys []string, required bool) {
	accepted := e.rv.Lookup(prefix+"_accepted_tcb_status", e.now)
	if len(accepted) == 0 {
		accepted = e.accepted
	}
	tolerated := e.rv.Lookup(prefix+"_tolerated_tcb_status", e.now)
	if len(tolerated) == 0 {
		tolerated = e.tolerated
	}
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: prefix + ".tcb_status", Title: "platform TCB status", Claim: k, Actual: got,
		Expected: setText(accepted), Category: ear.Hardware}
	switch {
	case !present && !required:
		c.OK = true
		c.Reason = "no TCB status claim for this platform"
	case !present:
		c.Value = ear.UnrecognizedHardware
		c.Reason = "claim " + k + " absent: the TCB was not evaluated against collateral"
	case contains(accepted, got):
		c.Value = ear.GenuineHardware
		c.OK = true
		c.Reason = "accepted TCB status"
	case contains(tolerated, got):
		c.Value = ear.UnsafeHardware
		c.Reason = "TCB status " + got + " is tolerated, not accepted"
	default:
		c.Value = ear.ContraindicatedHardware
		c.Reason = "TCB status " + got + " is neither accepted nor tolerated"
	}
	e.add(c)
}

// minDate checks a date claim against the reference value rvName (RFC 3339).
func (e *eval) minDate(id, title, rvName string, keys []string) {
	want := e.rv.Lookup(rvName, e.now)
	if len(want) == 0 {
		return
	}
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: got, Expected: "not before " + want[0], Category: ear.Hardware}
	min, err := time.Parse(time.RFC3339, want[0])
	switch {
	case err != nil:
		e.badReference(rvName, want[0], "an RFC 3339 date")
		return
	case !present:
		c.Value = ear.ContraindicatedHardware
		c.Reason = "claim " + k + " absent"
	default:
		d, derr := time.Parse(time.RFC3339, got)
		switch {
		case derr != nil:
			c.Value = ear.ContraindicatedHardware
			c.Reason = fmt.Sprintf("claim %s %q is not an RFC 3339 date", k, got)
		case d.Before(min):
			c.Value = ear.ContraindicatedHardware
			c.Reason = "TCB date older than the minimum"
		default:
			c.OK = true
		}
	}
	e.add(c)
}

// minNumber checks a numeric claim against a minimum reference value.
func (e *eval) minNumber(id, title, rvName string, keys []string, cat ear.Category, below ear.TrustClaim) (checked, ok bool) {
	want := e.rv.Lookup(rvName, e.now)
	if len(want) == 0 {
		return false, true
	}
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: got, Expected: ">= " + want[0], Category: cat}
	// Decimal or 0x-prefixed hex, the whole text: fmt.Sscan, used before,
	// read "08" as 0 (octal, stopping at the 8) and "12abc" as 12, so a
	// floor could silently be lower than written.
	min, minOK := parseUint(want[0])
	switch {
	case !minOK:
		e.badReference(rvName, want[0], "a decimal or 0x-prefixed hexadecimal integer")
		return true, false
	case !present:
		c.Value = below
		c.Reason = "claim " + k + " absent"
	default:
		if have, ok := parseUint(got); !ok {
			c.Value = below
			c.Reason = fmt.Sprintf("claim %s %q is not a number", k, got)
		} else if have < min {
			c.Value = below
			c.Reason = "below the minimum"
		} else {
			c.OK = true
		}
	}
	e.add(c)
	return true, c.OK
}

// minVersion compares dotted versions ("550.90.07", "96.00.9F.00.01") field
// by field, numerically (hex when a field has hex letters).
func (e *eval) minVersion(id, title, rvName string, keys []string, cat ear.Category, below ear.TrustClaim) {
	want := e.rv.Lookup(rvName, e.now)
	if len(want) == 0 {
		return
	}
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: got, Expected: ">= " + want[0], Category: cat}
	if _, err := compareVersions(want[0], want[0]); err != nil {
		e.badReference(rvName, want[0], "a dotted version")
		return
	}
	switch cmp, err := compareVersions(got, want[0]); {
	case !present:
		c.Value = below
		c.Reason = "claim " + k + " absent"
	case err != nil:
		c.Value = below
		c.Reason = err.Error()
	case cmp < 0:
		c.Value = below
		c.Reason = "older than the minimum version"
	default:
		c.OK = true
	}
	e.add(c)
}

func compareVersions(a, b string) (int, error) {
	// Fields are cut off the front of ra and rb; a version that has run out
	// of fields reads as zero, but an empty field (as in "", "1..2" or "1.")
	// is no number.
	ra, rb, moreA, moreB := a, b, true, true
	for moreA || moreB {
		var fa, fb string
		var x, y uint64
		var err error
		if moreA {
			fa, ra, moreA = strings.Cut(ra, ".")
			if x, err = versionField(fa); err != nil {
				return 0, fmt.Errorf("version %q: field %q is not a number", a, fa)
			}
		}
		if moreB {
			fb, rb, moreB = strings.Cut(rb, ".")
			if y, err = versionField(fb); err != nil {
				return 0, fmt.Errorf("version %q: field %q is not a number", b, fb)
			}
		}
		if x != y {
			if x < y {
				return -1, nil
			}
			return 1, nil
		}
	}
	return 0, nil
}

// versionField reads one field of a dotted version as hex. A field of 1–16
// hex digits, what every firmware version holds, is read here; any other
// field is read by fmt.Sscanf's %x, which has always decided what a field
// may be (this runs for every device of every appraisal, and Sscanf cost
// more than the rest of the rule).
func versionField(f string) (uint64, error) {
	if f != "" && len(f) <= 16 {
		var v uint64
		plain := true
		for i := 0; i < len(f) && plain; i++ {
			switch c := f[i]; {
			case '0' <= c && c <= '9':
				v = v<<4 | uint64(c-'0')
			case 'a' <= c && c <= 'f':
				v = v<<4 | uint64(c-'a'+10)
			case 'A' <= c && c <= 'F':
				v = v<<4 | uint64(c-'A'+10)
			default:
				plain = false
			}
		}
		if plain {
			return v, nil
		}
	}
	var v uint64
	_, err := fmt.Sscanf(f, "%x", &v)
	return v, err
}

// common applies the rules every format shares: unsafe switches and the
// instance identity that a checked binding proves.
func (e *eval) common() {
	// The typed list only: a claim that merely looks like a switch by its
	// name is no switch, and a switch is never missed for a claim's name.
	unsafe := verify.UnsafeNames(e.in.Unsafe)
	c := verify.Check{ID: "unsafe", Title: "no unsafe switch in effect", Expected: "none", Category: ear.Configuration}
	if len(unsafe) > 0 {
		c.Actual = strings.Join(unsafe, ", ")
		c.Value = ear.UnsafeConfig
		c.Reason = "unsafe switches make the result unfit for production"
	} else {
		c.OK = true
	}
	e.add(c)
	b := verify.Check{ID: "binding", Title: "evidence bound to this session (report data or nonce checked)", Category: ear.InstanceIdentity}
	if len(unsafe) == 0 {
		b.OK = true
		b.Value = ear.TrustworthyInstance
		b.Reason = "the verifier checked the expected report data"
	} else {
		b.Reason = "not asserted while unsafe switches are in effect"
	}
	e.add(b)
}

// claimUint returns a non-negative integer claim: an integer, or text in
// decimal or 0x-prefixed hex.
func (e *eval) claimUint(keys ...string) (key string, v uint64, ok bool) {
	k, t, present := e.claim(keys...)
	if !present {
		return k, 0, false
	}
	n, ok := parseUint(t)
	return k, n, ok
}

// parseUint reads decimal or 0x-prefixed hex (never octal: "010" is ten).
func parseUint(s string) (uint64, bool) {
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		s, base = h, 16
	}
	n, err := strconv.ParseUint(s, base, 64)
	return n, err == nil
}

// rvBool reads a boolean reference value: true only when it is present and
// "true"; text other than true or false is a misconfigured policy.
func (e *eval) rvBool(name string) bool {
	v := e.rv.Lookup(name, e.now)
	if len(v) == 0 {
		return false
	}
	switch strings.ToLower(v[0]) {
	case "true":
		return true
	case "false":
		return false
	}
	e.badReference(name, v[0], "true or false")
	return false
}

// flagOn checks a boolean claim that must be true.
func (e *eval) flagOn(id, title string, keys []string, cat ear.Category, offV ear.TrustClaim) bool {
	k, on, ok := e.claimBool(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Expected: "true", Actual: fmt.Sprint(on), Category: cat}
	switch {
	case !ok:
		c.Actual, c.Value, c.Reason = "", offV, "claim "+k+" absent or not a boolean"
	case on:
		c.OK = true
	default:
		c.Value, c.Reason = offV, title+": not set"
	}
	e.add(c)
	return c.OK
}
