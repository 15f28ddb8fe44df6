package azure_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// Verify a real Azure SEV-SNP VM's evidence at a time inside its VCEK's
// validity. A production verifier gives snp.WithKDS (AMD's KDS or an offline
// store) so that the CRL is checked; this sample ships without one.
func ExampleVerifier_Verify() {
	evidence, err := os.ReadFile("../testdata/azure/trustee-evidence-v1.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	sv, err := snp.NewVerifier(snp.WithoutRevocationUnsafe())
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := azure.NewVerifier(azure.WithSNP(sv))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := v.Verify(context.Background(), evidence, verify.Expectations{
		ReportData: []byte("challenge"), // the nonce the attester was given
		Now:        time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.Map()
	fmt.Println("VMPL:", m["vmpl"], "AK:", m["ak.trust"], "secure boot:", m["secure_boot.enabled"])
	fmt.Println("PCR 4:", m["pcr04"])
	// Output:
	// VMPL: 0 AK: bound secure boot: true
	// PCR 4: eee70c86ea856a27719a2127d6090f02e100e2947c16a0d6a355f7294382992f
}
