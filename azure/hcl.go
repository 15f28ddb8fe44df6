package azure

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"slices"
	"strings"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// HCL report layout (Azure's IGVM attestation report, as the paravisor
// writes it to vTPM NV index 0x01400001).
const (
	hclHeaderSize  = 0x20
	hclHWReportEnd = hclHeaderSize + snp.ReportSize // the hardware report field is 0x4A0 bytes
	hclRuntimeHdr  = 20                             // data size, version, report type, hash type, variable data size
	hclMinSize     = hclHWReportEnd + hclRuntimeHdr
	// MaxHCLReportSize caps an HCL report; Azure's is 2600 bytes.
	MaxHCLReportSize = 16 << 10

	reportTypeSNP = 2
	reportTypeTDX = 4
)

// HCLReport is a parsed HCL report. Nothing in it is trusted until Verify
// has checked the hardware report and the runtime data's hash.
type HCLReport struct {
	Version     uint32
	RequestType uint32
	// HWReport is the hardware report field (0x4A0 bytes): the SEV-SNP
	// report, or the TDREPORT (1024 bytes) followed by zero bytes.
	HWReport []byte
	// ReportType is the hardware report's type: 2 SEV-SNP, 4 TDX.
	ReportType uint32
	// Hash is the algorithm whose digest of RuntimeData is the start of the
	// hardware report's REPORT_DATA.
	Hash crypto.Hash
	// RuntimeData is the variable data: a JSON document with the vTPM's
	// keys, the VM configuration and the user data.
	RuntimeData []byte
}

// ParseHCLReport parses an HCL report: the "HCLA" header, the hardware
// report and the runtime data, every length checked against the bytes
// present; bytes after the report's declared size must be zero padding.
func ParseHCLReport(b []byte) (*HCLReport, error) {
	if len(b) > MaxHCLReportSize {
		return nil, verify.Errorf(verify.ErrLimit, "HCL report: %d bytes exceeds %d", len(b), MaxHCLReportSize)
	}
	if len(b) < hclMinSize {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: %d bytes, expected at least %d", len(b), hclMinSize)
	}
	if string(b[:4]) != "HCLA" {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: signature %q, expected \"HCLA\"", b[:4])
	}
	le := binary.LittleEndian
	r := &HCLReport{Version: le.Uint32(b[4:]), RequestType: le.Uint32(b[12:])}
	size := le.Uint32(b[8:])
	if status := le.Uint32(b[16:]); status != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: status %#x, expected 0", status)
	}
	if size < hclMinSize || uint64(size) > uint64(len(b)) {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: declared size %d, expected %d..%d", size, hclMinSize, len(b))
	}
	if !allZero(b[size:]) {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL report: non-zero bytes after the declared size %d", size)
	}
	r.HWReport = b[hclHeaderSize:hclHWReportEnd]
	rt := b[hclHWReportEnd:size]
	dataSize, rtVersion := le.Uint32(rt), le.Uint32(rt[4:])
	r.ReportType = le.Uint32(rt[8:])
	hashType, varSize := le.Uint32(rt[12:]), le.Uint32(rt[16:])
	if rtVersion != 1 {
		return nil, verify.Errorf(verify.ErrUnsupported, "HCL runtime data: version %d, expected 1", rtVersion)
	}
	if uint64(varSize) != uint64(len(rt)-hclRuntimeHdr) || uint64(dataSize) != uint64(len(rt)) {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: data size %d and variable data size %d, expected %d and %d from the report size",
			dataSize, varSize, len(rt), len(rt)-hclRuntimeHdr)
	}
	switch hashType {
	case 1:
		r.Hash = crypto.SHA256
	case 2:
		r.Hash = crypto.SHA384
	case 3:
		r.Hash = crypto.SHA512
	default:
		return nil, verify.Errorf(verify.ErrUnsupported, "HCL runtime data: hash type %d, expected 1 (SHA-256), 2 (SHA-384) or 3 (SHA-512)", hashType)
	}
	switch r.ReportType {
	case reportTypeSNP, reportTypeTDX:
	default:
		return nil, verify.Errorf(verify.ErrUnsupported, "HCL report: hardware report type %d, expected 2 (SEV-SNP) or 4 (TDX)", r.ReportType)
	}
	r.RuntimeData = rt[hclRuntimeHdr:]
	return r, nil
}

