package nras_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// policyChecks runs the default policy's GPU (or switch) rules over claims,
// as the lead's dispatch will for the NRAS formats, and returns the checks
// by id.
func policyChecks(t *testing.T, f verify.Format, claims map[string]any, now time.Time, unsafe ...verify.UnsafeSwitch) map[string]verify.Check {
	t.Helper()
	p, err := policy.New(nil)
	require.NoError(t, err)
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: f, Claims: claims, Now: now, Unsafe: unsafe})
	require.NoError(t, err)
	out := map[string]verify.Check{}
	for _, c := range r.Checks {
		out[c.ID] = c
	}
	return out
}

func TestMintedVersions(t *testing.T) {
	for _, ver := range []string{"3.0", "4.0"} {
		t.Run(ver, func(t *testing.T) {
			a, v := authority(t, nras.FormatGPU)
			eat := mint(t, a, nrastest.Request{Version: ver})
			require.True(t, v.Detect(eat))
			c, err := v.VerifyEAT(context.Background(), eat, expect())
			require.NoError(t, err)
			require.Len(t, c.Devices, 1)
			m := c.Map()
			assert.Equal(t, "success", m["measres"])
			assert.Equal(t, "550.90.07", m["x-nvidia-gpu-driver-version"])
			assert.Equal(t, ver, m["x-nvidia-gpu-claims-version"])
			assert.Equal(t, "gpu", m["x-nvidia-device-type"])
			assert.Equal(t, true, m["x-nvidia-gpu-attestation-report-nonce-match"])
			assert.Equal(t, "GPU-0", m["x-attest-nras-submod"])
			assert.Equal(t, a.KID, m["x-attest-nras-kid"])
			assert.Equal(t, "good", m["x-nvidia-gpu-attestation-report-cert-chain"].(map[string]any)["x-nvidia-cert-ocsp-status"])
			assert.NotContains(t, m, "x-nvidia-attestation-warning", "null claims are absent")
			assert.NotContains(t, m, verify.ClaimUnsafe)
			if ver == "4.0" {
				assert.Equal(t, map[string]any{"FSP_UCODE_MIN_SVN": int64(5)}, m["x-nvidia-attester-claims"])
			}
			// The default GPU policy reads the same names as for local evidence.
			checks := policyChecks(t, verify.FormatGPU, m, mintTime)
			for _, id := range []string{"gpu.measurements", "gpu.driver_rim.signature-verified", "gpu.driver_rim.version-match",
				"gpu.vbios_rim.ocsp", "gpu.ocsp", "gpu.fwid", "unsafe", "binding"} {
				assert.True(t, checks[id].OK, "%s: %+v", id, checks[id])
			}
			// Map returns a copy each time.
			m["measres"] = "fail"
			m["x-nvidia-gpu-attestation-report-cert-chain"].(map[string]any)["x-nvidia-cert-ocsp-status"] = "revoked"
			m2 := c.Map()
			assert.Equal(t, "success", m2["measres"])
			assert.Equal(t, "good", m2["x-nvidia-gpu-attestation-report-cert-chain"].(map[string]any)["x-nvidia-cert-ocsp-status"])
		})
	}
}

func TestMintedV2MapsToCertChainObjects(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	c := nrastest.GPUClaims("3.0", "1")
	for _, k := range []string{"x-nvidia-gpu-attestation-report-cert-chain", "x-nvidia-gpu-driver-rim-cert-chain", "x-nvidia-gpu-vbios-rim-cert-chain",
		"x-nvidia-gpu-attestation-report-cert-chain-fwid-match", "x-nvidia-gpu-driver-rim-version-match", "x-nvidia-gpu-vbios-rim-version-match"} {
		delete(c, k)
	}
	c["x-nvidia-gpu-attestation-report-cert-chain-validated"] = true
	c["x-nvidia-gpu-driver-rim-cert-validated"] = true
	c["x-nvidia-gpu-vbios-rim-cert-validated"] = false
	eat := mint(t, a, nrastest.Request{Version: "2.0", Devices: []nrastest.Device{{Name: "GPU-0", Claims: c}}})
	got, err := v.Verify(context.Background(), eat, expect())
	require.NoError(t, err)
	m := got.Map()
	assert.Equal(t, map[string]any{"x-nvidia-cert-status": "valid"}, m["x-nvidia-gpu-attestation-report-cert-chain"])
	assert.Equal(t, map[string]any{"x-nvidia-cert-status": "invalid"}, m["x-nvidia-gpu-vbios-rim-cert-chain"])
	// 2.0 reports no OCSP status, FWID or RIM version match: the default
	// policy affirms none of them.
	checks := policyChecks(t, verify.FormatGPU, m, mintTime)
	assert.False(t, checks["gpu.ocsp"].OK)
	assert.False(t, checks["gpu.fwid"].OK)
	assert.False(t, checks["gpu.driver_rim.version-match"].OK)
	assert.True(t, checks["gpu.measurements"].OK)
}

