package snptest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// Mint a debug-enabled Genoa report signed by a test VCEK, serve its VCEK
// and CRL from a fake KDS, and verify it.
func Example() {
	pki, err := snptest.NewPKI(snp.Genoa)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := snptest.Epoch().AddDate(1, 0, 0)
	crl, _ := pki.CRL(now.Add(-time.Hour), now.AddDate(0, 0, 7))

	kds := snptest.NewKDS(pki)
	defer kds.Close()
	kds.SetCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	src, _ := snp.NewHTTPSource(kds.URL(), nil, nil)

	v, _ := snp.NewVerifier(snp.WithTrustedRoots(pki.Roots()), snp.WithKDS(src))
	report, _ := pki.Sign(snptest.Report{
		ReportData: [64]byte{'h', 'i'},
		Policy:     snp.PolicyReservedMustBe1 | snp.PolicyDebug,
		VMPL:       0,
	})
	c, err := v.Verify(context.Background(), report, verify.Expectations{ReportData: []byte("hi"), Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.Map()
	fmt.Println(m["product"], m["signing_key"], "debug:", m["policy_debug_allowed"], "revocation checked:", m["revocation_checked"])
	// Output: Genoa VCEK debug: true revocation checked: true
}
