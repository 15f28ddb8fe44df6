package serve

import (
	"slices"
	"strings"

	"github.com/trustfactory/attest/internal/jsonbound"
)

// asFields are the member names of the request's own objects, by the kind
// of object: the body, an element of verification_requests, its
// runtime_data and its init_data.
var asFields = map[string][]string{
	"request":      {"verification_requests", "policy_ids"},
	"verification": {"tee", "evidence", "runtime_data", "init_data", "runtime_data_hash_algorithm"},
	"runtime_data": {"structured", "raw"},
	"init_data":    {"init_data_toml", "init_data_digest"},
}

// anyObject is the kind of every other object: only a name given twice is
// refused there.
const anyObject = "object"

// checkMemberNames refuses a request in which one object names a member
// twice, or in which the request's own objects name one of their members in
// another case or escaped. encoding/json keeps the last of two members and
// matches names case-insensitively; Trustee's attestation service (serde)
// refuses a repeated field and matches names exactly. Two readers of one
// body must never see two requests (the first runtime_data naming one key,
// the second another), so the body is refused before it is decoded.
// Members it does not know are left alone, as both readers ignore them.
// The caller bounds depth and values first (jsonbound.Check), which bounds
// the names kept.
func checkMemberNames(body []byte) *clientError {
	open := func(parent *jsonbound.Container, object bool) string {
		switch {
		case parent == nil && object:
			return "request"
		case parent == nil:
			return ""
		case parent.Kind == "request" && parent.LastKey == "verification_requests" && !object:
			return "verification_requests"
		case parent.Kind == "verification_requests" && object:
			return "verification"
		case parent.Kind == "verification" && object && (parent.LastKey == "runtime_data" || parent.LastKey == "init_data"):
			return parent.LastKey
		case object:
			return anyObject
		}
		return ""
	}
	member := func(c *jsonbound.Container, name string, escaped bool) error {
		for _, f := range asFields[c.Kind] {
			switch {
			case escaped && strings.EqualFold(name, f):
				return badRequest("%s: member name %q is escaped (names are read exactly)", c.Kind, f)
			case name != f && strings.EqualFold(name, f):
				return badRequest("%s: member %q: the name is %q (names are case-sensitive)", c.Kind, name, f)
			}
		}
		if slices.Contains(c.Names, name) {
			return badRequest("%s: member %q given twice in one object", c.Kind, name)
		}
		return nil
	}
	switch err := jsonbound.WalkMembers(body, open, member).(type) {
	case nil:
		return nil
	case *clientError:
		return err
	default:
		return badRequest("malformed JSON: %v", err)
	}
}
