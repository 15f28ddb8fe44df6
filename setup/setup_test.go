package setup_test

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// An offline bundle written by a test bed verifies its TDX quote and GPU
// evidence through the registry setup builds, reading every part from the
// bundle directory.
func TestOfflineBundle(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 2})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, bed.WriteCollateral(dir))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{
		Bundle: root.FS(),
		Roots:  setup.Roots{TDX: []*x509.Certificate{bed.TDX.Root.Cert}, GPU: bed.GPURoots, RIM: []*x509.Certificate{bed.RIM.Root}},
		Limits: setup.Limits{CacheSize: 64},
	})
	require.NoError(t, err)
	require.ElementsMatch(t, []verify.Format{verify.FormatTDX, verify.FormatSGX, verify.FormatSNP, verify.FormatAzureSNP, verify.FormatAzureTDX, verify.FormatGPU, verify.FormatNVSwitch, verify.FormatNitro}, reg.Formats())

	ctx := context.Background()
	rd := make([]byte, 64)
	copy(rd, "session")
	c, err := reg.Verify(ctx, verify.FormatTDX, bed.Quote(rd, nil), verify.Expectations{ReportData: rd, Now: bed.Now})
	require.NoError(t, err)
	require.Equal(t, "UpToDate", c.Map()["tcb_status"])

	nonce := make([]byte, 32)
	copy(nonce, "gpu session")
	ev, err := bed.GPUEvidence(nonce, nil)
	require.NoError(t, err)
	c, err = reg.Verify(ctx, verify.FormatGPU, ev, verify.Expectations{ReportData: nonce, Now: bed.Now})
	require.NoError(t, err)
	require.NotNil(t, c)

	// Without the pinned-root replacement the bundle's collateral does not
	// verify: nothing in a bundle is a root.
	pinned, err := setup.NewRegistry(setup.Config{Bundle: root.FS()})
	require.NoError(t, err)
	_, err = pinned.Verify(ctx, verify.FormatTDX, bed.Quote(rd, nil), verify.Expectations{ReportData: rd, Now: bed.Now})
	require.Error(t, err)
}

// Online: TDX from a PCCS and SEV-SNP from KDS, through one fetcher of the
// caller's and one store, both consulted once for two registries.
func TestOnlineSharedStore(t *testing.T) {
	tp := tdxtest.NewPKI()
	pcs := tdxtest.NewPCS(tp.DefaultCollateral())
	defer pcs.Close()
	sp, err := snptest.NewPKI(snp.Genoa)
	require.NoError(t, err)
	snpNow := snptest.Epoch().AddDate(1, 0, 0)
	crl, err := sp.CRL(snpNow.Add(-time.Hour), snpNow.AddDate(0, 0, 7))
	require.NoError(t, err)
	kds := snptest.NewKDS(sp)
	defer kds.Close()
	kds.SetCRL(snp.Genoa, snp.SigningKeyVCEK, crl)

	store := collateral.NewMemoryStore(0, 0)
	online := &setup.Online{
		Fetcher:    &collateral.HTTPFetcher{MaxRetries: -1, UserAgent: "setup-test"},
		Store:      store,
		TDXBaseURL: pcs.URL,
		PCCS:       true,
		KDSBaseURL: kds.URL(),
	}
	ctx := context.Background()
	rd := make([]byte, 64)
	copy(rd, "online")
	report, err := sp.Sign(snptest.Report{ReportData: [64]byte{'o', 'n'}, Policy: snp.PolicyReservedMustBe1})
	require.NoError(t, err)
	for i := range 2 {
		reg, err := setup.NewRegistry(setup.Config{Online: online, Roots: setup.Roots{TDX: []*x509.Certificate{tp.Root.Cert}, SNP: []snp.Roots{sp.Roots()}}})
		require.NoError(t, err)
		_, err = reg.Verify(ctx, verify.FormatTDX, tp.Quote(tp.DefaultQuote(rd)), verify.Expectations{ReportData: rd, Now: tdxtest.VerifyTime()})
		require.NoError(t, err, "registry %d", i)
		c, err := reg.Verify(ctx, verify.FormatSNP, report, verify.Expectations{ReportData: []byte("on"), Now: snpNow})
		require.NoError(t, err, "registry %d", i)
		require.Equal(t, true, c.Map()["revocation_checked"])
	}
	require.Equal(t, 1, pcs.Requests("/tdx/certification/v4/tcb"), "the second registry reads the shared store")
	require.Equal(t, int64(2), kds.Requests(), "VCEK and CRL, once")
}

