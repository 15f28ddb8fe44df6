package tdx

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/trustfactory/attest/verify"
)

// Caps on event-log parsing.
const (
	maxCCELSize      = 8 << 20
	maxCCELEvents    = 16384
	maxCCELEventData = 1 << 20
	maxAlgorithms    = 8
)

const (
	algSHA384 = 0x000c

	evNoAction                   = 0x03
	evSeparator                  = 0x04
	evEventTag                   = 0x06
	evIPL                        = 0x0d
	evEFIBootServicesApplication = 0x80000003
	aaelTag                      = 0x4141454c
)

var eventTypeNames = map[uint32]string{
	0x00: "EV_PREBOOT_CERT", 0x01: "EV_POST_CODE", 0x02: "EV_UNUSED", 0x03: "EV_NO_ACTION", 0x04: "EV_SEPARATOR",
	0x05: "EV_ACTION", 0x06: "EV_EVENT_TAG", 0x07: "EV_S_CRTM_CONTENTS", 0x08: "EV_S_CRTM_VERSION", 0x09: "EV_CPU_MICROCODE",
	0x0a: "EV_PLATFORM_CONFIG_FLAGS", 0x0b: "EV_TABLE_OF_DEVICES", 0x0c: "EV_COMPACT_HASH", 0x0d: "EV_IPL",
	0x0e: "EV_IPL_PARTITION_DATA", 0x0f: "EV_NONHOST_CODE", 0x10: "EV_NONHOST_CONFIG", 0x11: "EV_NONHOST_INFO",
	0x12:       "EV_OMIT_BOOT_DEVICE_EVENTS",
	0x80000001: "EV_EFI_VARIABLE_DRIVER_CONFIG", 0x80000002: "EV_EFI_VARIABLE_BOOT",
	0x80000003: "EV_EFI_BOOT_SERVICES_APPLICATION", 0x80000004: "EV_EFI_BOOT_SERVICES_DRIVER",
	0x80000005: "EV_EFI_RUNTIME_SERVICES_DRIVER", 0x80000006: "EV_EFI_GPT_EVENT", 0x80000007: "EV_EFI_ACTION",
	0x80000008: "EV_EFI_PLATFORM_FIRMWARE_BLOB", 0x80000009: "EV_EFI_HANDOFF_TABLES",
	0x8000000a: "EV_EFI_PLATFORM_FIRMWARE_BLOB2", 0x8000000b: "EV_EFI_HANDOFF_TABLES2",
	0x8000000c: "EV_EFI_VARIABLE_BOOT2", 0x80000010: "EV_EFI_HCRTM_EVENT", 0x800000e0: "EV_EFI_VARIABLE_AUTHORITY",
	0x800000e1: "EV_EFI_SPDM_FIRMWARE_BLOB", 0x800000e2: "EV_EFI_SPDM_FIRMWARE_CONFIG",
}

// Event is one entry of a CC event log. Replay checks only Digest against
// the quote's RTMRs: Data (and Text, derived from it) is bound to the quote
// only when DigestMatches; AAEL is set only then.
type Event struct {
	Seq           int    // position in the log, from 0 (the Spec ID event is not counted)
	MRIndex       uint32 // CC measurement register: 0 MRTD, 1..4 RTMR0..3
	Type          uint32
	TypeName      string
	Digest        []byte // SHA-384
	Data          []byte
	DigestMatches bool   // SHA-384(Data) == Digest
	Text          string // printable text of the data, when it is text
	AAEL          *AAELEvent
}

// AAELEvent is an Attestation-Agent runtime event (EV_EVENT_TAG "AAEL").
type AAELEvent struct{ Domain, Operation, Content string }

// EventLog is a parsed TCG2 crypto-agile CC event log (CCEL).
type EventLog struct {
	Events []Event
	// Replayed is set by a successful Replay: the RTMRs the log reproduces.
	Replayed [4][48]byte
	// RTMR3Unlogged is set when RTMR3 was accepted without replay.
	RTMR3Unlogged bool
}

type elReader struct {
	b   []byte
	off int
}

func (r *elReader) need(n int, what string) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, verify.Errorf(verify.ErrMalformed, "CCEL %s at offset %#x: need %d bytes, %d left", what, r.off, n, len(r.b)-r.off)
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *elReader) u32(what string) (uint32, error) {
	s, err := r.need(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s), nil
}

