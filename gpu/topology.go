package gpu

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// PPCIe (protected PCIe) topology of an HGX H100 system.
const (
	PPCIeGPUs     = 8
	PPCIeSwitches = 4
)

// FEATURE_FLAG values (opaque version 1 and later).
const (
	FeatureFlagSPT   = 0 // single-GPU passthrough
	FeatureFlagMPT   = 1 // multi-GPU passthrough
	FeatureFlagPPCIe = 2 // protected PCIe
)

// CheckPPCIeTopology checks that verified GPUs and switches form one
// protected-PCIe system (spec/gpu.md §1e), binding every PDI to the
// attested BROM certificate serials:
//
//   - every GPU reports PROTECTED_PCIE_STATUS enabled (switch reports carry none)
//     and, when it reports a FEATURE_FLAG, PPCIe mode; a report of opaque data
//     version 1 or later must carry the flag (version 0 reports have none);
//   - a switch's DEVICE_PDI equals the low 8 bytes of its BROM serial;
//   - every GPU lists exactly the 4 switches' PDIs (byte-reversed) and all
//     GPUs agree;
//   - every switch lists exactly the 8 GPUs' BROM PDIs and all switches agree.
//
// Any violation is ErrPolicy (ErrConfig for wrong device counts given).
func CheckPPCIeTopology(gpus, switches []*DeviceClaims) error {
	if len(gpus) != PPCIeGPUs || len(switches) != PPCIeSwitches {
		return verify.Errorf(verify.ErrPolicy, "PPCIe topology: expected %d GPUs and %d switches, got %d and %d", PPCIeGPUs, PPCIeSwitches, len(gpus), len(switches))
	}
	gpuPDIs := make(map[[8]byte]int)
	for i, g := range gpus {
		if g.Arch.IsSwitch() {
			return verify.Errorf(verify.ErrConfig, "PPCIe topology: GPU %d is a switch", i)
		}
		if g.Decoded.ProtectedPCIeStatus != StatusEnabled {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: GPU %d PROTECTED_PCIE_STATUS expected 0xaa, got 0x%02x", i, g.Decoded.ProtectedPCIeStatus)
		}
		if g.Decoded.FeatureFlag < 0 && g.Decoded.OpaqueVersion >= 1 {
			// the field belongs to these reports: its absence hides the mode
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: GPU %d FEATURE_FLAG expected %d (PPCIe), absent from opaque data version %d", i, FeatureFlagPPCIe, g.Decoded.OpaqueVersion)
		}
		if f := g.Decoded.FeatureFlag; f >= 0 && f != FeatureFlagPPCIe {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: GPU %d FEATURE_FLAG expected %d (PPCIe), got %d", i, FeatureFlagPPCIe, f)
		}
		pdi, err := broMPDI(g.Chain)
		if err != nil {
			return err
		}
		if _, dup := gpuPDIs[pdi]; dup {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: GPU %d has the same BROM PDI %x as another GPU", i, pdi)
		}
		gpuPDIs[pdi] = i
	}
	switchPDIs := make(map[[8]byte]int)
	for i, s := range switches {
		if !s.Arch.IsSwitch() {
			return verify.Errorf(verify.ErrConfig, "PPCIe topology: switch %d is a GPU", i)
		}
		pdi, err := broMPDI(s.Chain)
		if err != nil {
			return err
		}
		if string(s.Decoded.DevicePDI) != string(pdi[:]) {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: switch %d DEVICE_PDI expected %x (BROM serial), got %x", i, pdi, s.Decoded.DevicePDI)
		}
		if _, dup := switchPDIs[pdi]; dup {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: switch %d has the same PDI %x as another switch", i, pdi)
		}
		switchPDIs[pdi] = i
	}
	want := setString(slices.Collect(maps.Keys(switchPDIs)))
	for i, g := range gpus {
		got := make(map[[8]byte]bool)
		for _, p := range g.Decoded.SwitchPDIs {
			got[reverse8(p)] = true
		}
		if s := setString(slices.Collect(maps.Keys(got))); s != want {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: GPU %d switch PDIs expected {%s}, got {%s}", i, want, s)
		}
	}
	wantGPUs := setString(slices.Collect(maps.Keys(gpuPDIs)))
	for i, s := range switches {
		got := make(map[[8]byte]bool)
		for _, p := range s.Decoded.SwitchGPUPDIs {
			got[p] = true
		}
		if g := setString(slices.Collect(maps.Keys(got))); g != wantGPUs {
			return verify.Errorf(verify.ErrPolicy, "PPCIe topology: switch %d GPU PDIs expected {%s}, got {%s}", i, wantGPUs, g)
		}
	}
	return nil
}

func reverse8(p [8]byte) [8]byte {
	for i, j := 0, 7; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func setString(ps [][8]byte) string {
	s := make([]string, 0, len(ps))
	for _, p := range ps {
		s = append(s, hex.EncodeToString(p[:]))
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// VerifyPPCIe verifies the GPU evidence with gpus (a FormatGPU verifier) and
// the switch evidence with switches (a FormatNVSwitch verifier), all against
// exp, then checks that together they form one protected-PCIe system
// (CheckPPCIeTopology). On any failure both claims are nil.
func VerifyPPCIe(ctx context.Context, gpus, switches *Verifier, gpuEvidence, switchEvidence []byte, exp verify.Expectations) (*Claims, *Claims, error) {
	if gpus == nil || switches == nil || gpus.Format() != verify.FormatGPU || switches.Format() != verify.FormatNVSwitch {
		return nil, nil, verify.Errorf(verify.ErrConfig, "VerifyPPCIe: expected a %s and a %s verifier", verify.FormatGPU, verify.FormatNVSwitch)
	}
	g, err := gpus.VerifyDevices(ctx, gpuEvidence, exp)
	if err != nil {
		return nil, nil, fmt.Errorf("PPCIe GPUs: %w", err)
	}
	s, err := switches.VerifyDevices(ctx, switchEvidence, exp)
	if err != nil {
		return nil, nil, fmt.Errorf("PPCIe switches: %w", err)
	}
	if err := CheckPPCIeTopology(g.Devices, s.Devices); err != nil {
		return nil, nil, err
	}
	return g, s, nil
}
