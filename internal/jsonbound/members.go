package jsonbound

import (
	"encoding/json"

	"github.com/trustfactory/attest/verify"
)

// Container is an object or array WalkMembers is inside.
type Container struct {
	// Kind is what the caller's open function named it; "" containers get
	// no member calls and keep no names.
	Kind   string
	Object bool
	// LastKey is the last member name read in the object, Names every one
	// read so far (unescaped), for the caller's own checks.
	LastKey string
	Names   []string

	wantKey bool
}

// WalkMembers scans doc once, without decoding it, for the member names of
// its objects: open names the kind of each object or array as it opens
// (parent is nil at the top level; "" leaves it unwatched), member is called
// for each member name of a watched object before the name is recorded
// (escaped: the name was written with escapes; name is unescaped). It is for
// readers that must refuse what encoding/json would quietly accept, a member
// given twice or in another case. The caller bounds depth and values first
// (Check), which bounds the names kept. A member error stops the walk; a
// closing bracket with nothing open is verify.ErrMalformed.
func WalkMembers(doc []byte, open func(parent *Container, object bool) string, member func(c *Container, name string, escaped bool) error) error {
	var stack []Container
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; c {
		case '"':
			end := stringEnd(doc, i)
			start := i + 1
			i = end
			if end >= len(doc) || len(stack) == 0 {
				continue
			}
			top := &stack[len(stack)-1]
			if !top.Object || !top.wantKey {
				continue
			}
			top.wantKey = false
			if top.Kind == "" {
				continue
			}
			raw := doc[start:end]
			name, escaped := string(raw), false
			for _, b := range raw {
				if b == '\\' {
					escaped = true
					break
				}
			}
			if escaped {
				if json.Unmarshal(doc[start-1:end+1], &name) != nil {
					return verify.Errorf(verify.ErrMalformed, "member name at byte %d is not a JSON string", start-1)
				}
			}
			if err := member(top, name, escaped); err != nil {
				return err
			}
			top.Names = append(top.Names, name)
			top.LastKey = name
		case '{', '[':
			var parent *Container
			if len(stack) > 0 {
				parent = &stack[len(stack)-1]
			}
			kind := open(parent, c == '{')
			stack = append(stack, Container{Kind: kind, Object: c == '{', wantKey: c == '{'})
		case '}', ']':
			if len(stack) == 0 {
				return verify.Errorf(verify.ErrMalformed, "unbalanced %q at byte %d", c, i)
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].Object {
				stack[n-1].wantKey = true
			}
		}
	}
	return nil
}
