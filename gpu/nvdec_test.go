package gpu_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// staticRIMs serves fixed manifests by ID, as a RIMProvider that verified them.
type staticRIMs map[string]*rim.Manifest

func (s staticRIMs) RIM(_ context.Context, id, _ string, _ time.Time) (*rim.Manifest, error) {
	if m, ok := s[id]; ok {
		return m, nil
	}
	return nil, verify.Errorf(verify.ErrCollateral, "no RIM %s", id)
}

func golden(index int, v []byte) rim.Measurement {
	return rim.Measurement{Index: index, Name: fmt.Sprintf("Measurement_%d", index), Active: true, Size: len(v), Alternatives: [][]byte{v}}
}

// Spec §1c: RIM index 35 is skipped only when the signed report says NVDEC0
// is disabled (0x55). An absent NVDEC0_STATUS entry is not "disabled", and a
// present status byte of 0 is neither absent nor a known value.
func TestNVDEC0StatusAndIndex35(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	val := func(b byte) []byte { v := make([]byte, 48); v[0], v[47] = b, 0x5a; return v }
	blocks := map[int][]byte{1: val(1), 8: val(8), 36: val(36)}
	rims := staticRIMs{
		"NV_GPU_DRIVER_GH100_550.90.07": {ID: "NV_GPU_DRIVER_GH100_550.90.07", Version: "550.90.07", Kind: rim.KindDriver, Product: "GH100",
			Measurements: []rim.Measurement{golden(7, val(8)), golden(35, val(99))}},
		"NV_GPU_VBIOS_1010_0200_882_96009F0001": {ID: "NV_GPU_VBIOS_1010_0200_882_96009F0001", Version: "96.00.9F.00.01", Kind: rim.KindVBIOS, Product: "GH100",
			Measurements: []rim.Measurement{golden(0, val(1))}},
	}
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(p.Root()), gpu.WithoutRevocationUnsafe(), gpu.WithRIMs(rims))
	if err != nil {
		t.Fatal(err)
	}
	run := func(status []byte) (*gpu.Claims, error) {
		var ops []gpu.OpaqueField
		for _, f := range p.DefaultOpaque() {
			if f.Type != gpu.OpaqueNVDEC0Status {
				ops = append(ops, f)
			}
		}
		if status != nil {
			ops = append(ops, gpu.OpaqueField{Type: gpu.OpaqueNVDEC0Status, Value: status})
		}
		ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Measurements: blocks, Opaque: ops}), testNonce)
		return v.VerifyDevices(context.Background(), ev, exp())
	}
	// Disabled: index 35 is skipped and everything else matches.
	c, err := run([]byte{gpu.StatusDisabled})
	if err != nil {
		t.Fatalf("NVDEC0 disabled: %v", err)
	}
	if cmp := c.Devices[0].Comparison; len(cmp.Skipped) != 1 || cmp.Skipped[0] != 35 || len(cmp.Matched) != 2 {
		t.Fatalf("NVDEC0 disabled: matched %v skipped %v", cmp.Matched, cmp.Skipped)
	}
	if c.Map()["x-attest-opaque"].(map[string]any)["nvdec0_status"] != "disabled" {
		t.Fatal("nvdec0_status claim")
	}
	// Enabled or absent: index 35 is compared, and differs.
	for name, status := range map[string][]byte{"enabled": {gpu.StatusEnabled}, "absent": nil} {
		c, err := run(status)
		expectKind(t, claimsOrNil(c), err, verify.ErrPolicy)
		if !strings.Contains(err.Error(), "index 35") {
			t.Fatalf("%s: the mismatch must name index 35: %v", name, err)
		}
	}
	// A present status of 0 (or any other unknown byte) is malformed, not absent.
	for _, b := range []byte{0x00, 0x01, 0xff} {
		c, err := run([]byte{b})
		expectKind(t, claimsOrNil(c), err, verify.ErrMalformed)
	}
}

// On a measurement mismatch the error carries the comparison: every
// mismatching index with the expected alternatives and the report's value.
func TestMismatchDetailsInError(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	val := func(b byte) []byte { v := make([]byte, 48); v[0], v[47] = b, 0x5a; return v }
	blocks := map[int][]byte{1: val(1), 8: val(8)}
	rims := staticRIMs{
		"NV_GPU_DRIVER_GH100_550.90.07": {ID: "NV_GPU_DRIVER_GH100_550.90.07", Version: "550.90.07", Kind: rim.KindDriver, Product: "GH100",
			Measurements: []rim.Measurement{golden(7, val(77)), golden(40, val(40))}},
		"NV_GPU_VBIOS_1010_0200_882_96009F0001": {ID: "NV_GPU_VBIOS_1010_0200_882_96009F0001", Version: "96.00.9F.00.01", Kind: rim.KindVBIOS, Product: "GH100",
			Measurements: []rim.Measurement{golden(0, val(1))}},
	}
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(p.Root()), gpu.WithoutRevocationUnsafe(), gpu.WithRIMs(rims))
	if err != nil {
		t.Fatal(err)
	}
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Measurements: blocks, Blocks: 40}), testNonce)
	c, err := v.Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrPolicy)
	msg := err.Error()
	for _, want := range []string{"index 7", hex.EncodeToString(val(77)), hex.EncodeToString(val(8)), "index 40", hex.EncodeToString(val(40)), "no block 41"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %q: %s", want, msg)
		}
	}
}

func claimsOrNil(c *gpu.Claims) verify.Claims {
	if c == nil {
		return nil
	}
	return c
}
