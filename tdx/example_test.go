package tdx_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// A verifier with in-memory collateral, here minted by the test attester.
func ExampleNewVerifier() {
	pki := tdxtest.NewPKI()
	src := tdx.NewMemorySource()
	src.Add(pki.Platform.FMSPC, "platform", pki.DefaultCollateral())
	v, err := tdx.NewVerifier(tdx.WithCollateral(src), tdx.WithTrustedRoots(pki.Root.Cert))
	if err != nil {
		panic(err)
	}
	nonce := []byte("session nonce, up to 64 bytes")
	quote := pki.Quote(pki.DefaultQuote(nonce))

	claims, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: nonce, Now: tdxtest.VerifyTime()})
	if err != nil {
		panic(err)
	}
	m := claims.Map()
	fmt.Println(m["tcb_status"], m["qe_tcb_status"], m["td_attributes.debug"])
	// Output: UpToDate UpToDate false
}

// Production use: Intel PCS (or a PCCS) behind a cache that may serve stale
// collateral for at most a day when the service is down.
func ExampleNewHTTPSource() {
	fetcher := &collateral.HTTPFetcher{UserAgent: "my-kbs/1", Timeout: 10 * time.Second}
	store := collateral.NewMemoryStore(0, 0) // or a DirStore; may be shared with other sources
	src, err := tdx.NewHTTPSource(tdx.IntelPCSBaseURL, fetcher, store, tdx.WithMaxStale(24*time.Hour))
	if err != nil {
		panic(err)
	}
	v, err := tdx.NewVerifier(tdx.WithCollateral(src))
	if err != nil {
		panic(err)
	}
	_ = v // v.Verify(ctx, quoteOrTrusteeJSON, verify.Expectations{ReportData: nonce})
}
