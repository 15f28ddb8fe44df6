package kbs

import (
	"slices"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// requestBody names the request's own top-level object among its objects.
const requestBody = "the request"

// requestMembers are the member names of the request's own objects: the
// body, and the objects its members hold.
var requestMembers = map[string][]string{
	requestBody:    {"init-data", "runtime-data", "tee-evidence"},
	"init-data":    {"format", "body"},
	"runtime-data": {"nonce", "tee-pubkey"},
	"tee-evidence": {"primary_evidence", "additional_evidence"},
}

// checkMemberNames refuses a body whose own objects (the body, init-data,
// runtime-data, tee-evidence) name a member twice, name one in another
// case, or escape a name. encoding/json keeps the last of two members
// and matches names case-insensitively, whereas Trustee's KBS (serde)
// refuses both: two readers of one body must never see two requests, so the
// body is refused before it is decoded. The values, the evidence and the
// TEE key included, are left to their readers (the key's members are
// checked when it is canonicalised for the binding).
func checkMemberNames(body []byte) error {
	open := func(parent *jsonbound.Container, object bool) string {
		switch {
		case !object:
			return ""
		case parent == nil:
			return requestBody
		case parent.Kind == requestBody && parent.Object:
			if _, own := requestMembers[parent.LastKey]; own {
				return parent.LastKey
			}
		}
		return ""
	}
	member := func(c *jsonbound.Container, name string, escaped bool) error {
		allowed := requestMembers[c.Kind]
		switch {
		case escaped:
			return verify.Errorf(verify.ErrMalformed, "KBS request: member name %q of %s is escaped", name, c.Kind)
		case !slices.Contains(allowed, name):
			return verify.Errorf(verify.ErrMalformed, "KBS request: member %q of %s: expected one of %q (names are case-sensitive)", name, c.Kind, allowed)
		case slices.Contains(c.Names, name):
			return verify.Errorf(verify.ErrMalformed, "KBS request: member %q of %s given twice", name, c.Kind)
		}
		return nil
	}
	return jsonbound.WalkMembers(body, open, member)
}
