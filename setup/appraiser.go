package setup

import (
	"context"
	"crypto"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// Appraiser is a verify.Appraiser over the registry of every verifier
// (NewRegistry), with the policy Config names. Every method of
// verify.Appraiser is its own; AppraiseRuntimeData adds the binding of all
// components to one KBS session. It is immutable and safe for concurrent
// use.
type Appraiser struct {
	*verify.Appraiser
	hash crypto.Hash
}

// NewAppraiser builds the registry of every verifier (NewRegistry) and an
// appraiser over it: the default policy over cfg.ReferenceValues, or
// cfg.Policy, with cfg.Logger and cfg.AppraiserOptions. A contradiction or a
// bad value in cfg is an error of kind verify.ErrConfig.
func NewAppraiser(cfg Config) (*Appraiser, error) {
	if cfg.Policy != nil && cfg.ReferenceValues != nil {
		return nil, verify.Errorf(verify.ErrConfig, "setup: both Policy and ReferenceValues: reference values are for the default policy, give them to yours")
	}
	h := cfg.RuntimeDataHash
	if h == 0 {
		h = crypto.SHA384
	}
	if _, err := binding.HashName(h); err != nil {
		return nil, err
	}
	reg, err := NewRegistry(cfg)
	if err != nil {
		return nil, err
	}
	p := cfg.Policy
	if p == nil {
		if p, err = policy.New(cfg.ReferenceValues); err != nil {
			return nil, err
		}
	}
	var opts []verify.AppraiserOption
	if cfg.Logger != nil {
		opts = append(opts, verify.WithLogger(cfg.Logger))
	}
	a, err := verify.NewAppraiser(reg, p, append(opts, cfg.AppraiserOptions...)...)
	if err != nil {
		return nil, err
	}
	return &Appraiser{Appraiser: a, hash: h}, nil
}

// AppraiseRuntimeData appraises comps as answers to the KBS session of
// runtime data rd: it binds every component to rd where its verifier says
// (binding.Bind: comps[0] is the primary evidence, the others additional
// devices), and appraises them told the session (verify.Appraiser's
// AppraiseSession), so the result carries rd's nonce as eat_nonce and its
// TEE key. Every component names its Format. Each component's other
// expectations (Now, init data) are the caller's; one that sets ReportData is
// an ErrConfig error.
func (a *Appraiser) AppraiseRuntimeData(ctx context.Context, rd binding.RuntimeData, comps ...verify.Component) (*verify.Outcome, error) {
	bound, err := binding.Bind(a.Registry(), rd, a.hash, comps)
	if err != nil {
		return nil, err
	}
	s, err := rd.Session()
	if err != nil {
		return nil, err
	}
	return a.AppraiseSession(ctx, s, bound)
}

// WithPolicy returns a copy of a that appraises with p (verify.Appraiser's
// WithPolicy); a is unchanged.
func (a *Appraiser) WithPolicy(p verify.Policy) (*Appraiser, error) {
	c, err := a.Appraiser.WithPolicy(p)
	if err != nil {
		return nil, err
	}
	return &Appraiser{Appraiser: c, hash: a.hash}, nil
}
