package gpu

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/trustfactory/attest/verify"
)

// SPDM constants of the GET_MEASUREMENTS exchange NVIDIA devices use.
const (
	SPDMVersion11          = 0x11 // the only SPDM version NVIDIA devices speak for attestation
	CodeGetMeasurements    = 0xE0
	CodeMeasurements       = 0x60
	RequestSize            = 37 // GET_MEASUREMENTS with nonce and slot
	NonceSize              = 32
	SignatureSize          = 96 // raw ECDSA P-384 r‖s
	MeasurementSpecDMTF    = 0x01
	maxReportSize          = 1 << 16 // NVML caps the report at 0x2000; leave head-room, never unbounded
	maxTrailingPadding     = 16
	measurementBlockHeader = 4 // index, spec, size(2)
	dmtfValueHeader        = 3 // type, size(2)
)

// MeasurementIndexManifest is the SPDM measurement index of the measurement
// manifest (DSP0274). Rubin GSP reports carry one, a CBOR table of contents
// of the evidence, beside the numbered blocks and counted among them.
const MeasurementIndexManifest = 0xFD

// Request is a parsed SPDM 1.1 GET_MEASUREMENTS request.
type Request struct {
	Version byte
	Code    byte
	Param1  byte // 0x01: signature requested
	Param2  byte // 0xFF: all measurements
	Nonce   [NonceSize]byte
	SlotID  byte
}

// MeasurementBlock is one DMTF measurement block of the measurement record.
type MeasurementBlock struct {
	Index     int    // 1-based SPDM index
	Spec      byte   // measurement specification, always DMTF
	ValueType byte   // DMTF value type (0x01: mutable firmware digest)
	Value     []byte // the digest
}

// Response is a parsed SPDM 1.1 MEASUREMENTS response.
type Response struct {
	Version        byte
	Code           byte
	Param1         byte
	Param2         byte
	NumberOfBlocks int
	RecordLength   int
	Blocks         []MeasurementBlock // in record order; indices unique and within 1..NumberOfBlocks
	// Manifest is the measurement-manifest block (index 0xFD), nil when
	// the report has none. It is counted in NumberOfBlocks but kept out of
	// Blocks: it is no firmware digest, and no RIM entry compares it.
	Manifest       *MeasurementBlock
	ResponderNonce [NonceSize]byte // the device's nonce, not the verifier's
	OpaqueLength   int
	OpaqueRaw      []byte
	Signature      []byte // 96 bytes, raw r‖s
}

// Report is a parsed attestation report: request ‖ response.
type Report struct {
	Request  Request
	Response Response
	// Signed is request ‖ response without the signature: the bytes the
	// signature covers, located from the parsed structure.
	Signed []byte
	// TrailingPadding counts the zero bytes after the signature that were
	// tolerated (ParseOptions.AllowTrailingZeros).
	TrailingPadding int
}

// ParseOptions tune ParseReport.
type ParseOptions struct {
	// AllowTrailingZeros tolerates up to 16 zero bytes after the signature, as
	// some capture paths append. Non-zero trailing bytes are always rejected.
	AllowTrailingZeros bool
}

// Measurement returns the value of the block with SPDM index idx (1-based).
func (r *Response) Measurement(idx int) ([]byte, bool) {
	// Reports list blocks by index, so the block at idx-1 is the usual hit.
	if idx >= 1 && idx <= len(r.Blocks) && r.Blocks[idx-1].Index == idx {
		return r.Blocks[idx-1].Value, true
	}
	for i := range r.Blocks {
		if r.Blocks[i].Index == idx {
			return r.Blocks[i].Value, true
		}
	}
	return nil, false
}

// ParseRequest parses the 37-byte GET_MEASUREMENTS request.
func ParseRequest(b []byte) (*Request, error) {
	if len(b) != RequestSize {
		return nil, verify.Errorf(verify.ErrMalformed, "SPDM request: expected %d bytes, got %d", RequestSize, len(b))
	}
	r := &Request{Version: b[0], Code: b[1], Param1: b[2], Param2: b[3], SlotID: b[36]}
	copy(r.Nonce[:], b[4:36])
	if r.Version != SPDMVersion11 {
		return nil, verify.Errorf(verify.ErrUnsupported, "SPDM request version: expected 0x%02x, got 0x%02x", SPDMVersion11, r.Version)
	}
	if r.Code != CodeGetMeasurements {
		return nil, verify.Errorf(verify.ErrMalformed, "SPDM request code: expected 0x%02x, got 0x%02x", CodeGetMeasurements, r.Code)
	}
	if r.Param1&0x01 == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "SPDM request param1: expected the signature bit 0x01, got 0x%02x", r.Param1)
	}
	return r, nil
}

