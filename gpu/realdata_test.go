package gpu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

func noNetVerifier(t testing.TB, f verify.Format, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(f, append([]Option{WithoutRevocationUnsafe(), WithoutRIMsUnsafe()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustFail(t *testing.T, c verify.Claims, err error, kind error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %v, got success", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("expected %v, got %v", kind, err)
	}
	if c != nil {
		t.Fatalf("claims must be nil on error")
	}
}

func TestV1SignatureChainFWID(t *testing.T) {
	v := noNetVerifier(t, verify.FormatGPU)
	c, err := v.VerifyDevices(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Devices[0]
	if !d.FWIDMatched || d.Arch != ArchHopper || d.Decoded.DriverVersion != "550.90.07" || d.Decoded.VBIOSVersion != "96.00.9F.00.01" {
		t.Fatalf("unexpected claims %+v", d.Decoded)
	}
	m := c.Map()
	if m["x-nvidia-gpu-driver-version"] != "550.90.07" || m["measres"] != "not-run" || m["hwmodel"] != "GH100 A01 GSP BROM" {
		t.Fatalf("map: %v", m)
	}
	if u, _ := m[verify.ClaimUnsafe].([]string); len(u) != 2 {
		t.Fatalf("unsafe options must show in the claims: %v", m[verify.ClaimUnsafe])
	}
	// The L1B root (same key, other certificate) also verifies the chain.
	roots := DefaultDeviceRoots()
	v2 := noNetVerifier(t, verify.FormatGPU, WithDeviceRoots(roots[1]))
	if _, err := v2.Verify(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time}); err != nil {
		t.Fatalf("L1B root: %v", err)
	}
}

func TestV2FWIDOption(t *testing.T) {
	exp := verify.Expectations{ReportData: v2Nonce, Now: v2Time}
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), v2Evidence(t), exp)
	mustFail(t, c, err, verify.ErrBinding)
	c, err = noNetVerifier(t, verify.FormatGPU, WithMissingFWIDUnsafe()).Verify(context.Background(), v2Evidence(t), exp)
	if err != nil {
		t.Fatal(err)
	}
	u := c.Map()[verify.ClaimUnsafe].([]string)
	if !strings.Contains(strings.Join(u, ","), "WithMissingFWIDUnsafe") {
		t.Fatalf("unsafe options: %v", u)
	}
}

func TestV3Switch(t *testing.T) {
	ev := readFile(t, "v3", "switch_evidence_ls10.json")
	v := noNetVerifier(t, verify.FormatNVSwitch)
	if !v.Detect(ev) || noNetVerifier(t, verify.FormatGPU).Detect(ev) {
		t.Fatal("detection")
	}
	c, err := v.VerifyDevices(context.Background(), ev, verify.Expectations{ReportData: v1Nonce, Now: v3Time})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Devices[0]
	if d.Arch != ArchLS10 || len(d.Report.Response.Blocks) != 31 || d.Decoded.VBIOSVersion != "96.10.55.00.01" {
		t.Fatalf("switch: %s %d %s", d.Arch, len(d.Report.Response.Blocks), d.Decoded.VBIOSVersion)
	}
	_, fw, err := RIMIDs(d.Arch, d.Decoded)
	if err != nil || fw != "NV_SWITCH_BIOS_5612_0002_890_9610550001" {
		t.Fatalf("switch RIM ID %q %v", fw, err)
	}
	// A switch is not a GPU.
	cc, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), ev, verify.Expectations{ReportData: v1Nonce, Now: v3Time})
	mustFail(t, cc, err, verify.ErrUnsupported)
}

