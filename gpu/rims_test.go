package gpu

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

func rimMemory(t testing.TB, docs map[string]string) rim.Source {
	t.Helper()
	m := make(map[string][]byte)
	for id, f := range docs {
		m[id] = readFile(t, strings.Split(f, "/")...)
	}
	s, err := rim.NewMemorySource(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRIMs(t testing.TB, src rim.Source) RIMProvider {
	t.Helper()
	p, err := NewRIMProvider(nil, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rimOCSPOnly holds the recorded answers for the V1 RIM signer chains.
func rimOCSPOnly(t testing.TB) *ocsp.FSSource {
	t.Helper()
	s, err := ocsp.NewFSSource(os.DirFS(filepath.Join(td, "ocsp", "rim")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func v1Verifier(t testing.TB, extra ...ocsp.Option) *Verifier {
	t.Helper()
	dir, err := rim.NewFSSource(os.DirFS(filepath.Join(td, "v1")))
	if err != nil {
		t.Fatal(err)
	}
	// Device-chain answers of V1 are only valid in August 2025 (V4): at the
	// V1 time they are reported missing, with a warning.
	chk, err := ocsp.NewChecker(rimOCSPOnly(t), append([]ocsp.Option{ocsp.WithMissingAnswersUnsafe()}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(verify.FormatGPU, WithOCSP(chk), WithRIMs(newRIMs(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestV1EndToEnd(t *testing.T) {
	v := v1Verifier(t)
	c, err := v.VerifyDevices(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Devices[0]
	if d.DriverRIM == nil || d.FirmwareRIM == nil || d.Comparison == nil {
		t.Fatal("RIMs not used")
	}
	if n := len(d.Comparison.Matched); n != 32 || len(d.Comparison.Skipped) != 1 || d.Comparison.Skipped[0] != 35 {
		t.Fatalf("expected 21 driver + 12 VBIOS active measurements, 35 skipped (NVDEC0 disabled), got %d matched (skipped %v)", n, d.Comparison.Skipped)
	}
	for _, r := range []*RIMResult{d.DriverRIM, d.FirmwareRIM} {
		if r.OCSP == nil || r.OCSP.Status() != ocsp.StatusGood || len(r.OCSP.Certs) != 3 {
			t.Fatalf("RIM %s OCSP: %+v", r.Manifest.ID, r.OCSP)
		}
	}
	if d.OCSP.Status() != ocsp.StatusMissing {
		t.Fatalf("device OCSP at the V1 time: %s", d.OCSP.Status())
	}
	if len(d.Unsafe) != 1 || d.Unsafe[0] != ocsp.UnsafeMissingAnswers {
		t.Fatalf("unsafe options: %v", d.Unsafe)
	}
	m := c.Map()
	if m["measres"] != "success" || m["x-nvidia-gpu-driver-rim-fetched"] != true || m["oemid"] != "5703" {
		t.Fatalf("claims: measres %v fetched %v oemid %v", m["measres"], m["x-nvidia-gpu-driver-rim-fetched"], m["oemid"])
	}
	// Warm: everything comes from the caches and gives the same answer.
	c2, err := v.VerifyDevices(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Devices[0].DriverRIM.OCSP.Certs[0].Cached {
		t.Fatal("RIM OCSP answer not cached")
	}
}

func TestV2WithRIMs(t *testing.T) {
	src := rimMemory(t, map[string]string{
		"NV_GPU_DRIVER_GH100_545.00":            "v2/Driver_RIM_test_no_gpu.swidtag",
		"NV_GPU_VBIOS_1010_0200_882_96005E0001": "v2/1010_0200_882_96005E0001_test_no_gpu.swidtag",
	})
	exp := verify.Expectations{ReportData: v2Nonce, Now: v2Time}
	v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithRIMs(newRIMs(t, src)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), v2Evidence(t), exp)
	mustFail(t, c, err, verify.ErrBinding) // no FWID
	v, _ = NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithRIMs(newRIMs(t, src)), WithMissingFWIDUnsafe())
	c, err = v.Verify(context.Background(), v2Evidence(t), exp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Map()["measres"] != "success" {
		t.Fatal("measres")
	}
}

func TestV3SwitchWithRIM(t *testing.T) {
	src := rimMemory(t, map[string]string{
		"NV_SWITCH_BIOS_5612_0002_890_9610550001": "v3/switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml",
	})
	v, err := NewVerifier(verify.FormatNVSwitch, WithoutRevocationUnsafe(), WithRIMs(newRIMs(t, src)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifyDevices(context.Background(), readFile(t, "v3", "switch_evidence_ls10.json"), verify.Expectations{ReportData: v1Nonce, Now: v3Time})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Devices[0].Comparison.Matched); n != 31 {
		t.Fatalf("expected 31 matched, got %d", n)
	}
}

// GPU-14: a RIM for another version than the report's.
func TestGPU14VersionBinding(t *testing.T) {
	src := rimMemory(t, map[string]string{
		"NV_GPU_DRIVER_GH100_550.90.07":         "v2/Driver_RIM_test_no_gpu.swidtag",
		"NV_GPU_VBIOS_1010_0200_882_96009F0001": "v1/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml",
	})
	v, _ := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithRIMs(newRIMs(t, src)))
	c, err := v.Verify(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v2Time})
	mustFail(t, c, err, verify.ErrCollateral)
	if !errors.Is(err, verify.ErrBinding) {
		t.Fatalf("expected ErrBinding too: %v", err)
	}
}

// fakeRIMs serves fixed manifests (as if verified), to test the verifier's
// use of the comparison with edited golden values.
type fakeRIMs map[string]*rim.Manifest

func (f fakeRIMs) RIM(_ context.Context, id, version string, _ time.Time) (*rim.Manifest, error) {
	m, ok := f[id]
	if !ok {
		return nil, verify.Errorf(verify.ErrCollateral, "no RIM %s", id)
	}
	return m, nil
}

func v1Manifests(t *testing.T) (drv, vbios *rim.Manifest) {
	t.Helper()
	rv, err := rim.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := rim.NewFSSource(os.DirFS(filepath.Join(td, "v1")))
	drv, err = rv.Fetch(context.Background(), dir, "NV_GPU_DRIVER_GH100_550.90.07", "550.90.07", v1Time)
	if err != nil {
		t.Fatal(err)
	}
	vbios, err = rv.Fetch(context.Background(), dir, "NV_GPU_VBIOS_1010_0200_882_96009F0001", "96.00.9F.00.01", v1Time)
	if err != nil {
		t.Fatal(err)
	}
	return copyManifest(drv), copyManifest(vbios)
}

func copyManifest(m *rim.Manifest) *rim.Manifest {
	c := *m
	c.Measurements = make([]rim.Measurement, len(m.Measurements))
	for i, ms := range m.Measurements {
		ms.Alternatives = append([][]byte(nil), ms.Alternatives...)
		for j := range ms.Alternatives {
			ms.Alternatives[j] = append([]byte(nil), ms.Alternatives[j]...)
		}
		c.Measurements[i] = ms
	}
	return &c
}

func verifyWithManifests(t *testing.T, drv, vbios *rim.Manifest) (verify.Claims, error) {
	t.Helper()
	f := fakeRIMs{"NV_GPU_DRIVER_GH100_550.90.07": drv, "NV_GPU_VBIOS_1010_0200_882_96009F0001": vbios}
	v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithRIMs(f))
	if err != nil {
		t.Fatal(err)
	}
	return v.Verify(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
}

func TestFakeRIMsBaseline(t *testing.T) {
	drv, vbios := v1Manifests(t)
	if _, err := verifyWithManifests(t, drv, vbios); err != nil {
		t.Fatal(err)
	}
}

// GPU-15: a runtime measurement at an active golden index differs.
func TestGPU15GoldenMismatch(t *testing.T) {
	drv, vbios := v1Manifests(t)
	for i := range drv.Measurements {
		if drv.Measurements[i].Active && drv.Measurements[i].Index == 7 {
			for _, a := range drv.Measurements[i].Alternatives {
				a[0] ^= 1
			}
		}
	}
	c, err := verifyWithManifests(t, drv, vbios)
	mustFail(t, c, err, verify.ErrPolicy)
}

// GPU-16: an active golden index the report has no block for.
func TestGPU16MissingRuntimeIndex(t *testing.T) {
	drv, vbios := v1Manifests(t)
	drv.Measurements = append(drv.Measurements, rim.Measurement{Index: 70, Name: "extra", Active: true, Size: 48, Alternatives: [][]byte{make([]byte, 48)}})
	c, err := verifyWithManifests(t, drv, vbios)
	mustFail(t, c, err, verify.ErrPolicy)
}

// GPU-17: driver and VBIOS RIM both active at the same index.
func TestGPU17IndexConflict(t *testing.T) {
	drv, vbios := v1Manifests(t)
	for i := range drv.Measurements {
		if drv.Measurements[i].Index == 0 {
			drv.Measurements[i].Active = true
		}
	}
	c, err := verifyWithManifests(t, drv, vbios)
	mustFail(t, c, err, verify.ErrPolicy)
}

// A RIMProvider other than NewRIMProvider may return a manifest without the
// ID it was fetched under: the verifier still binds the RIM to the ID the
// report calls for (kind, chip, version), never skipping the check.
func TestRIMBoundToIDWithoutProviderID(t *testing.T) {
	drv, vbios := v1Manifests(t)
	drv.ID, vbios.ID = "", ""
	if _, err := verifyWithManifests(t, drv, vbios); err != nil {
		t.Fatalf("control: %v", err)
	}
	drv.Product = "GB100" // a Blackwell driver RIM of the same version
	c, err := verifyWithManifests(t, drv, vbios)
	mustFail(t, c, err, verify.ErrCollateral)
	if !strings.Contains(err.Error(), "GB100") || !strings.Contains(err.Error(), "GH100") {
		t.Fatalf("error must name both chips: %v", err)
	}
	// A VBIOS RIM served for the driver ID.
	_, vbios = v1Manifests(t)
	other := *vbios
	other.ID, other.Version = "", "550.90.07"
	c, err = verifyWithManifests(t, &other, vbios)
	mustFail(t, c, err, verify.ErrCollateral)
}

// The verifier compares with what the provider's manifest holds at each
// verification: a manifest changed after a first, warm verification is read
// again, not remembered.
func TestRIMChangedBetweenVerifications(t *testing.T) {
	drv, vbios := v1Manifests(t)
	f := fakeRIMs{"NV_GPU_DRIVER_GH100_550.90.07": drv, "NV_GPU_VBIOS_1010_0200_882_96009F0001": vbios}
	v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithRIMs(f))
	if err != nil {
		t.Fatal(err)
	}
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	if _, err := v.Verify(context.Background(), v1Evidence(t), exp); err != nil {
		t.Fatal(err)
	}
	// A new slice of entries, as a provider refreshing a manifest in place
	// would write, with one golden value changed.
	fresh := append([]rim.Measurement(nil), drv.Measurements...)
	for i := range fresh {
		if fresh[i].Active {
			fresh[i].Alternatives = [][]byte{bytes.Repeat([]byte{0xEE}, fresh[i].Size)}
			break
		}
	}
	drv.Measurements = fresh
	c, err := v.Verify(context.Background(), v1Evidence(t), exp)
	mustFail(t, c, err, verify.ErrPolicy)
}

// queryLog answers no OCSP query and remembers each certificate asked about.
type queryLog struct {
	mu    sync.Mutex
	certs []*x509.Certificate
}

func (l *queryLog) Fetch(_ context.Context, q ocsp.Query) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.certs = append(l.certs, q.Cert)
	return nil, verify.Errorf(verify.ErrCollateral, "%w: test", ocsp.ErrNoResponse)
}

// A RIM whose signer chain a provider replaces in place is checked with its
// new chain, not the chain prepared for the same manifest before.
func TestRIMChainChangedBetweenVerifications(t *testing.T) {
	drv, vbios := v1Manifests(t)
	f := fakeRIMs{"NV_GPU_DRIVER_GH100_550.90.07": drv, "NV_GPU_VBIOS_1010_0200_882_96009F0001": vbios}
	log := &queryLog{}
	chk, err := ocsp.NewChecker(log, ocsp.WithMissingAnswersUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(verify.FormatGPU, WithRIMs(f), WithOCSP(chk))
	if err != nil {
		t.Fatal(err)
	}
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	if _, err := v.Verify(context.Background(), v1Evidence(t), exp); err != nil {
		t.Fatal(err)
	}
	other := vbios.Chain[0]
	if other.Equal(drv.Chain[0]) {
		t.Fatal("the two RIMs share a signer")
	}
	chain := slices.Clone(drv.Chain)
	chain[0] = other
	drv.Chain = chain
	log.certs = nil
	c, err := v.Verify(context.Background(), v1Evidence(t), exp)
	if err != nil {
		t.Fatal(err)
	}
	// The driver RIM's revocation status is its new signer's: the checker
	// may share one answer between the two RIMs asking at the same instant,
	// so count what the result names, not the queries.
	drvOCSP := c.(*Claims).Devices[0].DriverRIM.OCSP
	if drvOCSP == nil || len(drvOCSP.Certs) == 0 {
		t.Fatal("driver RIM: no revocation result")
	}
	if got, want := drvOCSP.Certs[0].Serial, fmt.Sprintf("%x", other.SerialNumber); got != want {
		t.Fatalf("driver RIM signer checked: serial %s, want the replaced signer's %s", got, want)
	}
	n := 0
	for _, c := range log.certs {
		if c.Equal(other) {
			n++
		}
	}
	if n == 0 {
		t.Fatal("the replaced signer was never asked about")
	}
}
