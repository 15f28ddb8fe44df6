package kbs

import (
	"slices"

	"github.com/trustfactory/attest/verify"
)

// requestMembers are the member names of the request's own objects, by the
// member of the body that holds them ("" is the body).
var requestMembers = map[string][]string{
	"":             {"init-data", "runtime-data", "tee-evidence"},
	"init-data":    {"format", "body"},
	"runtime-data": {"nonce", "tee-pubkey"},
	"tee-evidence": {"primary_evidence", "additional_evidence"},
}

// checkMemberNames refuses a body whose own objects (the body, init-data,
// runtime-data, tee-evidence) name a member twice, name one in another
// case, or escape a name. encoding/json keeps the last of two members
// and matches names case-insensitively, whereas Trustee's KBS (serde)
// refuses both: two readers of one body must never see two requests, so the
// body is refused before it is decoded. It scans the text once without
// allocating for it; the values, the evidence and the TEE key included, are
// left to their readers (the key's members are checked when it is
// canonicalised for the binding).
func checkMemberNames(body []byte) error {
	// Only the body and its members' objects are checked, so only the two
	// outer levels are kept; deeper nesting is counted, never stored.
	type frame struct {
		object  bool
		path    string // the member of the body this object is; "-" when not checked
		wantKey bool   // the next string is a member name
		seen    []string
	}
	var outer [2]frame
	depth := 0
	lastKey := ""
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch c {
		case '"':
			start := i + 1
			escaped := false
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					escaped = true
					i++
				}
			}
			if depth < 1 || depth > len(outer) {
				continue
			}
			top := &outer[depth-1]
			if !top.object || !top.wantKey {
				continue
			}
			top.wantKey = false
			allowed, checked := requestMembers[top.path]
			if !checked {
				continue
			}
			name := string(body[start:min(i, len(body))])
			switch {
			case escaped:
				return verify.Errorf(verify.ErrMalformed, "KBS request: member name %q of %s is escaped", name, objectName(top.path))
			case !slices.Contains(allowed, name):
				return verify.Errorf(verify.ErrMalformed, "KBS request: member %q of %s: expected one of %q (names are case-sensitive)", name, objectName(top.path), allowed)
			case slices.Contains(top.seen, name):
				return verify.Errorf(verify.ErrMalformed, "KBS request: member %q of %s given twice", name, objectName(top.path))
			}
			top.seen = append(top.seen, name)
			if depth == 1 {
				lastKey = name
			}
		case '{', '[':
			depth++
			switch {
			case depth == 1:
				outer[0] = frame{object: c == '{', path: "", wantKey: c == '{'}
			case depth == 2:
				path := "-"
				if outer[0].object {
					path = lastKey
				}
				outer[1] = frame{object: c == '{', path: path, wantKey: c == '{'}
			}
		case '}', ']':
			if depth == 0 {
				// Not JSON: the decoder refuses it too; this scan must not
				// count below the top level.
				return verify.Errorf(verify.ErrMalformed, "KBS request: unbalanced %q at byte %d", c, i)
			}
			depth--
		case ',':
			if depth >= 1 && depth <= len(outer) && outer[depth-1].object {
				outer[depth-1].wantKey = true
			}
		}
	}
	return nil
}

func objectName(path string) string {
	if path == "" {
		return "the request"
	}
	return path
}
