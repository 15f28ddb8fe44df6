package rego_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/policy/rego"
	"github.com/trustfactory/attest/verify"
)

// A Rego policy in Trustee's shape, appraising TDX claims with a pinned
// MRTD.
func ExampleNew() {
	const module = `package policy
default hardware := 97
hardware := 2 if input.tdx.quote.body.mr_td in query_reference_value("mr_td")
trust_claims := {"hardware": hardware}
`
	rv, err := policy.FromEntries(policy.Entry{Name: "mr_td", Value: "ab12"})
	if err != nil {
		panic(err)
	}
	p, err := rego.New(context.Background(), module, rego.WithID("my_cpu"), rego.WithReferenceValues(rv))
	if err != nil {
		panic(err)
	}
	res, err := p.Appraise(context.Background(), verify.PolicyInput{
		Format: verify.FormatTDX,
		Claims: map[string]any{"quote.body.mr_td": "ab12"},
		Now:    time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.PolicyID, res.Status())
	// Output: my_cpu affirming
}
