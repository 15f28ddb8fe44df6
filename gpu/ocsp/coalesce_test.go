package ocsp_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/ocsp"
)

// gatedSource counts fetches per certificate and holds each until released.
type gatedSource struct {
	inner   ocsp.Source
	fetches atomic.Int32
	entered chan struct{} // one receive per fetch that started
	release chan struct{}
	once    sync.Once
}

// open lets every held fetch through (once; also at cleanup, so that a
// failing test leaves none behind).
func (s *gatedSource) open() { s.once.Do(func() { close(s.release) }) }

func newGatedSource(t *testing.T) *gatedSource {
	s := &gatedSource{inner: recorded(t), entered: make(chan struct{}, 16), release: make(chan struct{})}
	t.Cleanup(s.open)
	return s
}

func (s *gatedSource) Fetch(ctx context.Context, q ocsp.Query) ([]byte, error) {
	s.fetches.Add(1)
	s.entered <- struct{}{}
	<-s.release
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.inner.Fetch(ctx, q)
}

// waitingInFlight counts goroutines inside a coalesced call: the one that
// runs it and those waiting for its result.
func waitingInFlight() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "singleflight.(*Group).Do")
}

// TestConcurrentQueriesShareOneFetch: devices checking the same certificate
// at the same instant share one fetch and verification, and each gets its
// own result, equal to the others.
func TestConcurrentQueriesShareOneFetch(t *testing.T) {
	src := newGatedSource(t)
	chk, err := ocsp.NewChecker(src)
	require.NoError(t, err)
	chain := deviceChain(t)
	from := len(chain) - 2 // only the certificate below the root: one query
	const callers = 6
	results := make([]*ocsp.Result, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			results[i], errs[i] = chk.CheckChain(context.Background(), chain, from, ocsp.ScopeDevice, deviceTime)
		})
	}
	<-src.entered
	// Without coalescing the others would be in Fetch, not waiting on the
	// first: this never reaches callers and the test fails.
	deadline := time.Now().Add(30 * time.Second)
	for waitingInFlight() < callers {
		require.True(t, time.Now().Before(deadline), "the other callers never joined the first fetch (%d in flight)", waitingInFlight())
		time.Sleep(time.Millisecond)
	}
	src.open()
	wg.Wait()
	require.Equal(t, int32(1), src.fetches.Load())
	for i := range callers {
		require.NoError(t, errs[i])
		require.Equal(t, ocsp.StatusGood, results[i].Status())
		require.Equal(t, results[0], results[i])
	}
	results[0].Certs[0].Status = "tampered" // each caller's result is its own
	require.Equal(t, ocsp.StatusGood, results[1].Certs[0].Status)
}

// TestCanceledLeaderNotShared: a fetch that failed because the context of
// the caller running it was cancelled is not the answer of the callers that
// waited for it; they fetch themselves.
func TestCanceledLeaderNotShared(t *testing.T) {
	src := newGatedSource(t)
	chk, err := ocsp.NewChecker(src)
	require.NoError(t, err)
	chain := deviceChain(t)
	from := len(chain) - 2
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var leaderErr, followerErr error
	var follower *ocsp.Result
	wg.Go(func() {
		_, leaderErr = chk.CheckChain(ctx, chain, from, ocsp.ScopeDevice, deviceTime)
	})
	<-src.entered
	wg.Go(func() {
		follower, followerErr = chk.CheckChain(context.Background(), chain, from, ocsp.ScopeDevice, deviceTime)
	})
	deadline := time.Now().Add(30 * time.Second)
	for waitingInFlight() < 2 {
		require.True(t, time.Now().Before(deadline), "the second caller never joined the first fetch")
		time.Sleep(time.Millisecond)
	}
	cancel()
	src.open() // the follower's own fetch passes straight through
	wg.Wait()
	require.ErrorIs(t, leaderErr, context.Canceled)
	require.NoError(t, followerErr)
	require.Equal(t, ocsp.StatusGood, follower.Status())
	require.Equal(t, int32(2), src.fetches.Load())
}
