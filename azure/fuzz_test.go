package azure_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

func realHCL(f *testing.F) []byte {
	ev, err := azure.DecodeEvidence(readReal(f))
	if err != nil {
		f.Fatal(err)
	}
	return ev.HCLReport
}

// Whatever the parsers accept is consistent with its input; nothing panics.
func FuzzParseHCLReport(f *testing.F) {
	hcl := realHCL(f)
	f.Add(hcl)
	f.Add(hcl[:0x4d4])
	if tdxHCL, err := os.ReadFile(realTDXDir + "hcl-report.bin"); err == nil {
		f.Add(tdxHCL)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := azure.ParseHCLReport(b)
		if err != nil {
			if r != nil || verify.KindOf(err) == nil {
				t.Fatalf("error %v with result %v, or without a kind", err, r)
			}
			return
		}
		size := int(binary.LittleEndian.Uint32(b[8:]))
		if !bytes.Equal(r.HWReport, b[0x20:0x4c0]) || !bytes.Equal(r.RuntimeData, b[0x4d4:size]) {
			t.Fatalf("parts are not the input's: hardware report %d bytes, runtime data %d bytes, size %d of %d", len(r.HWReport), len(r.RuntimeData), size, len(b))
		}
		if rd, err := azure.ParseRuntimeData(r.RuntimeData); err == nil {
			_, _ = rd.AK()
		}
	})
}

// Verify never panics and fails with a kind; whatever verifies is bound to
// the expected report data by a bound AK at VMPL 0.
func FuzzVerify(f *testing.F) {
	real := readReal(f)
	f.Add(real)
	if v2, err := os.ReadFile("../testdata/azure/trustee-evidence-v2.json"); err == nil {
		f.Add(v2)
	}
	f.Add([]byte(`{"version":2,"hcl_report":"SENMQQ","tpm_quote":{"signature":"00","message":"00","pcrs":["00"]},"vcek":"AA"}`))
	// Version 0 (byte arrays): the real Genoa sample (bound to another
	// session, so its mutations reach the decoder and the checks before
	// the report data) and a small one.
	f.Add(readTestdata(f, "trustee-evidence-genoa.json"))
	f.Add([]byte(`{"report":[72,67,76,65],"quote":{"signature":[0],"message":[0],"pcrs":[[` + strings.Repeat("0,", 31) + `0]]},"vcek":"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"}`))
	v := realVerifier(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), b, realExp())
		if err != nil {
			if c != nil || verify.KindOf(err) == nil {
				t.Fatalf("error %v with claims, or without a kind", err)
			}
			return
		}
		m := c.Map()
		if m["report_data"] != hex.EncodeToString([]byte("challenge")) || m["ak.trust"] != "bound" || m["vmpl"] != 0 {
			t.Fatalf("verified claims: report data %v, AK trust %v, VMPL %v", m["report_data"], m["ak.trust"], m["vmpl"])
		}
	})
}

// Whatever az-tdx-vtpm evidence the decoder and the verifier accept is
// bound to the expected report data by a bound AK, its TD quote repeating
// the HCL report's TDREPORT; nothing panics and every error has a kind.
func FuzzVerifyTDX(f *testing.F) {
	pki := tdxtest.NewPKI()
	f.Add(realTDX(f, pki, realTDXDir+"hcl-report.bin"))
	f.Add([]byte(`{"version":2,"hcl_report":"SENMQQ","tpm_quote":{"signature":"00","message":"00","pcrs":["00"]},"td_quote":"AA"}`))
	v := tdxVerifier(f, pki)
	f.Fuzz(func(t *testing.T, b []byte) {
		if ev, err := azure.DecodeTDXEvidence(b); err != nil {
			if ev != nil || verify.KindOf(err) == nil {
				t.Fatalf("decode error %v with evidence, or without a kind", err)
			}
		}
		c, err := v.Verify(context.Background(), b, realTDXExp())
		if err != nil {
			if c != nil || verify.KindOf(err) == nil {
				t.Fatalf("error %v with claims, or without a kind", err)
			}
			return
		}
		m := c.Map()
		if m["report_data"] != hex.EncodeToString([]byte(realTDXNonce)) || m["ak.trust"] != "bound" {
			t.Fatalf("verified claims: report data %v, AK trust %v", m["report_data"], m["ak.trust"])
		}
		ev, _ := azure.DecodeTDXEvidence(b)
		q, err := tdx.ParseQuote(ev.TDQuote)
		if err != nil || !bytes.Equal(ev.HCLReport[0x20+0x210:0x20+0x240], q.Body.MRTD[:]) {
			t.Fatalf("verified TD quote's MRTD is not the TDREPORT's: %v", err)
		}
	})
}
