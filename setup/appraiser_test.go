package setup_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/nitro/nitrotest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// bedConfig returns a Config reading the bed's collateral from a bundle
// directory laid out as the package doc says, trusting the bed's roots.
func bedConfig(t *testing.T, bed *testbed.Bed) setup.Config {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, bed.WriteCollateral(dir))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	rv, err := bed.ReferenceValues()
	require.NoError(t, err)
	return setup.Config{
		Bundle:           root.FS(),
		Roots:            setup.Roots{TDX: []*x509.Certificate{bed.TDX.Root.Cert}, GPU: bed.GPURoots, RIM: []*x509.Certificate{bed.RIM.Root}},
		ReferenceValues:  rv,
		AppraiserOptions: []verify.AppraiserOption{verify.WithRequired(verify.FormatGPU, len(bed.GPUs))},
	}
}

// unbound returns comps without their report data: what a caller of
// AppraiseRuntimeData has (evidence and the verification time).
func unbound(comps []verify.Component) []verify.Component {
	out := make([]verify.Component, len(comps))
	for i, c := range comps {
		c.Expect.ReportData = nil
		out[i] = c
	}
	return out
}

// A TD with four GPUs, bound to one KBS session by binding.Expect, is
// affirmed by the appraiser setup builds from a bundle and reference values;
// its token passes a relying party's nonce and key-binding checks with
// nothing filled in by hand.
func TestAppraiseRuntimeData(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 4})
	require.NoError(t, err)
	a, err := setup.NewAppraiser(bedConfig(t, bed))
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	comps, err := bed.TDXComponents(s)
	require.NoError(t, err)

	ctx := context.Background()
	out, err := a.AppraiseRuntimeData(ctx, s.RuntimeData, unbound(comps)...)
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, out.Status(), "%v", out.Result.Submods)
	require.Len(t, out.Submods, 5)

	priv, jwks, err := token.GenerateKey(token.ES256, "k1")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	jwt, err := signer.SignJWT(out.Result)
	require.NoError(t, err)
	keys, err := token.ParseJWKS(jwks)
	require.NoError(t, err)
	tv, err := token.NewVerifier(keys)
	require.NoError(t, err)
	nonce, err := verify.SessionNonce(s.RuntimeData.Nonce)
	require.NoError(t, err)
	res, err := tv.Verify(ctx, jwt, token.Expectations{Now: bed.Now, Nonce: nonce})
	require.NoError(t, err)
	require.NoError(t, token.CheckKeyBinding(res, "cpu0", &s.TEEKey.PublicKey))

	// Evidence of another session is not affirmed: its report data differs.
	other, err := testbed.NewSession()
	require.NoError(t, err)
	out, err = a.AppraiseRuntimeData(ctx, other.RuntimeData, unbound(comps)...)
	require.NoError(t, err)
	require.Equal(t, ear.StatusContraindicated, out.Status())
	for _, so := range out.Submods {
		require.ErrorIs(t, so.Err, verify.ErrFreshness, so.Name)
	}

	// The session decides the report data: a caller's own is refused.
	_, err = a.AppraiseRuntimeData(ctx, s.RuntimeData, comps...)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// WithPolicy keeps the runtime-data binding and changes only the policy: a
// copy without reference values affirms nothing, the original still does.
func TestAppraiserWithPolicy(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 1})
	require.NoError(t, err)
	a, err := setup.NewAppraiser(bedConfig(t, bed))
	require.NoError(t, err)
	empty, err := policy.New(nil)
	require.NoError(t, err)
	b, err := a.WithPolicy(empty)
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	comps, err := bed.TDXComponents(s)
	require.NoError(t, err)
	out, err := b.AppraiseRuntimeData(context.Background(), s.RuntimeData, unbound(comps)...)
	require.NoError(t, err)
	require.NotEqual(t, ear.StatusAffirming, out.Status())
	out, err = a.AppraiseRuntimeData(context.Background(), s.RuntimeData, unbound(comps)...)
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, out.Status())
}

// The registry holds every format attest ships: Nitro always (its root is
// pinned), NRAS when a JWKS is given or Online is set, TPM with an AK trust.
func TestRegistryFormats(t *testing.T) {
	reg, err := setup.NewRegistry(setup.Config{})
	require.NoError(t, err)
	require.ElementsMatch(t, []verify.Format{verify.FormatTDX, verify.FormatSGX, verify.FormatSNP, verify.FormatAzureSNP, verify.FormatAzureTDX, verify.FormatGPU, verify.FormatNVSwitch, verify.FormatNitro}, reg.Formats())

	auth, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	for name, cfg := range map[string]setup.Config{
		"offline JWKS": {NRAS: setup.NRAS{JWKS: auth.JWKS()}},
		"online":       {Online: &setup.Online{}},
	} {
		reg, err := setup.NewRegistry(cfg)
		require.NoError(t, err, name)
		for _, f := range []verify.Format{verify.FormatNRASGPU, verify.FormatNRASSwitch} {
			_, ok := reg.Lookup(f)
			require.True(t, ok, "%s: %s", name, f)
		}
	}
}

