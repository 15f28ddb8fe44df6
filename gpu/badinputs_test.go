package gpu_test

import (
	"context"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

var (
	testNow   = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	testNonce = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}
)

func exp() verify.Expectations {
	return verify.Expectations{ReportData: testNonce[:], Now: testNow}
}

func verifierFor(t *testing.T, p *gputest.PKI, opts ...gpu.Option) *gpu.Verifier {
	t.Helper()
	f := verify.FormatGPU
	if p.Arch.IsSwitch() {
		f = verify.FormatNVSwitch
	}
	base := []gpu.Option{gpu.WithDeviceRoots(p.Root()), gpu.WithoutRIMsUnsafe()}
	hasOCSP := false
	for range opts {
		hasOCSP = true
	}
	if !hasOCSP {
		base = append(base, gpu.WithoutRevocationUnsafe())
	}
	v, err := gpu.NewVerifier(f, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func expectKind(t *testing.T, c verify.Claims, err error, kinds ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %v, got success", kinds)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Fatalf("expected %v, got %v", k, err)
		}
	}
	if c != nil {
		t.Fatal("claims must be nil on error")
	}
}

func TestGPUTestAttesterPasses(t *testing.T) {
	for _, arch := range []gpu.Arch{gpu.ArchHopper, gpu.ArchBlackwell, gpu.ArchLS10} {
		p := gputest.NewPKI(gputest.PKIOptions{Arch: arch})
		for _, versioned := range []bool{false, true} {
			ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Versioned: versioned}), testNonce)
			c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
			if err != nil {
				t.Fatalf("%s versioned=%v: %v", arch, versioned, err)
			}
			if c.Map()["x-nvidia-device-type"] == nil {
				t.Fatal("claims")
			}
		}
	}
}

// GPU-01: a flipped measurement byte breaks the signature.
func TestGPU01MeasurementFlip(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := p.Sign(gputest.Report{Nonce: testNonce})
	r[37+8+7] ^= 0x01 // first byte of block 1's value
	c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(r, testNonce), exp())
	expectKind(t, c, err, verify.ErrSignature)
}

// GPU-02: a signature over the response only (request and nonce excluded).
func TestGPU02SignedSpan(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := p.Sign(gputest.Report{Nonce: testNonce, SignedSpan: func(u []byte) []byte { return u[gpu.RequestSize:] }})
	c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(r, testNonce), exp())
	expectKind(t, c, err, verify.ErrSignature)
}

// GPU-03: evidence for nonce N1 presented in a session with nonce N2 (a replay).
func TestGPU03NonceMismatch(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	other := testNonce
	other[0] ^= 0xff
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: other}), other)
	c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrFreshness)
	// No expected nonce at all is a configuration error, never a skipped check.
	c, err = verifierFor(t, p).Verify(context.Background(), ev, verify.Expectations{Now: testNow})
	expectKind(t, c, err, verify.ErrConfig)
}

// GPU-04: nonces of the wrong size or not hex.
func TestGPU04NonceFormat(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := p.Sign(gputest.Report{Nonce: testNonce})
	for _, n := range []int{31, 33} {
		e := exp()
		e.ReportData = make([]byte, n)
		c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(r, testNonce), e)
		expectKind(t, c, err, verify.ErrConfig)
	}
	good := string(p.Evidence(r, testNonce))
	for _, bad := range []string{strings.Repeat("ab", 31), strings.Repeat("ab", 33), strings.Repeat("zz", 32)} {
		ev := strings.Replace(good, `"nonce":"`, `"nonce":"`+bad+`","x":"`, 1)
		c, err := verifierFor(t, p).Verify(context.Background(), []byte(ev), exp())
		expectKind(t, c, err, verify.ErrMalformed)
	}
}

// GPU-05: the device signed H(nonce) instead of the nonce.
func TestGPU05DerivedNonce(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	h := sha512.Sum512_256(testNonce[:])
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: h}), h)
	c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrFreshness)
}

