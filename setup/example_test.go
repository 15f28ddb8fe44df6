package setup_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// A verifier fleet's registry: collateral from the vendor services through
// one fetcher and one store shared by every source (a DirStore keeps it
// across restarts), NVIDIA's NRAS JWKS included; no TPM verifier, since no AK
// trust is configured.
func ExampleNewRegistry() {
	fetcher := &collateral.HTTPFetcher{
		UserAgent: "my-kbs/1",
		Timeout:   10 * time.Second,
		// Header: http.Header{"Authorization": {"Bearer " + key}},
	}
	store := collateral.NewMemoryStore(0, 0) // or collateral.NewDirStore(dir, 0, 0)
	reg, err := setup.NewRegistry(setup.Config{
		Online: &setup.Online{Fetcher: fetcher, Store: store, MaxStale: 24 * time.Hour},
		Limits: setup.Limits{CacheSize: 1024},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reg.Formats())
	// Output: [aws-nitro az-snp-vtpm az-tdx-vtpm nvidia-gpu nvidia-nras-gpu nvidia-nras-switch nvidia-switch sgx snp tdx]
}

// An appraiser for a key broker: collateral from an offline bundle, the
// default policy over reference values, two GPUs required. Here the bundle,
// its test roots and the reference values come from a test bed; in
// production the bundle holds collateral only and the pinned vendor roots
// stay (leave Roots empty).
func ExampleNewAppraiser() {
	bed, _ := testbed.New(testbed.Options{Now: tdxtest.VerifyTime(), GPUs: 2})
	dir, _ := os.MkdirTemp("", "bundle-")
	defer os.RemoveAll(dir)
	_ = bed.WriteCollateral(dir)
	bundle, _ := os.OpenRoot(dir)
	defer bundle.Close()
	roots, _ := setup.ReadTestRoots(bundle.FS()) // tests only
	rv, _ := bed.ReferenceValues()

	appraiser, err := setup.NewAppraiser(setup.Config{
		Bundle:           bundle.FS(),
		Roots:            roots,
		ReferenceValues:  rv,
		AppraiserOptions: []verify.AppraiserOption{verify.WithRequired(verify.FormatGPU, 2)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(appraiser.Supports(verify.FormatTDX), appraiser.Supports(verify.FormatGPU))
	// Output: true true
}

// Appraising a TD and its GPUs as answers to one KBS session: the runtime
// data is bound into each component where its verifier says, and the result
// carries the session's nonce (eat_nonce) and TEE key.
func ExampleAppraiser_AppraiseRuntimeData() {
	bed, _ := testbed.New(testbed.Options{Now: tdxtest.VerifyTime(), GPUs: 2})
	dir, _ := os.MkdirTemp("", "bundle-")
	defer os.RemoveAll(dir)
	_ = bed.WriteCollateral(dir)
	bundle, _ := os.OpenRoot(dir)
	defer bundle.Close()
	roots, _ := setup.ReadTestRoots(bundle.FS())
	rv, _ := bed.ReferenceValues()
	appraiser, _ := setup.NewAppraiser(setup.Config{Bundle: bundle.FS(), Roots: roots, ReferenceValues: rv})

	// What the TEE sent: evidence bound to its runtime data (nonce + key).
	session, _ := testbed.NewSession()
	minted, _ := bed.TDXComponents(session)
	quote, gpus := minted[0].Evidence, minted[1].Evidence

	at := verify.Expectations{Now: bed.Now}
	out, err := appraiser.AppraiseRuntimeData(context.Background(), session.RuntimeData,
		verify.Component{Format: verify.FormatTDX, Evidence: quote, Expect: at},
		verify.Component{Format: verify.FormatGPU, Evidence: gpus, Expect: at},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	nonce, _ := verify.SessionNonce(session.RuntimeData.Nonce)
	fmt.Println(out.Status(), len(out.Submods), bytes.Equal(out.Result.Nonce, nonce))
	// Output: affirming 3 true
}
