package gpu_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/verify"
)

// GPU-19: signed opaque data with a duplicated entry (known or unknown
// type: no last-wins) or an entry whose length runs past the end is
// ErrMalformed with no claims. An unknown type alone is kept and reported
// (see ParseOpaqueData for why attest deviates from the catalogue there).
func TestGPU19OpaqueTLVs(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	unknown := gpu.OpaqueField{Type: 77, ValueType: 0x85, Value: []byte{9}}
	dup := func(typ uint16) []gpu.OpaqueField {
		ops := p.DefaultOpaque()
		for _, f := range p.DefaultOpaque() {
			if f.Type == typ {
				ops = append(ops, f)
			}
		}
		return ops
	}
	cases := []struct {
		name      string
		ops       []gpu.OpaqueField
		versioned bool
		mut       func([]byte) []byte
		want      error // nil: accepted
	}{
		{"duplicate FWID", dup(gpu.OpaqueFWID), false, nil, verify.ErrMalformed},
		{"duplicate driver version", dup(gpu.OpaqueDriverVersion), true, nil, verify.ErrMalformed},
		{"duplicate unknown type", append(p.DefaultOpaque(), unknown, unknown), true, nil, verify.ErrMalformed},
		{"length past the end", nil, false, func(b []byte) []byte { return append(b, 0x03, 0x00, 0xff, 0x00) }, verify.ErrMalformed},
		{"unknown type, once", append(p.DefaultOpaque(), unknown), true, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Opaque: c.ops, Versioned: c.versioned, Mutate: c.mut}), testNonce)
			cl, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
			if c.want == nil {
				require.NoError(t, err)
				opaque, ok := cl.Map()["x-attest-opaque"].(map[string]any)
				require.True(t, ok)
				assert.NotNil(t, opaque["unknown"], "the unknown type is reported")
				return
			}
			require.ErrorIs(t, err, c.want)
			assert.Nil(t, cl)
		})
	}
}