// GPU-06: 4- and 6-certificate chains.
func TestGPU06ChainLength(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := p.Sign(gputest.Report{Nonce: testNonce})
	for _, certs := range [][]int{{0, 1, 2, 4}, {0, 1, 2, 3, 4, 4}} {
		var pem []byte
		for _, i := range certs {
			pem = append(pem, gputest.ChainPEM(p.Certs[i:i+1])...)
		}
		ev, _ := gpu.EncodeEvidence([]gpu.DeviceEvidence{{Arch: p.Arch, Report: r, Certificate: pem}})
		c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
		expectKind(t, c, err, verify.ErrChain)
	}
}

// GPU-07: a chain ending in an attacker's self-signed "NVIDIA Device Identity CA".
func TestGPU07AttackerRoot(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe()) // pins the real NVIDIA root
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), p.Evidence(p.Sign(gputest.Report{Nonce: testNonce}), testNonce), exp())
	expectKind(t, c, err, verify.ErrChain)
}

// GPU-08: the leaf's FWID differs from the report's (Hopper and Blackwell styles).
func TestGPU08FWIDMismatch(t *testing.T) {
	for _, arch := range []gpu.Arch{gpu.ArchHopper, gpu.ArchBlackwell} {
		p := gputest.NewPKI(gputest.PKIOptions{Arch: arch})
		ops := p.DefaultOpaque()
		for i := range ops {
			if ops[i].Type == gpu.OpaqueFWID {
				v := append([]byte(nil), ops[i].Value...)
				v[47] ^= 1
				ops[i].Value = v
			}
		}
		ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Opaque: ops}), testNonce)
		c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
		expectKind(t, c, err, verify.ErrBinding)
	}
	// Report with FWID, certificate without the extension.
	p := gputest.NewPKI(gputest.PKIOptions{NoFWIDExtension: true})
	ops := append(p.DefaultOpaque(), gpu.OpaqueField{Type: gpu.OpaqueFWID, Value: make([]byte, 48)})
	c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Opaque: ops}), testNonce), exp())
	expectKind(t, c, err, verify.ErrBinding)
}

// GPU-09: the FWID entry removed on a GPU: not a skipped check.
func TestGPU09FWIDAbsent(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	var ops []gpu.OpaqueField
	for _, f := range p.DefaultOpaque() {
		if f.Type != gpu.OpaqueFWID {
			ops = append(ops, f)
		}
	}
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Opaque: ops}), testNonce)
	c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrBinding)
	c, err = verifierFor(t, p, gpu.WithMissingFWIDUnsafe(), gpu.WithoutRevocationUnsafe()).Verify(context.Background(), ev, exp())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(c.Map()[verify.ClaimUnsafe].([]string), ","), "WithMissingFWIDUnsafe") {
		t.Fatal("unsafe option not in claims")
	}
}

func ocspVerifier(t *testing.T, p *gputest.PKI, r *gputest.Responder, opts ...ocsp.Option) *gpu.Verifier {
	t.Helper()
	src, err := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1, Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chk, err := ocsp.NewChecker(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return verifierFor(t, p, gpu.WithOCSP(chk))
}

func ocspSetup(t *testing.T) (*gputest.PKI, *gputest.Responder, []byte) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := gputest.NewDeviceResponder(p)
	r.Now = testNow
	t.Cleanup(r.Close)
	return p, r, p.Evidence(p.Sign(gputest.Report{Nonce: testNonce}), testNonce)
}

func TestOCSPLiveGood(t *testing.T) {
	p, r, ev := ocspSetup(t)
	c, err := ocspVerifier(t, p, r).Verify(context.Background(), ev, exp())
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Map()["x-nvidia-gpu-attestation-report-cert-chain"].(map[string]any)
	if ch["x-nvidia-cert-ocsp-status"] != "good" || ch["x-nvidia-cert-ocsp-nonce-matches"] != true {
		t.Fatalf("chain claims %v", ch)
	}
	// The same over POST.
	postSrc, err := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{Client: r.Server.Client()}, nil, ocsp.WithPOST())
	if err != nil {
		t.Fatal(err)
	}
	chk, _ := ocsp.NewChecker(postSrc)
	if _, err := verifierFor(t, p, gpu.WithOCSP(chk)).Verify(context.Background(), ev, exp()); err != nil {
		t.Fatalf("POST: %v", err)
	}
}

