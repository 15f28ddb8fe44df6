package nitro_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/nitro"
)

// The real documents parse into what INDEX.md says they hold.
func TestParseDocumentReal(t *testing.T) {
	for _, tc := range []struct {
		s         sample
		module    string
		stampMS   int64
		userData  string
		debug     bool
		pcr0Start string
	}{
		{sampleNSM, "i-0827e799ec9232d44-enc019b55a68bd2ed4b", 1766668537578, "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", false, "5cb70295"},
		{sampleDstck, "i-0827e799ec9232d44-enc019b5640fdf630d6", 1766678659346, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550000000000000000000000000000000000000000000000000000000000000000", false, ""},
		{sampleDebug, "", 1766650846577, "", true, "000000000000"},
	} {
		t.Run(tc.s.file, func(t *testing.T) {
			d, err := nitro.ParseDocument(tc.s.read(t))
			require.NoError(t, err)
			if tc.module != "" {
				assert.Equal(t, tc.module, d.ModuleID)
			}
			assert.Equal(t, "SHA384", d.Digest)
			assert.Equal(t, time.UnixMilli(tc.stampMS).UTC(), d.Timestamp)
			assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, d.PCRIndices())
			for i, v := range d.PCRs {
				assert.Len(t, v, 48, "PCR %d", i)
			}
			if tc.userData != "" {
				assert.Equal(t, tc.userData, hex.EncodeToString(d.UserData))
			}
			assert.Nil(t, d.Nonce, "nonce is CBOR null: absent")
			assert.Nil(t, d.PublicKey, "public_key is CBOR null: absent")
			assert.Len(t, d.CABundle, 4)
			assert.Equal(t, tc.debug, d.Debug())
			assert.Contains(t, hex.EncodeToString(d.PCRs[0]), tc.pcr0Start)
			if tc.debug {
				assert.NotEqual(t, make([]byte, 48), d.PCRs[4], "PCR4 (parent instance) is set even in debug mode")
			}
		})
	}
}
