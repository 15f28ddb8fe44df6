package tdxtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// verifyAt verifies the PKI's default quote with its default collateral at now.
func verifyAt(t *testing.T, pki *tdxtest.PKI, now time.Time) error {
	t.Helper()
	src := tdx.NewMemorySource()
	src.Add(pki.Platform.FMSPC, "platform", pki.DefaultCollateral())
	v, err := tdx.NewVerifier(tdx.WithCollateral(src), tdx.WithTrustedRoots(pki.Root.Cert))
	require.NoError(t, err)
	nonce := []byte("nonce")
	c, err := v.VerifyQuote(context.Background(), pki.Quote(pki.DefaultQuote(nonce)), verify.Expectations{ReportData: nonce, Now: now})
	if err == nil {
		assert.Equal(t, "UpToDate", c.Map()["tcb_status"])
	}
	return err
}

// The collateral's validity is an input: a PKI made for a time verifies at
// that time, the real clock included, and the defaults keep their June 2025
// window.
func TestCollateralAtAnyTime(t *testing.T) {
	now := time.Now()
	later := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	cases := []struct {
		name  string
		pki   func() *tdxtest.PKI
		at    time.Time
		valid bool
	}{
		{"defaults at VerifyTime", tdxtest.NewPKI, tdxtest.VerifyTime(), true},
		{"defaults after NextUpdate", tdxtest.NewPKI, tdxtest.NextUpdate().Add(time.Hour), false},
		{"real clock", func() *tdxtest.PKI { return tdxtest.NewPKIAt(now) }, now, true},
		{"real clock, 15 days on", func() *tdxtest.PKI { return tdxtest.NewPKIAt(now) }, now.Add(15 * 24 * time.Hour), true},
		{"real clock, 17 days on", func() *tdxtest.PKI { return tdxtest.NewPKIAt(now) }, now.Add(17 * 24 * time.Hour), false},
		{"2031", func() *tdxtest.PKI { return tdxtest.NewPKIAt(later) }, later, true},
		{"2031 collateral in 2025", func() *tdxtest.PKI { p := tdxtest.NewPKI(); p.CollateralTime = later; return p }, tdxtest.VerifyTime(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := verifyAt(t, c.pki(), c.at)
			if c.valid {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, verify.ErrExpired)
			}
		})
	}
	// The default window is the one CollateralTime = VerifyTime gives.
	def := tdxtest.NewPKI()
	at := tdxtest.NewPKI()
	at.CollateralTime = tdxtest.VerifyTime()
	di, dn := def.Window()
	ai, an := at.Window()
	assert.Equal(t, []time.Time{tdxtest.IssueDate(), tdxtest.NextUpdate()}, []time.Time{di, dn})
	assert.Equal(t, []time.Time{di, dn}, []time.Time{ai, an})
}
