package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// signCWTWith signs r's claims as a COSE_Sign1 with s's key and the
// protected and unprotected headers given (alg filled in).
func signCWTWith(t *testing.T, s *Signer, r *ear.Result, protected cose.ProtectedHeader, unprotected cose.UnprotectedHeader) []byte {
	t.Helper()
	c, err := s.prepare(r, nil)
	require.NoError(t, err)
	payload, err := s.codec.EncodeCBOR(c)
	require.NoError(t, err)
	if protected == nil {
		protected = cose.ProtectedHeader{}
	}
	protected[cose.HeaderLabelAlgorithm] = s.alg.cose()
	tok, err := cose.Sign1(rand.Reader, s.cose, cose.Headers{Protected: protected, Unprotected: unprotected}, payload, nil)
	require.NoError(t, err)
	return tok
}

// Red-team: a COSE_Sign1 whose protected header marks a parameter critical
// (RFC 9052 §3.1: a recipient that does not understand it must refuse the
// message). The JWT path refused crit; the CWT path did not look.
func TestRedteamCWTCriticalHeader(t *testing.T) {
	s := mustSigner(t, ES256)
	v := mustVerifier(t, s)
	exp := Expectations{Now: testNow, Nonce: testNonce}
	good := signCWTWith(t, s, testResult(ear.ProfileIETF03), cose.ProtectedHeader{cose.HeaderLabelKeyID: []byte(s.kid)}, nil)
	_, err := v.Verify(context.Background(), good, exp)
	require.NoError(t, err)

	crit := signCWTWith(t, s, testResult(ear.ProfileIETF03), cose.ProtectedHeader{
		cose.HeaderLabelKeyID: []byte(s.kid), cose.HeaderLabelCritical: []any{int64(-70000)}, int64(-70000): "must be understood",
	}, nil)
	r, err := v.Verify(context.Background(), crit, exp)
	wantKinds(t, err, verify.ErrToken)
	require.Nil(t, r)
}

// Red-team: "KeySet is an immutable set", but it kept the caller's *Key
// values and Keys() handed them out, with exported fields: reassigning a
// key's Public after the Verifier was built made its JWT path trust the new
// key (its CWT path kept the old one).
func TestRedteamKeySetKeepsItsKeys(t *testing.T) {
	s := mustSigner(t, ES256)
	ak, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	attacker, err := NewSigner(ak, WithKeyID(s.kid))
	require.NoError(t, err)
	key := s.PublicKey()
	ks, err := NewKeySet(key)
	require.NoError(t, err)
	v, err := NewVerifier(ks)
	require.NoError(t, err)
	exp := Expectations{Now: testNow, Nonce: testNonce}
	forged, err := attacker.SignJWT(testResult(ear.ProfileIETF03))
	require.NoError(t, err)

	key.Public = attacker.PublicKey().Public // the key given to NewKeySet
	for _, k := range ks.Keys() {            // the keys the set hands out
		k.Public, k.Algorithm = attacker.PublicKey().Public, ES256
	}
	s.PublicKey().Public = attacker.PublicKey().Public // the signer's
	for _, set := range []*KeySet{ks, s.KeySet()} {
		v, err := NewVerifier(set)
		require.NoError(t, err)
		r, err := v.Verify(context.Background(), forged, exp)
		wantKinds(t, err, verify.ErrToken, verify.ErrSignature)
		require.Nil(t, r)
	}
	r, err := v.Verify(context.Background(), forged, exp)
	wantKinds(t, err, verify.ErrToken, verify.ErrSignature)
	require.Nil(t, r)
	genuine, err := s.SignJWT(testResult(ear.ProfileIETF03))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), genuine, exp)
	require.NoError(t, err)
}

// GEN-04 at the boundary seconds: a token is valid from nbf inclusive to
// exp exclusive, and iat may not be after the verification time.
func TestRedteamTimeBoundaries(t *testing.T) {
	s, v := es256(t)
	tok, err := s.SignJWT(testResult(ear.ProfileIETF03)) // nbf = iat = testNow, exp = testNow+10m
	require.NoError(t, err)
	exp := testNow.Add(10 * time.Minute)
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{testNow.Add(-time.Second), false},
		{testNow, true},
		{exp.Add(-time.Second), true},
		{exp, false},
	} {
		r, err := v.Verify(context.Background(), tok, Expectations{Now: c.at, Nonce: testNonce})
		if c.ok {
			require.NoError(t, err, c.at)
			require.NotNil(t, r)
		} else {
			wantKinds(t, err, verify.ErrToken, verify.ErrExpired)
			require.Nil(t, r)
		}
	}
}
