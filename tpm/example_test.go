package tpm_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Verify a real GCE attestation (go-tpm-tools attest.Attestation) whose AK
// certificate chains to Google's EK/AK CA, with the nonce the verifier chose.
func ExampleVerifier_Verify() {
	root, _ := os.ReadFile("../testdata/tpm/tpm_ek_root_1.cer")
	inter, _ := os.ReadFile("../testdata/tpm/tpm_ek_intermediate_2.crt")
	rootCert, _ := x509.ParseCertificate(root)
	interCert, _ := x509.ParseCertificate(inter)

	v, err := tpm.NewVerifier(
		tpm.WithAKRoots(rootCert),
		tpm.WithAKIntermediates(interCert),
		tpm.WithRequiredPCRs(0, 4, 7),
		tpm.WithRequireEventLog(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	evidence, _ := os.ReadFile("../testdata/tpm/gce-cos-85-nonce9009.pb")
	claims, err := v.Verify(context.Background(), evidence, verify.Expectations{
		ReportData: []byte{0x90, 0x09},
		Now:        time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := claims.Map()
	fmt.Println("bank:", m["pcr_bank"])
	fmt.Println("AK trust:", m["ak.trust"])
	fmt.Println("secure boot:", m["secure_boot.enabled"])
	fmt.Println("GCE technology:", m["platform.gce_technology"])
	fmt.Println("boot apps:", len(m["boot_apps"].([]string)))
	// Output:
	// bank: sha384
	// AK trust: certificate
	// secure boot: true
	// GCE technology: AMD_SEV
	// boot apps: 3
}

// Verify a quote signed by a known (pinned) AK, as Trustee's TPM attester
// sends it.
func ExampleWithTrustedAKs() {
	ev, _, _ := tpm.Decode(must(os.ReadFile("../testdata/tpm/gce-cos-85-nonce9009.pb")))
	ak, _ := tpm.ParsePublic(ev.AKPublicArea) // in practice: registered out of band
	v, _ := tpm.NewVerifier(tpm.WithTrustedAKs(ak.Key))
	c, err := v.VerifyEvidence(context.Background(), ev, verify.Expectations{ReportData: []byte{0x90, 0x09}})
	fmt.Println(err, c.AK.Trust, len(c.PCRs))
	// Output: <nil> pinned-key 24
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
