package coalesce

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestShared: callers arriving while one computation runs get its result
// without running their own, when reuse allows it.
func TestShared(t *testing.T) {
	var g Group[int]
	var runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	fn := func() (int, error) {
		if runs.Add(1) == 1 {
			close(started)
		}
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	results := make([]int, 8)
	wg.Go(func() { results[0], _ = g.Do("k", fn, func(int, error) bool { return true }) })
	<-started
	for i := 1; i < len(results); i++ {
		wg.Go(func() { results[i], _ = g.Do("k", fn, func(int, error) bool { return true }) })
	}
	time.Sleep(20 * time.Millisecond) // let the followers join the flight
	close(release)
	wg.Wait()
	for _, r := range results {
		require.Equal(t, 42, r)
	}
	require.LessOrEqual(t, runs.Load(), int32(len(results)))
	require.GreaterOrEqual(t, runs.Load(), int32(1))
}

// TestRefused: a caller whose reuse refuses the shared result runs fn
// itself and gets its own answer, error or not.
func TestRefused(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	started := make(chan struct{})
	errLeader := errors.New("leader's context was cancelled")
	var wg sync.WaitGroup
	var leaderErr, followerErr error
	var follower int
	wg.Go(func() {
		_, leaderErr = g.Do("k", func() (int, error) { close(started); <-release; return 0, errLeader }, nil)
	})
	<-started
	wg.Go(func() {
		follower, followerErr = g.Do("k", func() (int, error) { return 7, nil }, func(_ int, err error) bool { return err == nil })
	})
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	require.ErrorIs(t, leaderErr, errLeader)
	require.NoError(t, followerErr)
	require.Equal(t, 7, follower)
}
