package gpu

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Opaque data field types (NVIDIA OPAQUE_FIELD_ID_*). Types 22–27 mean
// different things in GPU and switch reports.
const (
	OpaqueCertIssuerName     = 1
	OpaqueCertAuthorityKeyID = 2
	OpaqueDriverVersion      = 3
	OpaqueGPUInfo            = 4
	OpaqueSKU                = 5
	OpaqueVBIOSVersion       = 6
	OpaqueManufacturerID     = 7
	OpaqueTamperDetection    = 8
	OpaqueSMC                = 9
	OpaqueVPR                = 10
	OpaqueNVDEC0Status       = 11
	OpaqueMSRSCount          = 12
	OpaqueCPRInfo            = 13
	OpaqueBoardID            = 14
	OpaqueChipSKU            = 15
	OpaqueChipSKUMod         = 16
	OpaqueProject            = 17
	OpaqueProjectSKU         = 18
	OpaqueProjectSKUMod      = 19
	OpaqueFWID               = 20
	OpaqueProtectedPCIe      = 21
	OpaqueSwitchPDI          = 22 // GPU: PDIs of the connected switches; switch: its own PDI
	OpaqueFloorsweptPorts    = 23
	OpaquePositionID         = 24
	OpaqueLockSwitchStatus   = 25
	OpaqueSwitchGPUPDIs      = 26 // switch only
	OpaqueSwitchPorts        = 27 // switch only
	OpaqueGPULinkConn        = 32
	OpaqueSysEnableStatus    = 33
	OpaqueDataVersion        = 34
	OpaqueChipInfo           = 35
	OpaqueFeatureFlag        = 36
	OpaqueFSPUcodeSVN        = 37
	OpaqueNVLEStatus         = 38
)

// NVDEC0 and protected-PCIe status bytes.
const (
	StatusEnabled  = 0xAA
	StatusDisabled = 0x55
)

// OpaqueFormat tells the two opaque-data encodings apart.
type OpaqueFormat int

const (
	// OpaqueLegacy is the TLV sequence [type u16][length u16][value].
	OpaqueLegacy OpaqueFormat = iota
	// OpaqueVersioned is the "NVDAOD" header followed by
	// [type u16][value type u16][length u16][value].
	OpaqueVersioned
)

// String names the format.
func (f OpaqueFormat) String() string {
	if f == OpaqueVersioned {
		return "NVDAOD"
	}
	return "legacy"
}

var opaqueMagic = []byte("NVDAOD")

const (
	opaqueHeaderSize   = 12
	maxOpaqueMajor     = 2
	maxOpaqueFields    = 256
	opaqueLegacyHeader = 4
	opaqueNewHeader    = 6
)

// OpaqueField is one opaque-data entry, kept raw. Unknown types are retained.
type OpaqueField struct {
	Type      uint16
	ValueType uint16 // versioned format only; 0 in the legacy format
	Value     []byte
}

// OpaqueData is the decoded opaque-data area of a MEASUREMENTS response.
type OpaqueData struct {
	Format                    OpaqueFormat
	Profile                   uint16 // versioned format: always 0
	Major, Minor, Patch       byte   // versioned format header version
	Fields                    []OpaqueField
	byType                    map[uint16]int
	ignoredLegacyVersionField bool
}

