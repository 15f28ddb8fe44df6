package snp_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// Options that contradict each other are refused at construction: a product
// whose roots the trusted set lacks could never verify a report.
//
// WithKDS beside WithoutRevocationUnsafe is no contradiction: a KDS
// source also supplies VCEKs and the AMD chain, which are needed without the
// CRL.
func TestContradictoryOptions(t *testing.T) {
	milan, err := snp.DefaultRoots(snp.Milan)
	require.NoError(t, err)
	_, err = snp.NewVerifier(snp.WithTrustedRoots(milan), snp.WithProduct(snp.Genoa))
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = snp.NewVerifier(snp.WithTrustedRoots(milan), snp.WithProduct(snp.Milan))
	require.NoError(t, err)
	_, err = snp.NewVerifier(snp.WithProduct(snp.Turin)) // the embedded roots cover every product
	require.NoError(t, err)
}