func TestSwitchAndKindMismatch(t *testing.T) {
	a, v := authority(t, nras.FormatSwitch)
	eat := mint(t, a, nrastest.Request{Devices: []nrastest.Device{{Name: "SWITCH-0", Claims: nrastest.SwitchClaims("3.0", "7")}}})
	c, err := v.Verify(context.Background(), eat, expect())
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, "switch", m["x-nvidia-device-type"])
	assert.Equal(t, "96.10.55.00.01", m["x-nvidia-switch-bios-version"])
	checks := policyChecks(t, verify.FormatNVSwitch, m, mintTime)
	for _, id := range []string{"switch.measurements", "switch.bios_rim.signature-verified", "switch.ocsp", "switch.fwid"} {
		assert.True(t, checks[id].OK, "%s: %+v", id, checks[id])
	}
	// A GPU verifier neither detects nor accepts switch results.
	gv, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(a.JWKS()))
	require.NoError(t, err)
	assert.False(t, gv.Detect(eat))
	_, err = gv.Verify(context.Background(), eat, expect())
	require.ErrorIs(t, err, verify.ErrUnsupported)
}

func TestMultiDeviceSplit(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	devs := []nrastest.Device{
		{Name: "GPU-0", Claims: nrastest.GPUClaims("4.0", "100")},
		{Name: "GPU-1", Claims: nrastest.GPUClaims("4.0", "101")},
		{Name: "GPU-2", Claims: nrastest.GPUClaims("4.0", "102")},
	}
	eat := mint(t, a, nrastest.Request{Version: "4.0", Devices: devs})
	ctx := context.Background()
	whole, err := v.VerifyEAT(ctx, eat, expect())
	require.NoError(t, err)
	require.Len(t, whole.Devices, 3)
	assert.Equal(t, 3, whole.Map()["x-nvidia-device-count"])

	parts, err := v.Split(eat)
	require.NoError(t, err)
	require.Len(t, parts, 3)
	var all []verify.Claims
	for i, p := range parts {
		require.True(t, v.Detect(p))
		c, err := v.VerifyEAT(ctx, p, expect())
		require.NoError(t, err, "part %d", i)
		require.Len(t, c.Devices, 1)
		assert.Equal(t, devs[i].Name, c.Devices[0].Name)
		assert.Equal(t, devs[i].Claims["ueid"], c.Map()["ueid"])
		all = append(all, c)
		again, err := v.Split(p)
		require.NoError(t, err)
		assert.Equal(t, [][]byte{p}, again, "a part splits into itself")
	}
	require.NoError(t, v.CheckSet(all))
	require.ErrorIs(t, v.CheckSet(append(all, all[0])), verify.ErrMalformed)

	// The composite appraiser splits and appraises the devices.
	reg, err := verify.NewRegistry(v)
	require.NoError(t, err)
	pol, err := policy.New(nil)
	require.NoError(t, err)
	appr, err := verify.NewAppraiser(reg, pol) // the GPU rules appraise NRAS GPU claims
	require.NoError(t, err)
	out, err := appr.AppraiseOutcome(ctx, []verify.Component{{Name: "gpu", Format: nras.FormatGPU, Evidence: eat, Expect: expect()}})
	require.NoError(t, err)
	require.Len(t, out.Submods, 3)
	for _, s := range out.Submods {
		require.NoError(t, s.Err, s.Name)
	}
}

func TestSameDeviceTwiceInOneEAT(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{Devices: []nrastest.Device{
		{Name: "GPU-0", Claims: nrastest.GPUClaims("3.0", "5")}, {Name: "GPU-1", Claims: nrastest.GPUClaims("3.0", "5")},
	}})
	_, err := v.Verify(context.Background(), eat, expect())
	require.ErrorIs(t, err, verify.ErrMalformed)
}

func TestAllowMissingReportDataUnsafe(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{})
	c, err := v.Verify(context.Background(), eat, verify.Expectations{Now: mintTime, AllowMissingReportDataUnsafe: true})
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, []string{string(verify.UnsafeMissingReportData)}, m[verify.ClaimUnsafe])
	assert.Equal(t, false, m["x-nvidia-gpu-attestation-report-nonce-match"])
	assert.False(t, policyChecks(t, verify.FormatGPU, m, mintTime, verify.UnsafeSwitchesOf(c)...)["unsafe"].OK)
}

