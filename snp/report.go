package snp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/trustfactory/attest/verify"
)

// Layout of the SEV-SNP ATTESTATION_REPORT structure (SEV-SNP firmware ABI,
// table "ATTESTATION_REPORT Structure"). All integers are little-endian.
const (
	// ReportSize is the size of an attestation report in bytes.
	ReportSize = 0x4A0
	// SignedSize is the length of the prefix of the report the signature covers.
	SignedSize = 0x2A0

	offSignature  = 0x2A0
	sigComponent  = 72  // r and s are 72-byte little-endian fields
	sigSignificnt = 48  // of which only the low 48 bytes may be non-zero for P-384
	sigFieldSize  = 144 // r ‖ s; the remaining 368 bytes of the signature area are reserved

	// MinReportVersion and MaxReportVersion bound the report versions this package accepts.
	MinReportVersion = 2
	MaxReportVersion = 5

	// SigAlgoECDSAP384SHA384 is the only report signature algorithm defined by AMD.
	SigAlgoECDSAP384SHA384 = 1
)

// SigningKey says which endorsement key signed a report (SIGNER_INFO.SIGNING_KEY).
type SigningKey uint8

// Signing keys defined by the firmware ABI; values 2–6 are reserved.
const (
	SigningKeyVCEK SigningKey = 0
	SigningKeyVLEK SigningKey = 1
	SigningKeyNone SigningKey = 7
)

// String returns "VCEK", "VLEK", "none" or "reserved(n)".
func (k SigningKey) String() string {
	switch k {
	case SigningKeyVCEK:
		return "VCEK"
	case SigningKeyVLEK:
		return "VLEK"
	case SigningKeyNone:
		return "none"
	}
	return fmt.Sprintf("reserved(%d)", uint8(k))
}

// Guest policy bits (GUEST_POLICY, report offset 0x08).
const (
	PolicySMT              = 1 << 16
	PolicyReservedMustBe1  = 1 << 17
	PolicyMigrateMA        = 1 << 18
	PolicyDebug            = 1 << 19
	PolicySingleSocket     = 1 << 20
	PolicyCXLAllow         = 1 << 21
	PolicyMemAES256XTS     = 1 << 22
	PolicyRAPLDis          = 1 << 23
	PolicyCiphertextHiding = 1 << 24
	PolicyPageSwapDisable  = 1 << 25
	policyDefinedMask      = 1<<26 - 1
)

// Platform info bits (PLATFORM_INFO, report offset 0x40), as the SEV-SNP
// firmware ABI up to revision 1.58 defines them. A bit's meaning never
// changes between report versions; what changes is which bits the firmware
// of a report version can set (PlatformInfoDefined).
const (
	PlatformSMTEnabled              = 1 << 0 // SMT_EN: simultaneous multithreading is on
	PlatformTSMEEnabled             = 1 << 1 // TSME_EN: transparent SME encrypts all host memory
	PlatformECCEnabled              = 1 << 2 // ECC_EN: the platform uses ECC memory (ABI 1.55)
	PlatformRAPLDisabled            = 1 << 3 // RAPL_DIS: RAPL power reporting is disabled (ABI 1.55)
	PlatformCiphertextHidingEnabled = 1 << 4 // CIPHERTEXT_HIDING_EN: ciphertext hiding for DRAM (ABI 1.55)
	PlatformAliasCheckComplete      = 1 << 5 // ALIAS_CHECK_COMPLETE: memory alias (BadRAM) check done
	PlatformTIOEnabled              = 1 << 7 // TIO_EN: SEV-TIO is enabled (ABI 1.58)

	// Bits the firmware of each report version can set. Version 2 comes from
	// ABI ≤ 1.51 firmware (SMT_EN, TSME_EN); versions 3 and 4 from ABI 1.55
	// firmware, which added ECC_EN, RAPL_DIS, CIPHERTEXT_HIDING_EN and, from
	// Milan 1.55.22 / Genoa 1.55.38, ALIAS_CHECK_COMPLETE; version 5 from
	// ABI 1.58, which added TIO_EN. Bit 6 is reserved in ABI 1.58 although
	// current Turin firmware sets it; bits 8..63 are reserved in every
	// revision.
	platformDefinedV2 = PlatformSMTEnabled | PlatformTSMEEnabled
	platformDefinedV3 = platformDefinedV2 | PlatformECCEnabled | PlatformRAPLDisabled |
		PlatformCiphertextHidingEnabled | PlatformAliasCheckComplete
	platformDefinedV5 = platformDefinedV3 | PlatformTIOEnabled
)

