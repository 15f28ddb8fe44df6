package gpu

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// Trustee's expected parse of the V1 report, field by field.
func TestTrusteeClaimsGolden(t *testing.T) {
	var want struct {
		Config       map[string]any    `json:"config"`
		Measurements map[string]string `json:"measurements"`
	}
	if err := json.Unmarshal(readFile(t, "golden", "hopperAttestationReport-claims.txt"), &want); err != nil {
		t.Fatal(err)
	}
	c, err := noNetVerifier(t, verify.FormatGPU).VerifyDevices(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	got := m["x-attest-opaque"].(map[string]any)
	status := map[string]string{"enabled": "\xaa", "disabled": "U"}
	checked := 0
	for k, w := range want.Config {
		switch k {
		case "measurement_count":
			mc := got[k].(map[string]uint32)
			wm := w.(map[string]any)
			if len(mc) != len(wm) {
				t.Fatalf("measurement_count: %d entries, want %d", len(mc), len(wm))
			}
			for i, n := range wm {
				if float64(mc[i]) != n.(float64) {
					t.Errorf("measurement_count[%s]: got %d, want %v", i, mc[i], n)
				}
			}
		case "nvdec0_status", "protected_pcie_status":
			if status[got[k].(string)] != w {
				t.Errorf("%s: got %v, want %q", k, got[k], w)
			}
		case "vbios_version":
			if !strings.EqualFold(got[k].(string), w.(string)) {
				t.Errorf("%s: got %v, want %v", k, got[k], w)
			}
		default:
			if fmt.Sprint(got[k]) != fmt.Sprint(w) {
				t.Errorf("%s: got %v, want %v", k, got[k], w)
			}
		}
		checked++
	}
	meas := m["x-attest-measurements"].(map[string]string)
	if len(meas) != len(want.Measurements) {
		t.Fatalf("%d measurements, want %d", len(meas), len(want.Measurements))
	}
	for k, w := range want.Measurements {
		if meas[k] != w {
			t.Errorf("measurement %s: got %s, want %s", k, meas[k], w)
		}
	}
	if checked != 14 {
		t.Fatalf("compared %d config fields", checked)
	}
}

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

// NVIDIA's expected parse of the LS10 switch report (attestation-sdk testdata).
func TestNVIDIASwitchParseGolden(t *testing.T) {
	var want struct {
		SPDMVersion, RequestResponseCode, Param1, Param2      string
		NumberOfBlocks, MeasurementRecordLength, OpaqueLength int
		Nonce, Signature                                      string
		MeasurementRecord                                     struct {
			NumberOfBlocks    int
			MeasurementBlocks map[string]struct {
				DMTFSpecMeasurementValueType int
				DMTFSpecMeasurementValueSize int
				DMTFSpecMeasurementValue     string
			}
		}
		OpaqueData struct {
			OpaqueDataField map[string]any
		}
	}
	if err := json.Unmarshal(readFile(t, "golden", "switch_spdm_parsed_output.json"), &want); err != nil {
		t.Fatal(err)
	}
	var wantReq map[string]string
	if err := json.Unmarshal(readFile(t, "golden", "switch_spdm_req_parsed_output.json"), &wantReq); err != nil {
		t.Fatal(err)
	}
	rep, err := ParseReport(readHex(t, "golden", "switchAttestationReport.txt"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, r := rep.Request, rep.Response
	b := func(x byte) string { return fmt.Sprintf("0x%02x", x) }
	eq := func(name string, got, w any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", name, got, w)
		}
	}
	eq("req SPDMVersion", b(q.Version), wantReq["SPDMVersion"])
	eq("req code", b(q.Code), wantReq["RequestResponseCode"])
	eq("req Param1", b(q.Param1), wantReq["Param1"])
	eq("req Param2", b(q.Param2), wantReq["Param2"])
	eq("req Nonce", hex0x(q.Nonce[:]), wantReq["Nonce"])
	eq("req SlotIDParam", b(q.SlotID), wantReq["SlotIDParam"])
	eq("SPDMVersion", b(r.Version), want.SPDMVersion)
	eq("RequestResponseCode", b(r.Code), want.RequestResponseCode)
	eq("Param1", b(r.Param1), want.Param1)
	eq("Param2", b(r.Param2), want.Param2)
	eq("NumberOfBlocks", r.NumberOfBlocks, want.NumberOfBlocks)
	eq("MeasurementRecordLength", r.RecordLength, want.MeasurementRecordLength)
	eq("Nonce", hex0x(r.ResponderNonce[:]), want.Nonce)
	eq("OpaqueLength", r.OpaqueLength, want.OpaqueLength)
	eq("Signature", hex0x(r.Signature), want.Signature)
	eq("record NumberOfBlocks", len(r.Blocks), want.MeasurementRecord.NumberOfBlocks)
	// Every block is compared below: an empty golden map must not pass.
	eq("golden blocks", len(want.MeasurementRecord.MeasurementBlocks), len(r.Blocks))
	for k, w := range want.MeasurementRecord.MeasurementBlocks {
		i, _ := strconv.Atoi(k)
		v, ok := r.Measurement(i)
		if !ok {
			t.Fatalf("block %d missing", i)
		}
		eq("block "+k, hex0x(v), w.DMTFSpecMeasurementValue)
		eq("block "+k+" size", len(v), w.DMTFSpecMeasurementValueSize)
		eq("block "+k+" type", int(r.Blocks[i-1].ValueType), w.DMTFSpecMeasurementValueType)
	}
	op, err := ParseOpaqueData(r.OpaqueRaw)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := op.Decode(true)
	if err != nil {
		t.Fatal(err)
	}
	f := want.OpaqueData.OpaqueDataField
	raw := func(ty uint16) []byte { v, _ := op.Get(ty); return v }
	eq("DEVICE_PDI", hex0x(dec.DevicePDI), f["OPAQUE_FIELD_ID_DEVICE_PDI"])
	eq("VBIOS_VERSION", hex0x(raw(OpaqueVBIOSVersion)), f["OPAQUE_FIELD_ID_VBIOS_VERSION"])
	eq("SWITCH_POSITION_ID", hex0x(raw(OpaquePositionID)), f["OPAQUE_FIELD_ID_SWITCH_POSITION_ID"])
	eq("SWITCH_LOCK_STATUS", hex0x(raw(OpaqueLockSwitchStatus)), f["OPAQUE_FIELD_ID_SWITCH_LOCK_STATUS"])
	var ms []any
	for _, n := range dec.MSRSCount {
		ms = append(ms, float64(n))
	}
	eq("MSRSCNT", ms, f["OPAQUE_FIELD_ID_MSRSCNT"])
	var gp []any
	g := raw(OpaqueSwitchGPUPDIs)
	for i := 0; i+8 <= 64; i += 8 {
		gp = append(gp, hex0x(g[i:i+8]))
	}
	eq("SWITCH_GPU_PDIS", gp, f["OPAQUE_FIELD_ID_SWITCH_GPU_PDIS"])
	// NVIDIA reads the switch port map from the second half of SWITCH_GPU_PDIS.
	var ports []any
	for _, p := range dec.SwitchPorts {
		ports = append(ports, fmt.Sprintf("0x%02x", p))
	}
	eq("SWITCH_PORT", ports, f["OPAQUE_FIELD_ID_SWITCH_PORT"])
	// DISABLED_PORTS is a 64-entry expansion whose derivation from the
	// 2-byte entry is not documented; it is not compared.
}
