package token

import (
	"sync"
	"testing"

	"github.com/trustfactory/attest/ear"
)

// One Signer and one Verifier shared by many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	s, v := es256(t)
	r := testResult(ear.ProfileIETF03)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				sign := s.SignJWT
				if (i+j)%2 == 1 {
					sign = s.SignCWT
				}
				tok, err := sign(r, CapExpiry(testNow.Add(2*at.Now.Sub(testNow))))
				if err != nil {
					errs <- err
					return
				}
				got, err := v.Verify(ctx, tok, Expectations{Now: at.Now, Nonce: testNonce})
				if err != nil {
					errs <- err
					return
				}
				if got.OverallStatus() != r.OverallStatus() {
					t.Errorf("status %s, expected %s", got.OverallStatus(), r.OverallStatus())
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
