package tdx

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Caps on the legacy text AA event log.
const (
	maxAAELSize   = 1 << 20
	maxAAELEvents = 4096
)

// AAELog is Trustee's legacy Attestation-Agent event log: the text carried
// in the "aa_eventlog" field of TDX evidence from 2024-05-29 until Trustee
// dropped it on 2025-07-23 (the current format logs AAEL events in the CC
// event log instead, see Event.AAEL). Its first line, "INIT sha384/<hex>",
// gives RTMR3's initial value; every other line is one runtime event,
// "<domain> <operation> <content>".
type AAELog struct {
	// InitLine is the first line as logged; it is hashed as written.
	InitLine string
	// Init is the initial register value the INIT line gives (48 bytes).
	Init []byte
	// Events are the runtime events, in log order.
	Events []AAELEvent
	// lines are the event lines as logged, hashed as written.
	lines []string
}

// ParseAAEL parses the legacy text AA event log. The INIT line must name
// SHA-384 (RTMR3's algorithm) and a 48-byte value; every event line must
// have a domain and an operation without whitespace, each followed by one
// space. Empty lines are skipped, as Trustee skipped them; a CR before a LF
// is not part of the line.
func ParseAAEL(b []byte) (*AAELog, error) {
	if len(b) > maxAAELSize {
		return nil, verify.Errorf(verify.ErrLimit, "aa_eventlog: %d bytes exceed the limit of %d", len(b), maxAAELSize)
	}
	if len(b) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "aa_eventlog: empty, expected an INIT line")
	}
	if bytes.Count(b, []byte("\n")) > maxAAELEvents {
		return nil, verify.Errorf(verify.ErrLimit, "aa_eventlog: more than %d lines", maxAAELEvents)
	}
	lines := strings.Split(string(b), "\n")
	l := &AAELog{}
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if i == 0 {
			if err := l.parseInit(line); err != nil {
				return nil, err
			}
			continue
		}
		if line == "" {
			continue
		}
		domain, rest, ok1 := strings.Cut(line, " ")
		op, content, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 || domain == "" || op == "" || strings.ContainsAny(domain+op, "\t\r\v\f") {
			return nil, verify.Errorf(verify.ErrMalformed, "aa_eventlog line %d: %q, expected \"<domain> <operation> <content>\"", i+1, truncate(line))
		}
		l.Events = append(l.Events, AAELEvent{Domain: domain, Operation: op, Content: content})
		l.lines = append(l.lines, line)
	}
	return l, nil
}

// parseInit reads "INIT sha384/<hex>", the form Trustee's attestation agent
// wrote (its documentation's "INIT/sha384 <hex>" was never emitted).
func (l *AAELog) parseInit(line string) error {
	alg, value, ok := strings.Cut(strings.TrimPrefix(line, "INIT "), "/")
	if !strings.HasPrefix(line, "INIT ") || !ok {
		return verify.Errorf(verify.ErrMalformed, "aa_eventlog line 1: %q, expected \"INIT sha384/<hex>\"", truncate(line))
	}
	if alg != "sha384" {
		return verify.Errorf(verify.ErrUnsupported, "aa_eventlog INIT algorithm: expected sha384 (RTMR3), got %q", truncate(alg))
	}
	init, err := hex.DecodeString(value)
	if err != nil || len(init) != sha512.Size384 {
		return verify.Errorf(verify.ErrMalformed, "aa_eventlog INIT value: expected %d bytes of hex, got %q", sha512.Size384, truncate(value))
	}
	l.InitLine, l.Init = line, init
	return nil
}

// Replay computes the register the log describes: starting from Init, the
// INIT line and then every event line are extended as SHA-384(s ‖
// SHA-384(line)), as Trustee's verifier replayed it.
func (l *AAELog) Replay() [48]byte {
	var s [48]byte
	copy(s[:], l.Init)
	h := sha512.New384()
	ext := func(line string) {
		d := sha512.Sum384([]byte(line))
		h.Reset()
		h.Write(s[:])
		h.Write(d[:])
		h.Sum(s[:0])
	}
	ext(l.InitLine)
	for _, line := range l.lines {
		ext(line)
	}
	return s
}

// Check replays the log and compares it with RTMR3 from the quote
// (ErrBinding on a mismatch).
func (l *AAELog) Check(rtmr3 [48]byte) error {
	if got := l.Replay(); got != rtmr3 {
		return verify.Errorf(verify.ErrBinding, "rtmr_3: aa_eventlog replays to %x, quote has %x", got, rtmr3)
	}
	return nil
}

// CheckAAEL refuses a log with an AAEL runtime event (EV_EVENT_TAG whose
// data begins with the "AAEL" tag) whose SHA-384 digest, the value replayed
// into the register, is not the digest of its data: the event's text would
// be unbound to the quote, so the log is refused (ErrBinding) rather than
// the event silently dropped from the claims.
func (l *EventLog) CheckAAEL() error {
	for _, e := range l.Events {
		if e.Type != evEventTag || len(e.Data) < 4 || binary.LittleEndian.Uint32(e.Data) != aaelTag {
			continue
		}
		if !e.DigestMatches {
			sum := sha512.Sum384(e.Data)
			return verify.Errorf(verify.ErrBinding, "CCEL event %d (AAEL): digest %x, the event data hashes to %x", e.Seq, e.Digest, sum)
		}
		if e.AAEL == nil {
			return verify.Errorf(verify.ErrMalformed, "CCEL event %d (AAEL): tagged event data is not \"<domain> <operation> <content>\" with a matching size", e.Seq)
		}
	}
	return nil
}

// aaelClaims returns Trustee's legacy "aael" claim shape:
// {"<domain>/<operation>": [content, …]} in log order.
func aaelClaims(evs []AAELEvent) map[string]any {
	m := map[string]any{}
	for _, e := range evs {
		k := e.Domain + "/" + e.Operation
		list, _ := m[k].([]any)
		m[k] = append(list, e.Content)
	}
	return m
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
