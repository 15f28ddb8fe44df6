package bundle_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/verify"
)

// TestImportDCAPQVLSGXThenVerify imports dcap-qvl's real SGX collateral, as
// README's offline flow says (attest collateral import --from dcap-qvl),
// and verifies dcap-qvl's real SGX quote from the bundle alone. SGX TCB info
// and QE identity belong under tdx/sgx/ (tdx.FSSource's layout): filed at
// the TDX paths, the SGX verifier found nothing and a TDX verifier would
// have been handed an SGX QE identity.
func TestImportDCAPQVLSGXThenVerify(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sgx", "dcapqvl_sgx_collateral.json"))
	require.NoError(t, err)
	quote, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sgx", "dcapqvl_sgx_quote.dat"))
	require.NoError(t, err)
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "bundle")
	m, err := bundle.ImportDCAPQVL(src, dir, bundle.ImportOptions{Now: at, Clock: func() time.Time { return at }})
	require.NoError(t, err)
	require.Len(t, m.Items, 7)
	for _, p := range []string{"tdx/sgx/tcb_info/00A067110000.json", "tdx/sgx/qe_identity.json", "tdx/pck_crl/processor.der", "tdx/root_ca_crl.der"} {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		assert.NoError(t, err, p)
	}
	for _, p := range []string{"tdx/tcb_info/00A067110000.json", "tdx/qe_identity.json"} {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		assert.ErrorIs(t, err, os.ErrNotExist, "SGX collateral filed at the TDX path %s", p)
	}

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS(), Online: &setup.Online{Fetcher: offline{}}})
	require.NoError(t, err)
	q, err := sgx.ParseQuote(quote)
	require.NoError(t, err)
	claims, err := reg.Verify(context.Background(), verify.FormatSGX, quote, verify.Expectations{ReportData: q.Body.ReportData[:], Now: at})
	require.NoError(t, err)
	assert.Equal(t, "ConfigurationAndSWHardeningNeeded", claims.Map()["tcb_status"])
}
