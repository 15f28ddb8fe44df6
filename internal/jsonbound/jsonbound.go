// Package jsonbound bounds the structure of a JSON document before it is
// decoded. Decoders allocate per value and per level of nesting, so a
// document of a few megabytes of "[" or of short members can cost hundreds of
// megabytes; one linear scan that allocates nothing refuses such documents
// first.
package jsonbound

import "github.com/trustfactory/attest/verify"

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
			for i++; i < len(doc) && doc[i] != '"'; i++ {
				if doc[i] == '\\' {
					i++
				}
			}
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