// GPU-10: revoked (keyCompromise) or unknown for an intermediate.
func TestGPU10RevokedUnknown(t *testing.T) {
	p, r, ev := ocspSetup(t)
	r.Set(p.Certs[2], gputest.CertState{Status: xocsp.Revoked, Reason: xocsp.KeyCompromise})
	c, err := ocspVerifier(t, p, r).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrRevoked)
	// "unknown" is ErrChain, as the catalogue says, and (POL-14) a
	// collateral failure rather than a revocation.
	r.Set(p.Certs[2], gputest.CertState{Status: xocsp.Unknown})
	c, err = ocspVerifier(t, p, r).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrChain, verify.ErrCollateral)
	if errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("an unknown answer is not a revocation: %v", err)
	}
}

// GPU-11: certificateHold on a device certificate, with hold allowed for RIMs.
func TestGPU11HoldScopedToRIMs(t *testing.T) {
	p, r, ev := ocspSetup(t)
	r.Set(p.Certs[1], gputest.CertState{Status: xocsp.Revoked, Reason: xocsp.CertificateHold})
	c, err := ocspVerifier(t, p, r, ocsp.WithRIMCertificateHoldUnsafe()).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrRevoked)
	// The same hold on a RIM-scoped chain is accepted with a warning.
	src, _ := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
	chk, _ := ocsp.NewChecker(src, ocsp.WithRIMCertificateHoldUnsafe())
	res, err := chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeRIM, testNow)
	if err != nil || len(res.Warnings) != 1 {
		t.Fatalf("RIM hold: %v %v", res, err)
	}
	chk2, _ := ocsp.NewChecker(src)
	if _, err := chk2.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeRIM, testNow); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("RIM hold without the option: %v", err)
	}
}

// GPU-12: nonce missing or wrong, stale answer, responder not authorised.
// The catalogue asks for an "ErrRevoked-class failure": the answer is
// refused, failing closed. Which kind is settled by POL-14, the later case:
// an answer that came and cannot be used is ErrCollateral, never ErrRevoked,
// so that a stale cache does not read as a revoked GPU.
func TestGPU12OCSPIntegrity(t *testing.T) {
	cases := map[string]func(r *gputest.Responder){
		"no nonce":     func(r *gputest.Responder) { r.NoNonce = true },
		"wrong nonce":  func(r *gputest.Responder) { r.WrongNonce = true },
		"stale":        func(r *gputest.Responder) { r.Now = testNow.Add(-72 * time.Hour) },
		"future":       func(r *gputest.Responder) { r.Now = testNow.Add(72 * time.Hour) },
		"rogue signer": func(r *gputest.Responder) { r.RogueSigner = true },
		"no OCSP EKU":  func(r *gputest.Responder) { r.NoEKU = true },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			p, r, ev := ocspSetup(t)
			mod(r)
			c, err := ocspVerifier(t, p, r).Verify(context.Background(), ev, exp())
			expectKind(t, c, err, verify.ErrCollateral)
			if errors.Is(err, verify.ErrRevoked) {
				t.Fatalf("a bad answer is not a revocation: %v", err)
			}
		})
	}
	// Without a nonce the answer is acceptable only when the source is
	// configured not to send one.
	p, r, ev := ocspSetup(t)
	r.NoNonce = true
	src, _ := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil, ocsp.WithoutNonce())
	chk, _ := ocsp.NewChecker(src)
	if _, err := verifierFor(t, p, gpu.WithOCSP(chk)).Verify(context.Background(), ev, exp()); err != nil {
		t.Fatal(err)
	}
}

// GPU-13: responder unreachable: fail closed, or a warning when allowed.
func TestGPU13Unreachable(t *testing.T) {
	p, r, ev := ocspSetup(t)
	r.Close()
	c, err := ocspVerifier(t, p, r).Verify(context.Background(), ev, exp())
	expectKind(t, c, err, verify.ErrCollateral)
	c, err = ocspVerifier(t, p, r, ocsp.WithMissingAnswersUnsafe()).Verify(context.Background(), ev, exp())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Map()["x-nvidia-attestation-warning"]; !ok {
		t.Fatal("no warning claim")
	}
}

