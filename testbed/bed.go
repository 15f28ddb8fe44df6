package testbed

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
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
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// Firmware versions of the minted GPUs, which the RIMs carry and the
// reference values allow.
const (
	DriverVersion = "550.90.07"
	VBIOSVersion  = "96.00.9F.00.01"
	// SwitchBIOSVersion is the BIOS version of the minted NVSwitches
	// (gputest's LS10 default), which their RIM carries.
	SwitchBIOSVersion = "96.10.55.00.01"
)

// switchRIMID is the RIM ID of the minted switches' BIOS.
const switchRIMID = "NV_SWITCH_BIOS_5612_0002_890_9610550001"

// switchBlocks is the number of measurement blocks of an LS10 report.
const switchBlocks = 31

// MaxGPUs caps Options.GPUs (NVIDIA systems have at most 8; the cap leaves
// room for stress tests while bounding the keys New generates).
const MaxGPUs = 64

// Options choose the world New makes.
type Options struct {
	// Now is the time the bed's certificates, collateral, CRLs and OCSP
	// answers are valid at, and the time its expectations verify at. Zero:
	// the real clock when New is called. The test RIM CAs (gpu/rim/rimtest)
	// have fixed validities, so New refuses a time outside 2023-01-01 to
	// 2044-01-01.
	Now time.Time
	// GPUs is the number of GPUs beside the CPU TEEs, 0 to MaxGPUs.
	GPUs int
	// SharedGPURoot issues every GPU under one device root, as one fleet
	// under NVIDIA's. By default each GPU comes from a PKI of its own, root
	// included (the CA names are the same), and the GPU verifier trusts
	// every root.
	SharedGPURoot bool
	// SharedGPUCAs issues every GPU under one identity CA and provisioner
	// ICA (and so one root), as NVIDIA issues every board of one product:
	// only the BROM and attestation-key certificates are the board's own.
	// It implies SharedGPURoot.
	SharedGPUCAs bool
	// Switches is the number of NVSwitches (LS10), 0 to MaxGPUs, each from
	// a PKI of its own, with a switch BIOS RIM pinning their measurements.
	Switches int
}

