package tpm

import (
	"crypto"
	"slices"

	"github.com/trustfactory/attest/internal/tcglog"
	"github.com/trustfactory/attest/verify"
)

// TCG PC Client event types (PC Client Platform Firmware Profile §10.4.1).
const (
	EvPrebootCert              = tcglog.EvPrebootCert
	EvPostCode                 = tcglog.EvPostCode
	EvUnused                   = tcglog.EvUnused
	EvNoAction                 = tcglog.EvNoAction
	EvSeparator                = tcglog.EvSeparator
	EvAction                   = tcglog.EvAction
	EvEventTag                 = tcglog.EvEventTag
	EvSCRTMContents            = tcglog.EvSCRTMContents
	EvSCRTMVersion             = tcglog.EvSCRTMVersion
	EvCPUMicrocode             = tcglog.EvCPUMicrocode
	EvPlatformConfigFlags      = tcglog.EvPlatformConfigFlags
	EvTableOfDevices           = tcglog.EvTableOfDevices
	EvCompactHash              = tcglog.EvCompactHash
	EvIPL                      = tcglog.EvIPL
	EvIPLPartitionData         = tcglog.EvIPLPartitionData
	EvNonhostCode              = tcglog.EvNonhostCode
	EvNonhostConfig            = tcglog.EvNonhostConfig
	EvNonhostInfo              = tcglog.EvNonhostInfo
	EvOmitBootDeviceEvents     = tcglog.EvOmitBootDeviceEvents
	EvEFIVariableDriverConfig  = tcglog.EvEFIVariableDriverConfig
	EvEFIVariableBoot          = tcglog.EvEFIVariableBoot
	EvEFIBootServicesApp       = tcglog.EvEFIBootServicesApp
	EvEFIBootServicesDriver    = tcglog.EvEFIBootServicesDriver
	EvEFIRuntimeServicesDriver = tcglog.EvEFIRuntimeServicesDriver
	EvEFIGPTEvent              = tcglog.EvEFIGPTEvent
	EvEFIAction                = tcglog.EvEFIAction
	EvEFIPlatformFirmwareBlob  = tcglog.EvEFIPlatformFirmwareBlob
	EvEFIHandoffTables         = tcglog.EvEFIHandoffTables
	EvEFIPlatformFirmwareBlob2 = tcglog.EvEFIPlatformFirmwareBlob2
	EvEFIHandoffTables2        = tcglog.EvEFIHandoffTables2
	EvEFIVariableBoot2         = tcglog.EvEFIVariableBoot2
	EvEFIGPTEvent2             = tcglog.EvEFIGPTEvent2
	EvEFIHCRTMEvent            = tcglog.EvEFIHCRTMEvent
	EvEFIVariableAuthority     = tcglog.EvEFIVariableAuthority
	EvEFISPDMFirmwareBlob      = tcglog.EvEFISPDMFirmwareBlob
	EvEFISPDMFirmwareConfig    = tcglog.EvEFISPDMFirmwareConfig
	EvEFISPDMDevicePolicy      = tcglog.EvEFISPDMDevicePolicy
	EvEFISPDMDeviceAuthority   = tcglog.EvEFISPDMDeviceAuthority
)

const (
	maxSpecAlgs              = tcglog.MaxAlgs
	startupLocalitySignature = "StartupLocality\x00"
	defaultMaxEventLogSize   = 1 << 20
	defaultMaxEvents         = 8192
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

// ParseEventLog parses a crypto-agile TCG PC Client event log: the SHA-1
// format Spec ID event (on PCR 0), then events carrying one digest per
// declared bank, in the declared order. Every size is checked before use;
// the log size and the event count are capped (ErrLimit). SHA-1-format logs
// and banks of algorithms this package cannot hash are ErrUnsupported.
func ParseEventLog(b []byte, lim Limits) (*EventLog, error) {
	lim = lim.withDefaults()
	d, err := tcglog.NewDecoder(b, tcglog.Format{
		Name:              "event log",
		MaxSize:           lim.MaxSize,
		MaxEvents:         lim.MaxEvents,
		NotAgile:          verify.ErrUnsupported,
		SpecIDOnIndexZero: true,
		AllDigests:        true,
	})
	if err != nil {
		return nil, err
	}
	algs, err := banks(d.Algs())
	if err != nil {
		return nil, err
	}
	log := &EventLog{Algs: algs}
	var raw tcglog.Event
	for {
		more, err := d.Next(&raw)
		if err != nil {
			return nil, err
		}
		if !more {
			return log, nil
		}
		// Indices are compared as unsigned before any conversion to int,
		// which is 32 bits wide on some platforms.
		if raw.Index >= maxPCRs {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: event %d extends PCR %d, beyond the %d PCRs of a PC Client TPM", raw.Seq, raw.Index, maxPCRs)
		}
		log.Events = append(log.Events, Event{Seq: raw.Seq, PCR: int(raw.Index), Type: raw.Type, Data: raw.Data, digests: raw.Digests, algs: algs})
	}
}

// banks maps the algorithms the Spec ID event declares to hashes. Every
// declared digest size must be the size of its algorithm; banks of unknown
// algorithms are refused because their digests could not be replayed.
func banks(declared []tcglog.Alg) ([]crypto.Hash, error) {
	algs := make([]crypto.Hash, 0, len(declared))
	for _, a := range declared {
		h := hashFromAlg(a.ID)
		if h == 0 {
			return nil, verify.Errorf(verify.ErrUnsupported, "event log: Spec ID declares algorithm %#04x, which is not supported", a.ID)
		}
		if a.Size != h.Size() {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID declares %v with digest size %d, expected %d", h, a.Size, h.Size())
		}
		if slices.Contains(algs, h) {
			return nil, verify.Errorf(verify.ErrMalformed, "event log: Spec ID declares %v twice", h)
		}
		algs = append(algs, h)
	}
	return algs, nil
}