func TestOnlineJWKS(t *testing.T) {
	a, srv, err := nrastest.NewServedAuthority()
	require.NoError(t, err)
	defer srv.Close()
	store := collateral.NewMemoryStore(0, 0)
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithBaseURL(srv.URL), nras.WithFetcher(&collateral.HTTPFetcher{}), nras.WithStore(store))
	require.NoError(t, err)
	ctx := context.Background()
	eat := mint(t, a, nrastest.Request{})
	_, err = v.Verify(ctx, eat, expect())
	require.NoError(t, err)
	_, err = v.Verify(ctx, eat, expect())
	require.NoError(t, err)
	assert.Equal(t, int64(1), srv.Requests(), "the JWKS is fetched once and cached")

	// Rotation: a token under a new kid within a minute of the fetch is
	// refused without a refetch; after a minute it is fetched again.
	old := a.Key
	na, err := nrastest.NewAuthority(srv.URL)
	require.NoError(t, err)
	a.Extra = map[string]*ecdsa.PublicKey{a.KID: &old.PublicKey}
	a.Key, a.KID = na.Key, na.KID
	eat2 := mint(t, a, nrastest.Request{})
	_, err = v.Verify(ctx, eat2, expect())
	require.ErrorIs(t, err, verify.ErrSignature)
	assert.Equal(t, int64(1), srv.Requests())
	later := expect()
	later.Now = later.Now.Add(2 * time.Minute)
	_, err = v.Verify(ctx, eat2, later)
	require.NoError(t, err)
	assert.Equal(t, int64(2), srv.Requests())
	// An invented kid refetches at most once a minute.
	for i := 0; i < 5; i++ {
		_, err = v.Verify(ctx, eat2, later)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(2), srv.Requests())

	// A token from the real issuer is not one of this instance's.
	prod, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	prod.Key, prod.KID = a.Key, a.KID
	_, err = v.Verify(ctx, mint(t, prod, nrastest.Request{}), later)
	require.ErrorIs(t, err, verify.ErrBinding)
}

func TestOnlineJWKSUnavailable(t *testing.T) {
	a, srv, err := nrastest.NewServedAuthority()
	require.NoError(t, err)
	url := srv.URL
	srv.Close()
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithBaseURL(url), nras.WithFetcher(&collateral.HTTPFetcher{MaxRetries: -1, Timeout: time.Second}))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), mint(t, a, nrastest.Request{}), expect())
	require.ErrorIs(t, err, verify.ErrCollateral)
}

func TestConfig(t *testing.T) {
	a, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	jwks := a.JWKS()
	for name, opts := range map[string][]nras.Option{
		"no key source":       nil,
		"both key sources":    {nras.WithJWKS(jwks), nras.WithFetcher(&collateral.HTTPFetcher{})},
		"store without fetch": {nras.WithJWKS(jwks), nras.WithStore(collateral.NewMemoryStore(0, 0))},
		"empty jwks":          {nras.WithJWKS(nil)},
		"bad jwks":            {nras.WithJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"}]}`))},
		"bad base url":        {nras.WithJWKS(jwks), nras.WithBaseURL("nras.example")},
		"bad version":         {nras.WithJWKS(jwks), nras.WithClaimsVersions("1.0")},
		"negative skew":       {nras.WithJWKS(jwks), nras.WithClockSkew(-time.Second)},
		"nil option":          {nras.WithJWKS(jwks), nil},
	} {
		_, err := nras.NewVerifier(nras.FormatGPU, opts...)
		assert.ErrorIs(t, err, verify.ErrConfig, name)
	}
	_, err = nras.NewVerifier(verify.FormatGPU, nras.WithJWKS(jwks))
	require.ErrorIs(t, err, verify.ErrConfig)

	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(jwks), nras.WithClaimsVersions("4.0"))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), mint(t, a, nrastest.Request{Version: "3.0"}), expect())
	require.ErrorIs(t, err, verify.ErrUnsupported)
}

func TestConcurrentVerify(t *testing.T) {
	a, srv, err := nrastest.NewServedAuthority()
	require.NoError(t, err)
	defer srv.Close()
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithBaseURL(srv.URL), nras.WithFetcher(&collateral.HTTPFetcher{}))
	require.NoError(t, err)
	eat := mint(t, a, nrastest.Request{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := v.Verify(context.Background(), eat, expect())
			if err == nil {
				_, err = json.Marshal(c.Map())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), srv.Requests())
}

// A JWKS document that does not parse is refused (ErrCollateral) and not
// cached: the next verification fetches again.
func TestOnlineJWKSBadDocumentNotCached(t *testing.T) {
	a, err := nrastest.NewAuthority("")
	require.NoError(t, err)
	var bad atomic.Bool
	bad.Store(true)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if bad.Load() {
			_, _ = w.Write([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"}]}`))
			return
		}
		_, _ = w.Write(a.JWKS())
	}))
	defer srv.Close()
	a.Issuer = srv.URL
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithBaseURL(srv.URL+"/"), nras.WithFetcher(&collateral.HTTPFetcher{}))
	require.NoError(t, err)
	eat := mint(t, a, nrastest.Request{})
	_, err = v.Verify(context.Background(), eat, expect())
	require.ErrorIs(t, err, verify.ErrCollateral)
	bad.Store(false)
	_, err = v.Verify(context.Background(), eat, expect())
	require.NoError(t, err)
	assert.Equal(t, int64(2), hits.Load())
}
