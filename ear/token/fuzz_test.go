package token

import (
	"errors"
	"testing"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// fuzzVerifier trusts the ES256 test key; seeds are real tokens signed with it
// plus Trustee's token against Trustee's key set.
func fuzzSeeds(f *testing.F, format Format) (*Verifier, *Verifier) {
	s := mustSigner(f, ES256)
	v := mustVerifier(f, s)
	tv, err := NewVerifier(trusteeKeys(f))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{ear.ProfileIETF03, ear.ProfileVeraison, ear.ProfileTrustee} {
		var tok []byte
		if format == FormatJWT {
			tok, err = s.SignJWT(testResult(p))
		} else {
			tok, err = s.SignCWT(testResult(p))
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
	return v, tv
}

func checkVerifyResult(t *testing.T, r *ear.Result, err error) {
	if err != nil {
		if r != nil {
			t.Fatalf("claims returned with error %v", err)
		}
		if !errors.Is(err, verify.ErrToken) {
			t.Fatalf("token error without ErrToken: %v", err)
		}
		return
	}
	if r.Validate() != nil {
		t.Fatal("an invalid result verified")
	}
}

func FuzzParseJWT(f *testing.F) {
	v, tv := fuzzSeeds(f, FormatJWT)
	f.Add(trusteeTokenTB(f))
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))
	f.Fuzz(func(t *testing.T, tok []byte) {
		for _, vv := range []*Verifier{v, tv} {
			r, err := vv.VerifyJWT(ctx, tok, Expectations{Now: testNow.Add(1)})
			checkVerifyResult(t, r, err)
		}
	})
}

func FuzzParseCWT(f *testing.F) {
	v, _ := fuzzSeeds(f, FormatCWT)
	f.Fuzz(func(t *testing.T, tok []byte) {
		r, err := v.VerifyCWT(ctx, tok, Expectations{Now: testNow.Add(1)})
		checkVerifyResult(t, r, err)
	})
}
