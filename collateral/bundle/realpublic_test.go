package bundle_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// A second real dcap-qvl collateral document (NEAR gas test, FMSPC
// 20A06F000000, issued 2025-09-02) imports into a bundle; the bundle serves
// the real quote it was published with, and nothing for near/mpc's quote
// of another platform (B0C06F000000).
func TestRealPublicDCAPQVLCollateralBundles(t *testing.T) {
	td := filepath.Join("..", "..", "testdata", "tdx")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(td, name))
		require.NoError(t, err)
		return b
	}
	nearCol := read("dcapqvl_near_quote_collateral.json")
	nearQuote, err := hex.DecodeString(strings.TrimSpace(string(read("dcapqvl_near_quote_hex.txt"))))
	require.NoError(t, err)
	var raw []int
	require.NoError(t, json.Unmarshal(read("nearmpc_quote.json"), &raw))
	mpcQuote := make([]byte, len(raw))
	for i, x := range raw {
		mpcQuote[i] = byte(x)
	}

	c, err := bundle.ParseDCAPQVL(nearCol)
	require.NoError(t, err)
	info, err := tdx.VerifyCollateral(c, time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, [6]byte{0x20, 0xa0, 0x6f, 0, 0, 0}, info.FMSPC)
	assert.Equal(t, "platform", info.CA)

	dir := filepath.Join(t.TempDir(), "bundle")
	_, err = bundle.ImportDCAPQVL(nearCol, dir, bundle.ImportOptions{Now: time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "tdx", "tcb_info", "20A06F000000.json"))
	require.NoError(t, err)
	// Without a time the set is checked at the start of its window.
	_, err = bundle.ImportDCAPQVL(nearCol, filepath.Join(t.TempDir(), "b2"), bundle.ImportOptions{})
	require.NoError(t, err)

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS(), Online: &setup.Online{Fetcher: offline{}}})
	require.NoError(t, err)
	verifyAt := func(quote []byte, at time.Time) (verify.Claims, error) {
		q, err := tdx.ParseQuote(quote)
		require.NoError(t, err)
		return reg.Verify(context.Background(), verify.FormatTDX, quote, verify.Expectations{ReportData: q.Body.ReportData[:], Now: at})
	}
	claims, err := verifyAt(nearQuote, time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, tdx.StatusUpToDate, claims.(*tdx.Claims).TCB.Status)
	assert.True(t, claims.(*tdx.Claims).TCB.CRLsChecked)
	// The bundle holds nothing for near/mpc's platform.
	_, err = verifyAt(mpcQuote, time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC))
	require.ErrorIs(t, err, verify.ErrCollateral)
}

// dcap-qvl's October 2026 collateral names the PCK chain it was fetched for
// (pck_certificate_chain, a C string ending in NUL): it imports, because the
// chain's FMSPC and PCK CA are the set's, and a set that is not the chain's
// is refused.
func TestRealPublicDCAPQVLCollateralNamesItsChain(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_td15ex_collateral.json"))
	require.NoError(t, err)
	at := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	_, err = bundle.ImportDCAPQVL(src, filepath.Join(t.TempDir(), "b"), bundle.ImportOptions{Now: at})
	require.NoError(t, err)
	// Without a time the set is checked at the start of its window.
	_, err = bundle.ImportDCAPQVL(src, filepath.Join(t.TempDir(), "b2"), bundle.ImportOptions{})
	require.NoError(t, err)
	// After the QE identity's nextUpdate nothing imports.
	_, err = bundle.ImportDCAPQVL(src, filepath.Join(t.TempDir(), "b3"), bundle.ImportOptions{Now: time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, verify.ErrCollateral)

	// The NEAR document's chain (FMSPC 20A06F000000) named in this set.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(src, &doc))
	nearQuote, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_near_quote_hex.txt"))
	require.NoError(t, err)
	raw, err := hex.DecodeString(strings.TrimSpace(string(nearQuote)))
	require.NoError(t, err)
	q, err := tdx.ParseQuote(raw)
	require.NoError(t, err)
	doc["pck_certificate_chain"] = string(q.PCKChainPEM)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "b4")
	_, err = bundle.ImportDCAPQVL(b, dir, bundle.ImportOptions{Now: at})
	require.ErrorIs(t, err, verify.ErrCollateral)
	assert.Contains(t, err.Error(), "expected 20A06F000000")
	assert.Contains(t, err.Error(), "got B0C06F000000")
	_, statErr := os.Stat(dir)
	assert.True(t, os.IsNotExist(statErr))
}

// dcap-qvl's real SGX collateral imports as SGX collateral: its TCB info
// and QE identity go where tdx.FSSource serves SGX sets (tdx/sgx/), not
// into the TDX QE identity's place, and the bundle verifies dcap-qvl's SGX
// quote. Before, the import filed them as TDX collateral: the SGX quote
// found nothing and the TDX QE identity slot held the SGX QE's.
func TestRealPublicDCAPQVLSGXCollateralImportsAsSGX(t *testing.T) {
	sgxDir := filepath.Join("..", "..", "testdata", "sgx")
	src, err := os.ReadFile(filepath.Join(sgxDir, "dcapqvl_sgx_collateral.json"))
	require.NoError(t, err)
	quote, err := os.ReadFile(filepath.Join(sgxDir, "dcapqvl_sgx_quote.dat"))
	require.NoError(t, err)
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "bundle")
	m, err := bundle.ImportDCAPQVL(src, dir, bundle.ImportOptions{Now: at})
	require.NoError(t, err)
	var paths []string
	for _, it := range m.Items {
		paths = append(paths, it.Path)
	}
	assert.ElementsMatch(t, []string{
		"tdx/sgx/tcb_info/00A067110000.json", "tdx/sgx/tcb_info/00A067110000.issuer_chain.pem",
		"tdx/sgx/qe_identity.json", "tdx/sgx/qe_identity.issuer_chain.pem",
		"tdx/pck_crl/processor.der", "tdx/pck_crl/processor.issuer_chain.pem", "tdx/root_ca_crl.der",
	}, paths)

	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS(), Online: &setup.Online{Fetcher: offline{}}})
	require.NoError(t, err)
	rd := make([]byte, 64)
	copy(rd, "Hello, world!")
	claims, err := reg.Verify(context.Background(), verify.FormatSGX, quote, verify.Expectations{ReportData: rd, Now: at})
	require.NoError(t, err)
	assert.Equal(t, "ConfigurationAndSWHardeningNeeded", claims.Map()["tcb_status"])
	// A TDX quote finds no TDX QE identity in this SGX-only bundle.
	tdxQuote, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tdx", "dcapqvl_tdx_quote.dat"))
	require.NoError(t, err)
	q, err := tdx.ParseQuote(tdxQuote)
	require.NoError(t, err)
	_, err = reg.Verify(context.Background(), verify.FormatTDX, tdxQuote, verify.Expectations{ReportData: q.Body.ReportData[:], Now: at})
	require.ErrorIs(t, err, verify.ErrCollateral)
}
