// Package tcglog decodes TCG crypto-agile event logs (TCG PC Client
// Platform Firmware Profile §10.2, "Crypto Agile Log Entry Format"): a
// SHA-1-format first event carrying the Spec ID event, which declares the
// digest algorithms and their sizes, then events carrying one digest per
// algorithm. TPM event logs and the CC event log (CCEL) of TDX share the
// format; the tpm and tdx packages decode both with this package and apply
// their own rules (registers, algorithms, separators) on top.
//
// Every length is checked against the bytes left before anything is sliced,
// and the log size, the event count and the size of each event's data are
// capped, so that no input can panic or allocate beyond what it holds. Data
// and digests alias the log's bytes.
package tcglog

import (
	"bytes"
	"hash"

	"github.com/trustfactory/attest/internal/bytereader"
	"github.com/trustfactory/attest/verify"
)

// MaxAlgs is the most digest algorithms a Spec ID event may declare.
const MaxAlgs = 8

// maxDigestSize bounds the digest size of an algorithm the parser does not
// know (SHA-512 and SM3 digests are 64 and 32 bytes).
const maxDigestSize = 64

const (
	specIDSignature = "Spec ID Event03\x00"
	// specIDFixedSize: signature, platformClass, version and errata,
	// uintnSize, numberOfAlgorithms.
	specIDFixedSize = 16 + 4 + 4 + 4
	// paddingSize: a fixed-size log area (the ACPI CCEL) is padded after
	// its last event with 0xFF or 0x00 bytes; 8 of them cannot begin an event.
	paddingSize = 8
)

// Alg is one digest algorithm the Spec ID event declares.
type Alg struct {
	ID   uint16 // TPM_ALG_ID
	Size int    // digest size in bytes, 1..64
}

// Format says how a log of one kind is framed and bounded. The zero Format
// takes nothing: MaxSize and MaxEvents must be set.
type Format struct {
	// Name names the log in errors, e.g. "CCEL" or "event log".
	Name string
	// MaxSize caps the log's bytes, MaxEvents its events (ErrLimit).
	MaxSize, MaxEvents int
	// MaxEventData caps one event's data (ErrLimit); 0 leaves it bounded
	// by the log alone.
	MaxEventData int
	// NotAgile is the kind of error for a log whose first event is not a
	// crypto-agile Spec ID event: ErrUnsupported where SHA-1-format logs
	// exist (TPM), ErrMalformed (also when nil) where the format is always
	// crypto agile.
	NotAgile error
	// SpecIDOnIndexZero requires the Spec ID event to be logged on index 0
	// (a TPM's PCR 0); CCELs log it on CC MR index 0 or 1.
	SpecIDOnIndexZero bool
	// Padded ends the log at 8 bytes of 0xFF or of 0x00 where an event
	// would begin, or at fewer than 8 bytes left: the unused tail of a
	// fixed-size area. Without it the log ends at its last byte.
	Padded bool
	// AllDigests requires every event to carry exactly one digest per
	// declared algorithm, in the declared order, as the PC Client profile
	// does. Without it an event carries 1..len(Algs) digests of declared
	// algorithms, each at most once (Trustee's runtime events carry only
	// the one they extend).
	AllDigests bool
	// ZeroSpecIDSignature also accepts a Spec ID event whose 16-byte
	// signature is all zero: Trustee's attestation agent prepends such a
	// header (SHA-384 and SM3 declared) to its runtime events when the
	// firmware left no CC event log.
	ZeroSpecIDSignature bool
}

// Event is one event after the Spec ID event.
type Event struct {
	Seq   int    // position in the log, from 1 (the Spec ID event is 0)
	Index uint32 // PCR or CC MR index
	Type  uint32
	// Digests holds each digest at the position of its algorithm in Algs;
	// it is nil for an algorithm the event carries no digest of.
	Digests [MaxAlgs][]byte
	Data    []byte
}