func TestBlackwell(t *testing.T) {
	ev := rawEvidence(readHex(t, "blackwell", "blackwellAttestationReport.txt"), readFile(t, "blackwell", "blackwellCertChain.txt"))
	c, err := noNetVerifier(t, verify.FormatGPU).VerifyDevices(context.Background(), ev, verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Devices[0]
	if d.Arch != ArchBlackwell || !d.FWIDMatched {
		t.Fatalf("blackwell: %s fwid %v", d.Arch, d.FWIDMatched)
	}
	drv, _, _ := RIMIDs(d.Arch, d.Decoded)
	if drv != "NV_GPU_CC_DRIVER_GB100_575.32" {
		t.Fatalf("driver RIM ID %s", drv)
	}
}

type pickled struct {
	GPUs []struct {
		Arch   string `json:"Arch"`
		Report struct {
			B64 string `json:"py/b64"`
		} `json:"AttestationReport"`
		Chains struct {
			Certs []struct {
				PEM string `json:"pem"`
			} `json:"GpuAttestationCertificateChain"`
		} `json:"CertificateChains"`
	} `json:"gpus"`
	Switches []struct {
		Report struct {
			B64 string `json:"py/b64"`
		} `json:"attestation_report"`
		Certs []struct {
			PEM string `json:"pem"`
		} `json:"attestation_cert_chain"`
	} `json:"nvswitches"`
}

func pickledEvidence(t testing.TB, file ...string) (gpus, switches []byte) {
	t.Helper()
	var p pickled
	if err := json.Unmarshal(readFile(t, file...), &p); err != nil {
		t.Fatal(err)
	}
	chain := func(certs []struct {
		PEM string `json:"pem"`
	}) []byte {
		var out []byte
		for _, c := range certs {
			b, err := base64.StdEncoding.DecodeString(c.PEM)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var gd, sd []DeviceEvidence
	for _, g := range p.GPUs {
		arch := ArchHopper
		if g.Arch != "" {
			arch = Arch(g.Arch)
		}
		gd = append(gd, DeviceEvidence{Arch: arch, Report: dec(g.Report.B64), Certificate: chain(g.Chains.Certs)})
	}
	for _, s := range p.Switches {
		sd = append(sd, DeviceEvidence{Arch: ArchLS10, Report: dec(s.Report.B64), Certificate: chain(s.Certs)})
	}
	var err error
	if gpus, err = EncodeEvidence(gd); err != nil {
		t.Fatal(err)
	}
	if len(sd) > 0 {
		if switches, err = EncodeEvidence(sd); err != nil {
			t.Fatal(err)
		}
	}
	return gpus, switches
}

var ppcieNonce = mustHex("1234567890123456789012345678901234567890123456789012345678901234")

func TestPPCIeTopology(t *testing.T) {
	g, s := pickledEvidence(t, "ppcie", "test_ppcie_data.json")
	exp := verify.Expectations{ReportData: ppcieNonce, Now: ppcieTime}
	gc, err := noNetVerifier(t, verify.FormatGPU).VerifyDevices(context.Background(), g, exp)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := noNetVerifier(t, verify.FormatNVSwitch).VerifyDevices(context.Background(), s, exp)
	if err != nil {
		t.Fatal(err)
	}
	if len(gc.Devices) != 8 || len(sc.Devices) != 4 {
		t.Fatalf("%d GPUs, %d switches", len(gc.Devices), len(sc.Devices))
	}
	if err := CheckPPCIeTopology(gc.Devices, sc.Devices); err != nil {
		t.Fatal(err)
	}
	// A GPU linked to a fifth, unattested switch breaks the topology.
	bad := *gc.Devices[0]
	dec := *bad.Decoded
	dec.SwitchPDIs = append([][8]byte{{1, 2, 3, 4, 5, 6, 7, 8}}, dec.SwitchPDIs...)
	bad.Decoded = &dec
	gpus := append([]*DeviceClaims{&bad}, gc.Devices[1:]...)
	if err := CheckPPCIeTopology(gpus, sc.Devices); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("expected ErrPolicy, got %v", err)
	}
	// A GPU that says it runs in another mode (FEATURE_FLAG present, not PPCIe).
	for ff, ok := range map[int]bool{FeatureFlagSPT: false, FeatureFlagMPT: false, FeatureFlagPPCIe: true} {
		g0 := *gc.Devices[0]
		dec := *g0.Decoded
		dec.FeatureFlag = ff
		g0.Decoded = &dec
		err := CheckPPCIeTopology(append([]*DeviceClaims{&g0}, gc.Devices[1:]...), sc.Devices)
		if ok && err != nil || !ok && !errors.Is(err, verify.ErrPolicy) {
			t.Fatalf("FEATURE_FLAG %d: %v", ff, err)
		}
	}
	// A version 1 or later report without the flag: its mode is unknown.
	for v, ok := range map[int]bool{0: true, 1: false, 2: false} {
		g0 := *gc.Devices[0]
		dec := *g0.Decoded
		dec.OpaqueVersion, dec.FeatureFlag = v, -1
		g0.Decoded = &dec
		err := CheckPPCIeTopology(append([]*DeviceClaims{&g0}, gc.Devices[1:]...), sc.Devices)
		if ok && err != nil || !ok && !errors.Is(err, verify.ErrPolicy) {
			t.Fatalf("opaque version %d without FEATURE_FLAG: %v", v, err)
		}
	}
	if err := CheckPPCIeTopology(gc.Devices[:7], sc.Devices); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("7 GPUs: expected ErrPolicy, got %v", err)
	}
	// A switch whose BROM serial is another device's.
	sw := *sc.Devices[0]
	sw.Chain = sc.Devices[1].Chain
	if err := CheckPPCIeTopology(gc.Devices, append([]*DeviceClaims{&sw}, sc.Devices[1:]...)); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("switch PDI binding: expected ErrPolicy, got %v", err)
	}
	// The same through VerifyPPCIe; a GPU set without its switches fails.
	if _, _, err := VerifyPPCIe(context.Background(), noNetVerifier(t, verify.FormatGPU), noNetVerifier(t, verify.FormatNVSwitch), g, s, exp); err != nil {
		t.Fatal(err)
	}
	gg, ss, err := VerifyPPCIe(context.Background(), noNetVerifier(t, verify.FormatGPU), noNetVerifier(t, verify.FormatNVSwitch), g, readFile(t, "v3", "switch_evidence_ls10.json"), exp)
	if !errors.Is(err, verify.ErrFreshness) || gg != nil || ss != nil {
		t.Fatalf("foreign switch evidence: %v", err)
	}
	// Split gives one blob per device, each verifiable.
	parts, err := noNetVerifier(t, verify.FormatGPU).Split(g)
	if err != nil || len(parts) != 8 {
		t.Fatalf("split: %d %v", len(parts), err)
	}
	if _, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), parts[3], exp); err != nil {
		t.Fatal(err)
	}
}

