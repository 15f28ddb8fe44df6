package offlinetest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"crypto"
	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/verify"
)

var updateSamples = flag.Bool("update-samples", false, "rewrite the composite sample embedded in cmd/attest")

// TestWriteCompositeSample mints the composite sample that `attest verify`
// appraises when run without arguments: a TDX quote and eight GPU reports
// bound to one KBS session, with the collateral, RIMs and OCSP answers to
// verify them offline. Run with -update-samples to rewrite it.
func TestWriteCompositeSample(t *testing.T) {
	dir := t.TempDir()
	if *updateSamples {
		dir = filepath.Join("..", "..", "cmd", "attest", "samples", "composite")
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	b, err := New(8)
	if err != nil {
		t.Fatal(err)
	}
	additional := ""
	rd := binding.RuntimeData{
		Nonce:              "2u4xnPZkIqJfk7Vkk9S0TgAKMz0qXkb7WVRhU8h0Kfc=",
		TEEPubKey:          json.RawMessage(`{"kty":"EC","crv":"P-256","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`),
		AdditionalEvidence: &additional,
	}
	cpu, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	quote := b.Quote(cpu.ReportData, nil)
	gpus, err := b.GPUEvidence(gpu.ReportData, nil)
	if err != nil {
		t.Fatal(err)
	}
	rdJSON, _ := rd.JSON()
	s := b.QuoteSpec(nil)
	rv := fmt.Sprintf(`# Reference values for the composite sample (see package policy).
version: "1"
reference_values:
  - name: mr_td
    value: ["%s"]
    expiration: 2030-01-01T00:00:00Z
  - name: rtmr_0
    value: ["%s"]
  - name: rtmr_1
    value: ["%s"]
  - name: rtmr_2
    value: ["%s"]
  - name: xfam
    value: ["%s"]
  - name: allowed_driver_versions
    value: ["%s"]
  - name: allowed_vbios_versions
    value: ["%s"]
`, hex.EncodeToString(s.Body.MRTD[:]), hex.EncodeToString(s.Body.RTMR[0][:]), hex.EncodeToString(s.Body.RTMR[1][:]),
		hex.EncodeToString(s.Body.RTMR[2][:]), hex.EncodeToString(s.Body.XFAM[:]), DriverVersion, VBIOSVersion)
	manifest := map[string]any{
		"title":            "composite: one TDX TD and eight H100 GPUs bound to one KBS session",
		"source":           "minted by tdx/tdxtest, gpu/gputest and gpu/rim/rimtest (examples/offline-test); test roots",
		"now":              Now().Format("2006-01-02T15:04:05Z07:00"),
		"evidence":         []string{"tdx-evidence.json", "gpu-evidence.json"},
		"runtime_data":     "runtime-data.json",
		"reference_values": "reference-values.yaml",
		"collateral":       "collateral",
		"test_roots":       true,
		"expect":           "affirming",
		"sign":             true,
	}
	mj, _ := json.MarshalIndent(manifest, "", "  ")
	tdxJSON, _ := json.Marshal(map[string]any{"quote": base64.StdEncoding.EncodeToString(quote), "cc_eventlog": nil})
	files := map[string][]byte{
		"sample.json":           append(mj, '\n'),
		"tdx-evidence.json":     append(tdxJSON, '\n'),
		"gpu-evidence.json":     append(gpus, '\n'),
		"runtime-data.json":     append(rdJSON, '\n'),
		"reference-values.yaml": []byte(rv),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WriteCollateral(filepath.Join(dir, "collateral")); err != nil {
		t.Fatal(err)
	}
}
