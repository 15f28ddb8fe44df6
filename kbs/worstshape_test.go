package kbs_test

import (
	"crypto"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

// kbsShapeSize is the size of the shapes: a sixteenth of
// kbs.MaxRequestSize, which keeps the test to seconds; the cost per byte is
// the same (TestWorstShapeFullRequest takes the full size).
const kbsShapeSize = kbs.MaxRequestSize / 16

// TestWorstShapeParseRequest: the body of /kbs/v0/attest is read before any
// evidence in it is verified. Whatever its shape, wherever the shape sits,
// parsing it and building its composite (init data and additional evidence
// included) costs a bounded multiple of its size. Measured at most 16 bytes
// per byte (24 under the race detector, whose sync.Pool drops items): a long
// additional_evidence string is unescaped, read as JSON and canonicalized
// into the runtime data, a copy or two at each step; members encoding/json
// refuses one by one cost as much until the structure caps stop them.
func TestWorstShapeParseRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	str := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	rd := `"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC"}}`
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"unknown member", func(v string) string { return `{"x":` + v + `}` }},
		{"primary_evidence", func(v string) string {
			return `{` + rd + `,"tee-evidence":{"primary_evidence":` + v + `,"additional_evidence":""}}`
		}},
		{"additional_evidence", func(v string) string {
			return `{` + rd + `,"tee-evidence":{"primary_evidence":{},"additional_evidence":` + str(v) + `}}`
		}},
		{"additional device", func(v string) string {
			return `{` + rd + `,"tee-evidence":{"primary_evidence":{},"additional_evidence":` + str(`{"nvidia":`+v+`}`) + `}}`
		}},
		{"tee-pubkey", func(v string) string {
			return `{"runtime-data":{"nonce":"n","tee-pubkey":` + v + `},"tee-evidence":{"primary_evidence":{}}}`
		}},
		{"nonce", func(v string) string {
			return `{"runtime-data":{"nonce":` + v + `,"tee-pubkey":{"kty":"EC"}},"tee-evidence":{"primary_evidence":{}}}`
		}},
		{"init-data body", func(v string) string {
			return `{"init-data":{"format":"toml","body":` + str("version='0.1.0'\nalgorithm='sha256'\n[data]\nx="+v) + `},` + rd + `,"tee-evidence":{"primary_evidence":{}}}`
		}},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(kbsShapeSize)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				body := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(body), 32, 64<<10, func() {
					if r, err := kbs.ParseRequest(body); err == nil {
						_, _ = kbs.Components(r, verify.FormatTDX, crypto.SHA384, time.Time{})
					}
				})
			})
		}
	}
}

// TestWorstShapeFullRequest: at kbs.MaxRequestSize, a body of members
// (which encoding/json refuses one by one, at an error each) is refused by
// the structure caps before decoding, allocating next to nothing.
func TestWorstShapeFullRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	for name, body := range map[string][]byte{
		"repeated member": allocbudget.Fill(kbs.MaxRequestSize, "{", `"a":0,`, `"a":0}`),
		"zeros":           allocbudget.Fill(kbs.MaxRequestSize, `{"x":[`, "0,", "0]}"),
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			allocbudget.Within(t, len(body), 0, 64<<10, func() { _, err = kbs.ParseRequest(body) })
			require.ErrorIs(t, err, verify.ErrLimit)
		})
	}
}
