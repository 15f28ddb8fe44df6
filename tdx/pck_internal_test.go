package tdx

import (
	"errors"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// A PCK chain with no certificate is a chain of the wrong length (ErrChain),
// as one of two or four is; a block that is not PEM is ErrMalformed.
func TestParsePEMChainKinds(t *testing.T) {
	for in, kind := range map[string]error{
		"":                      verify.ErrChain,
		"\x00\x00":              verify.ErrChain,
		"\n \n":                 verify.ErrChain,
		"not pem":               verify.ErrMalformed,
		"-----BEGIN X-----\nAA": verify.ErrMalformed,
	} {
		if _, err := parsePEMChain([]byte(in), 3, "PCK certificate chain"); !errors.Is(err, kind) {
			t.Errorf("%q: %v, want %v", in, err, kind)
		}
	}
}
