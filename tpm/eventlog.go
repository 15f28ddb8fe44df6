package tpm

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"slices"

	"github.com/trustfactory/attest/verify"
)

// TCG PC Client event types (PC Client Platform Firmware Profile §10.4.1).
const (
	EvPrebootCert               = 0x00000000
	EvPostCode                  = 0x00000001
	EvUnused                    = 0x00000002
	EvNoAction                  = 0x00000003
	EvSeparator                 = 0x00000004
	EvAction                    = 0x00000005
	EvEventTag                  = 0x00000006
	EvSCRTMContents             = 0x00000007
	EvSCRTMVersion              = 0x00000008
	EvCPUMicrocode              = 0x00000009
	EvPlatformConfigFlags       = 0x0000000A
	EvTableOfDevices            = 0x0000000B
	EvCompactHash               = 0x0000000C
	EvIPL                       = 0x0000000D
	EvIPLPartitionData          = 0x0000000E
	EvNonhostCode               = 0x0000000F
	EvNonhostConfig             = 0x00000010
	EvNonhostInfo               = 0x00000011
	EvOmitBootDeviceEvents      = 0x00000012
	EvEFIVariableDriverConfig   = 0x80000001
	EvEFIVariableBoot           = 0x80000002
	EvEFIBootServicesApp        = 0x80000003
	EvEFIBootServicesDriver     = 0x80000004
	EvEFIRuntimeServicesDriver  = 0x80000005
	EvEFIGPTEvent               = 0x80000006
	EvEFIAction                 = 0x80000007
	EvEFIPlatformFirmwareBlob   = 0x80000008
	EvEFIHandoffTables          = 0x80000009
	EvEFIPlatformFirmwareBlob2  = 0x8000000A
	EvEFIHandoffTables2         = 0x8000000B
	EvEFIVariableBoot2          = 0x8000000C
	EvEFIGPTEvent2              = 0x8000000D
	EvEFIHCRTMEvent             = 0x80000010
	EvEFIVariableAuthority      = 0x800000E0
	EvEFISPDMFirmwareBlob       = 0x800000E1
	EvEFISPDMFirmwareConfig     = 0x800000E2
	EvEFISPDMDevicePolicy       = 0x800000E3
	EvEFISPDMDeviceAuthority    = 0x800000E4
	maxSpecAlgs                 = 8
	specIDSignature             = "Spec ID Event03\x00"
	startupLocalitySignature    = "StartupLocality\x00"
	defaultMaxEventLogSize      = 1 << 20
	defaultMaxEvents            = 8192
	legacyEventHeaderSize       = 32 // pcrIndex, eventType, SHA-1 digest, eventSize
	agileEventHeaderMinimumSize = 12 // pcrIndex, eventType, digest count
)

// Event is one event of a crypto-agile TCG event log. Its Type and Data are
// not measured: they are trustworthy only through the checks the replay and
// the claim extraction make (a verified data digest, an allowed type).
type Event struct {
	Seq     int
	PCR     int
	Type    uint32
	Data    []byte
	digests [maxSpecAlgs][]byte // in the order of EventLog.Algs
	algs    []crypto.Hash
}

// Digest returns the event's digest in bank h, or nil when it has none.
func (e *Event) Digest(h crypto.Hash) []byte {
	for i, a := range e.algs {
		if a == h {
			return e.digests[i]
		}
	}
	return nil
}

// EventLog is a parsed crypto-agile TCG PC Client event log.
type EventLog struct {
	Algs   []crypto.Hash // banks declared by the Spec ID event, in its order
	Events []Event       // events after the Spec ID event
}

// Limits bound what ParseEventLog accepts.
type Limits struct {
	MaxSize   int // bytes of the whole log
	MaxEvents int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = defaultMaxEventLogSize
	}
	if l.MaxEvents <= 0 {
		l.MaxEvents = defaultMaxEvents
	}
	return l
}

// leReader is a little-endian cursor over event-log bytes.
type leReader struct {
	b   []byte
	off int
}

func (r *leReader) left() int { return len(r.b) - r.off }

func (r *leReader) u16() uint16 {
	v := binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *leReader) u32() uint32 {
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *leReader) bytes(n int) []byte {
	out := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return out
}

