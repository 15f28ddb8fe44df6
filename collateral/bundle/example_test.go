package bundle_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// The offline flow on a connected machine: fetch exactly the collateral a
// quote needs (verified before anything is written), then, air-gapped,
// verify the quote from the bundle alone. Here the "vendor service" is the
// test attester's PCS and its root replaces Intel's; in production leave
// IntelURL and TDXRoots empty.
func ExampleFetch() {
	ctx := context.Background()
	pki := tdxtest.NewPKI()
	pcs := tdxtest.NewPCS(pki.DefaultCollateral())
	defer pcs.Close()
	now := tdxtest.VerifyTime()
	reportData := []byte("the session's report data, never empty or all zero")
	quote := pki.Quote(pki.DefaultQuote(reportData))

	dir := filepath.Join(os.TempDir(), fmt.Sprintf("attest-example-bundle-%d", os.Getpid()))
	defer os.RemoveAll(dir)
	m, err := bundle.Fetch(ctx, [][]byte{quote}, dir, bundle.FetchOptions{
		IntelURL: pcs.URL, PCCS: true, Now: now,
		TDXRoots: []*x509.Certificate{pki.Root.Cert}, // tests only
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("items:", len(m.Items))

	// On the air-gapped machine: the bundle is every verifier's collateral.
	root, err := os.OpenRoot(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{
		Bundle: root.FS(),
		Roots:  setup.Roots{TDX: []*x509.Certificate{pki.Root.Cert}}, // tests only
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := reg.Verify(ctx, verify.FormatTDX, quote, verify.Expectations{ReportData: reportData, Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("TCB status:", claims.(*tdx.Claims).TCB.Status)
	// Output:
	// items: 7
	// TCB status: UpToDate
}

// Import dcap-qvl's collateral JSON for a real TDX quote, then inspect the
// bundle: every item re-hashed, the earliest expiry named, and what the
// quote needs present and verifying.
func ExampleImportDCAPQVL() {
	src, err := os.ReadFile("../../testdata/tdx/dcapqvl_collateral.json") // Phala-Network/dcap-qvl sample
	if err != nil {
		fmt.Println(err)
		return
	}
	quote, err := os.ReadFile("../../testdata/tdx/dcapqvl_tdx_quote.dat")
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) // inside the collateral's validity
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("attest-example-import-%d", os.Getpid()))
	defer os.RemoveAll(dir)
	if _, err := bundle.ImportDCAPQVL(src, dir, bundle.ImportOptions{Now: at}); err != nil {
		fmt.Println(err)
		return
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer root.Close()
	rep, err := bundle.Inspect(context.Background(), root.FS(), [][]byte{quote}, bundle.InspectOptions{Now: at})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ok:", rep.OK())
	fmt.Println("earliest expiry:", rep.Earliest.Path, rep.Earliest.Validity.NotAfter.Format(time.DateOnly))
	for _, n := range rep.Needs {
		fmt.Println("needs", n.Path, n.Present)
	}
	// Output:
	// ok: true
	// earliest expiry: tdx/pck_crl/platform.der 2025-07-19
	// needs tdx/tcb_info/B0C06F000000.json true
	// needs tdx/tcb_info/B0C06F000000.issuer_chain.pem true
	// needs tdx/qe_identity.json true
	// needs tdx/qe_identity.issuer_chain.pem true
	// needs tdx/pck_crl/platform.der true
	// needs tdx/pck_crl/platform.issuer_chain.pem true
	// needs tdx/root_ca_crl.der true
}
