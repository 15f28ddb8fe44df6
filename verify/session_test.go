package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/verify"
)

// teeKey returns a fresh TEE key and its public JWK.
func teeKey(t *testing.T) (*ecdsa.PrivateKey, json.RawMessage) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	jk, err := jwk.FromRaw(&k.PublicKey)
	require.NoError(t, err)
	b, err := json.Marshal(jk)
	require.NoError(t, err)
	return k, b
}

// An appraisal told its session carries the nonce and the TEE key into the
// EAR: a relying party's nonce check and key-binding check pass on the
// signed token with nothing filled in by hand, and fail for another session.
func TestAppraiseSessionBindsNonceAndKey(t *testing.T) {
	a, _, _ := newAppraiser(t)
	key, keyJWK := teeKey(t)
	const nonce = "XCm0kNh8Ss5Y3f2w/Cg0Vq3U2cBKnW2Q5m8wX0o4mT0=" // a Trustee nonce: base64 of 32 bytes
	sess, err := verify.NewSession(nonce, keyJWK)
	require.NoError(t, err)

	o, err := a.AppraiseSession(context.Background(), sess, comps(tdxEvidence(nil), gpuEvidence(2, nil)))
	require.NoError(t, err)
	require.Equal(t, "affirming", o.Status().String())

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	signer, err := token.NewSigner(priv)
	require.NoError(t, err)
	jwt, err := signer.SignJWT(o.Result)
	require.NoError(t, err)
	v, err := token.NewVerifier(signer.KeySet())
	require.NoError(t, err)

	res, err := v.Verify(context.Background(), jwt, token.Expectations{Now: tNow, Nonce: []byte(nonce)})
	require.NoError(t, err)
	for _, sub := range []string{"cpu0", "gpu0", "gpu1"} {
		require.NoError(t, token.CheckKeyBinding(res, sub, &key.PublicKey), sub)
	}

	_, err = v.Verify(context.Background(), jwt, token.Expectations{Now: tNow, Nonce: []byte("another session nonce")})
	require.ErrorIs(t, err, verify.ErrFreshness)
	other, _ := teeKey(t)
	require.ErrorIs(t, token.CheckKeyBinding(res, "cpu0", &other.PublicKey), verify.ErrBinding)
}

// Without a session the result binds neither, as before; a submodule that
// failed verification or was not bound to report data gets no key.
func TestAppraiseSessionKeyOnlyOnBoundSubmods(t *testing.T) {
	a, _, _ := newAppraiser(t)
	_, keyJWK := teeKey(t)
	o, err := a.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(1, nil)))
	require.NoError(t, err)
	require.Nil(t, o.Result.Nonce)
	_, err = token.BoundKey(o.Result.Submods["cpu0"])
	require.ErrorIs(t, err, verify.ErrBinding)

	sess, err := verify.NewSession("0123456789abcdef", keyJWK)
	require.NoError(t, err)
	cs := comps(tdxEvidence(nil), gpuEvidence(1, map[int]func(*fakeEvidence){0: func(e *fakeEvidence) { e.Fail = "signature" }}))
	cs[0].Expect = verify.Expectations{Now: tNow, AllowMissingReportDataUnsafe: true}
	o, err = a.AppraiseSession(context.Background(), sess, cs)
	require.NoError(t, err)
	require.Nil(t, o.Result.Nonce, "a component not bound to the session: no eat_nonce")
	for _, sub := range []string{"cpu0", "gpu0"} {
		_, err = token.BoundKey(o.Result.Submods[sub])
		require.ErrorIs(t, err, verify.ErrBinding, sub)
	}
}

func TestSessionNonceRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		err  error
	}{
		{in: "12345678", want: []byte("12345678")},
		{in: strings.Repeat("n", 64), want: []byte(strings.Repeat("n", 64))},
		{in: strings.Repeat("n", 65), want: func() []byte { d := sha512.Sum384([]byte(strings.Repeat("n", 65))); return d[:] }()},
		{in: "1234567", err: verify.ErrConfig},
		{in: "", err: verify.ErrConfig},
	} {
		got, err := verify.SessionNonce(tc.in)
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

func TestSessionRefusesBadInput(t *testing.T) {
	a, _, _ := newAppraiser(t)
	for name, s := range map[string]verify.Session{
		"short nonce":  {Nonce: []byte("short")},
		"long nonce":   {Nonce: make([]byte, 65)},
		"no object":    {Nonce: []byte("0123456789"), TEEPubKey: json.RawMessage(`[1]`)},
		"no kty":       {Nonce: []byte("0123456789"), TEEPubKey: json.RawMessage(`{"x":"y"}`)},
		"huge key":     {Nonce: []byte("0123456789"), TEEPubKey: json.RawMessage(`{"kty":"` + strings.Repeat("a", verify.MaxTEEPubKeySize) + `"}`)},
		"invalid json": {Nonce: []byte("0123456789"), TEEPubKey: json.RawMessage(`{"kty":`)},
	} {
		_, err := a.AppraiseSession(context.Background(), s, comps(tdxEvidence(nil), gpuEvidence(1, nil)))
		require.ErrorIs(t, err, verify.ErrConfig, name)
	}
	_, err := verify.NewSession("0123456789", json.RawMessage(`{"x":1}`))
	require.ErrorIs(t, err, verify.ErrConfig)
}

// FuzzSession: any nonce and key bytes give a session or an ErrConfig
// error, never a panic, and an accepted session holds an 8–64-byte nonce.
func FuzzSession(f *testing.F) {
	f.Add("XCm0kNh8Ss5Y3f2w/Cg0Vq3U2cBKnW2Q5m8wX0o4mT0=", []byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AQ"}`))
	f.Add("short", []byte(`{}`))
	f.Add(strings.Repeat("n", 100), []byte(`[{"kty":1}]`))
	f.Add("0123456789", []byte(`{"kty":"RSA","n":`))
	f.Fuzz(func(t *testing.T, nonce string, key []byte) {
		s, err := verify.NewSession(nonce, key)
		if err != nil {
			require.ErrorIs(t, err, verify.ErrConfig)
			return
		}
		require.GreaterOrEqual(t, len(s.Nonce), 8)
		require.LessOrEqual(t, len(s.Nonce), 64)
	})
}
