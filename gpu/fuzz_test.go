package gpu

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trustfactory/attest/verify"
)

func seedReports(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	for _, p := range [][]string{
		{"v1", "hopperAttestationReport.txt"}, {"v2", "attestationReport.txt"},
		{"blackwell", "blackwellAttestationReport.txt"}, {"golden", "switchAttestationReport.txt"},
		{"negative", "hopper_coco_report1.txt"},
		{"rtxpro6000", "blackwellAttestationReport.txt"}, {"blackwell-fsp", "blackwellFspAttestationReport.txt"},
		{"nvdaod", "sample_nvdaod_transcript.txt"},
	} {
		out = append(out, readHex(f, p...))
	}
	// Rubin: a measurement manifest beside 64 blocks, NVDAOD opaque data.
	devs, err := ParseEvidence(readFile(f, "rubin", "rubin_evidence.cmw.json"))
	if err != nil {
		f.Fatal(err)
	}
	return append(out, devs[0].Report)
}

func FuzzParseReport(f *testing.F) {
	for _, r := range seedReports(f) {
		f.Add(r, false)
		f.Add(r, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, trailing bool) {
		r, err := ParseReport(b, ParseOptions{AllowTrailingZeros: trailing})
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
			return
		}
		if len(r.Signed)+SignatureSize+r.TrailingPadding != len(b) {
			t.Fatalf("signed %d + 96 + %d != %d", len(r.Signed), r.TrailingPadding, len(b))
		}
		n := len(r.Response.Blocks)
		if m := r.Response.Manifest; m != nil {
			if m.Index != MeasurementIndexManifest || n == 0 {
				t.Fatalf("manifest at index %d beside %d blocks", m.Index, n)
			}
			n++
		}
		if n != r.Response.NumberOfBlocks {
			t.Fatalf("%d blocks, header says %d", n, r.Response.NumberOfBlocks)
		}
	})
}

func FuzzParseOpaqueData(f *testing.F) {
	for _, r := range seedReports(f) {
		rep, err := ParseReport(r, ParseOptions{AllowTrailingZeros: true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rep.Response.OpaqueRaw)
	}
	nv, err := hex.DecodeString(strings.TrimSpace(string(readFile(f, "nvdaod", "sample_nvdaod_transcript.opaque_only.hex"))))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(nv)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOpaqueData(b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
			return
		}
		seen := map[uint16]bool{}
		for _, fl := range o.Fields {
			if seen[fl.Type] {
				t.Fatalf("duplicate type %d accepted", fl.Type)
			}
			seen[fl.Type] = true
		}
		for _, sw := range []bool{false, true} {
			if _, err := o.Decode(sw); err != nil && verify.KindOf(err) == nil {
				t.Fatalf("decode error without kind: %v", err)
			}
		}
		// Every field floored once: a record is met only by a MIN_SVN
		// number at least its floor, and a met record is never listed.
		recs := make([]OpaqueRecord, 0, len(o.Fields))
		for _, fl := range o.Fields {
			recs = append(recs, OpaqueRecord{TypeID: fl.Type, Name: fmt.Sprintf("R%d", fl.Type), MinSVN: 1, IncludeInResult: true})
		}
		c := CompareOpaqueRecords(o, recs)
		listed := map[uint16]bool{}
		for _, m := range c.Mismatches {
			listed[m.ID] = true
			if m.HasRuntime && m.RuntimeValue >= m.GoldenValue {
				t.Fatalf("record %d listed with runtime %d ≥ floor %d", m.ID, m.RuntimeValue, m.GoldenValue)
			}
		}
		for _, r := range recs {
			v, met := o.minSVN(r.TypeID)
			if met && v >= r.MinSVN && listed[r.TypeID] {
				t.Fatalf("record %d met but listed", r.TypeID)
			}
			if (!met || v < r.MinSVN) && !listed[r.TypeID] {
				t.Fatalf("record %d not met but not listed", r.TypeID)
			}
		}
	})
}

