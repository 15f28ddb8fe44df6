package nras_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// The real samples' nonce and pinned times (testdata/nras/README.md).
var (
	realNonce, _ = hex.DecodeString("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
	hopperTime   = time.Date(2025, 6, 11, 0, 31, 0, 0, time.UTC) // iat 00:30:58, exp 01:30:58
	switchTime   = time.Date(2025, 6, 29, 0, 0, 0, 0, time.UTC)  // iat 2025-06-28T23:57:40Z
	mintTime     = time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	testNonce    = []byte("0123456789abcdef0123456789abcdef")
)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "nras", name))
	require.NoError(tb, err)
	return b
}

// authority returns a test NRAS authority issuing as the production URL and
// a verifier of format f trusting its JWKS offline.
func authority(tb testing.TB, f verify.Format, opts ...nras.Option) (*nrastest.Authority, *nras.Verifier) {
	tb.Helper()
	a, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(tb, err)
	v, err := nras.NewVerifier(f, append([]nras.Option{nras.WithJWKS(a.JWKS())}, opts...)...)
	require.NoError(tb, err)
	return a, v
}

func mint(tb testing.TB, a *nrastest.Authority, r nrastest.Request) []byte {
	tb.Helper()
	if r.Nonce == nil {
		r.Nonce = testNonce
	}
	if r.Now.IsZero() {
		r.Now = mintTime
	}
	eat, err := a.Mint(r)
	require.NoError(tb, err)
	return eat
}

func expect() verify.Expectations {
	return verify.Expectations{ReportData: testNonce, Now: mintTime.Add(time.Minute)}
}