func TestMPTBlackwell(t *testing.T) {
	g, _ := pickledEvidence(t, "mpt", "test_mpt_data.json")
	devs, err := ParseEvidence(g)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ParseReport(devs[0].Report, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := noNetVerifier(t, verify.FormatGPU).VerifyDevices(context.Background(), g, verify.Expectations{ReportData: rep.Request.Nonce[:], Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Devices) != 8 {
		t.Fatalf("%d devices", len(c.Devices))
	}
	for _, d := range c.Devices {
		if d.Decoded.ChipInfo != "GB100" || d.Decoded.FeatureFlag != 1 || !d.FWIDMatched {
			t.Fatalf("MPT device: %+v", d.Decoded)
		}
	}
	// An MPT GPU in a set with a single-GPU-mode one (V1, other nonce
	// expectations aside) is refused: mixed modes are not one system.
	mixed, _ := ParseEvidence(g)
	v1devs, _ := ParseEvidence(v1Evidence(t))
	v1devs[0].Arch = ArchHopper
	both, _ := EncodeEvidence([]DeviceEvidence{mixed[0], v1devs[0]})
	cc, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), both, verify.Expectations{AllowMissingReportDataUnsafe: true, Now: v1Time})
	mustFail(t, cc, err, verify.ErrPolicy)
}

func ocspDir(t testing.TB) *ocsp.FSSource {
	s, err := ocsp.NewFSSource(os.DirFS(td + "/ocsp"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// V4: the device chain's OCSP answers, recorded from NVIDIA's responders.
func TestV4DeviceChainOCSP(t *testing.T) {
	chk, err := ocsp.NewChecker(ocspDir(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(verify.FormatGPU, WithOCSP(chk), WithoutRIMsUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifyDevices(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v4Time})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Devices[0].OCSP
	if res == nil || len(res.Certs) != 3 || res.Status() != ocsp.StatusGood {
		t.Fatalf("OCSP result %+v", res)
	}
	// A day later the recorded answers are stale: fail closed.
	cc, err := v.Verify(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v4Time.Add(48 * time.Hour)})
	mustFail(t, cc, err, verify.ErrCollateral)
	if !errors.Is(err, verify.ErrExpired) || errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("stale answer should also be ErrExpired: %v", err)
	}
	// Offline with nothing recorded: an error by default…
	empty, _ := ocsp.NewMemorySource()
	chk2, _ := ocsp.NewChecker(empty)
	v2, _ := NewVerifier(verify.FormatGPU, WithOCSP(chk2), WithoutRIMsUnsafe())
	cc, err = v2.Verify(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v4Time})
	mustFail(t, cc, err, verify.ErrCollateral)
	// …and a warning claim when explicitly allowed.
	chk3, _ := ocsp.NewChecker(empty, ocsp.WithMissingAnswersUnsafe())
	v3, _ := NewVerifier(verify.FormatGPU, WithOCSP(chk3), WithoutRIMsUnsafe())
	c3, err := v3.Verify(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v4Time})
	if err != nil {
		t.Fatal(err)
	}
	m := c3.Map()
	if _, ok := m["x-nvidia-attestation-warning"]; !ok {
		t.Fatalf("missing revocation must leave a warning: %v", m)
	}
	if m["x-nvidia-gpu-attestation-report-cert-chain"].(map[string]any)["x-nvidia-cert-ocsp-status"] != ocsp.StatusMissing {
		t.Fatalf("ocsp status claim: %v", m["x-nvidia-gpu-attestation-report-cert-chain"])
	}
}
