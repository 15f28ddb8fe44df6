package tdx_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Expired TDX collateral is a collateral failure, not a cryptographic
// failure of the quote: ErrCollateral with ErrExpired as detail, mapped to
// the operational value (instance-identity −1), never instance-identity 99.
// The message names the item that expired first and when.
func TestExpiredTDXCollateralIsNotInstanceIdentity99(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	q := p.Quote(p.DefaultQuote(nonce))
	later := tdxtest.NextUpdate().Add(30 * 24 * time.Hour)
	early := tdxtest.NextUpdate().Add(-24 * time.Hour)
	laterTCB := func(next time.Time) []byte {
		ti := p.DefaultTCBInfo("UpToDate")
		ti.NextUpdate = next.Format(time.RFC3339)
		return p.SignTCBInfo(ti)
	}
	laterQE := func(next time.Time) []byte {
		qi := tdxtest.DefaultQEIdentity()
		qi.NextUpdate = next.Format(time.RFC3339)
		return p.SignQEIdentity(qi)
	}
	// collateralWith gives every item a validity ending at later except the
	// one named, which ends at early.
	collateralWith := func(first string) *tdx.Collateral {
		tcbNext, qeNext, pckNext, rootNext := later, later, later, later
		switch first {
		case "TCB info":
			tcbNext = early
		case "QE identity":
			qeNext = early
		case "PCK CRL":
			pckNext = early
		case "Root CA CRL":
			rootNext = early
		}
		c := p.Collateral(laterTCB(tcbNext), laterQE(qeNext))
		c.PCKCRL = tdxtest.CRLAt(p.PCKCA, tdxtest.IssueDate(), pckNext)
		c.RootCACRL = tdxtest.CRLAt(p.Root, tdxtest.IssueDate(), rootNext)
		return c
	}
	for _, item := range []string{"TCB info", "QE identity", "PCK CRL", "Root CA CRL"} {
		t.Run(item, func(t *testing.T) {
			f.setCollateral(collateralWith(item))
			v := f.verifier(t)
			_, err := verifyQuote(t, v, q, exp())
			require.NoError(t, err, "inside every item's validity")

			e := exp()
			e.Now = early.Add(time.Hour)
			cl, err := verifyQuote(t, v, q, e)
			require.Nil(t, cl)
			require.ErrorIs(t, err, verify.ErrCollateral)
			require.ErrorIs(t, err, verify.ErrExpired)
			assert.Contains(t, err.Error(), item+" (nextUpdate) expired at "+early.Format(time.RFC3339))
			assert.Contains(t, err.Error(), "verification time "+e.Now.Format(time.RFC3339))
			vec := verify.FailureVector(err)
			assert.NotEqual(t, ear.CryptoValidationFailed, vec[ear.InstanceIdentity])
			assert.Equal(t, ear.VerifierMalfunction, vec[ear.InstanceIdentity])
			assert.True(t, verify.IsOperational(err))
		})
	}
}

// Collateral that does not verify (a TCB info whose signature fails, a
// signing chain to another root) is a collateral failure too: its own kind
// stays visible, and it maps to the operational value, not 99.
func TestUnverifiableTDXCollateralIsOperational(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	q := p.Quote(p.DefaultQuote(nonce))
	untrusted := tdxtest.NewPKI()
	cases := []struct {
		name string
		col  func() *tdx.Collateral
		kind error
	}{
		{"TCB info signed by another key", func() *tdx.Collateral {
			return p.Collateral(tdxtest.SignJSON("tcbInfo", mustMarshal(t, p.DefaultTCBInfo("UpToDate")), untrusted.TCBSigner.Private),
				p.SignQEIdentity(tdxtest.DefaultQEIdentity()))
		}, verify.ErrSignature},
		{"TCB signing chain to another root", func() *tdx.Collateral {
			c := p.DefaultCollateral()
			c.TCBInfo = untrusted.SignTCBInfo(p.DefaultTCBInfo("UpToDate"))
			c.TCBInfoIssuerChain = tdxtest.PEM(untrusted.TCBSigner.Cert, untrusted.Root.Cert)
			return c
		}, verify.ErrChain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.setCollateral(c.col())
			_, err := verifyQuote(t, f.verifier(t), q, exp())
			require.ErrorIs(t, err, c.kind)
			require.ErrorIs(t, err, verify.ErrCollateral)
			assert.Equal(t, ear.VerifierMalfunction, verify.FailureVector(err)[ear.InstanceIdentity])
		})
	}
}
