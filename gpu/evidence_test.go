package gpu

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/trustfactory/attest/verify"
)

func trusteeJSON(arch string, report, chain []byte, hexEv bool) []byte {
	ev := base64.StdEncoding.EncodeToString(report)
	if hexEv {
		ev = hex.EncodeToString(report)
	}
	return []byte(`{"device_evidence_list":[{"arch":"` + arch + `","uuid":"GPU-1111","evidence":"` + ev +
		`","certificate":"` + base64.StdEncoding.EncodeToString(chain) + `"}]}`)
}

func TestEncodings(t *testing.T) {
	r := readHex(t, "v1", "hopperAttestationReport.txt")
	chain := readFile(t, "v1", "hopperCertChain.txt")
	nvidia, err := EncodeEvidence([]DeviceEvidence{{Arch: ArchHopper, Nonce: v1Nonce, Report: r, Certificate: chain}})
	if err != nil {
		t.Fatal(err)
	}
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	gpuV, swV := noNetVerifier(t, verify.FormatGPU), noNetVerifier(t, verify.FormatNVSwitch)
	reg, err := verify.NewRegistry(gpuV, swV)
	if err != nil {
		t.Fatal(err)
	}
	for name, ev := range map[string][]byte{
		"raw": rawEvidence(r, chain), "nvidia": nvidia,
		"trustee hex": trusteeJSON("HOPPER", r, chain, true), "trustee base64": trusteeJSON("Hopper", r, chain, false),
	} {
		f, err := reg.Detect(ev)
		if err != nil || f != verify.FormatGPU {
			t.Fatalf("%s: detected %q, %v", name, f, err)
		}
		c, err := reg.Verify(context.Background(), "", ev, exp)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Map()["x-nvidia-gpu-driver-version"] != "550.90.07" {
			t.Fatalf("%s: claims", name)
		}
	}
	if f, err := reg.Detect(readFile(t, "v3", "switch_evidence_ls10.json")); err != nil || f != verify.FormatNVSwitch {
		t.Fatalf("switch detected as %q, %v", f, err)
	}
	if _, err := reg.Detect([]byte("hello")); err == nil {
		t.Fatal("garbage detected")
	}
	// Declared architecture that the certificate contradicts.
	c, err := gpuV.Verify(context.Background(), trusteeJSON("BLACKWELL", r, chain, true), exp)
	mustFail(t, c, err, verify.ErrBinding)
	// Declared nonce differing from the signed one.
	other := append([]byte(nil), v1Nonce...)
	other[0] ^= 1
	bad, _ := EncodeEvidence([]DeviceEvidence{{Arch: ArchHopper, Nonce: other, Report: r, Certificate: chain}})
	c, err = gpuV.Verify(context.Background(), bad, exp)
	mustFail(t, c, err, verify.ErrMalformed)
	// The same device twice.
	twice, _ := EncodeEvidence([]DeviceEvidence{{Arch: ArchHopper, Report: r, Certificate: chain}, {Arch: ArchHopper, Report: r, Certificate: chain}})
	c, err = gpuV.Verify(context.Background(), twice, exp)
	mustFail(t, c, err, verify.ErrMalformed)
	// Unknown architecture (well formed, unsupported), empty lists, bad base64.
	for ev, kind := range map[string]error{
		`[{"arch":"RUBIN","evidence":"EeA=","certificate":"eA=="}]`: verify.ErrUnsupported,
		`[]`: verify.ErrMalformed, `{"device_evidence_list":[]}`: verify.ErrMalformed,
		`[{"arch":"HOPPER","evidence":"!!","certificate":"eA=="}]`: verify.ErrMalformed,
		`[{"arch":"HOPPER","evidence":"EeA=","certificate":"!!"}]`: verify.ErrMalformed,
	} {
		c, err := gpuV.Verify(context.Background(), []byte(ev), exp)
		if c != nil || !errors.Is(err, kind) {
			t.Fatalf("%s: want %v, got %v", ev, kind, err)
		}
	}
	if _, err := ParseEvidence([]byte("[" + strings.Repeat(`{"arch":"HOPPER","evidence":"EeA=","certificate":"eA=="},`, 16) + `{"arch":"HOPPER","evidence":"EeA=","certificate":"eA=="}]`)); !isKind(err, verify.ErrLimit) {
		t.Fatalf("17 devices: %v", err)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	for _, opts := range [][]Option{
		{WithoutRIMsUnsafe()},       // no OCSP
		{WithoutRevocationUnsafe()}, // no RIMs
		{WithoutRIMsUnsafe(), WithoutRevocationUnsafe(), WithDeviceRoots()},
	} {
		if _, err := NewVerifier(verify.FormatGPU, opts...); !isKind(err, verify.ErrConfig) {
			t.Fatalf("expected ErrConfig, got %v", err)
		}
	}
	if _, err := NewVerifier(verify.FormatTDX, WithoutRIMsUnsafe(), WithoutRevocationUnsafe()); !isKind(err, verify.ErrConfig) {
		t.Fatal("wrong format accepted")
	}
}

func TestMissingNonceUnsafe(t *testing.T) {
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), v1Evidence(t), verify.Expectations{AllowMissingReportDataUnsafe: true, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["x-nvidia-gpu-attestation-report-nonce-match"] != false || !strings.Contains(strings.Join(m[verify.ClaimUnsafe].([]string), ","), "AllowMissingReportDataUnsafe") {
		t.Fatalf("claims: %v %v", m["x-nvidia-gpu-attestation-report-nonce-match"], m[verify.ClaimUnsafe])
	}
}
