package rim

import (
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Arch is the device architecture a RIM ID is formed for. The values are the
// architecture names NVIDIA's evidence JSON carries in its "arch" field.
type Arch string

// Architectures with RIMs.
const (
	ArchHopper    Arch = "HOPPER"    // H100, H200: driver RIM NV_GPU_DRIVER_GH100_<version>
	ArchBlackwell Arch = "BLACKWELL" // B200 class: driver RIM NV_GPU_CC_DRIVER_<chip>_<version>
	ArchLS10      Arch = "LS10"      // NVSwitch LS10 (HGX H100): switch BIOS RIM
)

// Kind says which firmware a RIM describes.
type Kind string

// Kinds of RIM.
const (
	KindDriver     Kind = "driver"
	KindVBIOS      Kind = "vbios"
	KindSwitchBIOS Kind = "switch-bios"
)

// ID prefixes as NVIDIA's RIM service names them.
const (
	prefixHopperDriver    = "NV_GPU_DRIVER_"
	prefixBlackwellDriver = "NV_GPU_CC_DRIVER_"
	prefixVBIOS           = "NV_GPU_VBIOS_"
	prefixSwitchBIOS      = "NV_SWITCH_BIOS_"

	hopperDriverChip     = "GH100"
	blackwellDefaultChip = "GB100" // used by NVIDIA when the report has no CHIP_INFO (opaque version 0)

	// LS10 switch BIOS RIMs use fixed project, project SKU and chip SKU
	// fields: the switch report carries none of them.
	ls10SwitchBIOSPrefix = prefixSwitchBIOS + "5612_0002_890_"

	maxIDLen = 128
)

// DriverID returns the ID of the driver RIM for a device of architecture
// arch running driverVersion (the DRIVER_VERSION field of the signed report,
// NUL padding removed), e.g. NV_GPU_DRIVER_GH100_550.90.07. For Blackwell it
// uses NVIDIA's fallback chip name GB100; use DriverIDForChip when the report
// carries CHIP_INFO.
func DriverID(arch Arch, driverVersion string) (string, error) {
	return DriverIDForChip(arch, "", driverVersion)
}

// DriverIDForChip is DriverID with the CHIP_INFO field of the signed report
// (opaque data version 1 and later). chipInfo is ignored for Hopper, whose
// driver RIMs are always named for GH100 (H200 included); for Blackwell an
// empty chipInfo means GB100.
func DriverIDForChip(arch Arch, chipInfo, driverVersion string) (string, error) {
	v, err := idField("driver version", driverVersion, true)
	if err != nil {
		return "", err
	}
	switch arch {
	case ArchHopper:
		return prefixHopperDriver + hopperDriverChip + "_" + v, nil
	case ArchBlackwell:
		chip := blackwellDefaultChip
		if strings.Trim(chipInfo, "\x00") != "" {
			if chip, err = idField("chip info", chipInfo, false); err != nil {
				return "", err
			}
			chip = strings.ToUpper(chip)
		}
		return prefixBlackwellDriver + chip + "_" + v, nil
	case "":
		return "", verify.Errorf(verify.ErrConfig, "rim: driver RIM ID: empty architecture")
	default:
		return "", verify.Errorf(verify.ErrUnsupported, "rim: driver RIM ID: architecture %q has no driver RIM", arch)
	}
}

// VBIOSID returns the ID of the VBIOS RIM of a GPU from the PROJECT,
// PROJECT_SKU and CHIP_SKU fields of its signed report and its VBIOS version
// as formatted from the report (e.g. "96.00.9F.00.01"):
// NV_GPU_VBIOS_1010_0200_882_96009F0001. NUL padding is removed and letters
// are upper-cased, as NVIDIA's service spells its IDs.
func VBIOSID(project, projectSKU, chipSKU, vbiosVersion string) (string, error) {
	p, err := idField("project", project, false)
	if err != nil {
		return "", err
	}
	ps, err := idField("project SKU", projectSKU, false)
	if err != nil {
		return "", err
	}
	cs, err := idField("chip SKU", chipSKU, false)
	if err != nil {
		return "", err
	}
	v, err := firmwareVersionForID("VBIOS version", vbiosVersion)
	if err != nil {
		return "", err
	}
	return prefixVBIOS + strings.ToUpper(p) + "_" + strings.ToUpper(ps) + "_" + strings.ToUpper(cs) + "_" + v, nil
}

// SwitchBIOSID returns the ID of the BIOS RIM of an NVSwitch of architecture
// arch running biosVersion (the VBIOS_VERSION field of the switch report,
// e.g. "96.10.55.00.01"): NV_SWITCH_BIOS_5612_0002_890_9610550001 for LS10.
func SwitchBIOSID(arch Arch, biosVersion string) (string, error) {
	v, err := firmwareVersionForID("switch BIOS version", biosVersion)
	if err != nil {
		return "", err
	}
	switch arch {
	case ArchLS10:
		return ls10SwitchBIOSPrefix + v, nil
	case "":
		return "", verify.Errorf(verify.ErrConfig, "rim: switch BIOS RIM ID: empty architecture")
	default:
		return "", verify.Errorf(verify.ErrUnsupported, "rim: switch BIOS RIM ID: architecture %q has no switch BIOS RIM", arch)
	}
}

// KindOfID returns the kind of RIM an ID names, from its prefix.
func KindOfID(id string) (Kind, error) {
	if err := CheckID(id); err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(id, prefixHopperDriver), strings.HasPrefix(id, prefixBlackwellDriver):
		return KindDriver, nil
	case strings.HasPrefix(id, prefixVBIOS):
		return KindVBIOS, nil
	case strings.HasPrefix(id, prefixSwitchBIOS):
		return KindSwitchBIOS, nil
	}
	return "", verify.Errorf(verify.ErrUnsupported, "rim: ID %q: unknown RIM kind", id)
}