// ParseEventLog parses a crypto-agile TCG PC Client event log: the SHA-1
// format Spec ID event, then events carrying one digest per declared bank.
// Every size is checked before use; the log size and the event count are
// capped (ErrLimit).
func ParseEventLog(b []byte, lim Limits) (*EventLog, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxSize {
		return nil, verify.Errorf(verify.ErrLimit, "event log: %d bytes exceed the limit of %d", len(b), lim.MaxSize)
	}
	r := &leReader{b: b}
	if r.left() < legacyEventHeaderSize {
		return nil, verify.Errorf(verify.ErrMalformed, "event log: %d bytes, too short for the Spec ID event header (%d)", len(b), legacyEventHeaderSize)
	}
	pcr, typ := r.u32(), r.u32()
	r.bytes(20)
	size := r.u32()
	if pcr != 0 || typ != EvNoAction {
		return nil, verify.Errorf(verify.ErrUnsupported, "event log: first event is PCR %d type %#x, expected the crypto-agile Spec ID event (PCR 0, EV_NO_ACTION); SHA-1-only logs are not supported", pcr, typ)
	}
	// Sizes and indices are compared as unsigned before any conversion to
	// int, which is 32 bits wide on some platforms.
	if uint64(size) > uint64(r.left()) {
		return nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID event size %d exceeds the %d bytes left", size, r.left())
	}
	algs, sizes, err := parseSpecID(r.bytes(int(size)))
	if err != nil {
		return nil, err
	}
	log := &EventLog{Algs: algs}
	for seq := 1; r.left() > 0; seq++ {
		if len(log.Events) >= lim.MaxEvents {
			return nil, verify.Errorf(verify.ErrLimit, "event log: more than %d events", lim.MaxEvents)
		}
		if r.left() < agileEventHeaderMinimumSize {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d header needs %d bytes, %d left", seq, agileEventHeaderMinimumSize, r.left())
		}
		pcr := r.u32()
		ev := Event{Seq: seq, Type: r.u32(), algs: algs}
		count := r.u32()
		if count != uint32(len(algs)) {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d carries %d digests, the Spec ID event declares %d banks", seq, count, len(algs))
		}
		if pcr >= maxPCRs {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d extends PCR %d, beyond the %d PCRs of a PC Client TPM", seq, pcr, maxPCRs)
		}
		ev.PCR = int(pcr)
		for i := range count {
			if r.left() < 2 {
				return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d digest algorithm truncated", seq)
			}
			alg := r.u16()
			// Digests come in the order the Spec ID event declared the banks,
			// so each bank appears exactly once.
			if h := hashFromAlg(alg); h != algs[i] {
				return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d digest %d is algorithm %#04x, the Spec ID event declares %v in that place", seq, i, alg, algs[i])
			}
			n := sizes[i]
			if r.left() < n {
				return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d %v digest needs %d bytes, %d left", seq, algs[i], n, r.left())
			}
			ev.digests[i] = r.bytes(n)
		}
		if r.left() < 4 {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d size field truncated", seq)
		}
		size := r.u32()
		if uint64(size) > uint64(r.left()) {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d data size %d exceeds the %d bytes left", seq, size, r.left())
		}
		ev.Data = r.bytes(int(size))
		log.Events = append(log.Events, ev)
	}
	return log, nil
}

// parseSpecID parses TCG_EfiSpecIDEvent and returns the declared banks. Every
// declared digest size must be the size of its algorithm; banks of unknown
// algorithms are rejected because their digests could not be skipped safely.
func parseSpecID(b []byte) ([]crypto.Hash, []int, error) {
	const fixed = 16 + 4 + 4 + 4 // signature, platformClass, version+errata+uintnSize, numberOfAlgorithms
	if len(b) < fixed || !bytes.Equal(b[:16], []byte(specIDSignature)) {
		return nil, nil, verify.Errorf(verify.ErrUnsupported, "event log: first event is not a %q Spec ID event", specIDSignature[:15])
	}
	r := &leReader{b: b, off: 24}
	n := r.u32()
	if n == 0 || n > maxSpecAlgs {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID numberOfAlgorithms %d, expected 1..%d", n, maxSpecAlgs)
	}
	if uint64(r.left()) < uint64(n)*4+1 {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID lists %d algorithms in %d bytes", n, r.left())
	}
	algs := make([]crypto.Hash, 0, n)
	sizes := make([]int, 0, n)
	for range n {
		alg, size := r.u16(), int(r.u16())
		h := hashFromAlg(alg)
		if h == 0 {
			return nil, nil, verify.Errorf(verify.ErrUnsupported, "event log: Spec ID declares algorithm %#04x, which is not supported", alg)
		}
		if size != h.Size() {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID declares %v with digest size %d, expected %d", h, size, h.Size())
		}
		if slices.Contains(algs, h) {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID declares %v twice", h)
		}
		algs = append(algs, h)
		sizes = append(sizes, size)
	}
	vendor := int(b[r.off])
	r.off++
	if vendor != r.left() {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID vendorInfoSize %d, %d bytes left", vendor, r.left())
	}
	return algs, sizes, nil
}