// ParseCCEL parses a TCG2 crypto-agile event log as found in the ACPI CCEL
// area. Parsing stops at the padding (8 bytes of 0xFF or 0x00) after the last
// event. Every event must carry a SHA-384 digest.
func ParseCCEL(b []byte) (*EventLog, error) {
	if len(b) > maxCCELSize {
		return nil, verify.Errorf(verify.ErrLimit, "CCEL: %d bytes exceeds the cap of %d", len(b), maxCCELSize)
	}
	r := &elReader{b: b}
	// Legacy-format first event carrying TCG_EfiSpecIdEvent.
	hdr, err := r.need(32, "Spec ID event header")
	if err != nil {
		return nil, err
	}
	if t := binary.LittleEndian.Uint32(hdr[4:]); t != evNoAction {
		return nil, verify.Errorf(verify.ErrMalformed, "CCEL first event: expected EV_NO_ACTION, got type %#x", t)
	}
	size := int(binary.LittleEndian.Uint32(hdr[28:]))
	spec, err := r.need(size, "Spec ID event")
	if err != nil {
		return nil, err
	}
	sizes, err := parseSpecID(spec)
	if err != nil {
		return nil, err
	}
	log := &EventLog{}
	for seq := 0; ; seq++ {
		if len(b)-r.off < 8 {
			break
		}
		next := b[r.off : r.off+8]
		if bytes.Equal(next, bytes.Repeat([]byte{0xff}, 8)) || bytes.Equal(next, make([]byte, 8)) {
			break
		}
		if seq >= maxCCELEvents {
			return nil, verify.Errorf(verify.ErrLimit, "CCEL: more than %d events", maxCCELEvents)
		}
		ev := Event{Seq: seq}
		if ev.MRIndex, err = r.u32("MR index"); err != nil {
			return nil, err
		}
		if ev.Type, err = r.u32("event type"); err != nil {
			return nil, err
		}
		n, err := r.u32("digest count")
		if err != nil {
			return nil, err
		}
		if n == 0 || n > maxAlgorithms {
			return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: %d digests", seq, n)
		}
		for i := uint32(0); i < n; i++ {
			a, err := r.need(2, "digest algorithm")
			if err != nil {
				return nil, err
			}
			alg := binary.LittleEndian.Uint16(a)
			sz, ok := sizes[alg]
			if !ok {
				return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: digest algorithm %#x not declared in the Spec ID event", seq, alg)
			}
			d, err := r.need(sz, "digest")
			if err != nil {
				return nil, err
			}
			if alg == algSHA384 {
				ev.Digest = d
			}
		}
		if ev.Digest == nil {
			return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: no SHA-384 digest", seq)
		}
		dsz, err := r.u32("event size")
		if err != nil {
			return nil, err
		}
		if dsz > maxCCELEventData {
			return nil, verify.Errorf(verify.ErrLimit, "CCEL event %d: %d bytes of data exceeds the cap of %d", seq, dsz, maxCCELEventData)
		}
		if ev.Data, err = r.need(int(dsz), "event data"); err != nil {
			return nil, err
		}
		if ev.MRIndex > 4 && ev.Type != evNoAction {
			return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: MR index %d out of range 0..4", seq, ev.MRIndex)
		}
		ev.TypeName = eventTypeNames[ev.Type]
		if ev.TypeName == "" {
			ev.TypeName = fmt.Sprintf("EV_UNKNOWN_%#x", ev.Type)
		}
		sum := sha512.Sum384(ev.Data)
		ev.DigestMatches = bytes.Equal(sum[:], ev.Digest)
		ev.Text = printable(ev.Data)
		// The AAEL fields are reported only when the data is what the
		// replayed digest covers.
		if ev.Type == evEventTag && ev.DigestMatches && len(ev.Data) >= 8 && binary.LittleEndian.Uint32(ev.Data) == aaelTag {
			l := binary.LittleEndian.Uint32(ev.Data[4:])
			if int64(l) == int64(len(ev.Data)-8) {
				parts := strings.SplitN(string(ev.Data[8:]), " ", 3)
				for len(parts) < 3 {
					parts = append(parts, "")
				}
				ev.AAEL = &AAELEvent{Domain: parts[0], Operation: parts[1], Content: parts[2]}
			}
		}
		if ev.Type == evSeparator {
			if !ev.DigestMatches || (!bytes.Equal(ev.Data, []byte{0, 0, 0, 0}) && !bytes.Equal(ev.Data, []byte{0xff, 0xff, 0xff, 0xff})) {
				return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: separator with data %x and a digest that matches it: %v", seq, ev.Data, ev.DigestMatches)
			}
		}
		log.Events = append(log.Events, ev)
	}
	return log, nil
}

// CheckSeparators rejects a log with more than one separator on any CC MR
// index (a duplicated separator lets events after it masquerade as
// pre-boot events). It is enforced only with WithStrictEventLog, against the
// bad-input catalogue's wish (TDX-28): genuine OVMF logs carry two
// separators on index 1 (RTMR0, where the firmware's PCR 1 and PCR 7
// separators both land), the very shape of the catalogue's "duplicate" log,
// and the attack that log stands for (an event moved to another RTMR) is
// refused by the replay against the quote (ErrBinding) in every mode.
func (l *EventLog) CheckSeparators() error {
	seen := map[uint32]int{}
	for _, e := range l.Events {
		if e.Type != evSeparator {
			continue
		}
		if prev, dup := seen[e.MRIndex]; dup {
			return verify.Errorf(verify.ErrMalformed, "CCEL: duplicate separator at event %d on MR index %d (first at event %d)", e.Seq, e.MRIndex, prev)
		}
		seen[e.MRIndex] = e.Seq
	}
	return nil
}

