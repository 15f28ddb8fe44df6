package gpu

import (
	"bytes"
	"encoding/binary"
)

// decodeListFast decodes the serialized array encoding in its common shape
// without encoding/json, which spends most of a device's non-cryptographic
// verification time on the long base64 strings. It accepts only a subset in
// which both decoders must agree: objects whose values are strings without
// escapes or non-ASCII bytes, keys spelled exactly as jsonDevice names them,
// each once. Anything else returns ok=false and encoding/json decides, errors
// included. FuzzParseEvidence compares the two.
func decodeListFast(b []byte) (list []rawDevice, ok bool) {
	elems, err := splitJSONArray(b)
	if err != nil || len(elems) == 0 {
		return nil, false
	}
	list = make([]rawDevice, len(elems))
	for i, e := range elems {
		if !decodeDeviceFast(e, &list[i]) {
			return nil, false
		}
	}
	return list, true
}

// rawDevice is a jsonDevice whose values are slices of the input.
type rawDevice struct {
	Arch, UUID, Nonce, Evidence, Certificate []byte
}

// decodeDeviceFast decodes one device object of the fast subset into d.
func decodeDeviceFast(b []byte, d *rawDevice) bool {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	var seen [5]bool
	for {
		key, next, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, next)
		if i == len(b) || b[i] != ':' {
			return false
		}
		val, next, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return false
		}
		var f int
		switch string(key) {
		case "arch":
			f, d.Arch = 0, val
		case "uuid":
			f, d.UUID = 1, val
		case "nonce":
			f, d.Nonce = 2, val
		case "evidence":
			f, d.Evidence = 3, val
		case "certificate":
			f, d.Certificate = 4, val
		default:
			return false
		}
		if seen[f] {
			return false
		}
		seen[f] = true
		i = skipSpace(b, next)
		if i == len(b) {
			return false
		}
		switch b[i] {
		case '}':
			return skipSpace(b, i+1) == len(b)
		case ',':
			i = skipSpace(b, i+1)
		default:
			return false
		}
	}
}

// plainString reads a JSON string at b[i] whose contents are ASCII without
// control characters or backslashes, and returns the contents and the offset
// after it.
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	n := bytes.IndexByte(b[i+1:], '"')
	if n < 0 {
		return nil, 0, false
	}
	s = b[i+1 : i+1+n]
	if bytes.IndexByte(s, '\\') >= 0 || !plainASCII(s) {
		return nil, 0, false
	}
	return s, i + 2 + n, true
}

// plainASCII reports whether every byte of s is in 0x20..0x7f, eight bytes
// at a time: a word has a byte below 0x20 when subtracting 0x20 from each
// byte borrows into a byte whose top bit was clear, and a byte above 0x7f
// when a top bit is set.
func plainASCII(s []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(s) >= 8 {
		w := binary.LittleEndian.Uint64(s)
		if w&hi != 0 || (w-lo)&^w&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}
