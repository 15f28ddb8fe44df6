package verify

import (
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
//   - collateral, config, canceled and unknown errors: instance-identity −1 (verifier malfunction).
//
// An error that carries ErrCollateral besides a signature, chain, expiry,
// malformed, limit or unsupported kind describes the collateral (an expired
// TCB info, a stale or badly signed OCSP answer), not the evidence: it gets
// the collateral value, −1. Revocation, TCB, freshness, binding and policy
// keep their own value even when collateral is involved, because they are
// what the collateral said about the evidence.
//
// A nil err yields the zero vector.
func FailureVector(err error) ear.TrustVector {
	var v ear.TrustVector
	if err == nil {
		return v
	}
	switch meaning(err) {
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
	default: // ErrCanceled, ErrCollateral, ErrConfig, no kind
		v[ear.InstanceIdentity] = ear.VerifierMalfunction
	}
	return v
}

// meaning is the kind that decides what err says about the evidence: KindOf,
// except that a failure of the collateral's own signature, chain, validity or
// shape is a collateral failure.
func meaning(err error) error {
	k := KindOf(err)
	switch k {
	case ErrSignature, ErrChain, ErrExpired, ErrMalformed, ErrLimit, ErrUnsupported:
		if errors.Is(err, ErrCollateral) {
			return ErrCollateral
		}
	}
	return k
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
// (collateral unavailable, expired or unverifiable, misconfiguration,
// cancellation), so that a retry later may succeed. It agrees with
// FailureVector: an operational error is one it gives −1.
func IsOperational(err error) bool {
	switch meaning(err) {
	case ErrCollateral, ErrConfig, ErrCanceled:
		return true
	}
	return isContextErr(err)
}
