package tdx_test

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// An event with two SHA-384 digests is ambiguous (which one did the TD
// extend?) and is refused, as is a Spec ID event whose vendorInfoSize does
// not account for its bytes; the same log with one digest parses.
func TestCCELFramingAmbiguities(t *testing.T) {
	ccel, _ := buildCCEL(ccelEvent{1, []byte("firmware")})
	_, err := tdx.ParseCCEL(ccel)
	require.NoError(t, err)

	specEnd := 32 + int(binary.LittleEndian.Uint32(ccel[28:]))
	d := sha512.Sum384([]byte("other"))
	two := bytes.Clone(ccel[:specEnd+8])
	two = binary.LittleEndian.AppendUint32(two, 2)
	two = binary.LittleEndian.AppendUint16(two, 0x000c)
	two = append(two, d[:]...)
	two = append(two, ccel[specEnd+12:]...)
	_, err = tdx.ParseCCEL(two)
	require.ErrorIs(t, err, verify.ErrMalformed)

	vendor := bytes.Clone(ccel)
	vendor[specEnd-1] = 1 // vendorInfoSize 1, no vendor byte
	_, err = tdx.ParseCCEL(vendor)
	require.ErrorIs(t, err, verify.ErrMalformed)
}
