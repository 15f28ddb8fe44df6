package rim_test

import (
	"context"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

// GEN-04: the signer's validity is inclusive at both ends, one second outside
// is ErrExpired, on a fresh verifier and from a warm cache alike.
func TestSignerValidityBoundaries(t *testing.T) {
	nb, na := testTime.Add(-time.Hour), testTime.Add(time.Hour)
	p, err := rimtest.NewPKI(rimtest.PKIOptions{SignerNotBefore: nb, SignerNotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	doc := mustBuild(t, p, rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(fakeBlocks(64), 64, driverActive...)})
	ctx := context.Background()
	warm := newVerifier(t, rim.WithRoots(p.Root))
	if _, err := warm.Verify(ctx, doc, testTime); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"at notBefore", nb, true},
		{"at notAfter", na, true},
		{"one second before notBefore", nb.Add(-time.Second), false},
		{"one second after notAfter", na.Add(time.Second), false},
	} {
		for _, w := range []bool{false, true} {
			v := warm
			if !w {
				v = newVerifier(t, rim.WithRoots(p.Root))
			}
			m, err := v.Verify(ctx, doc, c.now)
			if c.ok {
				if err != nil || m == nil {
					t.Fatalf("%s (warm %v): %v", c.name, w, err)
				}
				continue
			}
			wantKind(t, m, err, verify.ErrExpired)
		}
	}
}
