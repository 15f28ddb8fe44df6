package rim_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"github.com/beevik/etree"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

// The negative RIMs of testdata/INDEX.md, each with the kind it must fail with.
var negTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func TestRealNegativeRIMs(t *testing.T) {
	v := newVerifier(t)
	cases := []struct {
		file string
		at   time.Time
		kind error
	}{
		{"incorrect_cert_chain_driver_rim.xml", negTime, verify.ErrChain},
		{"incorrect_signature_driver_rim.xml", negTime, verify.ErrSignature},
		{"NV_GPU_DRIVER_GH100_570.124.03_expired.xml", negTime, verify.ErrExpired},
		{"NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml", negTime, verify.ErrSignature},
		// NVIDIA edited these two after signing (their own tests skip the
		// signature); the edit is caught before any value is read.
		{"NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml", negTime, verify.ErrSignature},
		{"NV_SWITCH_BIOS_5612_0002_890_9610550001_measurement_mismatch.xml", negTime, verify.ErrSignature},
		// Valid documents outside their signer's validity.
		{"NV_GPU_DRIVER_GH100_550.144.03.xml", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), verify.ErrExpired},
		{"NV_GPU_DRIVER_GH100_550.144.03.xml", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), verify.ErrExpired},
	}
	for _, c := range cases {
		t.Run(c.file+"@"+c.at.Format("2006-01-02"), func(t *testing.T) {
			m, err := v.Verify(context.Background(), mustRead(t, td+"negative/"+c.file), c.at)
			wantKind(t, m, err, c.kind)
		})
	}
	if _, err := v.Verify(context.Background(), mustRead(t, td+"negative/NV_GPU_DRIVER_GH100_550.144.03.xml"), negTime); err != nil {
		t.Fatalf("550.144.03 inside its validity: %v", err)
	}
	// V1 at a time after its VBIOS RIM signer expired (2026-02-22).
	m, err := v.Verify(context.Background(), mustRead(t, td+"v1/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	wantKind(t, m, err, verify.ErrExpired)
}

func TestRealWrongRoot(t *testing.T) {
	blk, _ := pem.Decode(mustRead(t, td+"negative/incorrect_rim_root.crt"))
	if blk == nil {
		t.Fatal("no PEM block")
	}
	wrong, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, rim.WithRoots(wrong))
	for _, f := range []string{"v1/NV_GPU_DRIVER_GH100_550.90.07.xml", "v1/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"} {
		m, err := v.Verify(context.Background(), mustRead(t, td+f), v1Time)
		wantKind(t, m, err, verify.ErrChain)
	}
}

