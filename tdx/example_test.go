package tdx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/collateral/bundle"
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

// Verify a real TDX quote (dcap-qvl's sample) against the pinned Intel SGX
// Root CA with Intel's collateral for its platform, at a time inside that
// collateral's validity. Verify takes the raw quote or Trustee's JSON; the
// expected report data is the session's (here the quote's own, as the
// sample binds no session of ours).
func ExampleVerifier_Verify() {
	quote, err := os.ReadFile("../testdata/tdx/dcapqvl_tdx_quote.dat")
	if err != nil {
		fmt.Println(err)
		return
	}
	col, err := os.ReadFile("../testdata/tdx/dcapqvl_collateral.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := bundle.ParseDCAPQVL(col) // Intel's TCB info, QE identity and CRLs
	if err != nil {
		fmt.Println(err)
		return
	}
	need, err := tdx.CollateralNeed(quote) // its FMSPC and PCK CA, read from its chain
	if err != nil {
		fmt.Println(err)
		return
	}
	src := tdx.NewMemorySource()
	src.Add(need.FMSPC, need.CA, c)
	v, err := tdx.NewVerifier(tdx.WithCollateral(src)) // Intel's root is pinned
	if err != nil {
		fmt.Println(err)
		return
	}

	q, err := tdx.ParseQuote(quote)
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := v.Verify(context.Background(), quote, verify.Expectations{
		ReportData: q.Body.ReportData[:],
		Now:        time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := claims.Map()
	fmt.Println("FMSPC:", fmt.Sprintf("%X", need.FMSPC), "CA:", need.CA)
	fmt.Println("TCB:", m["tcb_status"], "QE:", m["qe_tcb_status"], "debug:", m["td_attributes.debug"])

	// The same quote for another session is refused, never half-trusted.
	_, err = v.Verify(context.Background(), quote, verify.Expectations{
		ReportData: []byte("another session"),
		Now:        time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
	})
	fmt.Println(errors.Is(err, verify.ErrFreshness))
	// Output:
	// FMSPC: B0C06F000000 CA: platform
	// TCB: UpToDate QE: UpToDate debug: false
	// true
}
