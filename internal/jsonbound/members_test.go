package jsonbound

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// WalkMembers reports the member names of watched objects only, unescaped
// and flagged, skips names inside strings, and refuses a stray close.
func TestWalkMembers(t *testing.T) {
	type seen struct {
		kind, name string
		escaped    bool
	}
	var got []seen
	open := func(parent *Container, object bool) string {
		if !object {
			return ""
		}
		if parent == nil {
			return "top"
		}
		if parent.Kind == "" {
			return "" // inside an array: unwatched
		}
		return parent.Kind + "/" + parent.LastKey
	}
	member := func(c *Container, name string, escaped bool) error {
		got = append(got, seen{c.Kind, name, escaped})
		if name == "stop" {
			return errors.New("stopped")
		}
		return nil
	}
	doc := `{"a":{"b":1,"c":"{\"x\":1}"},"l":[{"e":2}],"\u0064":3}`
	require.NoError(t, WalkMembers([]byte(doc), open, member))
	assert.Equal(t, []seen{{"top", "a", false}, {"top/a", "b", false}, {"top/a", "c", false},
		{"top", "l", false}, {"top", "d", true}}, got)

	got = nil
	assert.EqualError(t, WalkMembers([]byte(`{"stop":1,"after":2}`), open, member), "stopped")
	assert.Len(t, got, 1)

	err := WalkMembers([]byte(`{}}`), open, member)
	assert.True(t, errors.Is(err, verify.ErrMalformed), "%v", err)
	err = WalkMembers([]byte(`{"\u00zz":1}`), open, member)
	assert.True(t, errors.Is(err, verify.ErrMalformed), "%v", err)
	require.NoError(t, WalkMembers([]byte(`{"open string`+strings.Repeat(`\\`, 3)), open, member))
}