// NRAS results verify through the registry with the JWKS given offline, and
// a GPU's evidence is still told apart from them.
func TestNRASOffline(t *testing.T) {
	auth, err := nrastest.NewAuthority("https://nras.example")
	require.NoError(t, err)
	reg, err := setup.NewRegistry(setup.Config{NRAS: setup.NRAS{JWKS: auth.JWKS(), BaseURL: auth.Issuer}})
	require.NoError(t, err)
	nonce := make([]byte, nras.NonceSize)
	copy(nonce, "nras session")
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	eat, err := auth.Mint(nrastest.Request{Nonce: nonce, Now: now})
	require.NoError(t, err)
	f, err := reg.Detect(eat)
	require.NoError(t, err)
	require.Equal(t, verify.FormatNRASGPU, f)
	_, err = reg.Verify(context.Background(), f, eat, verify.Expectations{ReportData: nonce, Now: now.Add(time.Minute)})
	require.NoError(t, err)
}

// Nitro's pinned root is replaceable: a document of the test hierarchy
// verifies only with its root given.
func TestNitroRoot(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	h, err := nitrotest.NewPKI(now)
	require.NoError(t, err)
	doc, err := h.Mint(nitrotest.Spec{UserData: []byte("nitro session")})
	require.NoError(t, err)
	exp := verify.Expectations{ReportData: []byte("nitro session"), Now: now.Add(time.Second)}
	pinned, err := setup.NewRegistry(setup.Config{})
	require.NoError(t, err)
	_, err = pinned.Verify(context.Background(), verify.FormatNitro, doc, exp)
	require.Error(t, err)
	reg, err := setup.NewRegistry(setup.Config{Roots: setup.Roots{Nitro: h.Root.Cert}})
	require.NoError(t, err)
	_, err = reg.Verify(context.Background(), verify.FormatNitro, doc, exp)
	require.NoError(t, err)
}

// Contradictory or bad appraiser settings are ErrConfig at construction.
func TestAppraiserConfigErrors(t *testing.T) {
	rv, err := policy.ParseReferenceValues([]byte(`{"version":"1"}`))
	require.NoError(t, err)
	p, err := policy.New(nil)
	require.NoError(t, err)
	for name, cfg := range map[string]setup.Config{
		"policy and reference values": {Policy: p, ReferenceValues: rv},
		"NRAS URL without keys":       {NRAS: setup.NRAS{BaseURL: "https://nras.example"}},
		"runtime-data hash":           {RuntimeDataHash: crypto.MD5},
		"appraiser option":            {AppraiserOptions: []verify.AppraiserOption{verify.WithRequired(verify.FormatGPU, -1)}},
		"registry":                    {Limits: setup.Limits{CacheSize: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := setup.NewAppraiser(cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
		})
	}
}

// AppraiseRuntimeData binds with the configured hash: evidence bound with
// SHA-512 is affirmed by an appraiser told SHA-512 only.
func TestRuntimeDataHash(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 1})
	require.NoError(t, err)
	cfg := bedConfig(t, bed)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	cpu, err := binding.Expect(verify.FormatTDX, s.RuntimeData, crypto.SHA512)
	require.NoError(t, err)
	comps := []verify.Component{{Format: verify.FormatTDX, Evidence: bed.Quote(cpu.ReportData, nil), Expect: verify.Expectations{Now: bed.Now}}}
	cfg.AppraiserOptions = nil
	for h, want := range map[crypto.Hash]error{crypto.SHA512: nil, crypto.SHA384: verify.ErrFreshness} {
		cfg.RuntimeDataHash = h
		a, err := setup.NewAppraiser(cfg)
		require.NoError(t, err)
		out, err := a.AppraiseRuntimeData(context.Background(), s.RuntimeData, comps...)
		require.NoError(t, err)
		if want == nil {
			require.NoError(t, out.Submods[0].Err)
		} else {
			require.ErrorIs(t, out.Submods[0].Err, want)
		}
	}
}

// ReadTestRoots reads the roots a test bed writes into its bundle, leaves
// absent files' fields empty and refuses a file that is not certificates.
func TestReadTestRoots(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 2})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, bed.WriteCollateral(dir))
	r, err := setup.ReadTestRoots(os.DirFS(dir))
	require.NoError(t, err)
	require.Len(t, r.TDX, 1)
	require.True(t, r.TDX[0].Equal(bed.TDX.Root.Cert))
	require.Len(t, r.GPU, len(bed.GPURoots))
	require.Len(t, r.RIM, 1)
	require.True(t, r.RIM[0].Equal(bed.RIM.Root))

	r, err = setup.ReadTestRoots(fstest.MapFS{})
	require.NoError(t, err)
	require.Empty(t, r.TDX)
	require.Empty(t, r.GPU)
	require.Empty(t, r.RIM)

	_, err = setup.ReadTestRoots(fstest.MapFS{"gpu/roots.pem": {Data: []byte("not PEM")}})
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = setup.ReadTestRoots(nil)
	require.ErrorIs(t, err, verify.ErrConfig)
}
