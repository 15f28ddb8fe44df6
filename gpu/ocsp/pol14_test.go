package ocsp_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

// answerSource answers every query with der, or fails with err.
type answerSource struct {
	der []byte
	err error
}

func (s answerSource) Fetch(context.Context, ocsp.Query) ([]byte, error) { return s.der, s.err }

// pol14Sources returns, for the BROM certificate of r, a source per POL-14
// situation (responder down, stale answer, bad signature, wrong responder).
func pol14Sources(t *testing.T, r responderPKI) map[string]ocsp.Source {
	t.Helper()
	sign := func(tmpl xocsp.Response, responder *x509.Certificate, signer crypto.Signer) []byte {
		t.Helper()
		der, err := xocsp.CreateResponse(r.issuer, responder, tmpl, signer)
		require.NoError(t, err)
		return der
	}
	stale := r.template()
	stale.ThisUpdate, stale.NextUpdate = respNow.Add(-72*time.Hour), respNow.Add(-48*time.Hour)
	// A delegated responder certified by a CA outside the chain: not one
	// that may answer for the issuer.
	rogueCA, rogueKey := gputest.NewRoot()
	respKey := gputest.NewKey()
	rogue := gputest.Sign(&x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rogue responder"},
		NotBefore: respNow.Add(-time.Hour), NotAfter: respNow.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
	}, &respKey.PublicKey, rogueCA, rogueKey)
	wrong := r.template()
	wrong.Certificate = rogue
	return map[string]ocsp.Source{
		"responder down":  answerSource{err: errors.New("dial tcp: connection refused")},
		"stale answer":    answerSource{der: sign(stale, r.issuer, r.issuerKey)},
		"bad signature":   answerSource{der: sign(r.template(), r.issuer, gputest.NewKey())},
		"wrong responder": answerSource{der: sign(wrong, rogue, respKey)},
	}
}

// POL-14: an OCSP outage, a stale answer, a badly signed answer and an
// answer from the wrong responder are collateral failures: ErrCollateral,
// never ErrRevoked, and the operational trust value (instance-identity −1,
// no hardware claim), never contraindicated hardware (96).
func TestPOL14OCSPOutageIsNotRevocation(t *testing.T) {
	r := newResponderPKI()
	chain := []*x509.Certificate{r.cert, r.issuer}
	for name, src := range pol14Sources(t, r) {
		t.Run(name, func(t *testing.T) {
			chk, err := ocsp.NewChecker(src)
			require.NoError(t, err)
			res, err := chk.CheckChain(context.Background(), chain, 0, ocsp.ScopeDevice, respNow)
			require.Error(t, err)
			assert.Nil(t, res)
			assert.ErrorIs(t, err, verify.ErrCollateral)
			assert.NotErrorIs(t, err, verify.ErrRevoked)
			v := verify.FailureVector(err)
			assert.Equal(t, ear.VerifierMalfunction, v[ear.InstanceIdentity], "instance identity of %v", err)
			assert.Equal(t, ear.NoClaim, v[ear.Hardware], "hardware of %v", err)
			assert.True(t, verify.IsOperational(err))
		})
	}
	// For contrast: a verified "revoked" answer is a revocation.
	revoked := r.template()
	revoked.Status, revoked.RevokedAt, revoked.RevocationReason = xocsp.Revoked, respNow.Add(-time.Hour), xocsp.KeyCompromise
	der, err := xocsp.CreateResponse(r.issuer, r.issuer, revoked, r.issuerKey)
	require.NoError(t, err)
	chk, err := ocsp.NewChecker(answerSource{der: der})
	require.NoError(t, err)
	_, err = chk.CheckChain(context.Background(), chain, 0, ocsp.ScopeDevice, respNow)
	require.ErrorIs(t, err, verify.ErrRevoked)
	assert.Equal(t, ear.ContraindicatedHardware, verify.FailureVector(err)[ear.Hardware])
}

// POL-14 with WithMissingAnswersUnsafe: only an answer that never came is
// tolerated (status "missing", a warning); one that came and fails its
// checks is refused whatever the option.
func TestPOL14AllowMissingToleratesOnlyMissingAnswers(t *testing.T) {
	r := newResponderPKI()
	chain := []*x509.Certificate{r.cert, r.issuer}
	for name, src := range pol14Sources(t, r) {
		t.Run(name, func(t *testing.T) {
			chk, err := ocsp.NewChecker(src, ocsp.WithMissingAnswersUnsafe())
			require.NoError(t, err)
			res, err := chk.CheckChain(context.Background(), chain, 0, ocsp.ScopeDevice, respNow)
			if name == "responder down" {
				require.NoError(t, err)
				assert.Equal(t, ocsp.StatusMissing, res.Status())
				assert.Len(t, res.Warnings, 1)
				return
			}
			require.ErrorIs(t, err, verify.ErrCollateral)
			assert.NotErrorIs(t, err, verify.ErrRevoked)
		})
	}
}

// A cancelled context is ErrCanceled (and context.Canceled), not a missing
// answer, even with WithMissingAnswersUnsafe.
func TestOCSPCancelledIsCanceled(t *testing.T) {
	r := newResponderPKI()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	chk, err := ocsp.NewChecker(answerSource{err: context.Canceled}, ocsp.WithMissingAnswersUnsafe())
	require.NoError(t, err)
	_, err = chk.CheckChain(ctx, []*x509.Certificate{r.cert, r.issuer}, 0, ocsp.ScopeDevice, respNow)
	require.ErrorIs(t, err, verify.ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, verify.ErrCanceled, verify.KindOf(err))
}

// The same holds when the answers pass through a CachedSource, which
// verifies what it keeps: a bad answer it refuses is not a missing one.
func TestPOL14AllowMissingThroughCachedSource(t *testing.T) {
	r := newResponderPKI()
	chain := []*x509.Certificate{r.cert, r.issuer}
	for name, src := range pol14Sources(t, r) {
		t.Run(name, func(t *testing.T) {
			cached, err := ocsp.NewCachedSource(src, nil, func() time.Time { return respNow })
			require.NoError(t, err)
			chk, err := ocsp.NewChecker(cached, ocsp.WithMissingAnswersUnsafe())
			require.NoError(t, err)
			res, err := chk.CheckChain(context.Background(), chain, 0, ocsp.ScopeDevice, respNow)
			if name == "responder down" {
				require.NoError(t, err)
				assert.Equal(t, ocsp.StatusMissing, res.Status())
				return
			}
			require.ErrorIs(t, err, verify.ErrCollateral)
			assert.NotErrorIs(t, err, verify.ErrRevoked)
		})
	}
}