func mutate(t *testing.T, f func(b []byte) []byte) error {
	t.Helper()
	p := gputest.NewPKI(gputest.PKIOptions{})
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Mutate: f}), testNonce)
	c, err := verifierFor(t, p).Verify(context.Background(), ev, exp())
	if c != nil && err != nil {
		t.Fatal("claims on error")
	}
	return err
}

const rec = gpu.RequestSize + 8 // first measurement block

// GPU-18: measurement record parser.
func TestGPU18RecordParser(t *testing.T) {
	cases := map[string]func(b []byte) []byte{
		"index 0":        func(b []byte) []byte { b[rec] = 0; return b },
		"index > N":      func(b []byte) []byte { b[rec] = 65; return b },
		"duplicate":      func(b []byte) []byte { b[rec+55] = 1; return b },
		"spec not DMTF":  func(b []byte) []byte { b[rec+1] = 2; return b },
		"size mismatch":  func(b []byte) []byte { b[rec+5] = 47; return b },
		"value too long": func(b []byte) []byte { binary.LittleEndian.PutUint16(b[rec+2:], 0xffff); return b },
		"record length":  func(b []byte) []byte { b[gpu.RequestSize+5]++; return b },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			if err := mutate(t, f); !errors.Is(err, verify.ErrMalformed) {
				t.Fatalf("expected ErrMalformed, got %v", err)
			}
		})
	}
	// A trailing byte after the signature.
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := append(p.Sign(gputest.Report{Nonce: testNonce}), 0x01)
	c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(r, testNonce), exp())
	expectKind(t, c, err, verify.ErrMalformed)
}

// GPU-19: opaque entries duplicated, truncated; unknown types are kept.
func TestGPU19Opaque(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	run := func(ops []gpu.OpaqueField, versioned bool) (verify.Claims, error) {
		ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce, Opaque: ops, Versioned: versioned}), testNonce)
		return verifierFor(t, p).Verify(context.Background(), ev, exp())
	}
	for _, dup := range []uint16{gpu.OpaqueFWID, gpu.OpaqueDriverVersion} {
		ops := p.DefaultOpaque()
		for _, f := range ops {
			if f.Type == dup {
				ops = append(ops, f)
			}
		}
		c, err := run(ops, false)
		expectKind(t, c, err, verify.ErrMalformed)
	}
	c, err := run(append(p.DefaultOpaque(), gpu.OpaqueField{Type: 77, ValueType: 0x85, Value: []byte{9}}), true)
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Map()["x-attest-opaque"].(map[string]any)["unknown"]; u == nil {
		t.Fatal("unknown opaque type not kept")
	}
	// Length past the end of the opaque area.
	err = mutate(t, func(b []byte) []byte {
		return append(b, 0x03, 0x00, 0xff, 0x00) // a TLV header claiming 255 bytes
	})
	if !errors.Is(err, verify.ErrMalformed) {
		t.Fatalf("expected ErrMalformed, got %v", err)
	}
}

// GPU-20: short response, truncated request.
func TestGPU20Short(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := p.Sign(gputest.Report{Nonce: testNonce})
	for _, b := range [][]byte{r[:36], r[:len(r)-1], r[:gpu.RequestSize+20], r[:len(r)-97]} {
		c, err := verifierFor(t, p).Verify(context.Background(), p.Evidence(b, testNonce), exp())
		expectKind(t, c, err, verify.ErrMalformed)
	}
}

// GPU evidence has no init-data field: an expected init-data digest cannot
// be checked, so it is a configuration error, never silently ignored.
func TestInitDataDigestNotIgnored(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	ev := p.Evidence(p.Sign(gputest.Report{Nonce: testNonce}), testNonce)
	for _, d := range [][]byte{make([]byte, 32), {}} {
		e := exp()
		e.InitDataDigest = d
		c, err := verifierFor(t, p).Verify(context.Background(), ev, e)
		expectKind(t, c, err, verify.ErrConfig)
	}
}
