package rim_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/trustfactory/attest/gpu/rim"
	"os"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

const td = "../../testdata/gpu/rim/"

var (
	v1Time = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)
	v2Time = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	v3Time = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

func newVerifier(t testing.TB, opts ...rim.Option) *rim.Verifier {
	t.Helper()
	v, err := rim.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// V1: the real H100 report (driver 550.90.07, VBIOS 96.00.9F.00.01) with its
// two real RIMs, all at 2025-10-24T12:00Z.
func TestRealV1(t *testing.T) {
	ctx := context.Background()
	rep := readHexReport(t, td+"v1/hopperAttestationReport.txt")
	if len(rep.blocks) != 64 {
		t.Fatalf("V1 report has %d blocks, want 64", len(rep.blocks))
	}
	driverVersion := rep.str(opDriverVersion)
	vbiosVersion := rep.gpuVBIOSVersion()
	if driverVersion != "550.90.07" || vbiosVersion != "96.00.9F.00.01" {
		t.Fatalf("report versions %q %q", driverVersion, vbiosVersion)
	}
	driverID, err := rim.DriverID(rim.ArchHopper, driverVersion)
	if err != nil || driverID != "NV_GPU_DRIVER_GH100_550.90.07" {
		t.Fatalf("rim.DriverID = %q, %v", driverID, err)
	}
	vbiosID, err := rim.VBIOSID(rep.str(opProject), rep.str(opProjectSKU), rep.str(opChipSKU), vbiosVersion)
	if err != nil || vbiosID != "NV_GPU_VBIOS_1010_0200_882_96009F0001" {
		t.Fatalf("rim.VBIOSID = %q, %v", vbiosID, err)
	}
	src, err := rim.NewFSSource(os.DirFS(td + "v1"))
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	driver, err := v.Fetch(ctx, src, driverID, driverVersion, v1Time)
	if err != nil {
		t.Fatalf("driver RIM: %v", err)
	}
	vbios, err := v.Fetch(ctx, src, vbiosID, vbiosVersion, v1Time)
	if err != nil {
		t.Fatalf("VBIOS RIM: %v", err)
	}
	if driver.Kind != rim.KindDriver || vbios.Kind != rim.KindVBIOS {
		t.Fatalf("kinds %s %s", driver.Kind, vbios.Kind)
	}
	if driver.ID != driverID || vbios.ID != vbiosID {
		t.Fatalf("IDs %q %q", driver.ID, vbios.ID)
	}
	if len(driver.Chain) != 4 || driver.Chain[0].Subject.CommonName != "HCC RIM L4 Signer" || !driver.Chain[3].Equal(rim.NVIDIARoot()) {
		t.Fatalf("driver chain: %d certs, signer %q", len(driver.Chain), driver.Chain[0].Subject.CommonName)
	}
	if driver.FirmwareManufacturerID != "5703" || driver.Product != "GH100" {
		t.Fatalf("driver meta: oem %q product %q", driver.FirmwareManufacturerID, driver.Product)
	}
	if got := len(driver.Active()); got != 21 {
		t.Errorf("driver RIM: %d active entries, want 21", got)
	}
	if got := len(vbios.Active()); got != 12 {
		t.Errorf("VBIOS RIM: %d active entries, want 12", got)
	}
	cmp, err := rim.Compare(driver, vbios, rep.blocks, rep.compareOptions())
	if err != nil {
		t.Fatalf("rim.Compare: %v", err)
	}
	if !cmp.OK() || len(cmp.Matched)+len(cmp.Skipped) != 33 {
		t.Fatalf("comparison: %d matched, %d skipped, %d mismatches", len(cmp.Matched), len(cmp.Skipped), len(cmp.Mismatches))
	}

	// One flipped runtime byte in a driver slot and one in a VBIOS slot are
	// both reported, with index, expected and actual values.
	blocks := cloneBlocks(rep.blocks)
	blocks[8][0] ^= 1  // RIM index 7, driver
	blocks[1][47] ^= 1 // RIM index 0, VBIOS
	cmp, err = rim.Compare(driver, vbios, blocks, rep.compareOptions())
	if !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("rim.Compare with flipped bytes: %v", err)
	}
	if len(cmp.Mismatches) != 2 || cmp.Mismatches[0].Index != 0 || cmp.Mismatches[0].Source != rim.KindVBIOS ||
		cmp.Mismatches[1].Index != 7 || cmp.Mismatches[1].Source != rim.KindDriver {
		t.Fatalf("mismatches: %+v", cmp.Mismatches)
	}
	if string(cmp.Mismatches[1].Actual) != string(blocks[8]) || string(cmp.Mismatches[1].Expected[0]) != string(rep.blocks[8]) {
		t.Fatal("mismatch does not carry expected and actual values")
	}
}

