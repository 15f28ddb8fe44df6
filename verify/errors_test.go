package verify

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestErrorKindsSurviveWrapping(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := Errorf(ErrMalformed, "quote header: need %d bytes, have %d: %w", 48, 12, cause)
	wrapped := fmt.Errorf("cpu0: %w", fmt.Errorf("tdx: %w", err))

	if !errors.Is(wrapped, ErrMalformed) {
		t.Fatal("kind lost through wrapping")
	}
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Fatal("cause lost through wrapping")
	}
	if errors.Is(wrapped, ErrSignature) {
		t.Fatal("error matches a kind it does not have")
	}
	var ve *Error
	if !errors.As(wrapped, &ve) || ve.Kind != ErrMalformed {
		t.Fatalf("errors.As did not find the *Error: %v", ve)
	}
	if got := wrapped.Error(); !strings.Contains(got, "need 48 bytes, have 12") || !strings.Contains(got, "malformed input") {
		t.Fatalf("message does not name the kind and the values: %q", got)
	}
}

func TestKindOfPrefersTheMostSpecificKind(t *testing.T) {
	// A revoked certificate found while building a chain carries both kinds;
	// revocation is the more specific reason only after signature/chain.
	both := errors.Join(Errorf(ErrCollateral, "pck crl"), Errorf(ErrRevoked, "serial 01"))
	if got := KindOf(both); got != ErrRevoked {
		t.Fatalf("KindOf = %v, want ErrRevoked", got)
	}
	if KindOf(nil) != nil || KindOf(errors.New("plain")) != nil {
		t.Fatal("KindOf must be nil for nil and for errors without a kind")
	}
	for _, k := range Kinds() {
		if got := KindOf(Errorf(k, "x")); got != k {
			t.Errorf("KindOf(%v) = %v", k, got)
		}
	}
}

// Kinds hands out a copy: rewriting it does not change how errors are
// classified (a signature failure stays one).
func TestKindsIsACopy(t *testing.T) {
	ks := Kinds()
	for i := range ks {
		ks[i] = ErrConfig
	}
	if got := KindOf(Errorf(ErrSignature, "x")); got != ErrSignature {
		t.Fatalf("KindOf follows the exported slice: %v", got)
	}
	if v := FailureVector(Errorf(ErrSignature, "x")); v == FailureVector(Errorf(ErrConfig, "x")) {
		t.Fatal("FailureVector follows the exported slice")
	}
}

func TestWrapKeepsAnExistingKind(t *testing.T) {
	if Wrap(ErrMalformed, nil) != nil {
		t.Fatal("Wrap(nil) must be nil")
	}
	sig := Errorf(ErrSignature, "bad")
	if got := Wrap(ErrMalformed, sig); !errors.Is(got, ErrSignature) || errors.Is(got, ErrMalformed) {
		t.Fatalf("Wrap replaced or added a kind: %v", got)
	}
	plain := errors.New("boom")
	if got := Wrap(ErrCollateral, plain); !errors.Is(got, ErrCollateral) || !errors.Is(got, plain) {
		t.Fatalf("Wrap did not add the kind: %v", got)
	}
}

func TestErrorWithoutCause(t *testing.T) {
	e := &Error{Kind: ErrTCB}
	if e.Error() != ErrTCB.Error() || !errors.Is(e, ErrTCB) {
		t.Fatalf("bare kind error: %q", e.Error())
	}
}

// A nil kind (for example Errorf(KindOf(err), ...) on an error that has no
// kind) must give a usable error, never one whose Error method panics.
func TestNilKindNeverPanics(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	for name, err := range map[string]error{
		"Errorf":  Errorf(nil, "device %d: %w", 1, cause),
		"Wrap":    Wrap(nil, cause),
		"literal": &Error{Err: cause},
	} {
		t.Run(name, func(t *testing.T) {
			var msg string
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Error() panicked: %v", p)
					}
				}()
				msg = err.Error()
			}()
			if !strings.Contains(msg, cause.Error()) {
				t.Fatalf("message %q lost the cause %q", msg, cause)
			}
			if !errors.Is(err, cause) {
				t.Fatal("cause not reachable through errors.Is")
			}
			if k := KindOf(err); k != nil {
				t.Fatalf("an error built with a nil kind has kind %v", k)
			}
			if errors.Is(err, nil) {
				t.Fatal("error matches nil")
			}
		})
	}
	if got := (&Error{}).Error(); got == "" {
		t.Fatal("empty *Error has an empty message")
	}
}
