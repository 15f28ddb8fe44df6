package verify

import (
	"context"
	"errors"
	"fmt"
	"testing"

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
		Errorf(ErrCollateral, "pcs down"):           true,
		Errorf(ErrConfig, "no roots"):               true,
		fmt.Errorf("x: %w", context.Canceled):       true,
		context.DeadlineExceeded:                    true,
		Errorf(ErrSignature, "bad"):                 false,
		Errorf(ErrMalformed, "short"):               false,
		errors.New("unclassified evidence failure"): false,
	} {
		if got := IsOperational(err); got != want {
			t.Errorf("IsOperational(%v) = %v, want %v", err, got, want)
		}
	}
}
