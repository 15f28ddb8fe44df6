package rego

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// BenchmarkDefaultGPUPolicy appraises one test-bed GPU's verified claims
// with Trustee's default gpu policy (through the Set a service uses) and
// with attest's Go policy, on the same input in one process, and reports
// the ratio rego/go of their times per appraisal.
func BenchmarkDefaultGPUPolicy(b *testing.B) {
	bed, err := testbed.New(testbed.Options{Now: now, GPUs: 1})
	require.NoError(b, err)
	rv, err := bed.ReferenceValues()
	require.NoError(b, err)
	a, err := bed.Appraiser()
	require.NoError(b, err)
	s, err := testbed.NewSession()
	require.NoError(b, err)
	comps, err := bed.TDXComponents(s)
	require.NoError(b, err)
	o, err := a.AppraiseOutcome(context.Background(), comps[1:])
	require.NoError(b, err)
	require.NoError(b, o.Submods[0].Err)
	in := verify.PolicyInput{Submod: "gpu0", Format: verify.FormatGPU, Claims: o.Submods[0].ClaimMap(), Now: now}

	e, err := NewEngine()
	require.NoError(b, err)
	gp, err := e.Compile(context.Background(), "default_gpu", e.Defaults()["default_gpu"], rv)
	require.NoError(b, err)
	set, err := NewSet("default", map[string]verify.Policy{ClassGPU: gp})
	require.NoError(b, err)
	goPolicy, err := policy.New(rv)
	require.NoError(b, err)

	run := func(p verify.Policy, n int) time.Duration {
		start := time.Now()
		for range n {
			if _, err := p.Appraise(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	tRego := run(set, b.N)
	b.StopTimer()
	tGo := run(goPolicy, b.N)
	b.ReportMetric(float64(tGo.Nanoseconds())/float64(b.N), "go-ns/op")
	b.ReportMetric(float64(tRego)/float64(tGo), "rego/go")
}