func parseSpecID(b []byte) (map[uint16]int, error) {
	if len(b) < 28 || !bytes.Equal(b[:16], []byte("Spec ID Event03\x00")) {
		return nil, verify.Errorf(verify.ErrMalformed, "CCEL Spec ID event: bad signature or size %d", len(b))
	}
	n := binary.LittleEndian.Uint32(b[24:])
	if n == 0 || n > maxAlgorithms || int(n)*4 > len(b)-28 {
		return nil, verify.Errorf(verify.ErrMalformed, "CCEL Spec ID event: %d algorithms", n)
	}
	sizes := make(map[uint16]int, n)
	for i := 0; i < int(n); i++ {
		alg := binary.LittleEndian.Uint16(b[28+4*i:])
		sz := int(binary.LittleEndian.Uint16(b[30+4*i:]))
		if sz == 0 || sz > 64 {
			return nil, verify.Errorf(verify.ErrMalformed, "CCEL Spec ID event: algorithm %#x with digest size %d", alg, sz)
		}
		sizes[alg] = sz
	}
	if sizes[algSHA384] != 48 {
		return nil, verify.Errorf(verify.ErrMalformed, "CCEL Spec ID event: no SHA-384 (48-byte) digests declared")
	}
	return sizes, nil
}

// Replay extends the SHA-384 digests of the events of CC MR index 1..4 into
// RTMR0..3 and compares them with rtmrs from the quote. With unloggedRTMR3,
// RTMR3 is not compared (and the log is marked so) when the log has no RTMR3
// event; RTMR3 events that are logged are always replayed, so that none is
// reported unverified.
func (l *EventLog) Replay(rtmrs [4][48]byte, unloggedRTMR3 bool) error {
	var acc [4][48]byte
	rtmr3Logged := false
	for _, e := range l.Events {
		if e.Type == evNoAction {
			continue
		}
		if e.MRIndex == 0 {
			// CC MR index 0 is MRTD, which the TDX module builds and no log
			// replays: such an event would be reported unverified.
			return verify.Errorf(verify.ErrBinding, "CCEL event %d (%s): MR index 0 (MRTD) cannot be replayed, expected 1..4 (RTMR0..3)", e.Seq, e.TypeName)
		}
		i := e.MRIndex - 1
		rtmr3Logged = rtmr3Logged || i == 3
		h := sha512.New384()
		h.Write(acc[i][:])
		h.Write(e.Digest)
		h.Sum(acc[i][:0])
	}
	unloggedRTMR3 = unloggedRTMR3 && !rtmr3Logged
	for i := range acc {
		if i == 3 && unloggedRTMR3 {
			l.RTMR3Unlogged = true
			continue
		}
		if acc[i] != rtmrs[i] {
			return verify.Errorf(verify.ErrBinding, "rtmr_%d: event log replays to %x, quote has %x", i, acc[i], rtmrs[i])
		}
	}
	l.Replayed = acc
	if unloggedRTMR3 {
		l.Replayed[3] = rtmrs[3]
	}
	return nil
}

// KernelCmdline returns the kernel command line the boot loader logged, if
// the log holds exactly one: an EV_IPL "kernel_cmdline: " event on RTMR2
// (PCR 8, where GRUB measures it) whose SHA-384 digest (the value replayed)
// is the digest of that command line, as GRUB measures it. The text of an
// event that does not hash to its digest is not reported, nor is an event on
// another register (RTMR3 is extended at run time). A log with two or more
// "kernel_cmdline: " events on RTMR0-3, of any replayed type, reports none: a
// policy pinning the command line must not be met by one of several lines.
func (l *EventLog) KernelCmdline() (string, bool) {
	var found *Event
	for i := range l.Events {
		e := &l.Events[i]
		if e.MRIndex < 1 || e.MRIndex > 4 || e.Type == evNoAction || !strings.HasPrefix(e.Text, "kernel_cmdline: ") {
			continue
		}
		if found != nil {
			return "", false
		}
		found = e
	}
	if found == nil || found.Type != evIPL || found.MRIndex != 3 {
		return "", false
	}
	cmd := strings.TrimPrefix(found.Text, "kernel_cmdline: ")
	plain := sha512.Sum384([]byte(cmd))
	withNUL := sha512.Sum384(append([]byte(cmd), 0))
	if bytes.Equal(found.Digest, plain[:]) || bytes.Equal(found.Digest, withNUL[:]) {
		return cmd, true
	}
	return "", false
}

// printable returns the data as text when it is NUL-terminated-or-not UTF-8
// or UTF-16LE printable text; otherwise "".
func printable(b []byte) string {
	t := bytes.TrimRight(b, "\x00")
	if len(t) == 0 {
		return ""
	}
	if utf8.Valid(t) && isText(string(t)) {
		return string(t)
	}
	if len(b)%2 == 0 {
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, binary.LittleEndian.Uint16(b[i:]))
		}
		for len(u) > 0 && u[len(u)-1] == 0 {
			u = u[:len(u)-1]
		}
		s := string(utf16.Decode(u))
		if s != "" && isText(s) {
			return s
		}
	}
	return ""
}

func isText(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\t' && r != '\r') {
			return false
		}
	}
	return true
}
