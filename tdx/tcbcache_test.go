package tdx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// The cached TCB appraisal follows the collateral: one verifier, the same
// quote, collateral swapped between calls (UpToDate, with an advisory;
// OutOfDate; Revoked; back), each call reports the status of the collateral
// it was given, and a caller that edits its claims does not edit the cache.
func TestTCBCacheFollowsCollateral(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	collateral := func(status string, advisories ...string) *tdx.Collateral {
		ti := f.pki.DefaultTCBInfo(status)
		ti.TCBLevels[0].AdvisoryIDs = advisories
		return f.pki.Collateral(f.pki.SignTCBInfo(ti), f.pki.SignQEIdentity(f.pki.DefaultQEIdentity()))
	}
	upToDate := collateral("UpToDate", "INTEL-SA-00001")
	f.setCollateral(upToDate)
	c, err := verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusUpToDate, c.TCB.Status)
	require.Equal(t, []string{"INTEL-SA-00001"}, c.TCB.AdvisoryIDs)
	c.TCB.Status, c.TCB.AdvisoryIDs[0] = tdx.StatusRevoked, "edited"

	c, err = verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusUpToDate, c.TCB.Status, "the cached appraisal was edited through the claims")
	require.Equal(t, []string{"INTEL-SA-00001"}, c.TCB.AdvisoryIDs)

	f.setCollateral(collateral("OutOfDate"))
	c, err = verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusOutOfDate, c.TCB.Status)
	require.Empty(t, c.TCB.AdvisoryIDs)

	f.setCollateral(collateral("Revoked"))
	_, err = verifyQuote(t, v, quote, exp())
	require.ErrorIs(t, err, verify.ErrRevoked)

	f.setCollateral(upToDate)
	c, err = verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusUpToDate, c.TCB.Status)
}

// The cached TCB appraisal follows the quote: a quote of the same platform
// whose TEE_TCB_SVN no longer reaches the first TCB level gets the second
// level's status from the same verifier, and the first quote its own again.
func TestTCBCacheFollowsQuote(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	c, err := verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusUpToDate, c.TCB.PlatformStatus)

	s := f.pki.DefaultQuote(nonce)
	s.Body.TEETCBSVN[2] = 1 // below the first level's 2, at the second's
	older := f.pki.Quote(s)
	c, err = verifyQuote(t, v, older, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusOutOfDate, c.TCB.PlatformStatus)

	c, err = verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	require.Equal(t, tdx.StatusUpToDate, c.TCB.PlatformStatus)
}

// A cached appraisal is no excuse for stale collateral: the collateral's
// validity is checked against each call's time, before and after a warm
// verification.
func TestTCBCacheRechecksTime(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	_, err := verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	_, next := f.pki.Window()
	late := exp()
	late.Now = next.Add(24 * time.Hour)
	_, err = verifyQuote(t, v, quote, late)
	require.Error(t, err)
	require.True(t, errors.Is(err, verify.ErrCollateral) || errors.Is(err, verify.ErrExpired) || errors.Is(err, verify.ErrChain), "%v", err)
	_, err = verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
}

// VerifyOwnedQuote verifies a raw quote as VerifyQuote does, to the same
// claims, and refuses what is not a raw quote.
func TestVerifyOwnedQuote(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	want, err := verifyQuote(t, v, quote, exp())
	require.NoError(t, err)
	got, err := v.VerifyOwnedQuote(context.Background(), append([]byte(nil), quote...), exp())
	require.NoError(t, err)
	require.Equal(t, want.Map(), got.Map())

	_, err = v.VerifyOwnedQuote(context.Background(), flipByte(quote, 200), exp())
	require.ErrorIs(t, err, verify.ErrSignature)
	_, err = v.VerifyOwnedQuote(context.Background(), []byte(`{"quote":"AAAA"}`), exp())
	require.ErrorIs(t, err, verify.ErrMalformed)
	_, err = v.VerifyOwnedQuote(context.Background(), make([]byte, tdx.MaxQuoteSize+1), exp())
	require.ErrorIs(t, err, verify.ErrLimit)
}

func flipByte(b []byte, off int) []byte {
	c := append([]byte(nil), b...)
	c[off] ^= 1
	return c
}

// The platform cache keeps only quotes' small certification data (real
// ones carry about 5 KB) and keys larger ones by SHA-256: a quote with 20 KB
// of QE auth data verifies, cold and warm, and after it one whose auth data
// differs in its last byte, under the first quote's QE report, is refused,
// not served the first quote's platform.
func TestPlatformCacheLargeCertificationData(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	s := f.pki.DefaultQuote(nonce)
	s.AuthData = make([]byte, 20<<10)
	for i := range s.AuthData {
		s.AuthData[i] = byte(i)
	}
	quote := f.pki.Quote(s)
	for range 2 {
		_, err := verifyQuote(t, v, quote, exp())
		require.NoError(t, err)
	}
	edited := append([]byte(nil), s.AuthData...)
	edited[len(edited)-1] ^= 1
	d := qeReportDataFor(&f.pki.AttestationKey.PublicKey, s.AuthData) // the first quote's
	s.AuthData, s.QEReportData = edited, &d
	_, err := verifyQuote(t, v, f.pki.Quote(s), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
}
