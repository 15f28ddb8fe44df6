package gpu_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

// system is a synthetic deployment: a device, its RIMs on a RIM service,
// and one OCSP responder for the device and RIM hierarchies.
type system struct {
	dev      *gputest.PKI
	rims     *rimtest.PKI
	service  *rimtest.Service
	resp     *gputest.Responder
	evidence []byte
}

func newSystem(t *testing.T) *system {
	t.Helper()
	dev := gputest.NewPKI(gputest.PKIOptions{})
	blocks := map[int][]byte{}
	for i := 1; i <= 64; i++ {
		v := make([]byte, 48)
		v[0], v[47] = byte(i), 0x5a
		blocks[i] = v
	}
	report := dev.Sign(gputest.Report{Nonce: testNonce, Measurements: blocks})
	rp, err := rimtest.NewPKI(rimtest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Driver: RIM indices 7 and 21–40; VBIOS: 0–6 and 8–12 (index 35 is
	// skipped: the default opaque data says NVDEC0 is disabled).
	drvIdx := []int{7}
	for i := 21; i <= 40; i++ {
		drvIdx = append(drvIdx, i)
	}
	drv, err := rp.Build(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(blocks, 64, drvIdx...)})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := rp.Build(rimtest.Manifest{Version: "96.00.9F.00.01", Measurements: rimtest.Golden(blocks, 64, 0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12)})
	if err != nil {
		t.Fatal(err)
	}
	svc := rimtest.NewService(map[string][]byte{
		"NV_GPU_DRIVER_GH100_550.90.07":         drv,
		"NV_GPU_VBIOS_1010_0200_882_96009F0001": vb,
	})
	t.Cleanup(svc.Close)
	cas := append(append([]*x509.Certificate{}, dev.Certs[1:]...), rp.L3, rp.CA, rp.Root)
	keys := append(append([]*ecdsa.PrivateKey{}, dev.Keys[1:]...), rp.L3Key, rp.CAKey, rp.RootKey)
	resp := gputest.NewResponder(cas, keys)
	resp.Now = testNow
	t.Cleanup(resp.Close)
	return &system{dev: dev, rims: rp, service: svc, resp: resp, evidence: dev.Evidence(report, testNonce)}
}

func (s *system) verifier(t *testing.T, opts ...ocsp.Option) *gpu.Verifier {
	t.Helper()
	src, err := rim.NewHTTPSource(s.service.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := rim.NewVerifier(rim.WithRoots(s.rims.Root))
	if err != nil {
		t.Fatal(err)
	}
	p, err := gpu.NewRIMProvider(rv, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	osrc, err := ocsp.NewHTTPSource(s.resp.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chk, err := ocsp.NewChecker(osrc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(s.dev.Root()), gpu.WithRIMs(p), gpu.WithOCSP(chk))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEndToEndSynthetic(t *testing.T) {
	s := newSystem(t)
	v := s.verifier(t)
	c, err := v.Verify(context.Background(), s.evidence, exp())
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["measres"] != "success" || m["x-attest-measurements-matched"] != 32 {
		t.Fatalf("claims: measres %v matched %v", m["measres"], m["x-attest-measurements-matched"])
	}
	for _, k := range []string{"x-nvidia-gpu-attestation-report-cert-chain", "x-nvidia-gpu-driver-rim-cert-chain", "x-nvidia-gpu-vbios-rim-cert-chain"} {
		ch := m[k].(map[string]any)
		if ch["x-nvidia-cert-ocsp-status"] != "good" || ch["x-nvidia-cert-ocsp-nonce-matches"] != true {
			t.Fatalf("%s: %v", k, ch)
		}
	}
	// Warm: neither the RIM service nor the responder is asked again.
	n := s.service.Requests()
	if _, err := v.Verify(context.Background(), s.evidence, exp()); err != nil {
		t.Fatal(err)
	}
	if s.service.Requests() != n {
		t.Fatal("warm verification fetched a RIM again")
	}
	s.resp.Close()
	if _, err := v.Verify(context.Background(), s.evidence, exp()); err != nil {
		t.Fatalf("warm verification needed the OCSP responder: %v", err)
	}
}

// RIM-06 (OCSP part): a revoked RIM signer; certificateHold on a RIM
// signer accepted only by option, with a warning claim.
func TestRIMSignerRevocation(t *testing.T) {
	s := newSystem(t)
	s.resp.Set(s.rims.Signer, gputest.CertState{Status: xocsp.Revoked, Reason: xocsp.KeyCompromise})
	c, err := s.verifier(t).Verify(context.Background(), s.evidence, exp())
	expectKind(t, c, err, verify.ErrRevoked)

	s.resp.Set(s.rims.Signer, gputest.CertState{Status: xocsp.Revoked, Reason: xocsp.CertificateHold})
	c, err = s.verifier(t).Verify(context.Background(), s.evidence, exp())
	expectKind(t, c, err, verify.ErrRevoked)
	c, err = s.verifier(t, ocsp.WithRIMCertificateHoldUnsafe()).Verify(context.Background(), s.evidence, exp())
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Map()["x-nvidia-gpu-driver-rim-cert-chain"].(map[string]any)
	if ch["x-nvidia-cert-ocsp-status"] != "revoked" || ch["x-nvidia-cert-revocation-reason"] != xocsp.CertificateHold {
		t.Fatalf("hold claims: %v", ch)
	}
	if _, ok := c.Map()["x-nvidia-attestation-warning"]; !ok {
		t.Fatal("no warning")
	}
}

// A RIM the service does not have: ErrCollateral.
func TestRIMMissing(t *testing.T) {
	s := newSystem(t)
	s.service.SetResponse("NV_GPU_VBIOS_1010_0200_882_96009F0001", []byte("{}"))
	c, err := s.verifier(t).Verify(context.Background(), s.evidence, exp())
	if err == nil || c != nil || !errors.Is(err, verify.ErrCollateral) || !verify.IsOperational(err) {
		t.Fatalf("expected a collateral failure, got %v", err)
	}
}
