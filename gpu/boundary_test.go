package gpu_test

import (
	"context"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/verify"
)

// GEN-04: the device chain is valid from the latest notBefore to the earliest
// notAfter of its certificates, both inclusive (crypto/x509's rule), whether
// the chain is verified afresh or taken from the verified-chain cache.
func TestDeviceChainValidityBoundaries(t *testing.T) {
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	p := gputest.NewPKI(gputest.PKIOptions{NotBefore: nb, NotAfter: na})
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce}), testNonce)
	at := func(v *gpu.Verifier, now time.Time) error {
		_, err := v.Verify(context.Background(), ev, verify.Expectations{ReportData: testNonce[:], Now: now})
		return err
	}
	warm := verifierFor(t, p)
	if err := at(warm, nb.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"notBefore", nb, true}, {"notAfter", na, true},
		{"second before notBefore", nb.Add(-time.Second), false}, {"second after notAfter", na.Add(time.Second), false},
	} {
		for name, v := range map[string]*gpu.Verifier{"cached": warm, "fresh": verifierFor(t, p)} {
			err := at(v, c.now)
			if c.ok && err != nil {
				t.Errorf("%s, %s: %v", c.name, name, err)
			}
			if !c.ok && !errorsIs(err, verify.ErrExpired) {
				t.Errorf("%s, %s: expected ErrExpired, got %v", c.name, name, err)
			}
		}
	}
}
