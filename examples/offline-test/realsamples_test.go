package offlinetest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/tdx"
)

// TestWriteRealSamples copies real evidence into the samples embedded in
// cmd/attest (run with -update-samples): the dcap-qvl TDX quote with its
// complete Intel collateral (verify at 2025-07-01), and NVIDIA's V1 H100
// report with its RIMs and recorded OCSP answers (verify at 2025-10-24).
func TestWriteRealSamples(t *testing.T) {
	root := t.TempDir()
	if *updateSamples {
		root = filepath.Join("..", "..", "cmd", "attest", "samples")
	}
	td := filepath.Join("..", "..", "testdata")
	read := func(p ...string) []byte {
		b, err := os.ReadFile(filepath.Join(append([]string{td}, p...)...))
		if err != nil {
			t.Skipf("real sample missing: %v", err)
		}
		return b
	}
	write := func(dir, name string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(m map[string]any) []byte {
		b, _ := json.MarshalIndent(m, "", "  ")
		return append(b, '\n')
	}

	// TDX: the quote, its collateral in the PCS layout, its own report data
	// as the expected value, and its MRTD pinned.
	dir := filepath.Join(root, "real-tdx")
	_ = os.RemoveAll(dir)
	quote := read("tdx", "dcapqvl_tdx_quote.dat")
	var d struct {
		PCKCRLIssuerChain string `json:"pck_crl_issuer_chain"`
		RootCACRL         string `json:"root_ca_crl"`
		PCKCRL            string `json:"pck_crl"`
		TCBInfoChain      string `json:"tcb_info_issuer_chain"`
		TCBInfo           string `json:"tcb_info"`
		TCBInfoSig        string `json:"tcb_info_signature"`
		QEChain           string `json:"qe_identity_issuer_chain"`
		QEIdentity        string `json:"qe_identity"`
		QESig             string `json:"qe_identity_signature"`
	}
	if err := json.Unmarshal(read("tdx", "dcapqvl_collateral.json"), &d); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	c := &tdx.Collateral{
		TCBInfo:               []byte(`{"tcbInfo":` + d.TCBInfo + `,"signature":"` + d.TCBInfoSig + `"}`),
		TCBInfoIssuerChain:    []byte(d.TCBInfoChain),
		QEIdentity:            []byte(`{"enclaveIdentity":` + d.QEIdentity + `,"signature":"` + d.QESig + `"}`),
		QEIdentityIssuerChain: []byte(d.QEChain),
		PCKCRL:                unhex(d.PCKCRL),
		PCKCRLIssuerChain:     []byte(d.PCKCRLIssuerChain),
		RootCACRL:             unhex(d.RootCACRL),
	}
	q, err := tdx.ParseQuote(quote)
	if err != nil {
		t.Fatal(err)
	}
	fmspc := [6]byte{0xb0, 0xc0, 0x6f, 0, 0, 0}
	for _, ca := range []string{"platform", "processor"} {
		if err := tdx.WriteBundle(filepath.Join(dir, "collateral", "tdx"), fmspc, ca, c); err != nil {
			t.Fatal(err)
		}
	}
	write(dir, "tdx-quote.dat", quote)
	// Approved boot needs MRTD and RTMR0..2 pinned (package policy).
	rv := "version: \"1\"\nreference_values:\n  - name: mr_td\n    value: [\"" + hex.EncodeToString(q.Body.MRTD[:]) + "\"]\n"
	for i := 0; i < 3; i++ {
		rv += fmt.Sprintf("  - name: rtmr_%d\n    value: [\"%s\"]\n", i, hex.EncodeToString(q.Body.RTMR[i][:]))
	}
	rv += "  - name: xfam\n    value: [\"" + hex.EncodeToString(q.Body.XFAM[:]) + "\"]\n"
	write(dir, "reference-values.yaml", []byte(rv))
	write(dir, "sample.json", manifest(map[string]any{
		"title":            "real TDX quote v4 (FMSPC B0C06F000000) with Intel's collateral and CRLs",
		"source":           "Phala-Network/dcap-qvl @ 9bffe30b, sample/tdx_quote and tdx_quote_collateral.json (MIT); Intel SGX Root CA pinned",
		"now":              "2025-07-01T00:00:00Z",
		"evidence":         []string{"tdx-quote.dat"},
		"report_data":      hex.EncodeToString(q.Body.ReportData[:]),
		"reference_values": "reference-values.yaml",
		"collateral":       "collateral",
		"expect":           "affirming",
	}))

	// GPU: NVIDIA's V1 H100 report. Its device-chain OCSP answers are from
	// August 2025 and its RIM-chain answers from October 2025, so at any one
	// time some answer is missing: the sample verifies with missing answers
	// allowed and is a warning, by design.
	dir = filepath.Join(root, "real-gpu")
	_ = os.RemoveAll(dir)
	report, err := hex.DecodeString(strings.TrimSpace(string(read("gpu", "v1", "hopperAttestationReport.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := gpu.EncodeEvidence([]gpu.DeviceEvidence{{Arch: gpu.ArchHopper, Report: report, Certificate: read("gpu", "v1", "hopperCertChain.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	write(dir, "gpu-evidence.json", append(ev, '\n'))
	for _, f := range []string{"NV_GPU_DRIVER_GH100_550.90.07.xml", "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"} {
		write(dir, "collateral/gpu/rims/"+f, read("gpu", "v1", f))
	}
	// Only the RIM-chain answers are current at the V1 time; the stale
	// device-chain answers would (rightly) fail verification. Older
	// testdata layouts keep every answer in one directory.
	ocspDir := filepath.Join(td, "gpu", "ocsp", "rim")
	if _, err := os.Stat(ocspDir); err != nil {
		ocspDir = filepath.Join(td, "gpu", "ocsp")
	}
	ents, err := os.ReadDir(ocspDir)
	if err != nil {
		t.Skipf("real sample missing: %v", err)
	}
	for _, e := range ents {
		if e.IsDir() || !(strings.Contains(e.Name(), "rim") || strings.Contains(e.Name(), "vbios")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(ocspDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(dir, "collateral/gpu/ocsp/"+e.Name(), b)
	}
	write(dir, "reference-values.yaml", []byte("version: \"1\"\nreference_values:\n  - name: allowed_driver_versions\n    value: [\"550.90.07\"]\n  - name: allowed_vbios_versions\n    value: [\"96.00.9F.00.01\"]\n"))
	write(dir, "sample.json", manifest(map[string]any{
		"title":              "real NVIDIA H100 report (driver 550.90.07, VBIOS 96.00.9F.00.01) with its signed RIMs",
		"source":             "NVIDIA/nvtrust local_gpu_verifier samples and google/go-nvattest-tools RIMs and OCSP answers; NVIDIA roots pinned",
		"now":                "2025-10-24T12:00:00Z",
		"evidence":           []string{"gpu-evidence.json"},
		"nonce":              "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
		"reference_values":   "reference-values.yaml",
		"collateral":         "collateral",
		"ocsp_allow_missing": true,
		"expect":             "warning",
	}))
}
