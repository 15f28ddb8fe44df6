package gpu

import (
	"context"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// Negative material of the shared test-data index: each fails with its kind.

func TestRealInvalidSignatures(t *testing.T) {
	gpuEv := rawEvidence(readHex(t, "negative", "hopperAttestationReportInvalidSignature.txt"), readFile(t, "sdk", "hopperCertChain.txt"))
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), gpuEv, verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	mustFail(t, c, err, verify.ErrSignature)
	swRep := readHex(t, "negative", "switchAttestationReportInvalidSignature.txt")
	rep, err := ParseReport(swRep, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	swEv := rawEvidence(swRep, readFile(t, "negative", "switchCertChain.txt"))
	c, err = noNetVerifier(t, verify.FormatNVSwitch).Verify(context.Background(), swEv, verify.Expectations{ReportData: rep.Request.Nonce[:], Now: v3Time})
	mustFail(t, c, err, verify.ErrSignature)
}

func TestRealBrokenChains(t *testing.T) {
	for _, f := range []string{"hopper_cert_chain_case2.txt", "hopper_cert_chain_case3.txt", "hopper_cert_chain_case4.txt"} {
		ev := rawEvidence(readHex(t, "v1", "hopperAttestationReport.txt"), readFile(t, "negative", f))
		c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), ev, verify.Expectations{ReportData: v1Nonce, Now: v1Time})
		mustFail(t, c, err, verify.ErrChain)
	}
	ev := rawEvidence(readHex(t, "v2", "attestationReport.txt"), readFile(t, "negative", "invalidCertChain.txt"))
	c, err := noNetVerifier(t, verify.FormatGPU, WithMissingFWIDUnsafe()).Verify(context.Background(), ev, verify.Expectations{ReportData: v2Nonce, Now: v2Time})
	mustFail(t, c, err, verify.ErrChain)
}

func TestRealByteFlips(t *testing.T) {
	good := readHex(t, "v1", "hopperAttestationReport.txt")
	chain := readFile(t, "v1", "hopperCertChain.txt")
	rep, err := ParseReport(good, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opaqueOff := len(rep.Signed) - len(rep.Response.OpaqueRaw)
	for name, off := range map[string]int{
		"measurement":           RequestSize + 8 + 7 + 55*4,
		"responder nonce":       RequestSize + 8 + rep.Response.RecordLength + 3,
		"opaque driver version": opaqueOff + 4,
		"signature r":           len(good) - 96 + 5,
		"signature s":           len(good) - 1,
		"param2":                3,
	} {
		b := append([]byte(nil), good...)
		b[off] ^= 0x01
		c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), rawEvidence(b, chain), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
		mustFail(t, c, err, verify.ErrSignature)
		_ = name
	}
	// The request nonce: the nonce check catches it first.
	b := append([]byte(nil), good...)
	b[10] ^= 0x01
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), rawEvidence(b, chain), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	mustFail(t, c, err, verify.ErrFreshness)
}

// The CoCo capture carries one zero byte after the signature.
func TestRealTrailingByte(t *testing.T) {
	r := readHex(t, "negative", "hopper_coco_report1.txt")
	ev := rawEvidence(r, readFile(t, "negative", "hopper_coco_certs1.txt"))
	rep, err := ParseReport(r, ParseOptions{AllowTrailingZeros: true})
	if err != nil || rep.TrailingPadding != 1 {
		t.Fatalf("trailing padding %v %v", rep, err)
	}
	exp := verify.Expectations{ReportData: rep.Request.Nonce[:], Now: v1Time}
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), ev, exp)
	mustFail(t, c, err, verify.ErrMalformed)
	c, err = noNetVerifier(t, verify.FormatGPU, AllowTrailingZeroPadding()).Verify(context.Background(), ev, exp)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Map()["x-nvidia-attestation-warning"]; !ok {
		t.Fatal("tolerated padding must leave a warning")
	}
}

func sdkVerifier(t *testing.T, docs map[string]string) *Verifier {
	t.Helper()
	v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithMissingFWIDUnsafe(), WithRIMs(newRIMs(t, rimMemory(t, docs))))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Inside the signer validity of every RIM used with it.
var sdkTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func sdk535(t *testing.T) ([]byte, verify.Expectations) {
	r := readHex(t, "sdk", "hopperAttestationReport_535.86.09.txt")
	rep, err := ParseReport(r, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rawEvidence(r, readFile(t, "sdk", "hopperCertChain.txt")), verify.Expectations{ReportData: rep.Request.Nonce[:], Now: sdkTime}
}

// NVIDIA's "measurement mismatch" RIMs had golden values edited after
// signing: here they never reach the comparison, the signature catches them.
func TestRealMeasurementMismatchRIMs(t *testing.T) {
	ev, exp := sdk535(t)
	// Driver RIM with edited golden values.
	c, err := sdkVerifier(t, map[string]string{
		"NV_GPU_DRIVER_GH100_535.86.09":         "sdk/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml",
		"NV_GPU_VBIOS_1010_0200_882_96005E0001": "sdk/1010_0200_882_96005E0001_PROD.swidtag",
	}).Verify(context.Background(), ev, exp)
	mustFail(t, c, err, verify.ErrSignature)
	// VBIOS RIM with edited golden values (the driver RIM is absent).
	c, err = sdkVerifier(t, map[string]string{
		"NV_GPU_VBIOS_1010_0200_882_96005E0001": "sdk/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml",
	}).Verify(context.Background(), ev, exp)
	mustFail(t, c, err, verify.ErrCollateral)
	p := newRIMs(t, rimMemory(t, map[string]string{"NV_GPU_VBIOS_1010_0200_882_96005E0001": "sdk/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml"}))
	// The VBIOS one is validly signed with other golden values: compare the
	// report's blocks with it (and, as control, with the matching PROD RIM),
	// next to a driver RIM without active entries.
	bad, err := p.RIM(context.Background(), "NV_GPU_VBIOS_1010_0200_882_96005E0001", "96.00.5E.00.01", sdkTime)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := newRIMs(t, rimMemory(t, map[string]string{"NV_GPU_VBIOS_1010_0200_882_96005E0001": "sdk/1010_0200_882_96005E0001_PROD.swidtag"})).
		RIM(context.Background(), "NV_GPU_VBIOS_1010_0200_882_96005E0001", "96.00.5E.00.01", sdkTime)
	if err != nil {
		t.Fatal(err)
	}
	devs, _ := ParseEvidence(ev)
	rep, _ := ParseReport(devs[0].Report, ParseOptions{})
	blocks := map[int][]byte{}
	for _, b := range rep.Response.Blocks {
		blocks[b.Index] = b.Value
	}
	noDriver := &rim.Manifest{Kind: rim.KindDriver}
	opts := rim.CompareOptions{NVDEC0Status: StatusDisabled, HasNVDEC0Status: true}
	if cmp, err := rim.Compare(noDriver, prod, blocks, opts); err != nil || !cmp.OK() || len(cmp.Matched) == 0 {
		t.Fatalf("PROD VBIOS RIM: %v %+v", err, cmp)
	}
	cmp, err := rim.Compare(noDriver, bad, blocks, opts)
	if !isKind(err, verify.ErrPolicy) || len(cmp.Mismatches) == 0 {
		t.Fatalf("mismatching VBIOS RIM: %v", err)
	}
}

func TestRealExpiredRIM(t *testing.T) {
	r := readHex(t, "negative", "hopperAttestationReportExpired.txt")
	rep, err := ParseReport(r, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := rawEvidence(r, readFile(t, "negative", "hopperCertChainExpired.txt"))
	c, err := sdkVerifier(t, map[string]string{
		"NV_GPU_DRIVER_GH100_570.124.03": "sdk/NV_GPU_DRIVER_GH100_570.124.03_expired.xml",
	}).Verify(context.Background(), ev, verify.Expectations{ReportData: rep.Request.Nonce[:], Now: v1Time})
	mustFail(t, c, err, verify.ErrExpired)
}

func TestRealSwitchRIMNegatives(t *testing.T) {
	ev := readFile(t, "v3", "switch_evidence_ls10.json")
	exp := verify.Expectations{ReportData: v1Nonce, Now: sdkTime}
	for file, kind := range map[string]error{
		"sdk/NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml":    verify.ErrSignature,
		"sdk/NV_SWITCH_BIOS_5612_0002_890_9610550001_measurement_mismatch.xml": verify.ErrSignature, // edited after signing
	} {
		v, err := NewVerifier(verify.FormatNVSwitch, WithoutRevocationUnsafe(),
			WithRIMs(newRIMs(t, rimMemory(t, map[string]string{"NV_SWITCH_BIOS_5612_0002_890_9610550001": file}))))
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(context.Background(), ev, exp)
		mustFail(t, c, err, kind)
	}
}

func TestRealBadRIMs(t *testing.T) {
	p := newRIMs(t, rimMemory(t, map[string]string{
		"NV_GPU_DRIVER_GH100_550.144.03":        "sdk/incorrect_signature_driver_rim.xml",
		"NV_GPU_VBIOS_G525_0220_886_9700830009": "sdk/incorrect_cert_chain_driver_rim.xml",
	}))
	if _, err := p.RIM(context.Background(), "NV_GPU_DRIVER_GH100_550.144.03", "550.144.03", v1Time); !isKind(err, verify.ErrSignature) {
		t.Fatalf("incorrect signature: %v", err)
	}
	if _, err := p.RIM(context.Background(), "NV_GPU_VBIOS_G525_0220_886_9700830009", "97.00.83.00.09", v1Time); !isKind(err, verify.ErrChain) {
		t.Fatalf("incorrect chain: %v", err)
	}
}