// ParseOpaqueData parses the opaque area in either format. Duplicate types
// (known or not: no last-wins), truncated entries and bytes that do not fill
// the area exactly are ErrMalformed. Unknown types are kept and reported,
// not refused, against the bad-input catalogue's wish (GPU-19): NVIDIA adds
// opaque types with new drivers, GEN-07 asks that fields newer than the
// parser be parsed and reported where the format allows them, and no claim
// or check reads an unknown type, so it cannot change a verdict. The
// catalogue's concern, a parser that crashes on them (nvtrust's KeyError),
// does not arise.
func ParseOpaqueData(b []byte) (*OpaqueData, error) {
	o := &OpaqueData{byType: make(map[uint16]int)}
	hdr := opaqueLegacyHeader
	if bytes.HasPrefix(b, opaqueMagic) {
		if len(b) < opaqueHeaderSize {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque data: NVDAOD header needs %d bytes, got %d", opaqueHeaderSize, len(b))
		}
		o.Format = OpaqueVersioned
		o.Profile = binary.LittleEndian.Uint16(b[6:])
		o.Major, o.Minor, o.Patch = b[8], b[9], b[10]
		if o.Profile != 0 {
			return nil, verify.Errorf(verify.ErrUnsupported, "opaque data profile: expected 0, got %d", o.Profile)
		}
		if o.Major > maxOpaqueMajor {
			return nil, verify.Errorf(verify.ErrUnsupported, "opaque data version: expected major ≤ %d, got %d.%d.%d", maxOpaqueMajor, o.Major, o.Minor, o.Patch)
		}
		b = b[opaqueHeaderSize:]
		hdr = opaqueNewHeader
	}
	for off := 0; off < len(b); {
		if len(b)-off < hdr {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque data: %d bytes left at offset %d, need a %d-byte entry header", len(b)-off, off, hdr)
		}
		if len(o.Fields) >= maxOpaqueFields {
			return nil, verify.Errorf(verify.ErrLimit, "opaque data: more than %d entries", maxOpaqueFields)
		}
		f := OpaqueField{Type: binary.LittleEndian.Uint16(b[off:])}
		var n int
		if o.Format == OpaqueVersioned {
			f.ValueType = binary.LittleEndian.Uint16(b[off+2:])
			n = int(binary.LittleEndian.Uint16(b[off+4:]))
		} else {
			n = int(binary.LittleEndian.Uint16(b[off+2:]))
		}
		off += hdr
		if n > len(b)-off {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque data type %d: length %d, only %d bytes left", f.Type, n, len(b)-off)
		}
		f.Value = b[off : off+n : off+n]
		off += n
		if o.Format == OpaqueVersioned && f.Type == OpaqueDataVersion {
			// The header carries the version; a legacy version entry is ignored.
			o.ignoredLegacyVersionField = true
			continue
		}
		if _, dup := o.byType[f.Type]; dup {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque data: duplicate entry of type %d (%s)", f.Type, OpaqueTypeName(f.Type, false))
		}
		o.byType[f.Type] = len(o.Fields)
		o.Fields = append(o.Fields, f)
	}
	return o, nil
}

// Get returns the value of the entry of type t.
func (o *OpaqueData) Get(t uint16) ([]byte, bool) {
	i, ok := o.byType[t]
	if !ok {
		return nil, false
	}
	return o.Fields[i].Value, true
}

// Version is the opaque-data version: the NVDAOD header major, or the
// legacy OPAQUE_DATA_VERSION entry (0 when absent).
func (o *OpaqueData) Version() int {
	if o.Format == OpaqueVersioned {
		return int(o.Major)
	}
	if v, ok := o.Get(OpaqueDataVersion); ok && len(v) >= 2 {
		return int(binary.LittleEndian.Uint16(v))
	}
	return 0
}

var opaqueNames = map[uint16]string{
	1: "CERT_ISSUER_NAME", 2: "CERT_AUTHORITY_KEY_IDENTIFIER", 3: "DRIVER_VERSION", 4: "GPU_INFO",
	5: "SKU", 6: "VBIOS_VERSION", 7: "MANUFACTURER_ID", 8: "TAMPER_DETECTION", 9: "SMC", 10: "VPR",
	11: "NVDEC0_STATUS", 12: "MSRSCNT", 13: "CPRINFO", 14: "BOARD_ID", 15: "CHIP_SKU", 16: "CHIP_SKU_MOD",
	17: "PROJECT", 18: "PROJECT_SKU", 19: "PROJECT_SKU_MOD", 20: "FWID", 21: "PROTECTED_PCIE_STATUS",
	22: "SWITCH_PDI", 23: "FLOORSWEPT_PORTS", 24: "POSITION_ID", 25: "LOCK_SWITCH_STATUS",
	26: "SWITCH_GPU_PDIS", 27: "SWITCH_PORTS", 32: "GPU_LINK_CONN", 33: "SYS_ENABLE_STATUS",
	34: "OPAQUE_DATA_VERSION", 35: "CHIP_INFO", 36: "FEATURE_FLAG", 37: "FSP_UCODE_SVN", 38: "NVLE_STATUS",
	255: "INVALID",
}

