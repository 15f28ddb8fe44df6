// Package offlinetest shows how to test a service that relies on attest
// without hardware or network: the test attesters (tdx/tdxtest, gpu/gputest,
// gpu/rim/rimtest) mint a TDX quote and any number of GPU reports bound to a
// session, with every certificate, collateral item, RIM and OCSP answer the
// verifiers need, all in memory. A Bed is one such world; its verifiers trust
// only its test roots.
//
// Never use a Bed outside tests: every key is generated in memory.
package offlinetest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Now is the time a Bed's evidence verifies at: inside the validity of the
// TDX test collateral.
var Now = tdxtest.VerifyTime

// Firmware versions of the minted GPUs (the gputest defaults).
const (
	DriverVersion = "550.90.07"
	VBIOSVersion  = "96.00.9F.00.01"
)

// Bed is a complete offline world for one CPU TEE (TDX) and n GPUs.
type Bed struct {
	Now time.Time

	TDX           *tdxtest.PKI
	TDXCollateral *tdx.Collateral

	GPURoot    *x509.Certificate
	gpuRootKey *ecdsa.PrivateKey
	GPUs       []*gputest.PKI
	// Measurements are the GPU measurement blocks by SPDM index (1-based);
	// the RIMs list them as golden values.
	Measurements map[int][]byte

	RIM  *rimtest.PKI
	RIMs map[string][]byte // RIM ID → signed SWID document
	// OCSP holds one DER answer per certificate serial (hex), signed by the
	// certificate's issuer.
	OCSP map[string][]byte
}

// Driver and VBIOS RIM measurement indices (RIM index i is SPDM block i+1).
var driverActive, vbiosActive = span(0, 21), span(21, 33)