// RuntimeData is the JSON document of an HCL report's runtime data.
type RuntimeData struct {
	Keys            []JWK           `json:"keys"`
	VMConfiguration VMConfiguration `json:"vm-configuration"`
	// UserData is the hex text the guest asked the paravisor to include.
	UserData string `json:"user-data"`
}

// JWK is an RSA key of the runtime data ("HCLAkPub", "HCLEkPub").
type JWK struct {
	KeyID  string   `json:"kid"`
	KeyOps []string `json:"key_ops"`
	Type   string   `json:"kty"`
	E      string   `json:"e"`
	N      string   `json:"n"`
}

// VMConfiguration is what Azure states about the VM.
type VMConfiguration struct {
	ConsoleEnabled bool   `json:"console-enabled"`
	SecureBoot     bool   `json:"secure-boot"`
	TPMEnabled     bool   `json:"tpm-enabled"`
	VMUniqueID     string `json:"vmUniqueId"`
}

// Structure caps of the runtime data JSON, checked before it is decoded:
// encoding/json allocates a value, and for an element of the wrong type an
// error, per element, so 16 KB of [0,0,…] in keys allocated 4 MB, 260 times
// its size (TestWorstShapeParseRuntimeData). Real runtime data is 3 levels
// deep (keys, a key, its key_ops) and holds two keys and the VM
// configuration: a few dozen values.
const (
	maxRuntimeDataDepth  = 8
	maxRuntimeDataValues = 256
)

// ParseRuntimeData parses the runtime data JSON. A document nested or
// holding values beyond what runtime data needs is ErrLimit before it is
// decoded.
func ParseRuntimeData(b []byte) (*RuntimeData, error) {
	if err := jsonbound.Check(b, "HCL runtime data", maxRuntimeDataDepth, maxRuntimeDataValues); err != nil {
		return nil, err
	}
	var rd RuntimeData
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&rd); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: %v", err)
	}
	// Not dec.More(), which reports false before a stray ']' or '}'.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: trailing data after the JSON document")
	}
	return &rd, nil
}

// AK returns the vTPM attestation key: the one RSA signing key with key id
// "HCLAkPub". The runtime data carries it as a JWK, not as a TPMT_PUBLIC, so
// its TPM attributes (restricted, fixedTPM) rest on the paravisor's word.
func (rd *RuntimeData) AK() (*rsa.PublicKey, error) {
	var found *JWK
	for i := range rd.Keys {
		if rd.Keys[i].KeyID != "HCLAkPub" {
			continue
		}
		if found != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: two keys with id HCLAkPub")
		}
		found = &rd.Keys[i]
	}
	if found == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: no key with id HCLAkPub")
	}
	if !slices.Contains(found.KeyOps, "sign") {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: HCLAkPub key_ops %q do not include sign", found.KeyOps)
	}
	if found.Type != "RSA" {
		return nil, verify.Errorf(verify.ErrUnsupported, "HCL runtime data: HCLAkPub key type %q, expected RSA", found.Type)
	}
	n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(found.N, "="))
	if err != nil || len(n) == 0 || n[0] == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: HCLAkPub modulus is not unpadded base64url of a positive integer")
	}
	e, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(found.E, "="))
	if err != nil || len(e) == 0 || len(e) > 4 || e[0] == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: HCLAkPub exponent is not base64url of a 1..4-byte integer")
	}
	exp := 0
	for _, c := range e {
		exp = exp<<8 | int(c)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: HCLAkPub exponent %d", exp)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
}

// userData decodes the user data (hex, any case); empty when absent.
func (rd *RuntimeData) userData() ([]byte, error) {
	b, err := hex.DecodeString(rd.UserData)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "HCL runtime data: user-data is not hex: %v", err)
	}
	return b, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