// Without any collateral source, verifying what needs one fails with
// ErrCollateral and the configured hint.
func TestNoCollateral(t *testing.T) {
	tp := tdxtest.NewPKI()
	reg, err := setup.NewRegistry(setup.Config{Roots: setup.Roots{TDX: []*x509.Certificate{tp.Root.Cert}}, NoCollateralHint: "give --collateral-dir or --online"})
	require.NoError(t, err)
	rd := make([]byte, 64)
	_, err = reg.Verify(context.Background(), verify.FormatTDX, tp.Quote(tp.DefaultQuote(rd)), verify.Expectations{ReportData: rd, Now: tdxtest.VerifyTime()})
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.Contains(t, err.Error(), "--collateral-dir or --online")
}

// A TPM verifier exists exactly when an AK trust is given.
func TestTPMTrust(t *testing.T) {
	reg, err := setup.NewRegistry(setup.Config{})
	require.NoError(t, err)
	_, ok := reg.Lookup(verify.FormatTPM)
	require.False(t, ok)
	ak, err := tpmtest.NewECCAK(elliptic.P256())
	require.NoError(t, err)
	reg, err = setup.NewRegistry(setup.Config{TPM: setup.TPMTrust{AKs: []crypto.PublicKey{ak.Signer.Public()}}})
	require.NoError(t, err)
	_, ok = reg.Lookup(verify.FormatTPM)
	require.True(t, ok)
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]setup.Config{
		"negative cache size":   {Limits: setup.Limits{CacheSize: -1}},
		"PCCS without its URL":  {Online: &setup.Online{PCCS: true}},
		"negative stale bound":  {Online: &setup.Online{MaxStale: -time.Second}},
		"contradictory fetcher": {Online: &setup.Online{Fetcher: &collateral.HTTPFetcher{Client: &http.Client{}, TLSConfig: &tls.Config{}}}},
		"bad KDS URL":           {Online: &setup.Online{KDSBaseURL: "ftp://kds"}},
		"bad SNP product":       {SNPProduct: "Naples"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := setup.NewRegistry(cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
		})
	}
}

// Each unsafe switch reaches its verifier (the claims report it), and one
// beside the source of the check it turns off is a contradiction.
func TestUnsafeSwitches(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 1})
	require.NoError(t, err)
	roots := setup.Roots{TDX: []*x509.Certificate{bed.TDX.Root.Cert}, GPU: bed.GPURoots, RIM: []*x509.Certificate{bed.RIM.Root}}
	reg, err := setup.NewRegistry(setup.Config{Roots: roots, GPUAllowTrailingZeroPadding: true,
		Unsafe: setup.Unsafe{TDXWithoutCollateral: true, SNPWithoutRevocation: true, GPUWithoutRIMs: true, GPUWithoutRevocation: true}})
	require.NoError(t, err)
	ctx := context.Background()
	rd := make([]byte, 64)
	copy(rd, "session")
	c, err := reg.Verify(ctx, verify.FormatTDX, bed.Quote(rd, nil), verify.Expectations{ReportData: rd, Now: bed.Now})
	require.NoError(t, err)
	require.Contains(t, c.Map()[verify.ClaimUnsafe], "tdx.WithoutCollateralUnsafe")
	nonce := make([]byte, 32)
	copy(nonce, "gpu session")
	ev, err := bed.GPUEvidence(nonce, nil)
	require.NoError(t, err)
	c, err = reg.Verify(ctx, verify.FormatGPU, ev, verify.Expectations{ReportData: nonce, Now: bed.Now})
	require.NoError(t, err)
	u, ok := c.(verify.UnsafeReporter)
	require.True(t, ok)
	require.ElementsMatch(t, []verify.UnsafeSwitch{"gpu.WithoutRIMsUnsafe", "gpu.WithoutRevocationUnsafe"}, u.UnsafeSwitches())

	dir := t.TempDir()
	require.NoError(t, bed.WriteCollateral(dir))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	for name, cfg := range map[string]setup.Config{
		"TDX collateral in the bundle": {Bundle: root.FS(), Unsafe: setup.Unsafe{TDXWithoutCollateral: true}},
		"RIMs in the bundle":           {Bundle: root.FS(), Unsafe: setup.Unsafe{GPUWithoutRIMs: true}},
		"OCSP answers in the bundle":   {Bundle: root.FS(), Unsafe: setup.Unsafe{GPUWithoutRevocation: true}},
		"TDX online":                   {Online: &setup.Online{}, Unsafe: setup.Unsafe{TDXWithoutCollateral: true}},
		"OCSP missing tolerated":       {OCSPAllowMissingUnsafe: true, Unsafe: setup.Unsafe{GPUWithoutRevocation: true}},
	} {
		_, err := setup.NewRegistry(cfg)
		require.ErrorIs(t, err, verify.ErrConfig, name)
	}
}