func span(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// New returns a Bed with n GPUs that share one device root.
func New(n int) (*Bed, error) {
	if n < 0 || n > 64 {
		return nil, fmt.Errorf("offlinetest: %d GPUs", n)
	}
	b := &Bed{Now: Now, TDX: tdxtest.NewPKI(), OCSP: map[string][]byte{}, RIMs: map[string][]byte{}, Measurements: map[int][]byte{}}
	b.TDXCollateral = b.TDX.DefaultCollateral()
	b.GPURoot, b.gpuRootKey = gputest.NewRoot()
	for i := 0; i < n; i++ {
		p := gputest.NewPKI(gputest.PKIOptions{Root: b.GPURoot, RootKey: b.gpuRootKey})
		b.GPUs = append(b.GPUs, p)
		// Answers for the BROM, the provisioner ICA and the identity CA.
		for j := 1; j < len(p.Certs)-1; j++ {
			if err := b.answer(p.Certs[j], p.Certs[j+1], p.Keys[j+1], xocsp.Good); err != nil {
				return nil, err
			}
		}
	}
	for _, i := range append(append([]int{}, driverActive...), vbiosActive...) {
		v := make([]byte, 48)
		_, _ = rand.Read(v)
		b.Measurements[i+1] = v
	}
	var err error
	if b.RIM, err = rimtest.NewPKI(rimtest.PKIOptions{}); err != nil {
		return nil, err
	}
	rc := b.RIM.Chain()
	keys := []*ecdsa.PrivateKey{b.RIM.SignerKey, b.RIM.L3Key, b.RIM.CAKey, b.RIM.RootKey}
	for j := 0; j < len(rc)-1; j++ {
		if err := b.answer(rc[j], rc[j+1], keys[j+1], xocsp.Good); err != nil {
			return nil, err
		}
	}
	driver, err := b.RIM.Build(rimtest.Manifest{Version: DriverVersion, Measurements: rimtest.Golden(b.Measurements, 64, driverActive...)})
	if err != nil {
		return nil, err
	}
	vbios, err := b.RIM.Build(rimtest.Manifest{Version: VBIOSVersion, Measurements: rimtest.Golden(b.Measurements, 64, vbiosActive...)})
	if err != nil {
		return nil, err
	}
	b.RIMs["NV_GPU_DRIVER_GH100_"+DriverVersion] = driver
	b.RIMs["NV_GPU_VBIOS_1010_0200_882_"+strings.ReplaceAll(VBIOSVersion, ".", "")] = vbios
	return b, nil
}

// answer mints an OCSP answer for cert signed directly by its issuer, valid
// for a day around the Bed's time.
func (b *Bed) answer(cert, issuer *x509.Certificate, key *ecdsa.PrivateKey, status int) error {
	der, err := xocsp.CreateResponse(issuer, issuer, xocsp.Response{
		Status: status, SerialNumber: cert.SerialNumber, IssuerHash: crypto.SHA384,
		ThisUpdate: b.Now.Add(-time.Hour), NextUpdate: b.Now.Add(23 * time.Hour),
		RevokedAt: b.Now.Add(-2 * time.Hour), RevocationReason: xocsp.KeyCompromise,
	}, key)
	if err != nil {
		return fmt.Errorf("offlinetest: OCSP answer for %s: %w", cert.Subject.CommonName, err)
	}
	b.OCSP[cert.SerialNumber.Text(16)] = der
	return nil
}

// RevokeGPU makes the OCSP answer for GPU i's BROM certificate "revoked".
func (b *Bed) RevokeGPU(i int) error {
	p := b.GPUs[i]
	return b.answer(p.Certs[1], p.Certs[2], p.Keys[2], xocsp.Revoked)
}

// TDXVerifier returns a TDX verifier that trusts the Bed's test Intel root
// and takes collateral from memory.
func (b *Bed) TDXVerifier(opts ...tdx.Option) (*tdx.Verifier, error) {
	src := tdx.NewMemorySource()
	src.Add(b.TDX.Platform.FMSPC, "platform", b.TDXCollateral)
	return tdx.NewVerifier(append([]tdx.Option{tdx.WithTrustedRoots(b.TDX.Root.Cert), tdx.WithCollateral(src)}, opts...)...)
}

// GPUVerifier returns a GPU verifier that trusts the Bed's device and RIM
// roots, with RIMs and OCSP answers from memory.
func (b *Bed) GPUVerifier(opts ...gpu.Option) (*gpu.Verifier, error) {
	answers := make([][]byte, 0, len(b.OCSP))
	for _, der := range b.OCSP {
		// Base64, because ocsp.MemorySource trims white space off DER input.
		answers = append(answers, []byte(base64.StdEncoding.EncodeToString(der)))
	}
	osrc, err := ocsp.NewMemorySource(answers...)
	if err != nil {
		return nil, err
	}
	chk, err := ocsp.NewChecker(osrc)
	if err != nil {
		return nil, err
	}
	rsrc, err := rim.NewMemorySource(b.RIMs)
	if err != nil {
		return nil, err
	}
	rv, err := rim.NewVerifier(rim.WithRoots(b.RIM.Root))
	if err != nil {
		return nil, err
	}
	rims, err := gpu.NewRIMProvider(rv, rsrc, 0)
	if err != nil {
		return nil, err
	}
	return gpu.NewVerifier(verify.FormatGPU, append([]gpu.Option{gpu.WithDeviceRoots(b.GPURoot), gpu.WithOCSP(chk), gpu.WithRIMs(rims)}, opts...)...)
}

// Registry returns a registry with the Bed's TDX and GPU verifiers.
func (b *Bed) Registry() (*verify.Registry, error) {
	tv, err := b.TDXVerifier()
	if err != nil {
		return nil, err
	}
	gv, err := b.GPUVerifier()
	if err != nil {
		return nil, err
	}
	return verify.NewRegistry(tv, gv)
}

// QuoteSpec returns the spec of the Bed's default TD quote for report data.
func (b *Bed) QuoteSpec(reportData []byte) tdxtest.QuoteSpec {
	return b.TDX.DefaultQuote(reportData)
}

// Quote mints a TD quote carrying reportData; edit, when non-nil, changes
// the spec first (for example to set the debug bit).
func (b *Bed) Quote(reportData []byte, edit func(*tdxtest.QuoteSpec)) []byte {
	s := b.QuoteSpec(reportData)
	if edit != nil {
		edit(&s)
	}
	return b.TDX.Quote(s)
}

// GPUEvidence mints one report per GPU, all answering nonce, in NVIDIA's
// JSON array encoding (one entry per device). edit, when non-nil, changes
// GPU i's report first.
func (b *Bed) GPUEvidence(nonce []byte, edit func(i int, r *gputest.Report)) ([]byte, error) {
	if len(nonce) != 32 {
		return nil, fmt.Errorf("offlinetest: GPU nonce of %d bytes, want 32", len(nonce))
	}
	devs := make([]gpu.DeviceEvidence, 0, len(b.GPUs))
	for i, p := range b.GPUs {
		r := gputest.Report{Measurements: b.Measurements}
		copy(r.Nonce[:], nonce)
		if edit != nil {
			edit(i, &r)
		}
		devs = append(devs, gpu.DeviceEvidence{Arch: p.Arch, Nonce: bytes.Clone(r.Nonce[:]), Report: p.Sign(r), Certificate: p.ChainPEM()})
	}
	return gpu.EncodeEvidence(devs)
}

// ReferenceValues pins the Bed's TD measurement (MRTD), XFAM and GPU
// firmware versions, valid for a year after the Bed's time.
func (b *Bed) ReferenceValues() (*policy.ReferenceValues, error) {
	s := b.QuoteSpec(nil)
	exp := b.Now.AddDate(1, 0, 0)
	return policy.FromEntries(
		policy.Entry{Name: "mr_td", Value: hex.EncodeToString(s.Body.MRTD[:]), Expiration: &exp},
		policy.Entry{Name: "xfam", Value: hex.EncodeToString(s.Body.XFAM[:]), Expiration: &exp},
		policy.Entry{Name: "allowed_driver_versions", Value: DriverVersion, Expiration: &exp},
		policy.Entry{Name: "allowed_vbios_versions", Value: VBIOSVersion, Expiration: &exp},
	)
}

// WriteCollateral writes the Bed's trust anchors and collateral into dir so
// that a verifier can be built from files alone (the layout attest verify
// --collateral-dir reads):
//
//	tdx/            tdx.FSSource layout, and roots.pem (the test Intel root)
//	gpu/roots.pem   the test device root
//	gpu/rim-roots.pem  the test RIM root
//	gpu/rims/<ID>.xml  the RIMs
//	gpu/ocsp/<serial>.b64  the OCSP answers (base64 DER)
func (b *Bed) WriteCollateral(dir string) error {
	if err := tdx.WriteBundle(filepath.Join(dir, "tdx"), b.TDX.Platform.FMSPC, "platform", b.TDXCollateral); err != nil {
		return err
	}
	files := map[string][]byte{
		"tdx/roots.pem":     pemCert(b.TDX.Root.Cert),
		"gpu/roots.pem":     pemCert(b.GPURoot),
		"gpu/rim-roots.pem": pemCert(b.RIM.Root),
	}
	for id, doc := range b.RIMs {
		files["gpu/rims/"+id+".xml"] = doc
	}
	for serial, der := range b.OCSP {
		files["gpu/ocsp/"+serial+".b64"] = []byte(base64.StdEncoding.EncodeToString(der))
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
