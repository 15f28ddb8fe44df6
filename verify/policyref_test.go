package verify_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// versionPolicy affirms everything and names its version in its id and in
// every check it writes.
func versionPolicy(version int) verify.Policy {
	id := "v" + strconv.Itoa(version)
	return verify.PolicyFunc(func(_ context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
		r := &verify.PolicyResult{PolicyID: id, Checks: []verify.Check{
			{ID: id + ".hardware", OK: true, Category: ear.Hardware, Value: ear.GenuineHardware},
			{ID: id + ".identity", OK: true, Category: ear.InstanceIdentity, Value: ear.TrustworthyInstance},
		}}
		r.TrustVector[ear.Hardware] = ear.GenuineHardware
		r.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
		return r, nil
	})
}

// A PolicyRef swapped while appraisals run: every result comes wholly from
// one policy version, and appraisals that start after a Store see it.
func TestPolicyRefSwapUnderLoad(t *testing.T) {
	base, _, _ := newAppraiser(t, verify.WithConcurrency(4))
	ref, err := verify.NewPolicyRef(versionPolicy(0))
	require.NoError(t, err)
	a, err := base.WithPolicy(ref)
	require.NoError(t, err)

	const swaps, appraisers, rounds = 200, 4, 25
	stop := make(chan struct{})
	var swapper sync.WaitGroup
	swapper.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			require.NoError(t, ref.Store(versionPolicy(i%swaps)))
		}
	})
	var wg sync.WaitGroup
	versions := make([]map[string]bool, appraisers)
	for w := range appraisers {
		versions[w] = map[string]bool{}
		wg.Go(func() {
			for range rounds {
				o, err := a.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(8, nil)))
				if !assertOneVersion(t, o, err) {
					return
				}
				versions[w][o.Submods[0].Policy.PolicyID] = true
			}
		})
	}
	wg.Wait()
	close(stop)
	swapper.Wait()

	// After a Store returns, new appraisals use it.
	require.NoError(t, ref.Store(versionPolicy(4242)))
	o, err := a.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(1, nil)))
	require.NoError(t, err)
	require.Equal(t, []string{"v4242"}, o.Result.Submods["cpu0"].PolicyIDs)
}

// assertOneVersion checks that every submodule of o was appraised by one
// policy version, in its id and in every check.
func assertOneVersion(t *testing.T, o *verify.Outcome, err error) bool {
	t.Helper()
	if !holds(t, err == nil, "appraisal: %v", err) || !holds(t, len(o.Submods) == 9, "%d submods", len(o.Submods)) {
		return false
	}
	want := o.Submods[0].Policy.PolicyID
	for _, so := range o.Submods {
		if !holds(t, so.Policy != nil && so.Policy.PolicyID == want, "submod %s: policy %v, cpu0 had %s", so.Name, so.Policy, want) {
			return false
		}
		for _, c := range so.Policy.Checks {
			if !holds(t, strings.HasPrefix(c.ID, want+"."), "submod %s: check %s under policy %s", so.Name, c.ID, want) {
				return false
			}
		}
		if !holds(t, len(so.Appraisal.PolicyIDs) == 1 && so.Appraisal.PolicyIDs[0] == want, "submod %s: token policy ids %v", so.Name, so.Appraisal.PolicyIDs) {
			return false
		}
	}
	return true
}

// assert reports a failure from any goroutine (require would call
// t.FailNow, which only the test goroutine may).
func holds(t *testing.T, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

// WithPolicy is a cheap per-call copy: the original keeps its policy.
func TestAppraiserWithPolicy(t *testing.T) {
	a, _, _ := newAppraiser(t)
	b, err := a.WithPolicy(versionPolicy(7))
	require.NoError(t, err)
	ob, err := b.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(1, nil)))
	require.NoError(t, err)
	require.Equal(t, []string{"v7"}, ob.Result.Submods["gpu0"].PolicyIDs)
	oa, err := a.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(1, nil)))
	require.NoError(t, err)
	require.NotEqual(t, []string{"v7"}, oa.Result.Submods["gpu0"].PolicyIDs)

	_, err = a.WithPolicy(nil)
	require.ErrorIs(t, err, verify.ErrConfig)
	var nilFunc verify.PolicyFunc
	_, err = a.WithPolicy(nilFunc)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// A per-format policy behind a PolicyRef is read once per appraisal too.
func TestPolicyRefPerFormat(t *testing.T) {
	ref, err := verify.NewPolicyRef(versionPolicy(1))
	require.NoError(t, err)
	a, _, _ := newAppraiser(t, verify.WithFormatPolicy(verify.FormatGPU, ref))
	o, err := a.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(2, nil)))
	require.NoError(t, err)
	require.Equal(t, []string{"v1"}, o.Result.Submods["gpu1"].PolicyIDs)
	require.NotEqual(t, []string{"v1"}, o.Result.Submods["cpu0"].PolicyIDs)
	require.NoError(t, ref.Store(versionPolicy(2)))
	o, err = a.AppraiseOutcome(context.Background(), comps(tdxEvidence(nil), gpuEvidence(2, nil)))
	require.NoError(t, err)
	require.Equal(t, []string{"v2"}, o.Result.Submods["gpu0"].PolicyIDs)

	require.ErrorIs(t, ref.Store(nil), verify.ErrConfig)
	require.ErrorIs(t, ref.Store(ref), verify.ErrConfig)
	_, err = verify.NewPolicyRef(nil)
	require.ErrorIs(t, err, verify.ErrConfig)
}
