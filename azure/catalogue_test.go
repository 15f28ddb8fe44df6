package azure_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// SNP-31: the HCL runtime-claims JSON (here the AK's modulus, or any other
// byte of it) edited in the real Azure evidence no longer hashes to the
// SEV-SNP report's REPORT_DATA: ErrBinding, no claims.
func TestSNP31HCLRuntimeDataEdited(t *testing.T) {
	v := realVerifier(t)
	_, err := v.Verify(context.Background(), readReal(t), realExp())
	require.NoError(t, err, "the unedited evidence")
	edits := map[string]func(h []byte){
		"AK modulus": func(h []byte) {
			i := bytes.Index(h, []byte(`"n":"`))
			require.GreaterOrEqual(t, i, 0)
			h[i+10] ^= 1
		},
		"a key of the runtime claims": func(h []byte) {
			i := bytes.Index(h, []byte(`"kty"`))
			require.GreaterOrEqual(t, i, 0)
			h[i+1] = 'K'
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			cl, err := v.Verify(context.Background(), editHCL(t, edit), realExp())
			require.ErrorIs(t, err, verify.ErrBinding)
			assert.Nil(t, cl)
		})
	}
}
