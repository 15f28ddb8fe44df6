package gpu

import (
	"bytes"

	"github.com/trustfactory/attest/verify"
)

// splitJSONArray returns the elements of the JSON array b, byte for byte and
// without decoding them, so that the composite appraiser can hand each device
// to a parallel verification without parsing the whole list first. It checks
// only the array's structure (brackets, strings, separators, nothing after
// the array); each element is parsed strictly when its part is verified, and
// an element that is not exactly one JSON value fails there, so the parts
// never read differently from the whole. FuzzParseEvidence checks that.
func splitJSONArray(b []byte) ([][]byte, error) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '[' {
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: expected a JSON array")
	}
	var (
		elems [][]byte
		stack []byte // brackets open inside the current element
		start = -1   // offset of the current element, -1 between elements
		err   error
	)
	for i++; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			end, ok := stringEnd(b, i+1)
			if !ok {
				return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: unterminated string at offset %d", i)
			}
			if start < 0 {
				start = i
			}
			i = end
			continue
		case '{', '[':
			// No depth limit of its own: the stack is bounded by the input,
			// and a limit encoding/json lacks would refuse evidence it parses.
			stack = append(stack, c)
		case '}', ']':
			if len(stack) == 0 {
				if c == '}' {
					return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: unbalanced '}' at offset %d", i)
				}
				if start >= 0 {
					if elems, err = appendElem(elems, b[start:i]); err != nil {
						return nil, err
					}
				} else if len(elems) > 0 {
					return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: empty element before ']' at offset %d", i)
				}
				if j := skipSpace(b, i+1); j != len(b) {
					return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: %d bytes after the array", len(b)-j)
				}
				return elems, nil
			}
			if open := stack[len(stack)-1]; (open == '{') != (c == '}') {
				return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: %q closes %q at offset %d", c, open, i)
			}
			stack = stack[:len(stack)-1]
		case ',':
			if len(stack) == 0 {
				if start < 0 {
					return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: empty element before ',' at offset %d", i)
				}
				if elems, err = appendElem(elems, b[start:i]); err != nil {
					return nil, err
				}
				start = -1
				continue
			}
		}
		if start < 0 {
			start = i
		}
	}
	return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: unterminated array")
}

// appendElem appends the element e to elems, refusing more than maxDevices
// elements: the one cap on a list's length, for Split and the fast decoder.
func appendElem(elems [][]byte, e []byte) ([][]byte, error) {
	if len(elems) == maxDevices {
		return nil, verify.Errorf(verify.ErrLimit, "GPU evidence: more than %d devices", maxDevices)
	}
	return append(elems, trimSpaceRight(e)), nil
}

// stringEnd returns the offset of the quote closing the JSON string whose
// contents start at i. A quote is escaped when an odd number of backslashes
// precede it.
func stringEnd(b []byte, i int) (int, bool) {
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, false
		}
		q := i + j
		n := 0
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q, true
		}
		i = q + 1
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func trimSpaceRight(b []byte) []byte {
	return bytes.TrimRight(b, " \t\r\n")
}

// splitEvidence returns one single-device blob per device of evidence: the
// device's object, or an array of one (evidence holding one device, and raw
// evidence, come back as they are).
func splitEvidence(evidence []byte) ([][]byte, error) {
	if len(evidence) > maxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "GPU evidence: %d bytes exceeds the cap of %d", len(evidence), maxEvidenceSize)
	}
	t := bytes.TrimLeft(evidence, " \t\r\n")
	if len(t) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: empty")
	}
	switch t[0] {
	case '[':
	case '{':
		// The Trustee wrapper is parsed whole, as Verify parses it: decoding
		// its list apart would read repeated or case-variant keys differently
		// (encoding/json merges a repeated list into the first one's elements).
		devs, err := ParseEvidence(evidence)
		if err != nil {
			return nil, err
		}
		if len(devs) == 1 || devs[0].Arch == "" {
			// One device, or a CMW collection, whose devices declare no
			// architecture to re-encode them with: verified whole.
			return [][]byte{evidence}, nil
		}
		out := make([][]byte, 0, len(devs))
		for _, d := range devs {
			b, err := EncodeEvidence([]DeviceEvidence{d})
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, nil
	default:
		if _, err := parseRaw(evidence); err != nil {
			return nil, err
		}
		return [][]byte{evidence}, nil
	}
	elems, err := splitJSONArray(t)
	if err != nil {
		return nil, err
	}
	switch len(elems) {
	case 0:
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: no device")
	case 1:
		return [][]byte{evidence}, nil
	}
	out := make([][]byte, len(elems))
	for i, e := range elems {
		// A device object in the fast decoder's plain subset is its own part,
		// without a copy: ParseEvidence reads it alone exactly as it reads it
		// in the array. Any other element is wrapped in an array of one.
		if _, ok := loneDevice(e); ok {
			out[i] = e[:len(e):len(e)]
			continue
		}
		p := make([]byte, 0, len(e)+2)
		p = append(p, '[')
		p = append(p, e...)
		out[i] = append(p, ']')
	}
	return out, nil
}
