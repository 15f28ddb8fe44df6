package token

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// Every algorithm × both encodings × all three profiles (two generations).
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, alg := range Algorithms() {
		s := mustSigner(t, alg)
		v := mustVerifier(t, s)
		for _, profile := range []string{ear.ProfileIETF03, ear.ProfileVeraison, ear.ProfileTrustee} {
			for _, f := range []Format{FormatJWT, FormatCWT} {
				t.Run(string(alg)+"/"+f.String()+"/"+profile, func(t *testing.T) {
					in := testResult(profile)
					var tok []byte
					var err error
					if f == FormatJWT {
						tok, err = s.SignJWT(in)
					} else {
						tok, err = s.SignCWT(in)
					}
					if err != nil {
						t.Fatal(err)
					}
					if got := DetectFormat(tok); got != f {
						t.Fatalf("DetectFormat: expected %s, got %s", f, got)
					}
					out, err := v.Verify(ctx, tok, Expectations{Now: testNow.Add(1), Nonce: testNonce, Issuer: "attest-test"})
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(in, out) {
						t.Errorf("round trip changed the result:\n in: %+v\nout: %+v", in, out)
						for n := range in.Submods {
							t.Errorf("%s in: %+v\nout: %+v", n, in.Submods[n], out.Submods[n])
						}
					}
					// a flipped signature byte must fail with ErrSignature
					bad := append([]byte(nil), tok...)
					bad[len(bad)-3] ^= 0x01
					if f == FormatJWT {
						bad[len(bad)-3] = flipB64(tok[len(tok)-3])
					}
					res, err := v.Verify(ctx, bad, Expectations{Now: testNow.Add(1)})
					wantKinds(t, err, verify.ErrToken, verify.ErrSignature)
					if res != nil {
						t.Error("claims returned with an error")
					}
				})
			}
		}
	}
}

func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// Algorithms hands out a copy: a caller changing it cannot widen or narrow
// what keys and tokens may use.
func TestAlgorithmsSliceIsACopy(t *testing.T) {
	algs := Algorithms()
	for i := range algs {
		algs[i] = "HS256"
	}
	if got := Algorithms(); slices.Contains(got, "HS256") {
		t.Errorf("Algorithms() after changing a copy: %v", got)
	}
	if _, err := ParseAlgorithm("HS256"); err == nil {
		t.Error("ParseAlgorithm follows the exported slice: HS256 accepted")
	}
	if a, err := ParseAlgorithm("ES256"); err != nil || a != ES256 {
		t.Errorf("ParseAlgorithm(ES256) = %q, %v", a, err)
	}
	s := mustSigner(t, ES384)
	tok, err := s.SignCWT(testResult(ear.ProfileIETF03))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustVerifier(t, s).VerifyCWT(ctx, tok, Expectations{Now: testNow.Add(time.Minute)}); err != nil {
		t.Errorf("CWT verification follows the exported slice: %v", err)
	}
}
