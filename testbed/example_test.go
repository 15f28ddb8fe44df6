package testbed_test

import (
	"context"
	"fmt"

	"github.com/trustfactory/attest/testbed"
)

// A TD with 8 GPUs, each GPU from a different device PKI, appraised at the
// real clock by the default policy and the bed's reference values.
func Example() {
	bed, err := testbed.New(testbed.Options{GPUs: 8}) // Now: time.Now()
	if err != nil {
		fmt.Println(err)
		return
	}
	appraiser, err := bed.Appraiser()
	if err != nil {
		fmt.Println(err)
		return
	}
	session, err := testbed.NewSession() // a nonce and a TEE key, as a KBS client sends them
	if err != nil {
		fmt.Println(err)
		return
	}
	components, err := bed.TDXComponents(session)
	if err != nil {
		fmt.Println(err)
		return
	}
	outcome, err := appraiser.AppraiseOutcome(context.Background(), components)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(bed.GPURoots), "GPU roots")
	fmt.Println(outcome.Status())
	// Output:
	// 8 GPU roots
	// affirming
}
