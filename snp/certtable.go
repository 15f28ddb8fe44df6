package snp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/trustfactory/attest/verify"
)

// GUID identifies an entry of the extended-report certificate table. The 16
// bytes are in the order of the textual form (as the GHCB specification and
// the Linux ABI lay them out).
type GUID [16]byte

// String renders the GUID as 8-4-4-4-12 lowercase hex.
func (g GUID) String() string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ParseGUID parses the 8-4-4-4-12 textual form.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, verify.Errorf(verify.ErrMalformed, "guid %q: expected 8-4-4-4-12 hex", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(g[:], []byte(h)); err != nil {
		return g, verify.Errorf(verify.ErrMalformed, "guid %q: %w", s, err)
	}
	return g, nil
}

func mustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// GUIDVCEK() returns the certificate-table GUID of the VCEK entry (GHCB
// specification, MSG_REPORT_REQ). The GUIDs are functions, not variables,
// so no caller can change what another reads.
func GUIDVCEK() GUID { return guidVCEK }

// GUIDVLEK() returns the certificate-table GUID of the VLEK entry.
func GUIDVLEK() GUID { return guidVLEK }

// GUIDASK() returns the certificate-table GUID of the ASK entry; it carries
// the ASVK when the report is VLEK-signed.
func GUIDASK() GUID { return guidASK }

// GUIDARK() returns the certificate-table GUID of the ARK entry.
func GUIDARK() GUID { return guidARK }

var (
	guidVCEK = mustGUID("63da758d-e664-4564-adc5-f4b93be8accd")
	guidVLEK = mustGUID("a8074bc2-a25a-483e-aae6-39c045a0b8a1")
	guidASK  = mustGUID("4ab7b379-bbac-4fe4-a02f-05aef327c782")
	guidARK  = mustGUID("c0b406a4-a803-4952-9743-3fb6014cd0ae")
)

// Limits on the certificate table: the Linux guest driver caps the buffer at
// a few pages, and a real table has at most a handful of entries.
const (
	MaxCertTableSize    = 64 << 10
	MaxCertTableEntries = 32
	certTableEntrySize  = 24
)

// CertEntry is one certificate-table entry.
type CertEntry struct {
	GUID GUID
	Data []byte // a sub-slice of the table's bytes
}

// ParseCertTable parses an extended-report certificate table: entries of
// {GUID, offset, length} ended by an all-zero entry, each offset relative to
// the start of the table. It rejects (ErrMalformed) a missing terminator, a
// blob that starts inside the entry list or runs past the end, empty blobs,
// duplicate GUIDs and overlapping blobs; tables over MaxCertTableSize or with
// more than MaxCertTableEntries entries are ErrLimit. Nothing is allocated in
// proportion to a length field.
func ParseCertTable(b []byte) ([]CertEntry, error) {
	if len(b) > MaxCertTableSize {
		return nil, verify.Errorf(verify.ErrLimit, "certificate table: %d bytes exceeds the limit of %d", len(b), MaxCertTableSize)
	}
	type span struct{ lo, hi uint64 }
	var (
		entries []CertEntry
		spans   []span
		end     = -1
	)
	for i := 0; ; i++ {
		at := i * certTableEntrySize
		if at+certTableEntrySize > len(b) {
			return nil, verify.Errorf(verify.ErrMalformed, "certificate table: no zero terminator within %d bytes", len(b))
		}
		e := b[at : at+certTableEntrySize]
		if allZero(e) {
			end = at + certTableEntrySize
			break
		}
		if i == MaxCertTableEntries {
			return nil, verify.Errorf(verify.ErrLimit, "certificate table: more than %d entries", MaxCertTableEntries)
		}
		var g GUID
		copy(g[:], e[:16])
		off := uint64(binary.LittleEndian.Uint32(e[16:]))
		n := uint64(binary.LittleEndian.Uint32(e[20:]))
		entries = append(entries, CertEntry{GUID: g})
		spans = append(spans, span{off, off + n})
		if n == 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "certificate table entry %d (%s): zero length", i, g)
		}
		if off+n > uint64(len(b)) {
			return nil, verify.Errorf(verify.ErrMalformed, "certificate table entry %d (%s): offset %d + length %d exceeds the table's %d bytes", i, g, off, n, len(b))
		}
		for j := range i {
			if entries[j].GUID == g {
				return nil, verify.Errorf(verify.ErrMalformed, "certificate table: duplicate entry for %s (entries %d and %d)", g, j, i)
			}
		}
	}
	for i, s := range spans {
		if s.lo < uint64(end) {
			return nil, verify.Errorf(verify.ErrMalformed, "certificate table entry %d (%s): offset %d lies inside the %d-byte entry list", i, entries[i].GUID, s.lo, end)
		}
		for j := range i {
			if t := spans[j]; s.lo < t.hi && t.lo < s.hi {
				return nil, verify.Errorf(verify.ErrMalformed, "certificate table: entries %d [%d,%d) and %d [%d,%d) overlap", j, t.lo, t.hi, i, s.lo, s.hi)
			}
		}
		entries[i].Data = b[s.lo:s.hi:s.hi]
	}
	return entries, nil
}

// MarshalCertTable builds a certificate table from entries, in order.
func MarshalCertTable(entries []CertEntry) ([]byte, error) {
	if len(entries) > MaxCertTableEntries {
		return nil, verify.Errorf(verify.ErrLimit, "certificate table: %d entries exceeds the limit of %d", len(entries), MaxCertTableEntries)
	}
	head := (len(entries) + 1) * certTableEntrySize
	size := head
	for _, e := range entries {
		size += len(e.Data)
	}
	if size > MaxCertTableSize {
		return nil, verify.Errorf(verify.ErrLimit, "certificate table: %d bytes exceeds the limit of %d", size, MaxCertTableSize)
	}
	out := make([]byte, head, size)
	for i, e := range entries {
		if len(e.Data) == 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "certificate table entry %d (%s): empty", i, e.GUID)
		}
		at := i * certTableEntrySize
		copy(out[at:], e.GUID[:])
		binary.LittleEndian.PutUint32(out[at+16:], uint32(len(out)))
		binary.LittleEndian.PutUint32(out[at+20:], uint32(len(e.Data)))
		out = append(out, e.Data...)
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func guidName(g GUID) string {
	switch g {
	case guidVCEK:
		return "VCEK"
	case guidVLEK:
		return "VLEK"
	case guidASK:
		return "ASK"
	case guidARK:
		return "ARK"
	}
	return fmt.Sprintf("unknown(%s)", g)
}
