package gpu

import (
	"errors"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// The versioned (NVDAOD) opaque data of a real H100 transcript with driver
// 620.12 (hand transcription, see testdata/gpu/README.md).
func TestNVDAODTranscript(t *testing.T) {
	o, err := ParseOpaqueData(readHex(t, "nvdaod", "sample_nvdaod_transcript.opaque_only.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Format != OpaqueVersioned || o.Major != 2 || o.Version() != 2 || o.Profile != 0 {
		t.Fatalf("header: %v %d.%d.%d profile %d", o.Format, o.Major, o.Minor, o.Patch, o.Profile)
	}
	d, err := o.Decode(false)
	if err != nil {
		t.Fatal(err)
	}
	if d.DriverVersion != "620.12" || d.Project != "G520" || d.ProjectSKU != "0201" || d.ChipSKU != "884" ||
		d.NVDEC0Status != StatusEnabled || len(d.FWID) != 48 || len(d.MSRSCount) != 64 || d.FSPUcodeSVN < 0 {
		t.Fatalf("decoded: %+v", d)
	}
	if d.VBIOSVersion != "96.00.D9.00.0F" {
		t.Fatalf("VBIOS %s", d.VBIOSVersion)
	}
	svn := o.Fields[o.byType[OpaqueFSPUcodeSVN]]
	if svn.ValueType != 0x87 {
		t.Fatalf("FSP_UCODE_SVN value type %#x", svn.ValueType)
	}
}

func TestOpaqueHeaderChecks(t *testing.T) {
	for name, c := range map[string]struct {
		b    []byte
		kind error
	}{
		"short header":  {[]byte("NVDAOD\x00\x00\x01"), verify.ErrMalformed},
		"profile 1":     {[]byte("NVDAOD\x01\x00\x01\x00\x00\x00"), verify.ErrUnsupported},
		"major 3":       {[]byte("NVDAOD\x00\x00\x03\x00\x00\x00"), verify.ErrUnsupported},
		"legacy short":  {[]byte{3, 0, 5}, verify.ErrMalformed},
		"legacy past":   {[]byte{3, 0, 5, 0, 'a'}, verify.ErrMalformed},
		"versioned dup": {[]byte("NVDAOD\x00\x00\x01\x00\x00\x00\x03\x00\x86\x00\x01\x00a\x03\x00\x86\x00\x01\x00b"), verify.ErrMalformed},
	} {
		if _, err := ParseOpaqueData(c.b); !errors.Is(err, c.kind) {
			t.Errorf("%s: expected %v, got %v", name, c.kind, err)
		}
	}
	// A legacy version entry inside the versioned format is ignored.
	o, err := ParseOpaqueData([]byte("NVDAOD\x00\x00\x01\x00\x00\x00\x22\x00\x82\x00\x02\x00\x05\x00"))
	if err != nil || o.Version() != 1 || len(o.Fields) != 0 {
		t.Fatalf("stray version entry: %v %+v", err, o)
	}
	// Bad status bytes and sizes are refused when decoding.
	for _, b := range [][]byte{{11, 0, 1, 0, 0x12}, {20, 0, 2, 0, 1, 2}, {36, 0, 1, 0, 1}, {12, 0, 3, 0, 1, 2, 3}} {
		o, err := ParseOpaqueData(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Decode(false); !errors.Is(err, verify.ErrMalformed) {
			t.Errorf("%x: expected ErrMalformed, got %v", b, err)
		}
	}
}

func TestFormatVBIOSVersion(t *testing.T) {
	if got := FormatVBIOSVersion([]byte{0x00, 0x9f, 0x00, 0x96, 0x01, 0, 0, 0}); got != "96.00.9F.00.01" {
		t.Fatal(got)
	}
	if got := FormatVBIOSVersion([]byte("96.10.55.00.01\x00")); got != "96.10.55.00.01" {
		t.Fatal(got)
	}
}