// PlatformInfoDefined returns the PLATFORM_INFO bits the firmware ABI
// defines for a report of the given version; the others are reserved.
//
// Reserved PLATFORM_INFO bits are not must-be-zero: the ABI names new bits
// without a new report version (bit 6 on current Turin firmware is one), so
// ParseReport accepts any of them and Claims reports the reserved ones that
// are set as "platform_info_reserved", for a policy to judge (GEN-07). Only a
// bit defined for the report's version is decoded into a named claim.
func PlatformInfoDefined(version uint32) uint64 {
	switch {
	case version >= 5:
		return platformDefinedV5
	case version >= 3:
		return platformDefinedV3
	}
	return platformDefinedV2
}

// Report is a parsed attestation report. Parsing checks the structure only;
// nothing in a Report is trustworthy until Verifier.Verify has checked its
// signature, which is why claims are built only after that.
type Report struct {
	Version          uint32
	GuestSVN         uint32
	Policy           uint64
	FamilyID         [16]byte
	ImageID          [16]byte
	VMPL             uint32
	SignatureAlgo    uint32
	CurrentTCB       uint64
	PlatformInfo     uint64
	SignerInfo       uint32
	ReportData       [64]byte
	Measurement      [48]byte
	HostData         [32]byte
	IDKeyDigest      [48]byte
	AuthorKeyDigest  [48]byte
	ReportID         [32]byte
	ReportIDMA       [32]byte
	ReportedTCB      uint64
	CPUIDFamily      uint8 // v3+: combined family (base + extended)
	CPUIDModel       uint8 // v3+: combined model
	CPUIDStepping    uint8 // v3+
	ChipID           [64]byte
	CommittedTCB     uint64
	CurrentBuild     uint8
	CurrentMinor     uint8
	CurrentMajor     uint8
	CommittedBuild   uint8
	CommittedMinor   uint8
	CommittedMajor   uint8
	LaunchTCB        uint64
	LaunchMitVector  uint64 // v5+
	CurrentMitVector uint64 // v5+
	SignatureR       [72]byte
	SignatureS       [72]byte

	raw [ReportSize]byte
}

// Raw returns the exact 1184 bytes the report was parsed from.
func (r *Report) Raw() []byte { return r.raw[:] }

// Signed returns the part of the report the signature covers.
func (r *Report) Signed() []byte { return r.raw[:SignedSize] }

// SigningKey returns SIGNER_INFO.SIGNING_KEY.
func (r *Report) SigningKey() SigningKey { return SigningKey(r.SignerInfo >> 2 & 7) }

// AuthorKeyEnabled returns SIGNER_INFO.AUTHOR_KEY_EN.
func (r *Report) AuthorKeyEnabled() bool { return r.SignerInfo&1 != 0 }

// ChipIDMasked returns SIGNER_INFO.MASK_CHIP_KEY.
func (r *Report) ChipIDMasked() bool { return r.SignerInfo&2 != 0 }

// HasCPUID reports whether the report carries the CPUID family, model and
// stepping (version 3 and later, and not left zero by the firmware).
func (r *Report) HasCPUID() bool {
	return r.Version >= 3 && (r.CPUIDFamily|r.CPUIDModel|r.CPUIDStepping) != 0
}

// signature returns r and s as big integers.
func (r *Report) signature() (*big.Int, *big.Int) {
	return leInt(r.SignatureR[:sigSignificnt]), leInt(r.SignatureS[:sigSignificnt])
}

func leInt(le []byte) *big.Int {
	be := make([]byte, len(le))
	for i, b := range le {
		be[len(le)-1-i] = b
	}
	return new(big.Int).SetBytes(be)
}

