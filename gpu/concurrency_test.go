package gpu

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// GEN-03: the same evidence verified in parallel by a cold verifier (caches
// filling concurrently) gives the claims of a sequential run, every time.
func TestGEN03ConcurrentVerifyMatchesSequential(t *testing.T) {
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	ev := v1Evidence(t)
	want, err := v1Verifier(t).Verify(context.Background(), ev, exp)
	if err != nil {
		t.Fatal(err)
	}
	wantMap := want.Map()
	v := v1Verifier(t)
	const workers, rounds = 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	maps := make(chan map[string]any, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				c, err := v.Verify(context.Background(), ev, exp)
				if err != nil {
					errs <- err
					continue
				}
				maps <- c.Map()
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(maps)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	for m := range maps {
		n++
		if !reflect.DeepEqual(m, wantMap) {
			t.Fatalf("parallel claims differ from the sequential ones:\n%v\n%v", m, wantMap)
		}
	}
	if n != workers*rounds {
		t.Fatalf("%d results, want %d", n, workers*rounds)
	}
}