// RIM-01: one hex digit of one golden value changed in a real signed RIM.
func TestRealTamperedHashFailsSignature(t *testing.T) {
	doc := mustRead(t, td+"v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	i := bytes.Index(doc, []byte(`ns2:Hash0="80161aac`))
	if i < 0 {
		t.Fatal("index 7 golden value not found")
	}
	bad := bytes.Clone(doc)
	bad[i+len(`ns2:Hash0="`)] = '9'
	m, err := newVerifier(t).Verify(context.Background(), bad, v1Time)
	if !errors.Is(err, verify.ErrSignature) || m != nil {
		t.Fatalf("tampered RIM: %v", err)
	}
}

// V2: H100 driver 545.00 / VBIOS 96.00.5E.00.01 with nvtrust's matching RIMs,
// at 2024-06-01.
func TestRealV2(t *testing.T) {
	ctx := context.Background()
	rep := readHexReport(t, td+"v2/attestationReport.txt")
	driverVersion, vbiosVersion := rep.str(opDriverVersion), rep.gpuVBIOSVersion()
	if driverVersion != "545.00" || vbiosVersion != "96.00.5E.00.01" {
		t.Fatalf("report versions %q %q", driverVersion, vbiosVersion)
	}
	driverID, err := rim.DriverID(rim.ArchHopper, driverVersion)
	if err != nil {
		t.Fatal(err)
	}
	vbiosID, err := rim.VBIOSID(rep.str(opProject), rep.str(opProjectSKU), rep.str(opChipSKU), vbiosVersion)
	if err != nil || vbiosID != "NV_GPU_VBIOS_1010_0200_882_96005E0001" {
		t.Fatalf("rim.VBIOSID = %q, %v", vbiosID, err)
	}
	src, err := rim.NewFSSource(os.DirFS(td + "v2"))
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	driver, err := v.Fetch(ctx, src, driverID, driverVersion, v2Time)
	if err != nil {
		t.Fatalf("driver RIM: %v", err)
	}
	vbios, err := v.Fetch(ctx, src, vbiosID, vbiosVersion, v2Time)
	if err != nil {
		t.Fatalf("VBIOS RIM: %v", err)
	}
	cmp, err := rim.Compare(driver, vbios, rep.blocks, rep.compareOptions())
	if err != nil {
		t.Fatalf("rim.Compare: %v", err)
	}
	if !cmp.OK() || len(cmp.Matched) == 0 {
		t.Fatalf("comparison: %+v", cmp)
	}
	t.Logf("V2: %d matched, %d skipped (NVDEC0 %v)", len(cmp.Matched), len(cmp.Skipped), rep.compareOptions())
}

// V3: LS10 NVSwitch BIOS 96.10.55.00.01 with its RIM, at 2026-06-01.
func TestRealV3Switch(t *testing.T) {
	ctx := context.Background()
	rep := readEvidenceJSON(t, td+"v3/switch_evidence_ls10.json")
	if len(rep.blocks) != 31 {
		t.Fatalf("V3 report has %d blocks, want 31", len(rep.blocks))
	}
	biosVersion := rep.str(opVBIOSVersion) // ASCII on LS10
	id, err := rim.SwitchBIOSID(rim.ArchLS10, biosVersion)
	if err != nil || id != "NV_SWITCH_BIOS_5612_0002_890_9610550001" {
		t.Fatalf("rim.SwitchBIOSID(%q) = %q, %v", biosVersion, id, err)
	}
	src, err := rim.NewFSSource(os.DirFS(td + "v3"))
	if err != nil {
		t.Fatal(err)
	}
	bios, err := newVerifier(t).Fetch(ctx, src, id, biosVersion, v3Time)
	if err != nil {
		t.Fatalf("switch BIOS RIM: %v", err)
	}
	if bios.Kind != rim.KindSwitchBIOS || bios.Product != "LS10" {
		t.Fatalf("kind %s product %q", bios.Kind, bios.Product)
	}
	cmp, err := rim.CompareSwitch(bios, rep.blocks)
	if err != nil {
		t.Fatalf("rim.CompareSwitch: %v", err)
	}
	if len(cmp.Matched) != 31 {
		t.Fatalf("switch comparison: %d matched, want 31", len(cmp.Matched))
	}
}
