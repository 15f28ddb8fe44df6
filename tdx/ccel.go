package tdx

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/trustfactory/attest/internal/tcglog"
	"github.com/trustfactory/attest/verify"
)

// Caps on event-log parsing.
const (
	maxCCELSize      = 8 << 20
	maxCCELEvents    = 16384
	maxCCELEventData = 1 << 20
)

const (
	algSHA384 = 0x000c
	aaelTag   = 0x4141454c

	evNoAction                   = tcglog.EvNoAction
	evSeparator                  = tcglog.EvSeparator
	evEventTag                   = tcglog.EvEventTag
	evIPL                        = tcglog.EvIPL
	evEFIBootServicesApplication = tcglog.EvEFIBootServicesApp
)

// ccelFormat frames the ACPI CCEL area: a crypto-agile log padded after its
// last event. Events need not carry a digest of every declared algorithm
// (Trustee's runtime agent writes only the SHA-384 one it extends), but
// carry at most one of each.
func ccelFormat() tcglog.Format {
	return tcglog.Format{
		Name:         "CCEL",
		MaxSize:      maxCCELSize,
		MaxEvents:    maxCCELEvents,
		MaxEventData: maxCCELEventData,
		NotAgile:     verify.ErrMalformed,
		Padded:       true,
		// Trustee's agent writes a log of runtime events alone behind a
		// Spec ID event with an all-zero signature.
		ZeroSpecIDSignature: true,
	}
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

// ParseCCEL parses a TCG2 crypto-agile event log as found in the ACPI CCEL
// area. Parsing stops at the padding (8 bytes of 0xFF or 0x00) after the last
// event. Every event must carry a SHA-384 digest, and at most one digest of
// each algorithm the Spec ID event declares.
func ParseCCEL(b []byte) (*EventLog, error) {
	d, err := tcglog.NewDecoder(b, ccelFormat())
	if err != nil {
		return nil, err
	}
	sha384 := -1
	for i, a := range d.Algs() {
		if a.ID == algSHA384 && a.Size == sha512.Size384 {
			sha384 = i
		}
	}
	if sha384 < 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "CCEL Spec ID event: no SHA-384 (48-byte) digests declared")
	}
	log := &EventLog{}
	var raw tcglog.Event
	for {
		more, err := d.Next(&raw)
		if err != nil {
			return nil, err
		}
		if !more {
			return log, nil
		}
		ev := Event{Seq: raw.Seq - 1, MRIndex: raw.Index, Type: raw.Type, Digest: raw.Digests[sha384], Data: raw.Data}
		if ev.Digest == nil {
			return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: no SHA-384 digest", ev.Seq)
		}
		if ev.MRIndex > 4 && ev.Type != evNoAction {
			return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: MR index %d out of range 0..4", ev.Seq, ev.MRIndex)
		}
		ev.TypeName = tcglog.TypeName(ev.Type)
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
				return nil, verify.Errorf(verify.ErrMalformed, "CCEL event %d: separator with data %x and a digest that matches it: %v", ev.Seq, ev.Data, ev.DigestMatches)
			}
		}
		log.Events = append(log.Events, ev)
	}
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

// Replay extends the SHA-384 digests of the events of CC MR index 1..4 into
// RTMR0..3 and compares them with rtmrs from the quote. With unloggedRTMR3,
// RTMR3 is not compared (and the log is marked so) when the log has no RTMR3
// event; RTMR3 events that are logged are always replayed, so that none is
// reported unverified.
func (l *EventLog) Replay(rtmrs [4][48]byte, unloggedRTMR3 bool) error {
	var acc [4][48]byte
	h := sha512.New384()
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
		tcglog.Extend(h, acc[i][:], e.Digest)
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