// ParseReport parses exactly one 1184-byte attestation report and checks its
// structure: size, version 2–5, signature algorithm, signer info, guest
// policy bits, and every must-be-zero field (PLATFORM_INFO has none). It does not
// check the signature. Errors are verify.ErrMalformed.
func ParseReport(b []byte) (*Report, error) {
	if len(b) != ReportSize {
		return nil, verify.Errorf(verify.ErrMalformed, "report size: expected %d bytes, got %d", ReportSize, len(b))
	}
	r := &Report{}
	copy(r.raw[:], b)
	le := binary.LittleEndian
	r.Version = le.Uint32(b[0x00:])
	if r.Version < MinReportVersion || r.Version > MaxReportVersion {
		return nil, verify.Errorf(verify.ErrMalformed, "report version: expected %d..%d, got %d", MinReportVersion, MaxReportVersion, r.Version)
	}
	r.GuestSVN = le.Uint32(b[0x04:])
	r.Policy = le.Uint64(b[0x08:])
	copy(r.FamilyID[:], b[0x10:0x20])
	copy(r.ImageID[:], b[0x20:0x30])
	r.VMPL = le.Uint32(b[0x30:])
	r.SignatureAlgo = le.Uint32(b[0x34:])
	r.CurrentTCB = le.Uint64(b[0x38:])
	r.PlatformInfo = le.Uint64(b[0x40:])
	r.SignerInfo = le.Uint32(b[0x48:])
	copy(r.ReportData[:], b[0x50:0x90])
	copy(r.Measurement[:], b[0x90:0xC0])
	copy(r.HostData[:], b[0xC0:0xE0])
	copy(r.IDKeyDigest[:], b[0xE0:0x110])
	copy(r.AuthorKeyDigest[:], b[0x110:0x140])
	copy(r.ReportID[:], b[0x140:0x160])
	copy(r.ReportIDMA[:], b[0x160:0x180])
	r.ReportedTCB = le.Uint64(b[0x180:])
	copy(r.ChipID[:], b[0x1A0:0x1E0])
	r.CommittedTCB = le.Uint64(b[0x1E0:])
	r.CurrentBuild, r.CurrentMinor, r.CurrentMajor = b[0x1E8], b[0x1E9], b[0x1EA]
	r.CommittedBuild, r.CommittedMinor, r.CommittedMajor = b[0x1EC], b[0x1ED], b[0x1EE]
	r.LaunchTCB = le.Uint64(b[0x1F0:])
	copy(r.SignatureR[:], b[offSignature:offSignature+sigComponent])
	copy(r.SignatureS[:], b[offSignature+sigComponent:offSignature+sigFieldSize])

	if r.SignatureAlgo != SigAlgoECDSAP384SHA384 {
		return nil, verify.Errorf(verify.ErrMalformed, "signature_algo: expected %d (ECDSA P-384 SHA-384), got %d", SigAlgoECDSAP384SHA384, r.SignatureAlgo)
	}
	if r.SignerInfo>>5 != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "signer_info: reserved bits 5..31 must be zero, got %#x", r.SignerInfo)
	}
	switch k := r.SigningKey(); k {
	case SigningKeyVCEK, SigningKeyVLEK:
	case SigningKeyNone:
		return nil, verify.Errorf(verify.ErrSignature, "signer_info.signing_key: the report is unsigned (%s)", k)
	default:
		return nil, verify.Errorf(verify.ErrMalformed, "signer_info.signing_key: expected VCEK (0) or VLEK (1), got reserved value %d", uint8(k))
	}
	if r.Policy&PolicyReservedMustBe1 == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "policy: reserved bit 17 must be 1, policy is %#x", r.Policy)
	}
	if r.Policy&^uint64(policyDefinedMask) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "policy: reserved bits 26..63 must be zero, policy is %#x", r.Policy)
	}
	// PLATFORM_INFO has no must-be-zero bits in any ABI revision: a bit
	// newer firmware sets is reported, not refused (see PlatformInfoDefined).
	if r.Version >= 3 {
		r.CPUIDFamily, r.CPUIDModel, r.CPUIDStepping = b[0x188], b[0x189], b[0x18A]
		if err := mbz(b, 0x18B, 0x1A0); err != nil {
			return nil, err
		}
	} else if err := mbz(b, 0x188, 0x1A0); err != nil {
		return nil, err
	}
	if r.Version >= 5 {
		r.LaunchMitVector = le.Uint64(b[0x1F8:])
		r.CurrentMitVector = le.Uint64(b[0x200:])
	} else if err := mbz(b, 0x1F8, 0x208); err != nil {
		return nil, err
	}
	for _, f := range [][2]int{{0x4C, 0x50}, {0x1EB, 0x1EC}, {0x1EF, 0x1F0}, {0x208, SignedSize}} {
		if err := mbz(b, f[0], f[1]); err != nil {
			return nil, err
		}
	}
	// The signature fields are wider than a P-384 scalar, and the area after
	// r ‖ s is reserved: any bits there would be unsigned and unchecked.
	if err := mbz(b, offSignature+sigSignificnt, offSignature+sigComponent); err != nil {
		return nil, err
	}
	if err := mbz(b, offSignature+sigComponent+sigSignificnt, offSignature+sigFieldSize); err != nil {
		return nil, err
	}
	if err := mbz(b, offSignature+sigFieldSize, ReportSize); err != nil {
		return nil, err
	}
	return r, nil
}

func mbz(b []byte, lo, hi int) error {
	for i := lo; i < hi; i++ {
		if b[i] != 0 {
			return verify.Errorf(verify.ErrMalformed, "reserved bytes [%#x:%#x] must be zero, got %s", lo, hi, hex.EncodeToString(b[lo:hi]))
		}
	}
	return nil
}
