package ear

import (
	"fmt"
	"sort"
)

// Scope says where an extension claim may appear.
type Scope int

// Extension scopes.
const (
	ScopeResult    Scope = 1 << iota // top level of the Result
	ScopeAppraisal                   // inside a submod's Appraisal
)

// PrivateKeyLimit bounds the CBOR keys of attest's own extensions: they are
// all below it, in the CWT private-use range.
const PrivateKeyLimit = -65536

// Extension describes an extension claim so that both encodings carry it:
// Name is its draft-03 JSON name (and the key in the Extensions maps),
// LegacyName its dotted JSON name, Key its CBOR key.
type Extension struct {
	Name       string
	LegacyName string
	Key        int64
	Scope      Scope
}

// The JSON names of attest's own extensions, as constants: code that decides
// on a result (kbs.Decide, the appraiser, token verification) reads these,
// which nothing can reassign. The Ext… functions below carry the same names.
const (
	ExtReasonName    = "attest_reason"
	ExtUnsafeName    = "attest_unsafe"
	ExtTEEPubKeyName = "attest_tee_pubkey"
	ExtChecksName    = "attest_checks"
)

// builtinExtensions returns the extensions attest registers in every
// Registry, built from constants on every call.
func builtinExtensions() []Extension {
	return []Extension{
		{Name: "ear_teep_claims", LegacyName: "ear.teep-claims", Key: 65000, Scope: ScopeAppraisal},
		{Name: "ear_trustee_identifiers", LegacyName: "ear.trustee.identifiers", Key: -18, Scope: ScopeAppraisal},
		{Name: ExtReasonName, LegacyName: "attest.reason", Key: -65537, Scope: ScopeAppraisal},
		{Name: ExtUnsafeName, LegacyName: "attest.unsafe", Key: -65538, Scope: ScopeResult | ScopeAppraisal},
		{Name: ExtTEEPubKeyName, LegacyName: "attest.tee-pubkey", Key: -65539, Scope: ScopeAppraisal},
		{Name: ExtChecksName, LegacyName: "attest.checks", Key: -65540, Scope: ScopeAppraisal},
	}
}

// ExtTEEPClaims returns the draft's TEEP extension (appraisal scope). The
// built-in extensions are functions, not variables: each call returns a new
// value, so no caller can change what registries and attest's own decisions
// use.
func ExtTEEPClaims() Extension { return builtinExtensions()[0] }

// ExtTrusteeIdentifiers returns Trustee's policy extension carrying
// validated container identifiers; the key is Trustee's own.
func ExtTrusteeIdentifiers() Extension { return builtinExtensions()[1] }

// ExtReason returns attest's explanation of a non-affirming appraisal (text).
func ExtReason() Extension { return builtinExtensions()[2] }

// ExtUnsafe returns the extension listing the …Unsafe switches that were on
// when the result was produced (array of text); any entry means the result
// is not for production.
func ExtUnsafe() Extension { return builtinExtensions()[3] }

// ExtTEEPubKey returns the extension carrying the public key (a JWK object)
// the attester bound into its evidence, for key-bound secret release.
func ExtTEEPubKey() Extension { return builtinExtensions()[4] }

// ExtChecks returns attest's list of explained policy checks (array of
// objects).
func ExtChecks() Extension { return builtinExtensions()[5] }

// Registry maps extension names and CBOR keys to Extensions. It is immutable
// once built and safe for concurrent use.
type Registry struct {
	byName map[string]*Extension // both JSON names
	byKey  map[int64]*Extension
	all    []Extension
}

// reservedNames and reservedKeys are the claims of the EAR model itself.
var reservedKeys = map[int64]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true,
	10: true, 265: true, 266: true, 1000: true, 1001: true, 1002: true, 1003: true, 1004: true,
	-70000: true, -70001: true, -70002: true}

// NewRegistry returns a registry with attest's built-in extensions and exts.
// Names and keys must be unique and must not collide with the EAR claims.
func NewRegistry(exts ...Extension) (*Registry, error) {
	r := &Registry{byName: map[string]*Extension{}, byKey: map[int64]*Extension{}}
	all := append(builtinExtensions(), exts...)
	for _, e := range all {
		if e.Name == "" || e.LegacyName == "" {
			return nil, fmt.Errorf("ear: extension %+v: both JSON names are required", e)
		}
		if e.Scope&(ScopeResult|ScopeAppraisal) == 0 {
			return nil, fmt.Errorf("ear: extension %q: no scope", e.Name)
		}
		if reservedKeys[e.Key] {
			return nil, fmt.Errorf("ear: extension %q: CBOR key %d is an EAR claim", e.Name, e.Key)
		}
		if _, dup := r.byKey[e.Key]; dup {
			return nil, fmt.Errorf("ear: extension %q: CBOR key %d already registered", e.Name, e.Key)
		}
		for _, n := range []string{e.Name, e.LegacyName} {
			if isCoreName(n) {
				return nil, fmt.Errorf("ear: extension name %q is an EAR claim", n)
			}
			if _, dup := r.byName[n]; dup {
				return nil, fmt.Errorf("ear: extension name %q already registered", n)
			}
		}
		ext := e
		r.all = append(r.all, ext)
		r.byName[e.Name] = &ext
		if e.LegacyName != e.Name {
			r.byName[e.LegacyName] = &ext
		}
		r.byKey[e.Key] = &ext
	}
	sort.Slice(r.all, func(i, j int) bool { return r.all[i].Name < r.all[j].Name })
	return r, nil
}

// Extensions lists the registered extensions sorted by name.
func (r *Registry) Extensions() []Extension {
	return append([]Extension(nil), r.all...)
}

// Lookup returns the extension registered under a JSON name of either generation.
func (r *Registry) Lookup(name string) (Extension, bool) {
	e, ok := r.byName[name]
	if !ok {
		return Extension{}, false
	}
	return *e, true
}

// LookupKey returns the extension registered under a CBOR key.
func (r *Registry) LookupKey(key int64) (Extension, bool) {
	e, ok := r.byKey[key]
	if !ok {
		return Extension{}, false
	}
	return *e, true
}

// builtin is the registry of the built-in extensions; it is never modified.
var builtin = func() *Registry {
	r, err := NewRegistry()
	if err != nil {
		panic(err) // the built-in table is constant; a test covers it
	}
	return r
}()

// DefaultRegistry returns the registry of attest's built-in extensions.
func DefaultRegistry() *Registry { return builtin }
