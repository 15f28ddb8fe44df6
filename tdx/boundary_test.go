package tdx_test

import (
	"errors"
	"testing"
	"time"

	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// GEN-04: validity bounds are inclusive. Collateral issued at IssueDate with
// nextUpdate NextUpdate verifies at both instants and fails one second
// outside them, on a fresh verifier and on one whose caches are warm.
func TestCollateralValidityBoundaries(t *testing.T) {
	f := newFixture(t)
	quote := f.pki.Quote(f.pki.DefaultQuote(nonce))
	warm := f.verifier(t)
	if _, err := verifyQuote(t, warm, quote, exp()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"at issueDate", tdxtest.IssueDate, true},
		{"at nextUpdate", tdxtest.NextUpdate, true},
		{"one second before issueDate", tdxtest.IssueDate.Add(-time.Second), false},
		{"one second after nextUpdate", tdxtest.NextUpdate.Add(time.Second), false},
	} {
		for _, v := range []struct {
			name string
			warm bool
		}{{"cold", false}, {"warm", true}} {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				ver := f.verifier(t)
				if v.warm {
					ver = warm
				}
				e := exp()
				e.Now = c.now
				cl, err := verifyQuote(t, ver, quote, e)
				if c.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrExpired) || cl != nil {
					t.Fatalf("claims %v, err %v; want ErrCollateral and ErrExpired", cl != nil, err)
				}
			})
		}
	}
}
