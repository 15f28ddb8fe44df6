package verify

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Registry picks a verifier by format. It is immutable after NewRegistry and
// safe for concurrent use.
type Registry struct {
	byFormat map[Format]Verifier
	order    []Verifier // registration order, for deterministic detection
}

// NewRegistry returns a registry holding the given verifiers. Two verifiers of
// the same format, or a nil verifier, are an ErrConfig error.
func NewRegistry(verifiers ...Verifier) (*Registry, error) {
	r := &Registry{byFormat: make(map[Format]Verifier, len(verifiers))}
	for i, v := range verifiers {
		if isNil(v) {
			return nil, Errorf(ErrConfig, "verifier %d is nil (%T)", i, v)
		}
		f := v.Format()
		if f == "" {
			return nil, Errorf(ErrConfig, "verifier %d has an empty format", i)
		}
		if _, dup := r.byFormat[f]; dup {
			return nil, Errorf(ErrConfig, "two verifiers for format %q", f)
		}
		r.byFormat[f] = v
		r.order = append(r.order, v)
	}
	return r, nil
}

// Lookup returns the verifier for format f.
func (r *Registry) Lookup(f Format) (Verifier, bool) {
	v, ok := r.byFormat[f]
	return v, ok
}

// Formats lists the registered formats in sorted order.
func (r *Registry) Formats() []Format {
	out := make([]Format, 0, len(r.byFormat))
	for f := range r.byFormat {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Verifiers returns the registered verifiers in registration order.
func (r *Registry) Verifiers() []Verifier {
	return slices.Clone(r.order)
}

// SubmodClass returns the submodule class of format f: what its verifier
// says (SubmodClasser), or ClassDevice for a verifier that says nothing or
// a format without verifier.
func (r *Registry) SubmodClass(f Format) string {
	if c, ok := r.byFormat[f].(SubmodClasser); ok {
		if class := c.SubmodClass(); class != "" {
			return class
		}
	}
	return ClassDevice
}

// ForTEE returns the format of the verifier that answers to the KBS TEE
// name tee (TEENamer). When several do (GPUs and NVSwitches are both
// "nvidia"), the evidence decides among them as Detect does. No verifier
// for the name is ErrUnsupported; evidence that none or several of the
// candidates recognise is ErrMalformed.
//
// Trustee's older TEE names are read as the current ones (CanonicalTEEName).
func (r *Registry) ForTEE(tee string, evidence []byte) (Format, error) {
	tee = CanonicalTEEName(tee)
	var cands []Verifier
	for _, v := range r.order {
		if n, ok := v.(TEENamer); ok && tee != "" && n.TEEName() == tee {
			cands = append(cands, v)
		}
	}
	switch len(cands) {
	case 0:
		return "", Errorf(ErrUnsupported, "TEE %q: no registered verifier answers to it (have %v)", tee, r.teeNames())
	case 1:
		return cands[0].Format(), nil
	}
	var matches []Format
	for _, v := range cands {
		if d, ok := v.(Detector); ok && d.Detect(evidence) {
			matches = append(matches, v.Format())
		}
	}
	if len(matches) != 1 {
		return "", Errorf(ErrMalformed, "TEE %q: the evidence matches %d of the formats %v that answer to it", tee, len(matches), formatsOf(cands))
	}
	return matches[0], nil
}

// TEEName returns the KBS TEE name of format f (TEENamer), or the format
// itself when its verifier names none.
func (r *Registry) TEEName(f Format) string {
	if n, ok := r.byFormat[f].(TEENamer); ok {
		if name := n.TEEName(); name != "" {
			return name
		}
	}
	return string(f)
}

func (r *Registry) teeNames() []string {
	var out []string
	for _, v := range r.order {
		if n, ok := v.(TEENamer); ok && !slices.Contains(out, n.TEEName()) {
			out = append(out, n.TEEName())
		}
	}
	return out
}

func formatsOf(vs []Verifier) []Format {
	out := make([]Format, len(vs))
	for i, v := range vs {
		out[i] = v.Format()
	}
	return out
}

// Detect returns the format of evidence by asking every registered verifier
// that implements Detector. No match is ErrUnsupported; more than one match is
// ErrMalformed, because ambiguous evidence must not be guessed at.
func (r *Registry) Detect(evidence []byte) (Format, error) {
	var matches []string
	var found Format
	for _, v := range r.order {
		d, ok := v.(Detector)
		if ok && d.Detect(evidence) {
			found = v.Format()
			matches = append(matches, string(found))
		}
	}
	switch len(matches) {
	case 0:
		return "", Errorf(ErrUnsupported, "evidence of %d bytes matches none of the formats %v", len(evidence), r.Formats())
	case 1:
		return found, nil
	}
	return "", Errorf(ErrMalformed, "evidence is ambiguous: it matches formats %s", strings.Join(matches, ", "))
}

// Verify verifies evidence with the verifier for format f, detecting the
// format when f is empty.
func (r *Registry) Verify(ctx context.Context, f Format, evidence []byte, exp Expectations) (Claims, error) {
	if f == "" {
		var err error
		if f, err = r.Detect(evidence); err != nil {
			return nil, err
		}
	}
	v, ok := r.byFormat[f]
	if !ok {
		return nil, Errorf(ErrUnsupported, "no verifier for format %q (have %v)", f, r.Formats())
	}
	c, err := v.Verify(ctx, evidence, exp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	if isNil(c) {
		// Success must come with claims: a verifier that returns neither is
		// broken, and nothing it checked can be relied on.
		return nil, Errorf(ErrConfig, "%s: verifier returned no claims and no error", f)
	}
	return c, nil
}

// isNil reports whether x is nil or an interface holding a nil pointer, map,
// slice, func or channel.
func isNil(x any) bool {
	if x == nil {
		return true
	}
	switch rv := reflect.ValueOf(x); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// CanonicalTEEName returns the current KBS TEE name (kbs-types) for tee:
// the names older kbs-types releases serialised without hyphens
// ("azsnpvtpm", "aztdxvtpm"), which Trustee's older clients and tools still
// send, map to the hyphenated ones ("az-snp-vtpm", "az-tdx-vtpm"); every
// other name is returned unchanged.
func CanonicalTEEName(tee string) string {
	switch tee {
	case "azsnpvtpm":
		return "az-snp-vtpm"
	case "aztdxvtpm":
		return "az-tdx-vtpm"
	}
	return tee
}
