package tpm_test

import (
	"crypto"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Options that contradict each other are refused at construction.
func TestContradictoryOptions(t *testing.T) {
	rsaKey, _, ca := keys(t)
	trusted := tpm.WithTrustedAKs(rsaKey.Public())
	for name, tc := range map[string]struct {
		opts []tpm.Option
		ok   bool
	}{
		"WithSHA1Unsafe without the SHA-1 bank":  {opts: []tpm.Option{trusted, tpm.WithSHA1Unsafe()}},
		"the SHA-1 bank without WithSHA1Unsafe":  {opts: []tpm.Option{trusted, tpm.WithHashAlgs(crypto.SHA1)}},
		"WithTrustedAKs + WithAKRoots":           {opts: []tpm.Option{trusted, tpm.WithAKRoots(ca.Cert)}},
		"WithBoundAKsOnly + WithTrustedAKs":      {opts: []tpm.Option{trusted, tpm.WithBoundAKsOnly()}},
		"the SHA-1 bank with WithSHA1Unsafe":     {opts: []tpm.Option{trusted, tpm.WithHashAlgs(crypto.SHA1), tpm.WithSHA1Unsafe()}, ok: true},
		"pinned AKs, default banks, no switches": {opts: []tpm.Option{trusted}, ok: true},
	} {
		_, err := tpm.NewVerifier(tc.opts...)
		if tc.ok {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, verify.ErrConfig, name)
		}
	}
}