// Decoder reads the events of a log one by one, so that each caller checks
// every event as it comes and keeps only what it needs.
type Decoder struct {
	r    bytereader.Reader
	f    Format
	algs []Alg
	seq  int
	end  bool
}

// NewDecoder checks the log's size and decodes its Spec ID event.
func NewDecoder(b []byte, f Format) (*Decoder, error) {
	if f.NotAgile == nil {
		f.NotAgile = verify.ErrMalformed
	}
	if len(b) > f.MaxSize {
		return nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceed the limit of %d", f.Name, len(b), f.MaxSize)
	}
	d := &Decoder{r: bytereader.New(b, bytereader.LittleEndian, f.Name), f: f}
	index, typ := d.r.U32("Spec ID event index"), d.r.U32("Spec ID event type")
	d.r.Take(20, "Spec ID event SHA-1 digest")
	size := d.r.U32("Spec ID event size")
	if err := d.r.Err(); err != nil {
		return nil, err
	}
	if typ != EvNoAction || (f.SpecIDOnIndexZero && index != 0) {
		return nil, verify.Errorf(f.NotAgile, "%s: first event is index %d type %#x, expected the crypto-agile Spec ID event (EV_NO_ACTION); SHA-1-format logs are not supported", f.Name, index, typ)
	}
	// Sizes are compared as unsigned before any conversion to int, which
	// is 32 bits wide on some platforms.
	if uint64(size) > uint64(d.r.Left()) {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: Spec ID event size %d exceeds the %d bytes left", f.Name, size, d.r.Left())
	}
	algs, err := parseSpecID(d.r.Take(int(size), "Spec ID event"), f)
	if err != nil {
		return nil, err
	}
	d.algs = algs
	return d, nil
}

// parseSpecID decodes TCG_EfiSpecIDEvent: the declared algorithms, each once
// and with a digest size of 1..64 bytes, and a vendorInfoSize that accounts
// for every byte left.
func parseSpecID(b []byte, f Format) ([]Alg, error) {
	if len(b) < specIDFixedSize || !(bytes.Equal(b[:16], []byte(specIDSignature)) || (f.ZeroSpecIDSignature && allBytes(b[:16], 0))) {
		return nil, verify.Errorf(f.NotAgile, "%s: first event is not a %q Spec ID event", f.Name, specIDSignature[:15])
	}
	r := bytereader.New(b[24:], bytereader.LittleEndian, f.Name+" Spec ID event")
	n := r.U32("numberOfAlgorithms")
	if n == 0 || n > MaxAlgs {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: Spec ID numberOfAlgorithms %d, expected 1..%d", f.Name, n, MaxAlgs)
	}
	if uint64(r.Left()) < uint64(n)*4+1 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: Spec ID lists %d algorithms in %d bytes", f.Name, n, r.Left())
	}
	algs := make([]Alg, 0, n)
	for range n {
		a := Alg{ID: r.U16("algorithmId"), Size: int(r.U16("digestSize"))}
		if a.Size == 0 || a.Size > maxDigestSize {
			return nil, verify.Errorf(verify.ErrMalformed, "%s: Spec ID declares algorithm %#04x with digest size %d, expected 1..%d", f.Name, a.ID, a.Size, maxDigestSize)
		}
		for _, b := range algs {
			if b.ID == a.ID {
				return nil, verify.Errorf(verify.ErrMalformed, "%s: Spec ID declares algorithm %#04x twice", f.Name, a.ID)
			}
		}
		algs = append(algs, a)
	}
	if vendor := int(r.U8("vendorInfoSize")); vendor != r.Left() {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: Spec ID vendorInfoSize %d, %d bytes left", f.Name, vendor, r.Left())
	}
	return algs, nil
}

// Algs returns the algorithms the Spec ID event declares, in its order.
func (d *Decoder) Algs() []Alg { return d.algs }