// A genuinely signed VBIOS RIM that does not describe the report: every
// mismatch is reported (index, source, expected, actual) under ErrPolicy.
func TestRealMeasurementMismatch(t *testing.T) {
	ctx := context.Background()
	rep := readHexReport(t, td+"negative/hopperAttestationReport_535.86.09.txt")
	if got := rep.str(opDriverVersion); got != "535.86.09" {
		t.Fatalf("report driver %q", got)
	}
	vbiosVersion := rep.gpuVBIOSVersion()
	vbios, err := newVerifier(t).Verify(ctx, mustRead(t, td+"negative/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml"), negTime)
	if err != nil {
		t.Fatal(err)
	}
	if err := vbios.Expect("NV_GPU_VBIOS_1010_0200_882_96005E0001", vbiosVersion); err != nil {
		t.Fatal(err)
	}
	// The driver side: a test-signed driver RIM that matches the report.
	pki, err := rimtest.NewPKI(rimtest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ddoc, err := pki.Build(rimtest.Manifest{Version: "535.86.09", Measurements: rimtest.Golden(rep.blocks, 64, driverActive...)})
	if err != nil {
		t.Fatal(err)
	}
	driver, err := newVerifier(t, rim.WithRoots(pki.Root)).Verify(ctx, ddoc, negTime)
	if err != nil {
		t.Fatal(err)
	}
	cmp, err := rim.Compare(driver, vbios, rep.blocks, rep.compareOptions())
	if !errors.Is(err, verify.ErrPolicy) || cmp == nil || len(cmp.Mismatches) == 0 {
		t.Fatalf("Compare: %v", err)
	}
	for _, mm := range cmp.Mismatches {
		if mm.Source != rim.KindVBIOS || mm.Missing || len(mm.Actual) != 48 || len(mm.Expected) == 0 {
			t.Fatalf("mismatch %s", mm)
		}
		t.Logf("%s", mm)
	}
}

// go-nvattest-tools' small parser fixtures are unsigned or not RIMs at all.
func TestGoNvattestFixtures(t *testing.T) {
	v := newVerifier(t)
	files, err := filepath.Glob(td + "go-nvattest-fixtures/failure_*.xml")
	if err != nil || len(files) != 18 {
		t.Fatalf("%d fixtures, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := v.Verify(context.Background(), mustRead(t, f), negTime)
			wantKind(t, m, err, verify.ErrSignature, verify.ErrMalformed)
		})
	}
	// Signed by a test root, and given the Meta most of them lack, the
	// SWID-rooted ones reach the parser and fail for their own defect.
	pki, err := rimtest.NewPKI(rimtest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tv := newVerifier(t, rim.WithRoots(pki.Root))
	for _, f := range files {
		doc := mustRead(t, f)
		if !bytes.HasPrefix(doc, []byte(`<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd"`)) {
			continue
		}
		t.Run("signed/"+filepath.Base(f), func(t *testing.T) {
			i := bytes.IndexByte(doc, '>')
			withMeta := append(bytes.Clone(doc[:i+1]), []byte("\n    <ns0:Meta colloquialVersion=\"550.90.07\"/>")...)
			withMeta = append(withMeta, doc[i+1:]...)
			signed, err := pki.Sign(withMeta)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tv.Verify(context.Background(), signed, negTime)
			wantKind(t, m, err, verify.ErrMalformed)
		})
	}
	m, err := v.Verify(context.Background(), mustRead(t, td+"go-nvattest-fixtures/success_valid_rim.xml"), v2Time)
	if err != nil {
		t.Fatalf("success_valid_rim.xml: %v", err)
	}
	if m.Version != "96.00.6D.00.29" || m.Kind != rim.KindVBIOS {
		t.Fatalf("success_valid_rim.xml: %s %s", m.Version, m.Kind)
	}
}

// signerValidity reads the first embedded certificate of a RIM, for tests
// that pin the clock inside each document's own signer validity.
func signerValidity(t testing.TB, doc []byte) (notBefore, notAfter time.Time) {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	el := d.Root().FindElement("./Signature/KeyInfo/X509Data/X509Certificate")
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotBefore, c.NotAfter
}

// NVIDIA's production VBIOS RIMs shipped with nvtrust (24 boards and
// versions, projects 1010 and G520) and the one in Trustee's RVPS tests:
// each verifies inside its signer's validity, under the ID it is published
// as, and fails with ErrExpired after it.
func TestRealProductionVBIOSRIMs(t *testing.T) {
	ctx := context.Background()
	files, err := filepath.Glob(td + "prod/NV_GPU_VBIOS_*.xml")
	if err != nil || len(files) != 24 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	src, err := rim.NewFSSource(os.DirFS(td + "prod"))
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(id, func(t *testing.T) {
			doc := mustRead(t, f)
			nb, na := signerValidity(t, doc)
			hexv := id[len(id)-10:]
			version := strings.Join([]string{hexv[0:2], hexv[2:4], hexv[4:6], hexv[6:8], hexv[8:10]}, ".")
			m, err := v.Fetch(ctx, src, id, version, nb.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != rim.KindVBIOS || len(m.Active()) == 0 || len(m.Chain) != 4 {
				t.Fatalf("kind %s, %d active, %d certs", m.Kind, len(m.Active()), len(m.Chain))
			}
			m, err = v.Fetch(ctx, src, id, version, na.Add(time.Hour))
			wantKind(t, m, err, verify.ErrExpired)
		})
	}
	doc := mustRead(t, td+"prod/trustee-test-rim.xml")
	nb, _ := signerValidity(t, doc)
	m, err := v.Verify(ctx, doc, nb.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "96.00.74.00.1C" || m.Kind != rim.KindVBIOS {
		t.Fatalf("Trustee's RIM: %s %s", m.Version, m.Kind)
	}
}
