package sgx_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/sgx/sgxtest"
	"github.com/trustfactory/attest/tdx"
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

// Verify a real SGX quote (dcap-qvl's sample) offline: dcap-qvl's
// collateral JSON imported into a bundle (attest collateral import --from
// dcap-qvl), read by tdx.NewFSSource from the bundle's tdx/ part, the Intel
// SGX Root CA pinned, at a time inside the collateral's validity.
func ExampleVerifier_Verify() {
	col, err := os.ReadFile("../testdata/sgx/dcapqvl_sgx_collateral.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	quote, err := os.ReadFile("../testdata/sgx/dcapqvl_sgx_quote.dat")
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	dir, err := os.MkdirTemp("", "sgx-bundle")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	dir = filepath.Join(dir, "bundle")
	if _, err := bundle.ImportDCAPQVL(col, dir, bundle.ImportOptions{Now: at}); err != nil {
		fmt.Println(err)
		return
	}
	root, err := os.OpenRoot(filepath.Join(dir, "tdx"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer root.Close()
	src, err := tdx.NewFSSource(root.FS()) // SGX TCB info and QE identity under sgx/
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := sgx.NewVerifier(sgx.WithCollateral(src))
	if err != nil {
		fmt.Println(err)
		return
	}

	reportData := make([]byte, 64)
	copy(reportData, "Hello, world!") // the sample's REPORTDATA
	c, err := v.Verify(context.Background(), quote, verify.Expectations{ReportData: reportData, Now: at})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.Map()
	fmt.Println("TCB:", m["tcb_status"], m["advisory_ids"])
	fmt.Println("debug:", m["debug"])
	// Output:
	// TCB: ConfigurationAndSWHardeningNeeded [INTEL-SA-00289 INTEL-SA-00615]
	// debug: false
}
