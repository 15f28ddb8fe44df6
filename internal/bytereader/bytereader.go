// Package bytereader is the bounds-checked cursor of the binary evidence
// parsers (TDX quotes, TPM structures, TCG event logs). Every read checks the
// bytes left before slicing; the first failure sticks, so a parser reads a
// run of fields and checks Err once, and no later read can panic or succeed
// past a failure.
package bytereader

import (
	"encoding/binary"

	"github.com/trustfactory/attest/verify"
)

// Order is the byte order of the integers a Reader reads.
type Order uint8

// Byte orders: TDX quotes and TCG event logs are little-endian, TPM
// marshalled structures big-endian.
const (
	LittleEndian Order = iota
	BigEndian
)

// Reader reads fields from a byte slice. The zero Reader reads nothing; use
// New.
type Reader struct {
	b     []byte
	off   int
	what  string
	order Order
	err   error
}

// New returns a Reader of b whose errors name the structure what.
func New(b []byte, order Order, what string) Reader {
	return Reader{b: b, order: order, what: what}
}

// Err returns the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns the offset of the next byte to read.
func (r *Reader) Offset() int { return r.off }

// Left returns the number of bytes left to read.
func (r *Reader) Left() int { return len(r.b) - r.off }

// Fail records a failure of the given kind at the current offset, unless one
// is recorded already: the message names the structure and the offset.
func (r *Reader) Fail(kind error, format string, args ...any) {
	if r.err == nil {
		r.err = verify.Errorf(kind, "%s at offset %d: "+format, append([]any{r.what, r.off}, args...)...)
	}
}

// Take returns the next n bytes (capacity capped, so that appending to them
// cannot overwrite what follows), or nil after a failure: fewer than n bytes
// left, or a negative n, is ErrMalformed.
func (r *Reader) Take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(verify.ErrMalformed, "field %s needs %d bytes, %d left", field, n, len(r.b)-r.off)
		return nil
	}
	out := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return out
}

// Truncate drops all but the next n bytes, as when a length field bounds the
// rest of a structure; n outside 0..Left() is ErrMalformed.
func (r *Reader) Truncate(n int, field string) {
	if r.err != nil {
		return
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(verify.ErrMalformed, "field %s: %d bytes, %d left", field, n, len(r.b)-r.off)
		return
	}
	r.b = r.b[:r.off+n]
}

// U8 reads one byte, or returns 0 after a failure.
func (r *Reader) U8(field string) uint8 {
	if b := r.Take(1, field); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads a 16-bit integer, or returns 0 after a failure.
func (r *Reader) U16(field string) uint16 {
	b := r.Take(2, field)
	switch {
	case b == nil:
		return 0
	case r.order == BigEndian:
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

// U32 reads a 32-bit integer, or returns 0 after a failure.
func (r *Reader) U32(field string) uint32 {
	b := r.Take(4, field)
	switch {
	case b == nil:
		return 0
	case r.order == BigEndian:
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// U64 reads a 64-bit integer, or returns 0 after a failure.
func (r *Reader) U64(field string) uint64 {
	b := r.Take(8, field)
	switch {
	case b == nil:
		return 0
	case r.order == BigEndian:
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// Done records bytes left unread as ErrMalformed and returns Err.
func (r *Reader) Done() error {
	if r.err == nil && r.off != len(r.b) {
		r.Fail(verify.ErrMalformed, "%d trailing bytes", len(r.b)-r.off)
	}
	return r.err
}

// Peek returns the next n bytes without reading them, or nil when fewer are
// left or after a failure.
func (r *Reader) Peek(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		return nil
	}
	return r.b[r.off : r.off+n : r.off+n]
}
