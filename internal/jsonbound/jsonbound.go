// Package jsonbound bounds the structure of a JSON document before it is
// decoded. Decoders allocate per value and per level of nesting, so a
// document of a few megabytes of "[" or of short members can cost hundreds of
// megabytes; one linear scan that allocates nothing refuses such documents
// first.
package jsonbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/trustfactory/attest/verify"
)

// Check refuses, with verify.ErrLimit, a document nested deeper than
// maxDepth or holding more than maxValues array elements and object members
// (each container counts its first element or member, and each comma one
// more). what names the document in the error. Strings are skipped, escapes
// included. Check does not validate: the decoder that follows does, within
// the bounds Check has set.
func Check(doc []byte, what string, maxDepth, maxValues int) error {
	depth, values := 0, 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			i = stringEnd(doc, i)
		case '[', '{':
			if depth++; depth > maxDepth {
				return verify.Errorf(verify.ErrLimit, "%s: nesting deeper than %d at byte %d", what, maxDepth, i)
			}
			values++ // the first element or member
		case ']', '}':
			depth--
		case ',':
			values++
		}
		if values > maxValues {
			return verify.Errorf(verify.ErrLimit, "%s: more than %d values (byte %d)", what, maxValues, i)
		}
	}
	return nil
}

// Elements returns how many elements the JSON array doc holds, counted in
// one scan that allocates nothing (nested values are skipped, not counted),
// so that a caller can refuse a long array before decoding it into structs:
// encoding/json allocates a struct, and for an element of the wrong type an
// error, per element. Elements does not validate: for a document that is
// not an array it counts as if it were one, and the decoder that follows
// reports what is wrong.
func Elements(doc []byte) int {
	depth, commas, value := 0, 0, false
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			i = stringEnd(doc, i)
			value = value || depth == 1
		case '[', '{':
			depth++
			value = value || depth == 2
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				commas++
			}
		case ' ', '\t', '\r', '\n':
		default:
			value = value || depth == 1
		}
	}
	if !value {
		return 0
	}
	return commas + 1
}

// stringEnd returns the index of the quote that closes the string opened at
// doc[open] (len(doc) when none does): the next quote not escaped, found
// with bytes.IndexByte rather than byte by byte (the evidence in a request
// is long strings). A quote is escaped when an odd run of backslashes
// precedes it.
func stringEnd(doc []byte, open int) int {
	for from := open + 1; ; {
		k := bytes.IndexByte(doc[from:], '"')
		if k < 0 {
			return len(doc)
		}
		q := from + k
		n := 0
		for p := q - 1; p > open && doc[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		from = q + 1
	}
}

// Object decodes doc, a JSON object, into its members as raw values,
// refusing with verify.ErrLimit an object of more than maxMembers members
// as soon as it reads one too many (json.Unmarshal into a map would first
// decode them all: about ten times the text for short members). A member
// given twice keeps its last value, as json.Unmarshal keeps it, and counts
// twice. null is no members (a nil map). Anything else, trailing data
// included, is verify.ErrMalformed.
func Object(doc []byte, what string, maxMembers int) (map[string]json.RawMessage, error) {
	if string(bytes.Trim(doc, " \t\r\n")) == "null" { // JSON's whitespace only, not Unicode's
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	malformed := func(err error) error {
		return verify.Errorf(verify.ErrMalformed, "%s: expected a JSON object: %w", what, clipped{err})
	}
	if tok, err := dec.Token(); err != nil {
		return nil, malformed(err)
	} else if tok != json.Delim('{') {
		return nil, malformed(fmt.Errorf("got %s", describe(tok)))
	}
	out := map[string]json.RawMessage{}
	for n := 1; dec.More(); n++ {
		if n > maxMembers {
			return nil, verify.Errorf(verify.ErrLimit, "%s: more than %d members", what, maxMembers)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, malformed(fmt.Errorf("member name %s", describe(tok)))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(err)
		}
		out[key] = v
	}
	if tok, err := dec.Token(); err != nil {
		return nil, malformed(err)
	} else if tok != json.Delim('}') {
		return nil, malformed(fmt.Errorf("got %s", describe(tok)))
	}
	if len(bytes.TrimLeft(doc[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, malformed(errors.New("trailing data"))
	}
	return out, nil
}

// describe names a token for an error message, a string or number cut to 40
// bytes: the token is the caller's input, possibly megabytes of it, and an
// error message should not copy it.
func describe(tok json.Token) string {
	var s string
	switch v := tok.(type) {
	case string:
		s = strconv.Quote(v[:min(len(v), 40)])
		if len(v) > 40 {
			s += fmt.Sprintf(" (%d bytes)", len(v))
		}
		return "string " + s
	default:
		s = fmt.Sprint(v)
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// clipped is an error whose message is cut to 200 bytes: encoding/json
// quotes a number it cannot hold whole, megabytes of the caller's input.
type clipped struct{ err error }

func (c clipped) Error() string {
	s := c.err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func (c clipped) Unwrap() error { return c.err }