// CheckID reports whether id is safe to use as a RIM ID: non-empty, at most
// 128 bytes of ASCII letters, digits, '_', '-' and '.', not starting with a
// dot. Sources call it before an ID reaches a URL path or a file name.
func CheckID(id string) error {
	if id == "" {
		return verify.Errorf(verify.ErrConfig, "rim: empty RIM ID")
	}
	if len(id) > maxIDLen {
		return verify.Errorf(verify.ErrLimit, "rim: RIM ID of %d bytes exceeds %d", len(id), maxIDLen)
	}
	if id[0] == '.' {
		return verify.Errorf(verify.ErrMalformed, "rim: RIM ID %q starts with a dot", id)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return verify.Errorf(verify.ErrMalformed, "rim: RIM ID %q: byte %#02x at %d is not allowed", id, id[i], i)
		}
	}
	return nil
}

func idChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// idField strips NUL padding and checks that s is a non-empty run of ID
// characters; dots are allowed only where dotted is true (versions).
func idField(name, s string, dotted bool) (string, error) {
	s = strings.TrimRight(s, "\x00")
	if s == "" {
		return "", verify.Errorf(verify.ErrConfig, "rim: RIM ID field %s is empty", name)
	}
	if len(s) > 64 {
		return "", verify.Errorf(verify.ErrLimit, "rim: RIM ID field %s of %d bytes exceeds 64", name, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || dotted && (c == '.' || c == '-')
		if !ok {
			return "", verify.Errorf(verify.ErrMalformed, "rim: RIM ID field %s %q: byte %#02x at %d is not allowed", name, s, c, i)
		}
	}
	if dotted && (s[0] == '.' || strings.Contains(s, "..")) {
		return "", verify.Errorf(verify.ErrMalformed, "rim: RIM ID field %s %q is not a version", name, s)
	}
	return s, nil
}

// firmwareVersionForID checks a VBIOS or switch BIOS version of the form
// "96.00.9F.00.01" (five dot-separated hex byte pairs) and returns it without
// dots, upper-cased: "96009F0001".
func firmwareVersionForID(name, v string) (string, error) {
	v = strings.TrimRight(v, "\x00")
	if !isFirmwareVersion(v) {
		return "", verify.Errorf(verify.ErrMalformed, "rim: %s %q is not five dot-separated hex byte pairs", name, v)
	}
	return strings.ToUpper(strings.ReplaceAll(v, ".", "")), nil
}

// isFirmwareVersion reports whether v has the form XX.XX.XX.XX.XX in hex.
func isFirmwareVersion(v string) bool {
	if len(v) != 14 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i%3 == 2 {
			if v[i] != '.' {
				return false
			}
			continue
		}
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
