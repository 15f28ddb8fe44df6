package verify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
)

func TestFailureVectorFollowsTheAR4SILegend(t *testing.T) {
	cases := []struct {
		kind error
		cat  ear.Category
		want ear.TrustClaim
	}{
		{ErrSignature, ear.InstanceIdentity, ear.CryptoValidationFailed},
		{ErrChain, ear.InstanceIdentity, ear.CryptoValidationFailed},
		{ErrExpired, ear.InstanceIdentity, ear.CryptoValidationFailed},
		{ErrToken, ear.InstanceIdentity, ear.CryptoValidationFailed},
		{ErrRevoked, ear.Hardware, ear.ContraindicatedHardware},
		{ErrRevoked, ear.InstanceIdentity, ear.UntrustworthyInstance},
		{ErrTCB, ear.Hardware, ear.ContraindicatedHardware},
		{ErrFreshness, ear.InstanceIdentity, ear.UntrustworthyInstance},
		{ErrBinding, ear.InstanceIdentity, ear.UntrustworthyInstance},
		{ErrPolicy, ear.Configuration, ear.UnsupportableConfig},
		{ErrMalformed, ear.InstanceIdentity, ear.UnexpectedEvidence},
		{ErrLimit, ear.InstanceIdentity, ear.UnexpectedEvidence},
		{ErrUnsupported, ear.InstanceIdentity, ear.UnexpectedEvidence},
		{ErrCollateral, ear.InstanceIdentity, ear.VerifierMalfunction},
		{ErrConfig, ear.InstanceIdentity, ear.VerifierMalfunction},
		{ErrCanceled, ear.InstanceIdentity, ear.VerifierMalfunction},
	}
	for _, c := range cases {
		err := fmt.Errorf("gpu0: %w", Errorf(c.kind, "detail"))
		v := FailureVector(err)
		if v[c.cat] != c.want {
			t.Errorf("%v: %s = %d, want %d", c.kind, c.cat, v[c.cat], c.want)
		}
		if FailureStatus(err) != ear.StatusContraindicated {
			t.Errorf("%v: a failed component must be contraindicated", c.kind)
		}
	}
	if v := FailureVector(errors.New("no kind")); v[ear.InstanceIdentity] != ear.VerifierMalfunction {
		t.Errorf("unknown error must be a verifier malfunction, got %v", v)
	}
	if !FailureVector(nil).IsZero() || FailureStatus(nil) != ear.StatusNone {
		t.Error("nil error must give no claims")
	}
}

func TestIsOperational(t *testing.T) {
	for err, want := range map[error]bool{
		Errorf(ErrCollateral, "pcs down"):                 true,
		Errorf(ErrConfig, "no roots"):                     true,
		fmt.Errorf("x: %w", context.Canceled):             true,
		Errorf(ErrCanceled, "x: %w", context.Canceled):    true,
		Errorf(ErrCollateral, "TCB info: %w", ErrExpired): true,
		Errorf(ErrCollateral, "OCSP: %w", ErrSignature):   true,
		Errorf(ErrCollateral, "pck crl: %w", ErrRevoked):  false,
		context.DeadlineExceeded:                          true,
		Errorf(ErrSignature, "bad"):                       false,
		Errorf(ErrMalformed, "short"):                     false,
		errors.New("unclassified evidence failure"):       false,
	} {
		if got := IsOperational(err); got != want {
			t.Errorf("IsOperational(%v) = %v, want %v", err, got, want)
		}
	}
}

// A failure of the collateral's own signature, chain, validity or shape is a
// collateral failure (−1), not a cryptographic failure of the evidence (99)
// nor unexpected evidence (1); revocation, TCB, freshness, binding and
// policy keep their meaning even when collateral is involved.
func TestFailureVectorPrefersTheCollateralMeaning(t *testing.T) {
	cases := []struct {
		name   string
		detail error
		cat    ear.Category
		want   ear.TrustClaim
	}{
		{"expired TCB info", ErrExpired, ear.InstanceIdentity, ear.VerifierMalfunction},
		{"badly signed OCSP answer", ErrSignature, ear.InstanceIdentity, ear.VerifierMalfunction},
		{"wrong OCSP responder", ErrChain, ear.InstanceIdentity, ear.VerifierMalfunction},
		{"malformed CRL", ErrMalformed, ear.InstanceIdentity, ear.VerifierMalfunction},
		{"oversized collateral", ErrLimit, ear.InstanceIdentity, ear.VerifierMalfunction},
		{"unsupported collateral", ErrUnsupported, ear.InstanceIdentity, ear.VerifierMalfunction},
		{"revoked by a CRL", ErrRevoked, ear.Hardware, ear.ContraindicatedHardware},
		{"TCB level missing", ErrTCB, ear.Hardware, ear.ContraindicatedHardware},
		{"RIM version differs", ErrBinding, ear.InstanceIdentity, ear.UntrustworthyInstance},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fmt.Errorf("cpu0: %w", Errorf(ErrCollateral, "item: %w", c.detail))
			require.ErrorIs(t, err, c.detail)
			assert.Equal(t, c.want, FailureVector(err)[c.cat])
			// The same detail without collateral keeps its own meaning.
			own := FailureVector(Errorf(c.detail, "evidence"))
			if c.want == ear.VerifierMalfunction {
				assert.NotEqual(t, ear.VerifierMalfunction, own[ear.InstanceIdentity])
			}
		})
	}
}

// Cancellation is one kind: ErrCanceled, matching context.Canceled or
// context.DeadlineExceeded and the cause, ahead of any other kind the
// interrupted work reported, and operational.
func TestCanceled(t *testing.T) {
	require.NoError(t, Canceled(context.Background(), "nothing"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Canceled(ctx, "tdx: verification not started")
	require.ErrorIs(t, err, ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "tdx: verification not started")
	assert.Equal(t, ErrCanceled, KindOf(err))
	assert.True(t, IsOperational(err))
	assert.Equal(t, ear.VerifierMalfunction, FailureVector(err)[ear.InstanceIdentity])

	cause := errors.New("shutting down")
	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(cause)
	err = Canceled(ctx, "appraisal")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, cause)

	ctx, cancel = context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	err = Canceled(ctx, "fetch")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrCanceled)

	// A collateral failure carrying the cancellation is still ErrCanceled.
	joined := Errorf(ErrCollateral, "VCEK: %w", err)
	assert.Equal(t, ErrCanceled, KindOf(joined))
}
