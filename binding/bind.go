package binding

import (
	"crypto"

	"github.com/trustfactory/attest/verify"
)

// MaxBindComponents caps the components Bind takes: far above any appraiser's
// limit (verify.DefaultMaxComponents), it only keeps Bind's own work bounded.
const MaxBindComponents = 1024

// Bind returns copies of comps bound to the session of runtime data r as a
// Trustee KBS binds them: comps[0], the primary evidence, to r as given, and
// every other component (the additional devices) to r.Device(). Each digest
// is hashed with h and placed where the component's verifier in reg says
// (ReportDataFor), so the caller computes no expectation per component.
//
// Every component names its Format: where the digest goes depends on it, and
// Bind reads no evidence. The rest of each component's Expectations (Now,
// init data) is kept; one that already sets ReportData is an ErrConfig
// error, since the session decides it. No components, or more than
// MaxBindComponents, is an error too (ErrConfig, ErrLimit); the appraiser
// applies its own limits after.
func Bind(reg *verify.Registry, r RuntimeData, h crypto.Hash, comps []verify.Component) ([]verify.Component, error) {
	if reg == nil {
		return nil, verify.Errorf(verify.ErrConfig, "bind: nil registry")
	}
	if len(comps) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "bind: no components")
	}
	if len(comps) > MaxBindComponents {
		return nil, verify.Errorf(verify.ErrLimit, "bind: %d components, limit %d", len(comps), MaxBindComponents)
	}
	primary, err := r.Digest(h)
	if err != nil {
		return nil, err
	}
	var device []byte // computed once, for the first additional component
	out := make([]verify.Component, len(comps))
	for i, c := range comps {
		if len(c.Expect.ReportData) > 0 {
			return nil, verify.Errorf(verify.ErrConfig, "bind: component %d (%s) already sets Expectations.ReportData: the session's runtime data decides it", i, c.Format)
		}
		if c.Format == "" {
			return nil, verify.Errorf(verify.ErrConfig, "bind: component %d has no format: its report data is placed by format", i)
		}
		v, ok := reg.Lookup(c.Format)
		if !ok {
			return nil, verify.Errorf(verify.ErrUnsupported, "bind: component %d: no verifier for format %q", i, c.Format)
		}
		d := primary
		if i > 0 {
			if device == nil {
				if device, err = r.Device().Digest(h); err != nil {
					return nil, err
				}
			}
			d = device
		}
		if c.Expect.ReportData, err = ReportDataFor(v, d); err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}