// Next decodes the next event into ev and reports whether there was one. It
// returns false at the end of the log (or of its padding) and after an error.
func (d *Decoder) Next(ev *Event) (bool, error) {
	if d.end {
		return false, nil
	}
	if d.atEnd() {
		d.end = true
		return false, nil
	}
	d.end = true // until this event decodes
	if d.seq >= d.f.MaxEvents {
		return false, verify.Errorf(verify.ErrLimit, "%s: more than %d events", d.f.Name, d.f.MaxEvents)
	}
	d.seq++
	*ev = Event{Seq: d.seq}
	r := &d.r
	ev.Index, ev.Type = r.U32("event index"), r.U32("event type")
	count := r.U32("digest count")
	if err := r.Err(); err != nil {
		return false, err
	}
	if d.f.AllDigests && count != uint32(len(d.algs)) {
		return false, verify.Errorf(verify.ErrMalformed, "%s: event %d carries %d digests, the Spec ID event declares %d algorithms", d.f.Name, ev.Seq, count, len(d.algs))
	}
	if count == 0 || count > uint32(len(d.algs)) {
		return false, verify.Errorf(verify.ErrMalformed, "%s: event %d carries %d digests, expected 1..%d (the algorithms the Spec ID event declares)", d.f.Name, ev.Seq, count, len(d.algs))
	}
	for i := range int(count) {
		id := r.U16("digest algorithm")
		if err := r.Err(); err != nil {
			return false, err
		}
		at, err := d.place(ev, i, id)
		if err != nil {
			return false, err
		}
		ev.Digests[at] = r.Take(d.algs[at].Size, "digest")
	}
	size := r.U32("event size")
	if err := r.Err(); err != nil {
		return false, err
	}
	if d.f.MaxEventData > 0 && uint64(size) > uint64(d.f.MaxEventData) {
		return false, verify.Errorf(verify.ErrLimit, "%s: event %d: %d bytes of data exceed the limit of %d", d.f.Name, ev.Seq, size, d.f.MaxEventData)
	}
	if uint64(size) > uint64(r.Left()) {
		return false, verify.Errorf(verify.ErrMalformed, "%s: event %d data size %d exceeds the %d bytes left", d.f.Name, ev.Seq, size, r.Left())
	}
	ev.Data = r.Take(int(size), "event data")
	d.end = false
	return true, nil
}

// place returns where the event's i-th digest, of algorithm id, goes.
func (d *Decoder) place(ev *Event, i int, id uint16) (int, error) {
	if d.f.AllDigests {
		if id != d.algs[i].ID {
			return 0, verify.Errorf(verify.ErrMalformed, "%s: event %d digest %d is algorithm %#04x, the Spec ID event declares %#04x in that place", d.f.Name, ev.Seq, i, id, d.algs[i].ID)
		}
		return i, nil
	}
	for at, a := range d.algs {
		if a.ID != id {
			continue
		}
		if ev.Digests[at] != nil {
			return 0, verify.Errorf(verify.ErrMalformed, "%s: event %d carries two digests of algorithm %#04x", d.f.Name, ev.Seq, id)
		}
		return at, nil
	}
	return 0, verify.Errorf(verify.ErrMalformed, "%s: event %d: digest algorithm %#04x not declared in the Spec ID event", d.f.Name, ev.Seq, id)
}

// atEnd reports whether the log ends where the next event would begin.
func (d *Decoder) atEnd() bool {
	left := d.r.Left()
	if left == 0 {
		return true
	}
	if !d.f.Padded {
		return false
	}
	if left < paddingSize {
		return true
	}
	next := d.r.Peek(paddingSize)
	return allBytes(next, 0xff) || allBytes(next, 0x00)
}

func allBytes(b []byte, v byte) bool {
	for _, c := range b {
		if c != v {
			return false
		}
	}
	return true
}

// Extend returns H(mr ‖ digest) in mr's storage, as a TPM2_PCR_Extend or an
// RTMR extend of one event digest computes it; h is reset first.
func Extend(h hash.Hash, mr, digest []byte) []byte {
	h.Reset()
	h.Write(mr)
	h.Write(digest)
	return h.Sum(mr[:0])
}
