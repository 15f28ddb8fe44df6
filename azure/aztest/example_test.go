package aztest_test

import (
	"context"
	"fmt"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/azure/aztest"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Mint an Azure SEV-SNP VM's evidence for a session and verify it with a
// verifier that trusts the test VM's AMD hierarchy and checks its CRL.
func Example() {
	vm, err := aztest.NewVM(snp.Genoa)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := snptest.Epoch().AddDate(1, 0, 0)
	crl, err := vm.PKI.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	if err != nil {
		fmt.Println(err)
		return
	}
	crls := snp.NewMemorySource()
	crls.AddCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	sv, err := snp.NewVerifier(snp.WithTrustedRoots(vm.PKI.Roots()), snp.WithKDS(crls))
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := azure.NewVerifier(azure.WithSNP(sv))
	if err != nil {
		fmt.Println(err)
		return
	}
	session := []byte("a fresh 32-byte nonce from the verifier")[:32]
	evidence, err := vm.Evidence(aztest.Spec{ReportData: session})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := v.Verify(context.Background(), evidence, verify.Expectations{ReportData: session, Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Format(), c.Map()["revocation_checked"], c.Map()["ak.trust"])
	_, err = v.Verify(context.Background(), evidence, verify.Expectations{ReportData: []byte("another session's nonce........."), Now: now})
	fmt.Println(verify.KindOf(err))
	// Output:
	// az-snp-vtpm true bound
	// freshness check failed
}

// Mint an Azure TDX VM's evidence for a session and verify it with a TDX
// verifier that trusts the test Intel PKI and takes its collateral.
func ExampleTDXVM() {
	vm, err := aztest.NewTDXVM()
	if err != nil {
		fmt.Println(err)
		return
	}
	src := tdx.NewMemorySource()
	src.Add(vm.PKI.Platform.FMSPC, "platform", vm.PKI.DefaultCollateral())
	tv, err := tdx.NewVerifier(tdx.WithCollateral(src), tdx.WithTrustedRoots(vm.PKI.Root.Cert))
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	if err != nil {
		fmt.Println(err)
		return
	}
	session := []byte("a fresh 32-byte nonce from the verifier")[:32]
	evidence, err := vm.Evidence(aztest.TDXSpec{ReportData: session})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := v.Verify(context.Background(), evidence, verify.Expectations{ReportData: session, Now: tdxtest.VerifyTime()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Format(), c.Map()["tcb_status"], c.Map()["ak.trust"], c.Map()["hcl_report_session_bound"])
	// Output:
	// az-tdx-vtpm UpToDate bound true
}