// ParseReport parses request ‖ response and locates the signature from the
// structure rather than from the end of the buffer.
func ParseReport(b []byte, opts ParseOptions) (*Report, error) {
	if len(b) > maxReportSize {
		return nil, verify.Errorf(verify.ErrLimit, "SPDM report: %d bytes exceeds the cap of %d", len(b), maxReportSize)
	}
	if len(b) < RequestSize {
		return nil, verify.Errorf(verify.ErrMalformed, "SPDM report: %d bytes, shorter than the %d-byte request", len(b), RequestSize)
	}
	req, err := ParseRequest(b[:RequestSize])
	if err != nil {
		return nil, err
	}
	resp, used, err := parseResponse(b[RequestSize:])
	if err != nil {
		return nil, err
	}
	end := RequestSize + used
	trailing := b[end:]
	if len(trailing) > 0 {
		if !opts.AllowTrailingZeros || len(trailing) > maxTrailingPadding || !allZero(trailing) {
			return nil, verify.Errorf(verify.ErrMalformed, "SPDM report: %d unexpected bytes after the signature: %s",
				len(trailing), hex.EncodeToString(trailing[:min(len(trailing), 32)]))
		}
	}
	return &Report{
		Request:         *req,
		Response:        *resp,
		Signed:          b[: end-SignatureSize : end-SignatureSize],
		TrailingPadding: len(trailing),
	}, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseResponse parses the MEASUREMENTS response and returns how many bytes
// it spans, signature included.
func parseResponse(b []byte) (*Response, int, error) {
	const fixed = 8
	if len(b) < fixed {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "SPDM response: %d bytes, shorter than its %d-byte header", len(b), fixed)
	}
	r := &Response{
		Version: b[0], Code: b[1], Param1: b[2], Param2: b[3],
		NumberOfBlocks: int(b[4]),
		RecordLength:   int(b[5]) | int(b[6])<<8 | int(b[7])<<16,
	}
	if r.Version != SPDMVersion11 {
		return nil, 0, verify.Errorf(verify.ErrUnsupported, "SPDM response version: expected 0x%02x, got 0x%02x", SPDMVersion11, r.Version)
	}
	if r.Code != CodeMeasurements {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "SPDM response code: expected 0x%02x, got 0x%02x", CodeMeasurements, r.Code)
	}
	off := fixed
	if r.RecordLength > len(b)-off {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "SPDM measurement record length: %d, only %d bytes left", r.RecordLength, len(b)-off)
	}
	blocks, manifest, err := parseRecord(b[off:off+r.RecordLength], r.NumberOfBlocks)
	if err != nil {
		return nil, 0, err
	}
	r.Blocks, r.Manifest = blocks, manifest
	off += r.RecordLength
	if len(b)-off < NonceSize+2 {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "SPDM response: %d bytes left for the responder nonce and opaque length, need %d", len(b)-off, NonceSize+2)
	}
	copy(r.ResponderNonce[:], b[off:off+NonceSize])
	off += NonceSize
	r.OpaqueLength = int(binary.LittleEndian.Uint16(b[off:]))
	off += 2
	if r.OpaqueLength > len(b)-off {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "SPDM opaque length: %d, only %d bytes left", r.OpaqueLength, len(b)-off)
	}
	r.OpaqueRaw = b[off : off+r.OpaqueLength : off+r.OpaqueLength]
	off += r.OpaqueLength
	if len(b)-off < SignatureSize {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "SPDM signature: expected %d bytes, only %d left", SignatureSize, len(b)-off)
	}
	r.Signature = b[off : off+SignatureSize : off+SignatureSize]
	off += SignatureSize
	return r, off, nil
}

// parseRecord parses exactly n DMTF measurement blocks filling rec: the
// numbered blocks, and at most one measurement manifest.
func parseRecord(rec []byte, n int) ([]MeasurementBlock, *MeasurementBlock, error) {
	blocks, manifest, err := parseBlocks(rec, n)
	if err != nil {
		return nil, nil, err
	}
	if manifest != nil && len(blocks) == 0 {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement record: a measurement manifest and no measurement")
	}
	return blocks, manifest, nil
}

func parseBlocks(rec []byte, n int) ([]MeasurementBlock, *MeasurementBlock, error) {
	if n == 0 {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement record: zero blocks")
	}
	var manifest *MeasurementBlock
	blocks := make([]MeasurementBlock, 0, n)
	var seen [256]bool
	off := 0
	for i := 0; i < n; i++ {
		if len(rec)-off < measurementBlockHeader+dmtfValueHeader {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement block %d of %d: %d bytes left, need a %d-byte header",
				i+1, n, len(rec)-off, measurementBlockHeader+dmtfValueHeader)
		}
		idx := int(rec[off])
		spec := rec[off+1]
		size := int(binary.LittleEndian.Uint16(rec[off+2:]))
		// The manifest's index lies outside 1..n by definition; any other
		// index there is refused (GPU-18).
		if (idx < 1 || idx > n) && idx != MeasurementIndexManifest {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement block %d: index expected in 1..%d, got %d", i+1, n, idx)
		}
		if seen[idx] {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement block %d: duplicate index %d", i+1, idx)
		}
		seen[idx] = true
		if spec != MeasurementSpecDMTF {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement block index %d: specification expected 0x%02x, got 0x%02x", idx, MeasurementSpecDMTF, spec)
		}
		off += measurementBlockHeader
		if size > len(rec)-off {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement block index %d: size %d, only %d bytes left", idx, size, len(rec)-off)
		}
		vt := rec[off]
		vsize := int(binary.LittleEndian.Uint16(rec[off+1:]))
		if dmtfValueHeader+vsize != size {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement block index %d: measurement size expected %d (3 + value size %d), got %d",
				idx, dmtfValueHeader+vsize, vsize, size)
		}
		v := rec[off+dmtfValueHeader : off+size : off+size]
		mb := MeasurementBlock{Index: idx, Spec: spec, ValueType: vt, Value: v}
		if idx == MeasurementIndexManifest {
			manifest = &mb
		} else {
			blocks = append(blocks, mb)
		}
		off += size
	}
	if off != len(rec) {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "SPDM measurement record: %d bytes after the %d blocks", len(rec)-off, n)
	}
	return blocks, manifest, nil
}