// Bed is one offline world. Make it with New.
type Bed struct {
	// Now is the time everything is valid at (Options.Now).
	Now time.Time

	TDX           *tdxtest.PKI
	TDXCollateral *tdx.Collateral

	// GPURoots are the device roots: one per GPU, or one shared.
	GPURoots []*x509.Certificate
	GPUs     []*gputest.PKI
	// Measurements are the GPU measurement blocks by SPDM index (1-based);
	// the RIMs list them as golden values.
	Measurements map[int][]byte

	// SwitchRoots are the switches' device roots, one per switch.
	SwitchRoots []*x509.Certificate
	Switches    []*gputest.PKI
	// SwitchMeasurements are the switch measurement blocks by SPDM index
	// (1-based); the switch BIOS RIM lists them.
	SwitchMeasurements map[int][]byte

	RIM  *rimtest.PKI
	RIMs map[string][]byte // RIM ID → signed SWID document
	// OCSP holds one DER answer per certificate serial (hex), signed by the
	// certificate's issuer, valid from an hour before Now to 23 hours after.
	OCSP map[string][]byte

	SNP    *snptest.PKI
	SNPCRL []byte // the ARK's CRL for the ASK, valid a week from Now
	// SNPMeasurement is the guest's launch measurement.
	SNPMeasurement [48]byte

	TPMAK  *tpmtest.AK
	TPMLog *tpmtest.EventLog // a measured boot; the quote's PCRs replay it

	// snpRoots remembers the checked test AMD roots, so that SNPVerifier
	// (and so Registry and Appraiser, which build one each time) checks
	// their signatures once per bed, not per verifier, as the embedded
	// roots are checked once per process.
	snpRoots *snp.RootCache
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

// New makes a bed. It generates every key, so it takes some milliseconds
// per GPU.
func New(o Options) (*Bed, error) {
	if o.GPUs < 0 || o.GPUs > MaxGPUs {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: %d GPUs, expected 0 to %d", o.GPUs, MaxGPUs)
	}
	if o.Switches < 0 || o.Switches > MaxGPUs {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: %d switches, expected 0 to %d", o.Switches, MaxGPUs)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	// Certificates and answers carry seconds: so does the bed's time.
	now = now.UTC().Truncate(time.Second)
	b := &Bed{Now: now, TDX: tdxtest.NewPKIAt(now), OCSP: map[string][]byte{}, RIMs: map[string][]byte{}, Measurements: map[int][]byte{}}
	b.TDXCollateral = b.TDX.DefaultCollateral()
	if err := b.newGPUs(o); err != nil {
		return nil, err
	}
	if err := b.newSwitches(o.Switches); err != nil {
		return nil, err
	}
	if err := b.newRIMs(); err != nil {
		return nil, err
	}
	if err := b.newSNP(); err != nil {
		return nil, err
	}
	if err := b.newTPM(); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bed) newGPUs(o Options) error {
	var root *x509.Certificate
	var rootKey *ecdsa.PrivateKey
	shared := o.SharedGPURoot || o.SharedGPUCAs
	if shared {
		root, rootKey = gputest.NewRoot()
		b.GPURoots = append(b.GPURoots, root)
	}
	for i := 0; i < o.GPUs; i++ {
		po := gputest.PKIOptions{Root: root, RootKey: rootKey}
		if o.SharedGPUCAs && i > 0 {
			po.Sibling = b.GPUs[0]
		}
		p := gputest.NewPKI(po)
		if !shared {
			b.GPURoots = append(b.GPURoots, p.Root())
		}
		b.GPUs = append(b.GPUs, p)
		// Answers for the BROM, the provisioner ICA and the identity CA
		// (shared CAs get theirs once).
		for j := 1; j < len(p.Certs)-1; j++ {
			if _, ok := b.OCSP[p.Certs[j].SerialNumber.Text(16)]; ok {
				continue
			}
			if err := b.answer(p.Certs[j], p.Certs[j+1], p.Keys[j+1], xocsp.Good); err != nil {
				return err
			}
		}
	}
	for _, i := range append(append([]int{}, driverActive...), vbiosActive...) {
		v := make([]byte, 48)
		_, _ = rand.Read(v)
		b.Measurements[i+1] = v
	}
	return nil
}

func (b *Bed) newSwitches(n int) error {
	b.SwitchMeasurements = map[int][]byte{}
	for i := 0; i < n; i++ {
		p := gputest.NewPKI(gputest.PKIOptions{Arch: gpu.ArchLS10})
		b.SwitchRoots = append(b.SwitchRoots, p.Root())
		b.Switches = append(b.Switches, p)
		for j := 1; j < len(p.Certs)-1; j++ {
			if err := b.answer(p.Certs[j], p.Certs[j+1], p.Keys[j+1], xocsp.Good); err != nil {
				return err
			}
		}
	}
	if n > 0 {
		for i := 1; i <= switchBlocks; i++ {
			v := make([]byte, 48)
			_, _ = rand.Read(v)
			b.SwitchMeasurements[i] = v
		}
	}
	return nil
}

func (b *Bed) newRIMs() error {
	var err error
	if b.RIM, err = rimtest.NewPKI(rimtest.PKIOptions{
		SignerNotBefore: b.Now.AddDate(-1, 0, 0), SignerNotAfter: b.Now.AddDate(5, 0, 0),
	}); err != nil {
		return err
	}
	rc := b.RIM.Chain()
	for _, c := range rc {
		if b.Now.Before(c.NotBefore) || b.Now.After(c.NotAfter) {
			return verify.Errorf(verify.ErrConfig, "testbed: time %s outside the validity of the test RIM certificate %q, %s to %s",
				b.Now.Format(time.RFC3339), c.Subject.CommonName, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
		}
	}
	keys := []*ecdsa.PrivateKey{b.RIM.SignerKey, b.RIM.L3Key, b.RIM.CAKey, b.RIM.RootKey}
	for j := 0; j < len(rc)-1; j++ {
		if err := b.answer(rc[j], rc[j+1], keys[j+1], xocsp.Good); err != nil {
			return err
		}
	}
	driver, err := b.RIM.Build(rimtest.Manifest{Version: DriverVersion, Measurements: rimtest.Golden(b.Measurements, 64, driverActive...)})
	if err != nil {
		return err
	}
	vbios, err := b.RIM.Build(rimtest.Manifest{Version: VBIOSVersion, Measurements: rimtest.Golden(b.Measurements, 64, vbiosActive...)})
	if err != nil {
		return err
	}
	b.RIMs["NV_GPU_DRIVER_GH100_"+DriverVersion] = driver
	b.RIMs["NV_GPU_VBIOS_1010_0200_882_"+strings.ReplaceAll(VBIOSVersion, ".", "")] = vbios
	if len(b.Switches) > 0 {
		sw, err := b.RIM.Build(rimtest.Manifest{Version: SwitchBIOSVersion, Product: "LS10", Edition: "SWITCH",
			Measurements: rimtest.Golden(b.SwitchMeasurements, switchBlocks, span(0, switchBlocks)...)})
		if err != nil {
			return err
		}
		b.RIMs[switchRIMID] = sw
	}
	return nil
}

// answer mints an OCSP answer for cert signed directly by its issuer, valid
// for a day around the bed's time.
func (b *Bed) answer(cert, issuer *x509.Certificate, key *ecdsa.PrivateKey, status int) error {
	der, err := xocsp.CreateResponse(issuer, issuer, xocsp.Response{
		Status: status, SerialNumber: cert.SerialNumber, IssuerHash: crypto.SHA384,
		ThisUpdate: b.Now.Add(-time.Hour), NextUpdate: b.Now.Add(23 * time.Hour),
		RevokedAt: b.Now.Add(-2 * time.Hour), RevocationReason: xocsp.KeyCompromise,
	}, key)
	if err != nil {
		return fmt.Errorf("testbed: OCSP answer for %s: %w", cert.Subject.CommonName, err)
	}
	b.OCSP[cert.SerialNumber.Text(16)] = der
	return nil
}

// RevokeGPU makes the OCSP answer for GPU i's BROM certificate "revoked".
// Verifiers made afterwards see it.
func (b *Bed) RevokeGPU(i int) error {
	if i < 0 || i >= len(b.GPUs) {
		return verify.Errorf(verify.ErrConfig, "testbed: GPU %d of %d", i, len(b.GPUs))
	}
	p := b.GPUs[i]
	return b.answer(p.Certs[1], p.Certs[2], p.Keys[2], xocsp.Revoked)
}

// TDXVerifier returns a TDX verifier that trusts the bed's test Intel root
// and takes collateral from memory; opts come after the bed's own.
func (b *Bed) TDXVerifier(opts ...tdx.Option) (*tdx.Verifier, error) {
	src := tdx.NewMemorySource()
	src.Add(b.TDX.Platform.FMSPC, "platform", b.TDXCollateral)
	return tdx.NewVerifier(append([]tdx.Option{tdx.WithTrustedRoots(b.TDX.Root.Cert), tdx.WithCollateral(src)}, opts...)...)
}

// GPUVerifier returns a GPU verifier that trusts the bed's device and RIM
// roots, with RIMs and OCSP answers from memory.
func (b *Bed) GPUVerifier(opts ...gpu.Option) (*gpu.Verifier, error) {
	if len(b.GPURoots) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: a bed without GPUs has no GPU verifier")
	}
	return b.nvidiaVerifier(verify.FormatGPU, b.GPURoots, opts)
}

// SwitchVerifier returns an NVSwitch verifier that trusts the bed's switch
// and RIM roots, with RIMs and OCSP answers from memory.
func (b *Bed) SwitchVerifier(opts ...gpu.Option) (*gpu.Verifier, error) {
	if len(b.SwitchRoots) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: a bed without switches has no switch verifier")
	}
	return b.nvidiaVerifier(verify.FormatNVSwitch, b.SwitchRoots, opts)
}

func (b *Bed) nvidiaVerifier(f verify.Format, roots []*x509.Certificate, opts []gpu.Option) (*gpu.Verifier, error) {
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
	return gpu.NewVerifier(f, append([]gpu.Option{gpu.WithDeviceRoots(roots...), gpu.WithOCSP(chk), gpu.WithRIMs(rims)}, opts...)...)
}

// Registry returns a registry with the bed's TDX, SNP and TPM verifiers,
// its GPU verifier when it has GPUs and its switch verifier when it has
// switches.
func (b *Bed) Registry() (*verify.Registry, error) {
	tv, err := b.TDXVerifier()
	if err != nil {
		return nil, err
	}
	sv, err := b.SNPVerifier()
	if err != nil {
		return nil, err
	}
	pv, err := b.TPMVerifier()
	if err != nil {
		return nil, err
	}
	vs := []verify.Verifier{tv, sv, pv}
	if len(b.GPUs) > 0 {
		gv, err := b.GPUVerifier()
		if err != nil {
			return nil, err
		}
		vs = append(vs, gv)
	}
	if len(b.Switches) > 0 {
		sv, err := b.SwitchVerifier()
		if err != nil {
			return nil, err
		}
		vs = append(vs, sv)
	}
	return verify.NewRegistry(vs...)
}

// Appraiser returns an appraiser over Registry with the default policy and
// the bed's ReferenceValues.
func (b *Bed) Appraiser(opts ...verify.AppraiserOption) (*verify.Appraiser, error) {
	reg, err := b.Registry()
	if err != nil {
		return nil, err
	}
	rv, err := b.ReferenceValues()
	if err != nil {
		return nil, err
	}
	p, err := policy.New(rv)
	if err != nil {
		return nil, err
	}
	return verify.NewAppraiser(reg, p, opts...)
}

// WriteCollateral writes the bed's TDX and GPU trust anchors and collateral
// into dir so that a verifier can be built from files alone (the layout
// attest verify --collateral-dir reads):
//
//	tdx/            tdx.DirSource layout, and roots.pem (the test Intel root)
//	gpu/roots.pem   the test device roots
//	gpu/rim-roots.pem  the test RIM root
//	gpu/rims/<ID>.xml  the RIMs
//	gpu/ocsp/<serial>.b64  the OCSP answers (base64 DER)
func (b *Bed) WriteCollateral(dir string) error {
	if err := tdx.WriteBundle(filepath.Join(dir, "tdx"), b.TDX.Platform.FMSPC, "platform", b.TDXCollateral); err != nil {
		return err
	}
	files := map[string][]byte{
		"tdx/roots.pem":     pemCerts(b.TDX.Root.Cert),
		"gpu/roots.pem":     pemCerts(b.GPURoots...),
		"gpu/rim-roots.pem": pemCerts(b.RIM.Root),
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

func pemCerts(cs ...*x509.Certificate) []byte {
	var out bytes.Buffer
	for _, c := range cs {
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return out.Bytes()
}

// newSNP makes a Genoa chip whose certificates hold from a year before the
// bed's time and whose CRL holds for a week from it.
func (b *Bed) newSNP() error {
	var err error
	if b.SNP, err = snptest.NewPKI(snp.Genoa, snptest.Options{NotBefore: b.Now.AddDate(-1, 0, 0)}); err != nil {
		return err
	}
	if b.SNPCRL, err = b.SNP.CRL(b.Now.Add(-time.Hour), b.Now.AddDate(0, 0, 7)); err != nil {
		return err
	}
	_, _ = rand.Read(b.SNPMeasurement[:])
	// Keyed by the roots' bytes: a bed whose SNP PKI is replaced gets its
	// new roots checked like any others.
	b.snpRoots, err = snp.NewRootCache(4)
	return err
}

// SNPVerifier returns an SEV-SNP verifier that trusts the bed's test AMD
// roots and takes the VCEK and CRL from memory. The roots' own signatures
// are checked by the first verifier of the bed and remembered (by their
// bytes) for the next ones (snp.WithRootCache).
func (b *Bed) SNPVerifier(opts ...snp.Option) (*snp.Verifier, error) {
	src := snp.NewMemorySource()
	src.AddVCEK(b.SNP.Product, b.SNP.ChipID[:], b.SNP.TCB, b.SNP.VCEK.Raw)
	src.AddCRL(b.SNP.Product, snp.SigningKeyVCEK, b.SNPCRL)
	base := []snp.Option{snp.WithTrustedRoots(b.SNP.Roots()), snp.WithKDS(src)}
	if b.snpRoots != nil { // nil in a Bed not made by New
		base = append(base, snp.WithRootCache(b.snpRoots))
	}
	return snp.NewVerifier(append(base, opts...)...)
}

// newTPM makes a P-256 attestation key and a standard measured boot.
func (b *Bed) newTPM() error {
	var err error
	if b.TPMAK, err = tpmtest.NewECCAK(elliptic.P256()); err != nil {
		return err
	}
	b.TPMLog = tpmtest.StandardBoot()
	return nil
}

// TPMVerifier returns a TPM verifier that trusts the bed's attestation key.
func (b *Bed) TPMVerifier(opts ...tpm.Option) (*tpm.Verifier, error) {
	return tpm.NewVerifier(append([]tpm.Option{tpm.WithTrustedAKs(b.TPMAK.Public())}, opts...)...)
}
