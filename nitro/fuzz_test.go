package nitro_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/verify"
)

// ParseDocument never panics, fails with a kind, and what it accepts keeps
// every bound.
func FuzzParseDocument(f *testing.F) {
	for _, s := range samples {
		doc := s.read(f)
		f.Add(doc)
		f.Add(append([]byte{0xd2}, doc...))
	}
	for _, d := range []publicDoc{publicBrave, publicEpsilon, publicCape} {
		f.Add(d.read(f))
	}
	f.Add([]byte{0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x41, 0xa0, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := nitro.ParseDocument(b)
		if err != nil {
			if d != nil || verify.KindOf(err) == nil {
				t.Fatalf("error %v with a document, or without a kind", err)
			}
			return
		}
		if len(b) > nitro.MaxDocumentBytes || d.ModuleID == "" || len(d.PCRs) == 0 || len(d.PCRs) > nitro.MaxPCRs ||
			len(d.Certificate) == 0 || len(d.Certificate) > nitro.MaxCertBytes || len(d.CABundle) == 0 || len(d.CABundle) > nitro.MaxCABundle ||
			len(d.UserData) > nitro.MaxUserBytes || len(d.Nonce) > nitro.MaxUserBytes || len(d.PublicKey) > nitro.MaxUserBytes {
			t.Fatalf("accepted a document outside the bounds: %+v", d)
		}
		for _, opt := range [][]byte{d.PublicKey, d.UserData, d.Nonce} {
			if opt != nil && len(opt) == 0 {
				t.Fatalf("an empty optional field is present, not absent: %+v", d)
			}
		}
		for i, v := range d.PCRs {
			if i < 0 || i >= nitro.MaxPCRs || len(v) != len(d.PCRs[d.PCRIndices()[0]]) {
				t.Fatalf("PCR %d of %d bytes", i, len(v))
			}
		}
	})
}

// Verify never panics and fails with a kind; whatever verifies is bound to
// the expected report data and was signed under the AWS root.
func FuzzVerify(f *testing.F) {
	for _, s := range samples {
		f.Add(s.read(f))
	}
	v := newVerifier(f)
	exp := verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.VerifyDocument(context.Background(), b, exp)
		if err != nil {
			if c != nil || verify.KindOf(err) == nil {
				t.Fatalf("error %v with claims, or without a kind", err)
			}
			return
		}
		if !bytes.HasPrefix(c.UserData, emptyDigest) || !c.ReportDataChecked || c.Signer == "" {
			t.Fatalf("verified claims: user_data %x, checked %v, signer %q", c.UserData, c.ReportDataChecked, c.Signer)
		}
	})
}

// ParseRoot never panics, fails with ErrConfig, and accepts only a
// self-issued CA certificate whose fingerprint, when given, matches.
func FuzzParseRoot(f *testing.F) {
	root, err := os.ReadFile("../testdata/nitro/AWS_NitroEnclaves_Root-G1.pem")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(root, nitro.AWSRootG1SHA256)
	f.Add(root, "")
	f.Add(root, "00")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), "")
	f.Fuzz(func(t *testing.T, pemBytes []byte, fp string) {
		c, err := nitro.ParseRoot(pemBytes, fp)
		if err != nil {
			if c != nil || !errors.Is(err, verify.ErrConfig) {
				t.Fatalf("error %v with a root, or not ErrConfig", err)
			}
			return
		}
		if !c.IsCA || !bytes.Equal(c.RawSubject, c.RawIssuer) {
			t.Fatalf("accepted %q, not a self-issued CA", c.Subject)
		}
		if fp != "" {
			sum := sha256.Sum256(c.Raw)
			if !strings.EqualFold(hex.EncodeToString(sum[:]), fp) {
				t.Fatalf("accepted a root whose SHA-256 %x is not %s", sum, fp)
			}
		}
	})
}
