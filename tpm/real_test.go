package tpm_test

import (
	"context"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

const td = "../testdata/tpm/"

// gceTime lies inside the GCE AK certificate's validity (2021-08-31..2051-08-24).
var gceTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(td + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gceCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gceVerifier(t testing.TB, opts ...tpm.Option) *tpm.Verifier {
	t.Helper()
	opts = append([]tpm.Option{tpm.WithAKRoots(gceCert(t, "tpm_ek_root_1.cer")), tpm.WithAKIntermediates(gceCert(t, "tpm_ek_intermediate_2.crt"))}, opts...)
	v, err := tpm.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRealGCEAttestation(t *testing.T) {
	v := gceVerifier(t)
	c, err := v.Verify(context.Background(), readFile(t, "gce-cos-85-nonce9009.pb"), verify.Expectations{ReportData: []byte{0x90, 0x09}, Now: gceTime})
	if err != nil {
		t.Fatal(err)
	}
	for k, val := range c.Map() {
		t.Logf("%s = %v", k, val)
	}
}
