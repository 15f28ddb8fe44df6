package sgx_test

import (
	"context"
	"fmt"

	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/sgx/sgxtest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Verify a quote of an enclave against collateral from a source (here the
// test attester's; in production tdx.NewHTTPSource or tdx.NewFSSource,
// which serve SGX collateral too) and read the enclave's identity.
func Example() {
	p := sgxtest.NewPKI()
	reportData := make([]byte, 64)
	copy(reportData, "session nonce")
	quote := p.Quote(p.DefaultQuote(reportData))

	v, err := sgx.NewVerifier(sgx.WithTrustedRoots(p.Root.Cert), sgx.WithCollateral(p.Source(p.DefaultCollateral())))
	if err != nil {
		panic(err)
	}
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: reportData, Now: tdxtest.VerifyTime()})
	if err != nil {
		panic(err)
	}
	fmt.Println(c.TCB.Status, c.Debug(), c.Quote.Body.ISVProdID, c.Quote.Body.ISVSVN)
	// Output: UpToDate false 7 3
}
