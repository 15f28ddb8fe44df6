package verify

import (
	"context"
	"fmt"
	"reflect"
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
