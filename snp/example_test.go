package snp_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// Verify a real Milan report with its VCEK, offline. Production code gives
// WithKDS(src) a KDS or offline store so that the CRL is checked too.
func ExampleNewVerifier() {
	report, _ := os.ReadFile("../testdata/snp/gsg-attestation.bin")
	vcek, _ := os.ReadFile("../testdata/snp/gsg-vcek.der")

	v, err := snp.NewVerifier(snp.WithProduct(snp.Milan), snp.WithoutRevocationUnsafe())
	if err != nil {
		fmt.Println(err)
		return
	}
	nonce := []byte{1, 2, 3, 4, 5} // the report's REPORT_DATA: 0102030405 then zeros
	c, err := v.VerifyReport(context.Background(), report, vcek, verify.Expectations{
		ReportData: nonce,
		Now:        time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.Map()
	fmt.Println(m["product"], m["signing_key"], "debug:", m["policy_debug_allowed"], "snp spl:", m["reported_tcb_snp"])
	// Output: Milan VCEK debug: true snp spl: 5
}

// An AMD KDS source with a bounded stale window, for a verifier that fetches
// VCEKs and CRLs as needed; the store may be shared with other sources.
func ExampleNewHTTPSource() {
	store := collateral.NewMemoryStore(0, 0)
	kds, err := snp.NewHTTPSource(snp.KDSBaseURL, &collateral.HTTPFetcher{UserAgent: "my-kbs/1"}, store, snp.WithMaxStale(24*time.Hour))
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := snp.NewVerifier(snp.WithKDS(kds))
	fmt.Println(v != nil, err)
	// Output: true <nil>
}
