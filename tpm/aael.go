package tpm

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/trustfactory/attest/internal/tcglog"
	"github.com/trustfactory/attest/verify"
)

// Caps on an AA event log.
const (
	maxAAELSize      = 1 << 20
	maxAAELEvents    = 4096
	maxAAELEventData = 64 << 10
	// aaelTag is the taggedEventID of Trustee's Attestation-Agent runtime
	// events ("AAEL"; 4c 45 41 41 on the wire).
	aaelTag = 0x4141454c
)

// AAEventLog is an Attestation-Agent event log (AAEL) as Trustee's
// attestation agent writes it on a TPM: a TCG2 crypto-agile log whose
// events are EV_EVENT_TAG runtime events tagged "AAEL", each extended into
// the PCR it names (the agent's configured PCR, 17 by default; Azure's vTPM
// refuses locality-0 extends of PCRs 17 to 22, so real events land on 23).
// The log may begin with the agent's own Spec ID event, whose signature is
// all zero. Nothing in it is trusted until it replays to the quote.
type AAEventLog struct {
	algs   []uint16 // TPM_ALG_IDs the Spec ID event declares, in its order
	Events []AAELEvent
}

// AAELEvent is one AA runtime event: "<domain> <operation> <content>" in
// PCR.
type AAELEvent struct {
	PCR                        int
	Domain, Operation, Content string
	data                       []byte              // the tagged event: id ‖ size ‖ text
	digests                    [maxSpecAlgs][]byte // in the order of algs
}

// ParseAAEventLog parses an AA event log: every event must be an
// EV_EVENT_TAG on PCR 0..23 whose data is an AAEL tagged event holding
// "<domain> <operation> <content>" (domain and operation non-empty, the
// tagged size equal to the bytes that follow). Digests are checked by
// VerifyAAEventLog, against the quote's bank.
func ParseAAEventLog(b []byte) (*AAEventLog, error) {
	d, err := tcglog.NewDecoder(b, tcglog.Format{
		Name:                "aa_eventlog",
		MaxSize:             maxAAELSize,
		MaxEvents:           maxAAELEvents,
		MaxEventData:        maxAAELEventData,
		NotAgile:            verify.ErrMalformed,
		Padded:              true,
		ZeroSpecIDSignature: true,
	})
	if err != nil {
		return nil, err
	}
	l := &AAEventLog{}
	for _, a := range d.Algs() {
		l.algs = append(l.algs, a.ID)
	}
	var raw tcglog.Event
	for {
		more, err := d.Next(&raw)
		if err != nil {
			return nil, err
		}
		if !more {
			return l, nil
		}
		if raw.Type == EvNoAction {
			continue // never extended
		}
		if raw.Type != EvEventTag || raw.Index >= maxPCRs {
			return nil, verify.Errorf(verify.ErrMalformed, "aa_eventlog event %d: type %#x on PCR %d, expected EV_EVENT_TAG on PCR 0..%d", raw.Seq, raw.Type, raw.Index, maxPCRs-1)
		}
		ev, err := parseAAELData(raw.Seq, raw.Data)
		if err != nil {
			return nil, err
		}
		ev.PCR, ev.digests = int(raw.Index), raw.Digests
		l.Events = append(l.Events, ev)
	}
}

func parseAAELData(seq int, b []byte) (AAELEvent, error) {
	if len(b) < 8 || binary.LittleEndian.Uint32(b) != aaelTag {
		return AAELEvent{}, verify.Errorf(verify.ErrMalformed, "aa_eventlog event %d: data is not an AAEL tagged event", seq)
	}
	if n := binary.LittleEndian.Uint32(b[4:]); uint64(n) != uint64(len(b)-8) {
		return AAELEvent{}, verify.Errorf(verify.ErrMalformed, "aa_eventlog event %d: tagged size %d, %d bytes follow", seq, n, len(b)-8)
	}
	domain, rest, ok1 := strings.Cut(string(b[8:]), " ")
	op, content, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || domain == "" || op == "" {
		return AAELEvent{}, verify.Errorf(verify.ErrMalformed, "aa_eventlog event %d: %q, expected \"<domain> <operation> <content>\"", seq, b[8:min(len(b), 88)])
	}
	return AAELEvent{Domain: domain, Operation: op, Content: content, data: b}, nil
}

// resetValue is a PCR's value at TPM reset: all ones for PCRs 17 to 22 (the
// DRTM PCRs, which only a dynamic launch resets to zero), else all zero.
func resetValue(pcr, size int) []byte {
	v := make([]byte, size)
	if pcr >= 17 && pcr <= 22 {
		for i := range v {
			v[i] = 0xff
		}
	}
	return v
}

// VerifyAAEventLog replays the log into the quoted PCRs of bank: each
// event's bank digest must be the digest of its tagged event (ErrBinding),
// its PCR must be quoted (ErrBinding), and each PCR the log names must
// replay from its reset value to the quoted value (ErrBinding). A PCR that
// the firmware event log also extends cannot replay from both logs: one of
// the two replays fails.
func VerifyAAEventLog(l *AAEventLog, bank crypto.Hash, quoted map[int][]byte) error {
	at := -1
	for i, a := range l.algs {
		if a == algFromHash(bank) {
			at = i
		}
	}
	if at < 0 {
		return verify.Errorf(verify.ErrMalformed, "aa_eventlog: no %v digests (declared algorithms %x), the quote's bank", bank, l.algs)
	}
	var pcrs [maxPCRs][]byte
	h := bank.New()
	for i, e := range l.Events {
		d := e.digests[at]
		if d == nil {
			return verify.Errorf(verify.ErrMalformed, "aa_eventlog event %d: no %v digest", i, bank)
		}
		h.Reset()
		h.Write(e.data)
		if sum := h.Sum(nil); !bytes.Equal(sum, d) {
			return verify.Errorf(verify.ErrBinding, "aa_eventlog event %d: %v digest %x, the tagged event hashes to %x", i, bank, d, sum)
		}
		if _, ok := quoted[e.PCR]; !ok {
			return verify.Errorf(verify.ErrBinding, "aa_eventlog event %d extends PCR %d, which the quote does not cover", i, e.PCR)
		}
		if pcrs[e.PCR] == nil {
			pcrs[e.PCR] = resetValue(e.PCR, bank.Size())
		}
		pcrs[e.PCR] = tcglog.Extend(h, pcrs[e.PCR], d)
	}
	for i, v := range pcrs {
		if v != nil && subtle.ConstantTimeCompare(v, quoted[i]) != 1 {
			return verify.Errorf(verify.ErrBinding, "pcr%02d: aa_eventlog replays to %s, the quote has %s", i, hex.EncodeToString(v), hex.EncodeToString(quoted[i]))
		}
	}
	return nil
}

// PCRs returns the PCRs the log extends, ascending.
func (l *AAEventLog) PCRs() []int {
	var seen [maxPCRs]bool
	var out []int
	for _, e := range l.Events {
		seen[e.PCR] = true
	}
	for i, s := range seen {
		if s {
			out = append(out, i)
		}
	}
	return out
}

// aaelClaims returns Trustee's "aael" claim shape:
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
