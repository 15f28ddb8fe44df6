package gpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/trustfactory/attest/verify"
)

func TestSplitJSONArray(t *testing.T) {
	for in, want := range map[string][]string{
		`[]`:                           nil,
		` [ 1 ] `:                      {`1`},
		"[1,\t\"a\" ,\n{\"b\":[2,3]}]": {`1`, `"a"`, `{"b":[2,3]}`},
		`["\"]", "\\", "\\\"]"]`:       {`"\"]"`, `"\\"`, `"\\\"]"`},
		`[{"a":"}"},[{}]]`:             {`{"a":"}"}`, `[{}]`},
	} {
		got, err := splitJSONArray([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if strings.Join(gs, "|") != strings.Join(want, "|") || len(gs) != len(want) {
			t.Fatalf("%s: got %q, want %q", in, gs, want)
		}
	}
	for in, kind := range map[string]error{
		``:                                    verify.ErrMalformed,
		`{}`:                                  verify.ErrMalformed,
		`[1,]`:                                verify.ErrMalformed,
		`[,1]`:                                verify.ErrMalformed,
		`[1,,2]`:                              verify.ErrMalformed,
		`[1] x`:                               verify.ErrMalformed,
		`[1]]`:                                verify.ErrMalformed,
		`[{]}`:                                verify.ErrMalformed,
		`[[}]`:                                verify.ErrMalformed,
		`[}`:                                  verify.ErrMalformed,
		`["abc]`:                              verify.ErrMalformed,
		`["abc\"]`:                            verify.ErrMalformed,
		`[1`:                                  verify.ErrMalformed,
		"\ufeff[1]":                           verify.ErrMalformed,
		strings.Repeat("[", 40):               verify.ErrMalformed,
		"[" + strings.Repeat("1,", 17) + "1]": verify.ErrLimit,
	} {
		if _, err := splitJSONArray([]byte(in)); !errors.Is(err, kind) {
			t.Fatalf("%q: expected %v, got %v", in, kind, err)
		}
	}
}

// The device cap holds at its edge for Split as for ParseEvidence.
func TestSplitDeviceCap(t *testing.T) {
	dev := `{"arch":"HOPPER","evidence":"AA==","certificate":"QQ=="}`
	list := func(n int) []byte { return []byte("[" + strings.Repeat(dev+",", n-1) + dev + "]") }
	if parts, err := splitEvidence(list(maxDevices)); err != nil || len(parts) != maxDevices {
		t.Fatalf("%d devices: %d parts, %v", maxDevices, len(parts), err)
	}
	for _, in := range [][]byte{list(maxDevices + 1), list(maxDevices + 2)} {
		if _, err := splitEvidence(in); !errors.Is(err, verify.ErrLimit) {
			t.Fatalf("split: expected %v, got %v", verify.ErrLimit, err)
		}
		if _, err := ParseEvidence(in); !errors.Is(err, verify.ErrLimit) {
			t.Fatalf("parse: expected %v, got %v", verify.ErrLimit, err)
		}
	}
}

// Split reads a list exactly as ParseEvidence does: a Trustee wrapper with a
// repeated or case-variant key, or deep nesting in an ignored field, gives
// the same answer split or whole.
func TestSplitAgreesWithParse(t *testing.T) {
	dev := `{"arch":"HOPPER","evidence":"AA==","certificate":"QQ=="}`
	for _, in := range []string{
		`{"device_evidence_list":5,"device_evidence_list":[` + dev + `,` + dev + `]}`,
		`{"device_evidence_list":[{"nonce":"ab"},{}],"device_evidence_list":[` + dev + `,` + dev + `]}`,
		`{"DEVICE_EVIDENCE_LIST":[` + dev + `,` + dev + `]}`,
		`{"device_evidence_list":[` + dev + `,` + dev + `]}`,
		`[` + dev[:len(dev)-1] + `,"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `},` + dev + `]`,
	} {
		devs, perr := ParseEvidence([]byte(in))
		parts, serr := splitEvidence([]byte(in))
		checkSplitAgrees(t, devs, perr, parts, serr)
		if (perr == nil) != (serr == nil) {
			t.Fatalf("%s: parse %v, split %v", in, perr, serr)
		}
	}
}

// Plain device objects are their own parts, slices of the input that cannot
// grow into it; an element outside the plain subset is copied into an array
// of one; both parse as the whole does.
func TestSplitParts(t *testing.T) {
	dev := `{"arch":"HOPPER","evidence":"AA==","certificate":"QQ=="}`
	esc := `{"arch":"HOPPER","evidence":"AA\u003d\u003d","certificate":"QQ=="}`
	in := []byte(`[` + dev + `, ` + esc + `]`)
	parts, err := splitEvidence(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || string(parts[0]) != dev || string(parts[1]) != `[`+esc+`]` {
		t.Fatalf("parts %q", parts)
	}
	if &parts[0][0] != &in[1] || cap(parts[0]) != len(dev) {
		t.Error("plain part is not a capped slice of the input")
	}
	devs, perr := ParseEvidence(in)
	checkSplitAgrees(t, devs, perr, parts, err)
	// A lone device object parses; an object with other keys is not one.
	if d, err := ParseEvidence([]byte(dev)); err != nil || len(d) != 1 || d[0].Arch != ArchHopper {
		t.Errorf("lone device object: %v %+v", err, d)
	}
	if !DetectEncoding([]byte(dev)) {
		t.Error("lone device object not detected")
	}
	if _, err := ParseEvidence([]byte(`{"arch":"HOPPER","evidence":"AA==","certificate":"QQ==","device_evidence_list":[]}`)); !errors.Is(err, verify.ErrMalformed) {
		t.Errorf("device keys beside device_evidence_list: %v", err)
	}
	// Without its evidence an object is no lone device: {} is no device at
	// all, as before, and such an element is copied, not left bare.
	for _, in := range []string{`{}`, `{"uuid":"x"}`} {
		if _, err := ParseEvidence([]byte(in)); !errors.Is(err, verify.ErrMalformed) {
			t.Errorf("%s: %v", in, err)
		}
		if DetectEncoding([]byte(in)) {
			t.Errorf("%s detected", in)
		}
	}
	parts, err = splitEvidence([]byte(`[` + dev + `,{"uuid":"x"}]`))
	if err != nil || len(parts) != 2 || string(parts[1]) != `[{"uuid":"x"}]` {
		t.Errorf("element without evidence: %q %v", parts, err)
	}
}

func TestPlainASCII(t *testing.T) {
	naive := func(s []byte) bool {
		for _, c := range s {
			if c < 0x20 || c >= 0x80 {
				return false
			}
		}
		return true
	}
	base := []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/=")
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range []byte{0x00, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xff, '"', '\\'} {
				s := append([]byte(nil), base[:n]...)
				s[pos] = c
				if got, want := plainASCII(s), naive(s); got != want {
					t.Fatalf("%q: got %v, want %v", s, got, want)
				}
			}
		}
	}
}

// Measurement finds a block by index whatever the order of the blocks.
func TestResponseMeasurement(t *testing.T) {
	r := &Response{Blocks: []MeasurementBlock{{Index: 2, Value: []byte{2}}, {Index: 1, Value: []byte{1}}, {Index: 3, Value: []byte{3}}}}
	for idx := 1; idx <= 3; idx++ {
		if v, ok := r.Measurement(idx); !ok || len(v) != 1 || int(v[0]) != idx {
			t.Errorf("index %d: %v %v", idx, v, ok)
		}
	}
	for _, idx := range []int{0, 4, -1} {
		if _, ok := r.Measurement(idx); ok {
			t.Errorf("index %d found", idx)
		}
	}
}

// checkDevices fails closed on device claims without an identity (only Verify
// fills it in): they cannot be told apart, so they cannot be counted.
func TestCheckDevicesNeedsIdentity(t *testing.T) {
	err := checkDevices([]*DeviceClaims{{UEID: "1", Decoded: &Decoded{}}})
	if !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("device without identity: %v", err)
	}
}
