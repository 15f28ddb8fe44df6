package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Error kinds. Every error returned by an attest verifier matches exactly the
// kinds that describe it under errors.Is, however deeply it is wrapped.
var (
	// ErrMalformed: the input cannot be parsed: bad size, version, encoding or structure.
	ErrMalformed = errors.New("malformed input")
	// ErrLimit: a resource cap was hit (size, count, depth) before any allocation.
	ErrLimit = errors.New("resource limit exceeded")
	// ErrUnsupported: well-formed input of a version, type or algorithm attest does not support.
	ErrUnsupported = errors.New("unsupported")
	// ErrSignature: a signature did not verify.
	ErrSignature = errors.New("signature verification failed")
	// ErrChain: a certificate chain does not lead to a pinned root or violates its constraints.
	ErrChain = errors.New("untrusted certificate chain")
	// ErrRevoked: a certificate is revoked (CRL or OCSP).
	ErrRevoked = errors.New("revoked")
	// ErrExpired: a certificate, CRL, OCSP answer or collateral item is outside its validity at the verification time.
	ErrExpired = errors.New("expired or not yet valid")
	// ErrCollateral: collateral is missing, unavailable or does not match the evidence.
	ErrCollateral = errors.New("collateral unavailable or mismatched")
	// ErrTCB: the platform's TCB is not acceptable or cannot be matched.
	ErrTCB = errors.New("unacceptable TCB")
	// ErrPolicy: an appraisal policy rejected the claims.
	ErrPolicy = errors.New("policy violation")
	// ErrFreshness: the nonce or report data does not match what the caller expected.
	ErrFreshness = errors.New("freshness check failed")
	// ErrBinding: a field that must equal another authenticated value does not.
	ErrBinding = errors.New("binding check failed")
	// ErrConfig: the verifier or the call is misconfigured (for example an empty expected value).
	ErrConfig = errors.New("invalid configuration")
	// ErrToken: an attestation-result token is invalid.
	ErrToken = errors.New("invalid token")
	// ErrCanceled: the caller's context was cancelled, or its deadline
	// passed, before the work finished. It says nothing about the evidence.
	// Errors of this kind also match context.Canceled or
	// context.DeadlineExceeded (build them with Canceled).
	ErrCanceled = errors.New("canceled")
)

// Kinds lists every error kind: ErrCanceled, then the others most specific
// first. KindOf uses this order when an error carries more than one kind.
// Each call returns a new slice: the package reads its own, so changing the
// result changes nothing here.
func Kinds() []error { return slices.Clone(kinds) }

// kinds is the order KindOf uses. ErrCanceled comes first: work cut short
// by the caller often fails on the way with another kind (a fetch that found
// nothing, say), and that kind would misdescribe why it stopped.
var kinds = []error{
	ErrCanceled, ErrSignature, ErrChain, ErrRevoked, ErrExpired, ErrTCB, ErrFreshness, ErrBinding,
	ErrPolicy, ErrToken, ErrLimit, ErrMalformed, ErrUnsupported, ErrCollateral, ErrConfig,
}

// Error is an error of a known kind. Both the kind and the cause are visible to
// errors.Is and errors.As.
type Error struct {
	Kind error // one of the Err* kinds of this package
	Err  error // the cause, with the field and the values involved
}

// Error returns "kind: cause".
func (e *Error) Error() string {
	switch {
	case e.Kind == nil && e.Err == nil:
		return "error of no kind"
	case e.Kind == nil:
		return e.Err.Error()
	case e.Err == nil:
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Err.Error()
}

// Unwrap exposes both the kind and the cause.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Errorf returns an error of the given kind whose cause is formatted as by
// fmt.Errorf, so %w in format keeps the wrapped error reachable. A nil kind
// (KindOf of an error that has none) gives an error of no kind.
func Errorf(kind error, format string, args ...any) error {
	if kind == nil {
		return fmt.Errorf(format, args...)
	}
	return &Error{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// Wrap gives err the kind unless it already has one; a nil err stays nil, and
// a nil kind leaves err as it is. Wrap does not tell the caller's
// cancellation from a deadline of the callee's own (a fetch timeout): build
// the former with Canceled.
func Wrap(kind error, err error) error {
	if err == nil {
		return nil
	}
	if kind == nil || KindOf(err) != nil {
		return err
	}
	return &Error{Kind: kind, Err: err}
}

// Canceled returns an error of kind ErrCanceled when ctx is done, nil
// otherwise. what names the work that was cut short. The error matches
// ctx.Err() (context.Canceled or context.DeadlineExceeded) and the context's
// cause under errors.Is.
func Canceled(ctx context.Context, what string) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return &Error{Kind: ErrCanceled, Err: fmt.Errorf("%s: %w (cause: %w)", what, err, cause)}
	}
	return &Error{Kind: ErrCanceled, Err: fmt.Errorf("%s: %w", what, err)}
}

// isContextErr reports whether err is the error of a done context.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// KindOf returns the first kind, in the order Kinds lists them, that err
// matches, or nil.
func KindOf(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}
