package verify

import (
	"context"
	"errors"

	"github.com/trustfactory/attest/ear"
)

// FailureVector returns the AR4SI trust vector an attestation result carries
// for a component whose verification failed with err, following the legend of
// the AR4SI code points:
//
//   - signature, chain, expired, token failures: instance-identity 99 (cryptographic validation failed);
//   - revoked: instance-identity 96 and hardware 96 (contraindicated);
//   - TCB: hardware 96;
//   - freshness, binding: instance-identity 96;
//   - policy: configuration 96;
//   - malformed, limit, unsupported: instance-identity 1 (unexpected evidence);
//   - collateral, config and unknown errors: instance-identity −1 (verifier malfunction).
//
// A nil err yields the zero vector.
func FailureVector(err error) ear.TrustVector {
	var v ear.TrustVector
	if err == nil {
		return v
	}
	switch KindOf(err) {
	case ErrSignature, ErrChain, ErrExpired, ErrToken:
		v[ear.InstanceIdentity] = ear.CryptoValidationFailed
	case ErrRevoked:
		v[ear.InstanceIdentity] = ear.UntrustworthyInstance
		v[ear.Hardware] = ear.ContraindicatedHardware
	case ErrTCB:
		v[ear.Hardware] = ear.ContraindicatedHardware
	case ErrFreshness, ErrBinding:
		v[ear.InstanceIdentity] = ear.UntrustworthyInstance
	case ErrPolicy:
		v[ear.Configuration] = ear.UnsupportableConfig
	case ErrMalformed, ErrLimit, ErrUnsupported:
		v[ear.InstanceIdentity] = ear.UnexpectedEvidence
	default:
		v[ear.InstanceIdentity] = ear.VerifierMalfunction
	}
	return v
}

// FailureStatus is the status of a component that failed verification: always
// contraindicated, whatever tier its trust claims fall in, because evidence
// that did not verify must never contribute trust.
func FailureStatus(err error) ear.Status {
	if err == nil {
		return ear.StatusNone
	}
	return ear.StatusContraindicated
}

// IsOperational reports whether err says nothing about the evidence itself
// (collateral unavailable, misconfiguration, cancellation), so that a retry
// later may succeed.
func IsOperational(err error) bool {
	switch KindOf(err) {
	case ErrCollateral, ErrConfig:
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
