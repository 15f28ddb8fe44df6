// Package jsonbound bounds the structure of a JSON document before it is
// decoded. Decoders allocate per value and per level of nesting, so a
// document of a few megabytes of "[" or of short members can cost hundreds of
// megabytes; one linear scan that allocates nothing refuses such documents
// first.
package jsonbound

import (
	"bytes"

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
