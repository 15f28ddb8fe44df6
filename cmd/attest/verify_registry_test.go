package main

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// NRAS results and Nitro documents are detected through the registry (as
// every format is): the command's registry has a Nitro verifier (setup adds
// it) and an NRAS one here with a test JWKS, and the command verifies both,
// the Nitro document given as hex text.
func TestVerifyNRASAndNitroDetected(t *testing.T) {
	at := time.Date(2025, 12, 25, 13, 15, 37, 0, time.UTC) // the NSM document's timestamp
	framed, err := os.ReadFile("../../testdata/nitro/nsm-qvl_nitro_attestation.bin")
	require.NoError(t, err)
	// Dstack framing: 2 enum bytes, a 2-byte SCALE compact length, the document.
	n := int(binary.LittleEndian.Uint16(framed[2:4]) >> 2)
	doc := framed[4 : 4+n]

	a, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	nonce := []byte("0123456789abcdef0123456789abcdef")
	eat, err := a.Mint(nrastest.Request{Nonce: nonce, Now: at.Add(-time.Minute)})
	require.NoError(t, err)

	o := &verifyOptions{now: at, profile: "ietf", nonce: nonce, noBindingUnsafe: true}
	base, err := registry(o, collateralSources{})
	require.NoError(t, err)
	nv, err := nras.NewVerifier(verify.FormatNRASGPU, nras.WithJWKS(a.JWKS()))
	require.NoError(t, err)
	_, ok := base.Lookup(verify.FormatNitro)
	require.True(t, ok, "setup registers the Nitro verifier")
	reg, err := verify.NewRegistry(append(base.Verifiers(), nv)...)
	require.NoError(t, err)

	inputs, err := prepareInputs([]namedEvidence{{name: "nras.json", data: eat}, {name: "nitro.hex", data: []byte(hexLines(doc))}})
	require.NoError(t, err)
	out, err := appraiseWith(t.Context(), o, reg, nil, inputs)
	require.NoError(t, err)
	require.Len(t, out.Submods, 2)
	formats := map[verify.Format]*verify.SubmodOutcome{}
	for _, s := range out.Submods {
		formats[s.Format] = s
	}
	require.Contains(t, formats, verify.FormatNRASGPU)
	require.Contains(t, formats, verify.FormatNitro)
	assert.NoError(t, formats[verify.FormatNRASGPU].Err)
	assert.NoError(t, formats[verify.FormatNitro].Err)
}

func hexLines(b []byte) string {
	const digits = "0123456789abcdef"
	var s []byte
	for i, c := range b {
		if i > 0 && i%32 == 0 {
			s = append(s, '\n')
		}
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}
