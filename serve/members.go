package serve

import (
	"encoding/json"
	"slices"
	"strings"
)

// asFields are the member names of the request's own objects, by the kind
// of object: the body, an element of verification_requests, its
// runtime_data and its init_data.
var asFields = map[string][]string{
	"body":         {"verification_requests", "policy_ids"},
	"verification": {"tee", "evidence", "runtime_data", "init_data", "runtime_data_hash_algorithm"},
	"runtime_data": {"structured", "raw"},
	"init_data":    {"init_data_toml", "init_data_digest"},
}

// checkMemberNames refuses a request in which one object names a member
// twice, or in which the request's own objects name one of their members in
// another case or escaped. encoding/json keeps the last of two members and
// matches names case-insensitively; Trustee's attestation service (serde)
// refuses a repeated field and matches names exactly. Two readers of one
// body must never see two requests (the first runtime_data naming one key,
// the second another), so the body is refused before it is decoded.
// Members it does not know are left alone, as both readers ignore them.
// The caller bounds depth and values first (jsonbound.Check), which bounds
// what this scan keeps.
func checkMemberNames(body []byte) *clientError {
	type frame struct {
		object  bool
		kind    string // a key of asFields, or "" for any other value
		wantKey bool
		lastKey string
		seen    []string
	}
	var stack []frame
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '"':
			start := i + 1
			escaped := false
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					escaped = true
					i++
				}
			}
			if len(stack) == 0 || i >= len(body) {
				continue
			}
			top := &stack[len(stack)-1]
			if !top.object || !top.wantKey {
				continue
			}
			top.wantKey = false
			name := string(body[start:i])
			if escaped {
				var s string
				if json.Unmarshal(body[start-1:i+1], &s) != nil {
					return badRequest("malformed JSON: member name at byte %d", start)
				}
				name = s
			}
			if fields, own := asFields[top.kind]; own {
				for _, f := range fields {
					switch {
					case escaped && strings.EqualFold(name, f):
						return badRequest("%s: member name %q is escaped (names are read exactly)", top.kind, f)
					case name != f && strings.EqualFold(name, f):
						return badRequest("%s: member %q: the name is %q (names are case-sensitive)", top.kind, name, f)
					}
				}
			}
			if slices.Contains(top.seen, name) {
				return badRequest("%s: member %q given twice in one object", objectKind(top.kind), name)
			}
			top.seen = append(top.seen, name)
			top.lastKey = name
		case '{', '[':
			kind := ""
			switch {
			case len(stack) == 0:
				if c == '{' {
					kind = "body"
				}
			default:
				parent := stack[len(stack)-1]
				switch {
				case parent.kind == "body" && parent.lastKey == "verification_requests" && c == '[':
					kind = "verification_requests"
				case parent.kind == "verification_requests" && c == '{':
					kind = "verification"
				case parent.kind == "verification" && c == '{' && (parent.lastKey == "runtime_data" || parent.lastKey == "init_data"):
					kind = parent.lastKey
				}
			}
			stack = append(stack, frame{object: c == '{', kind: kind, wantKey: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		}
	}
	return nil
}

func objectKind(kind string) string {
	if kind == "" {
		return "request"
	}
	return kind
}