func FuzzParseEvidence(f *testing.F) {
	v1 := readHex(f, "v1", "hopperAttestationReport.txt")
	chain := readFile(f, "v1", "hopperCertChain.txt")
	f.Add(rawEvidence(v1, chain))
	f.Add(readFile(f, "v3", "switch_evidence_ls10.json"))
	f.Add([]byte(`{"device_evidence_list":[{"arch":"HOPPER","uuid":"GPU-1","evidence":"` + hex.EncodeToString(v1) +
		`","certificate":"` + base64.StdEncoding.EncodeToString(chain) + `"}]}`))
	f.Add([]byte(`[{"arch":"LS10","nonce":"00","evidence":"","certificate":""}]`))
	f.Add([]byte(` [ {"arch":"HOPPER","evidence":"` + hex.EncodeToString(v1) + `","certificate":"` + base64.StdEncoding.EncodeToString(chain) +
		`"} ,{"arch":"HOPPER","uuid":"a\\\"],{","evidence":"` + base64.StdEncoding.EncodeToString(v1) + `","certificate":"` + base64.StdEncoding.EncodeToString(chain) + `"}]` + "\n"))
	f.Add(readFile(f, "blackwell-fsp", "blackwell_fsp_evidence.cmw.json"))
	f.Add(readFile(f, "rubin", "rubin_evidence.cmw.json"))
	f.Add(readFile(f, "blackwell", "blackwell_evidence.cmw.json"))
	f.Add(readFile(f, "hopper590", "evidence_hopper_590_12.json"))
	dev := `{"arch":"HOPPER","evidence":"AA==","certificate":"QQ=="}`
	for _, s := range []string{
		`[{"arch":"HOPPER","nonce":"` + strings.Repeat("ab", 32) + `","evidence":"AA==","certificate":"QQ=="},{}]`,
		`{"device_evidence_list":5,"device_evidence_list":[` + dev + `,` + dev + `]}`,
		`{"device_evidence_list":[{"nonce":"ab"},{}],"device_evidence_list":[` + dev + `,` + dev + `]}`,
		`{"DEVICE_EVIDENCE_LIST":[` + dev + `,` + dev + `]}`,
		`[` + dev[:len(dev)-1] + `,"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]`,
		`{"nonce":"` + strings.Repeat("ab", 32) + `","arch":"HOPPER","evidence_list":[{"evidence":"AA==","certificate":"QQ=="},{"evidence":"AA==","certificate":"QQ==","evidence":"AQ=="}]}`,
		`{"__cmwc_t":"t","nonce":["application/octet-stream","AA"],"gpu_0":{"evidence":["` + cmwMediaTranscript + `","EeA"],"certificate":["` + cmwMediaPEMChain + `","QQ"]},"gpu_0":{}}`,
		`[{"arch":"HOPPER","Arch":"LS10"}]`, `[{"arch":"a","arch":"b"}]`, `[{"arch":"\u0041"}]`, `[{"x":1,"arch":"HOPPER"}]`, `[null, {"uuid" : "u" } ]`,
	} {
		f.Add([]byte(s))
	}
	v := noNetVerifier(f, verify.FormatGPU)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = DetectEncoding(b)
		_ = v.Detect(b)
		parts, serr := v.Split(b)
		if serr != nil {
			if verify.KindOf(serr) == nil {
				t.Fatalf("split error without kind: %v", serr)
			}
		} else if len(parts) == 0 {
			t.Fatal("split: no part and no error")
		}
		checkFastDecodeAgrees(t, b)
		devs, err := ParseEvidence(b)
		checkSplitAgrees(t, devs, err, parts, serr)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
			return
		}
		if len(devs) == 0 || len(devs) > maxDevices {
			t.Fatalf("%d devices", len(devs))
		}
		// Everything Verify parses before the first signature check; the
		// cryptography itself is far too slow under coverage instrumentation.
		for _, d := range devs {
			if r, err := ParseReport(d.Report, ParseOptions{}); err == nil {
				if o, err := ParseOpaqueData(r.Response.OpaqueRaw); err == nil {
					_, _ = o.Decode(d.Arch.IsSwitch())
				}
			} else if verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
			if _, err := ParsePEMChain(d.Certificate); err != nil && verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
		}
	})
}

// checkSplitAgrees holds Split to ParseEvidence: evidence that parses splits
// into parts holding the same devices in order, one each; evidence that does
// not parse has a part that does not parse either, so splitting never turns
// refused evidence into accepted parts.
func checkSplitAgrees(t *testing.T, devs []DeviceEvidence, perr error, parts [][]byte, serr error) {
	t.Helper()
	if perr == nil && serr != nil {
		t.Fatalf("split refuses evidence that parses: %v", serr)
	}
	if serr != nil {
		return
	}
	var got []DeviceEvidence
	for i, p := range parts {
		d, err := ParseEvidence(p)
		if err != nil {
			if perr == nil {
				t.Fatalf("part %d of evidence that parses does not parse: %v", i, err)
			}
			return
		}
		if len(parts) > 1 && len(d) != 1 {
			t.Fatalf("part %d holds %d devices", i, len(d))
		}
		got = append(got, d...)
	}
	if perr != nil {
		t.Fatalf("every part parses, the whole does not: %v", perr)
	}
	if !reflect.DeepEqual(got, devs) {
		t.Fatalf("parts hold %+v, the whole %+v", got, devs)
	}
}

// checkFastDecodeAgrees holds the fast decoder of the array encoding to
// encoding/json: whatever it accepts, encoding/json decodes the same way.
func checkFastDecodeAgrees(t *testing.T, b []byte) {
	t.Helper()
	raw, ok := decodeListFast(b)
	if !ok {
		return
	}
	fast := make([]jsonDevice, len(raw))
	for i, d := range raw {
		fast[i] = jsonDevice{Arch: string(d.Arch), UUID: string(d.UUID), Nonce: string(d.Nonce), Evidence: string(d.Evidence), Certificate: string(d.Certificate)}
	}
	var slow []jsonDevice
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Fatalf("fast decoder accepts what encoding/json refuses: %v", err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast decoder reads %+v, encoding/json %+v", fast, slow)
	}
}