// OpaqueTypeName returns NVIDIA's name for an opaque type (without the
// OPAQUE_FIELD_ID_ prefix), or "UNKNOWN_<n>".
func OpaqueTypeName(t uint16, isSwitch bool) string {
	if isSwitch {
		switch t {
		case OpaqueSwitchPDI:
			return "DEVICE_PDI"
		case OpaqueFloorsweptPorts:
			return "DISABLED_PORTS"
		case OpaquePositionID:
			return "SWITCH_POSITION_ID"
		}
	}
	if n, ok := opaqueNames[t]; ok {
		return n
	}
	return fmt.Sprintf("UNKNOWN_%d", t)
}

// cString returns the text up to the first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// FormatVBIOSVersion renders a VBIOS version entry: the 8-byte binary GPU
// form as %02X.%02X.%02X.%02X.%02X of bytes 3,2,1,0,4, or the ASCII switch
// form with its NULs removed.
func FormatVBIOSVersion(v []byte) string {
	if len(v) == 8 && !isPrintable(v[:4]) {
		return fmt.Sprintf("%02X.%02X.%02X.%02X.%02X", v[3], v[2], v[1], v[0], v[4])
	}
	return strings.ToUpper(cString(v))
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// Decoded is the typed view of the opaque fields a verifier and a policy use.
type Decoded struct {
	DriverVersion       string   // GPU only
	VBIOSVersion        string   // upper-case dotted, e.g. 96.00.9F.00.01
	Project             string   //
	ProjectSKU          string   //
	ProjectSKUMod       string   // hex
	ChipSKU             string   //
	ChipSKUMod          string   //
	ChipInfo            string   // opaque version ≥ 1, e.g. GB100
	BoardID             string   // hex
	GPUInfo             string   // hex
	CPRInfo             string   // hex
	NVDEC0Status        byte     // 0xAA enabled, 0x55 disabled, 0 absent
	ProtectedPCIeStatus byte     // 0xAA enabled, 0x55 disabled, 0 absent
	FWID                []byte   // nil when absent
	MSRSCount           []uint32 // per measurement slot
	FeatureFlag         int      // -1 absent; 0 SPT, 1 MPT, 2 PPCIe
	OpaqueVersion       int
	SwitchPDIs          [][8]byte // GPU: non-zero NVLink peer PDIs as reported (little-endian)
	DevicePDI           []byte    // switch: own PDI
	SwitchGPUPDIs       [][8]byte // switch: the GPU PDIs it connects
	SwitchPorts         []byte    // switch: the port map after the GPU PDIs in SWITCH_GPU_PDIS
	FSPUcodeSVN         int       // -1 absent
}

// Decode extracts the typed fields; isSwitch selects the switch meaning of
// types 22–27. Values of the wrong size are ErrMalformed.
func (o *OpaqueData) Decode(isSwitch bool) (*Decoded, error) {
	d := &Decoded{FeatureFlag: -1, FSPUcodeSVN: -1, OpaqueVersion: o.Version()}
	str := func(t uint16) string { v, _ := o.Get(t); return cString(v) }
	hx := func(t uint16) string { v, _ := o.Get(t); return hex.EncodeToString(v) }
	d.DriverVersion = str(OpaqueDriverVersion)
	if v, ok := o.Get(OpaqueVBIOSVersion); ok {
		d.VBIOSVersion = FormatVBIOSVersion(v)
	}
	d.Project, d.ProjectSKU = str(OpaqueProject), str(OpaqueProjectSKU)
	d.ChipSKU, d.ChipSKUMod = str(OpaqueChipSKU), str(OpaqueChipSKUMod)
	d.ChipInfo = str(OpaqueChipInfo)
	d.ProjectSKUMod, d.BoardID, d.GPUInfo, d.CPRInfo = hx(OpaqueProjectSKUMod), hx(OpaqueBoardID), hx(OpaqueGPUInfo), hx(OpaqueCPRInfo)
	oneByte := func(t uint16) (byte, error) {
		v, ok := o.Get(t)
		if !ok {
			return 0, nil
		}
		if len(v) != 1 {
			return 0, verify.Errorf(verify.ErrMalformed, "opaque %s: expected 1 byte, got %d", OpaqueTypeName(t, isSwitch), len(v))
		}
		if v[0] != StatusEnabled && v[0] != StatusDisabled {
			return 0, verify.Errorf(verify.ErrMalformed, "opaque %s: expected 0xaa or 0x55, got 0x%02x", OpaqueTypeName(t, isSwitch), v[0])
		}
		return v[0], nil
	}
	var err error
	if d.NVDEC0Status, err = oneByte(OpaqueNVDEC0Status); err != nil {
		return nil, err
	}
	if d.ProtectedPCIeStatus, err = oneByte(OpaqueProtectedPCIe); err != nil {
		return nil, err
	}
	if v, ok := o.Get(OpaqueFWID); ok {
		if len(v) != 48 {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque FWID: expected 48 bytes, got %d", len(v))
		}
		d.FWID = v
	}
	if v, ok := o.Get(OpaqueMSRSCount); ok {
		if len(v)%4 != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque MSRSCNT: length %d is not a multiple of 4", len(v))
		}
		d.MSRSCount = make([]uint32, len(v)/4)
		for i := range d.MSRSCount {
			d.MSRSCount[i] = binary.LittleEndian.Uint32(v[4*i:])
		}
	}
	if v, ok := o.Get(OpaqueFeatureFlag); ok {
		if len(v) != 2 {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque FEATURE_FLAG: expected 2 bytes, got %d", len(v))
		}
		d.FeatureFlag = int(binary.LittleEndian.Uint16(v))
	}
	if v, ok := o.Get(OpaqueFSPUcodeSVN); ok {
		if len(v) == 0 || len(v) > 4 {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque FSP_UCODE_SVN: expected 1–4 bytes, got %d", len(v))
		}
		var n int
		for i := len(v) - 1; i >= 0; i-- {
			n = n<<8 | int(v[i])
		}
		d.FSPUcodeSVN = n
	}
	pdis := func(v []byte, name string) ([][8]byte, error) {
		if len(v)%8 != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "opaque %s: length %d is not a multiple of 8", name, len(v))
		}
		var out [][8]byte
		for i := 0; i+8 <= len(v); i += 8 {
			var p [8]byte
			copy(p[:], v[i:])
			if p != ([8]byte{}) {
				out = append(out, p)
			}
		}
		return out, nil
	}
	if isSwitch {
		if v, ok := o.Get(OpaqueSwitchPDI); ok {
			if len(v) != 8 {
				return nil, verify.Errorf(verify.ErrMalformed, "opaque DEVICE_PDI: expected 8 bytes, got %d", len(v))
			}
			d.DevicePDI = v
		}
		if v, ok := o.Get(OpaqueSwitchGPUPDIs); ok {
			if len(v) < 64 {
				return nil, verify.Errorf(verify.ErrMalformed, "opaque SWITCH_GPU_PDIS: expected at least 64 bytes, got %d", len(v))
			}
			if d.SwitchGPUPDIs, err = pdis(v[:64], "SWITCH_GPU_PDIS"); err != nil {
				return nil, err
			}
			d.SwitchPorts = v[64:]
		}
	} else if v, ok := o.Get(OpaqueSwitchPDI); ok {
		if d.SwitchPDIs, err = pdis(v, "SWITCH_PDI"); err != nil {
			return nil, err
		}
	}
	return d, nil
}
