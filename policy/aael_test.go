package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// aael_allowed pins the Attestation-Agent runtime events: every event must
// be listed (JSON contents compared as values, not bytes); an unlisted one
// contraindicates the executables; an unlogged RTMR3 cannot be held to the
// list; without the reference value the events are only recorded.
func TestAAELAllowed(t *testing.T) {
	withEvents := func(unlogged bool) map[string]any {
		c := tdxClaims()
		c["aael"] = map[string]any{
			"github.com/confidential-containers/PullImage": []any{`{"image": "busybox", "digest": "sha256:0"}`},
			"image-rs/CreateContainer":                     []any{"docker.io/library/alpine"},
		}
		c["rtmr3_unlogged"] = unlogged
		return c
	}
	allowed := Entry{Name: "aael_allowed", Value: []any{
		`github.com/confidential-containers PullImage {"digest":"sha256:0","image":"busybox"}`,
		"image-rs CreateContainer docker.io/library/alpine",
	}}

	r := appraise(t, tdxRV(t, allowed), verify.FormatTDX, withEvents(false))
	c := check(t, r, "aael.allowed")
	require.True(t, c.OK, "%+v", c)
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)

	onlyOne := Entry{Name: "aael_allowed", Value: []any{"image-rs CreateContainer docker.io/library/alpine"}}
	r = appraise(t, tdxRV(t, onlyOne), verify.FormatTDX, withEvents(false))
	c = check(t, r, "aael.allowed")
	assert.False(t, c.OK)
	assert.Contains(t, c.Reason, "PullImage")
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)

	r = appraise(t, tdxRV(t, allowed), verify.FormatTDX, withEvents(true))
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)

	r = appraise(t, tdxRV(t), verify.FormatTDX, withEvents(false))
	c = check(t, r, "aael.allowed")
	assert.True(t, c.OK)
	assert.Contains(t, c.Reason, "not pinned")
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)
}
