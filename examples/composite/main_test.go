package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// The composite is affirming when every GPU answers the session, and a GPU
// that answers another one is contraindicated (a freshness failure) and
// makes the whole result so.
func TestRun(t *testing.T) {
	out, tok, err := run(2, -1)
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, out.Status())
	require.Len(t, out.Submods, 3)
	require.NotEmpty(t, tok)

	out, _, err = run(2, 1)
	require.NoError(t, err)
	require.Equal(t, ear.StatusContraindicated, out.Status())
	var failed []string
	for _, s := range out.Submods {
		if s.Err != nil {
			require.ErrorIs(t, s.Err, verify.ErrFreshness, s.Name)
			failed = append(failed, s.Name)
		}
	}
	require.Equal(t, []string{"gpu1"}, failed)
}
