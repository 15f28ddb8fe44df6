package rim_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

var testTime = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)

// fixture is a test PKI with a driver and a VBIOS RIM minted for a fake
// report whose block i holds SHA-384 of "block i".
type fixture struct {
	pki           *rimtest.PKI
	v             *rim.Verifier
	blocks        map[int][]byte
	driver, vbios []byte
}

var driverActive = []int{7, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}
var vbiosActive = []int{0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12}

func fakeBlocks(n int) map[int][]byte {
	blocks := make(map[int][]byte, n)
	for i := 1; i <= n; i++ {
		sum := sha512.Sum384([]byte{byte(i)})
		blocks[i] = sum[:]
	}
	return blocks
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	pki, err := rimtest.NewPKI(rimtest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pki: pki, v: newVerifier(t, rim.WithRoots(pki.Root)), blocks: fakeBlocks(64)}
	if f.driver, err = pki.Build(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(f.blocks, 64, driverActive...)}); err != nil {
		t.Fatal(err)
	}
	if f.vbios, err = pki.Build(rimtest.Manifest{Version: "96.00.9F.00.01", Measurements: rimtest.Golden(f.blocks, 64, vbiosActive...)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) verify(t testing.TB, doc []byte) (*rim.Manifest, error) {
	t.Helper()
	return f.v.Verify(context.Background(), doc, testTime)
}

// wantKind asserts err has kind and m is nil.
func wantKind(t testing.TB, m *rim.Manifest, err error, kinds ...error) {
	t.Helper()
	if m != nil {
		t.Fatalf("got a manifest with error %v", err)
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			t.Logf("%v", err)
			return
		}
	}
	t.Fatalf("error %v: want one of kinds %v", err, kinds)
}

func TestMintedRIMsVerifyAndCompare(t *testing.T) {
	f := newFixture(t)
	driver, err := f.verify(t, f.driver)
	if err != nil {
		t.Fatalf("driver: %v", err)
	}
	vbios, err := f.verify(t, f.vbios)
	if err != nil {
		t.Fatalf("vbios: %v", err)
	}
	if driver.Kind != rim.KindDriver || vbios.Kind != rim.KindVBIOS || len(driver.Chain) != 4 || !driver.Chain[3].Equal(f.pki.Root) {
		t.Fatalf("driver %s (%d certs), vbios %s", driver.Kind, len(driver.Chain), vbios.Kind)
	}
	cmp, err := rim.Compare(driver, vbios, f.blocks, rim.CompareOptions{NVDEC0Status: rim.NVDEC0Enabled, HasNVDEC0Status: true})
	if err != nil || len(cmp.Matched) != len(driverActive)+len(vbiosActive) {
		t.Fatalf("Compare: %v, %+v", err, cmp)
	}
	// The real NVIDIA root does not accept test-signed RIMs, and the test
	// root does not accept NVIDIA's.
	m, err := newVerifier(t).Verify(context.Background(), f.driver, testTime)
	wantKind(t, m, err, verify.ErrChain)
	m, err = f.v.Verify(context.Background(), mustRead(t, td+"v1/NV_GPU_DRIVER_GH100_550.90.07.xml"), testTime)
	wantKind(t, m, err, verify.ErrChain)
}

func TestMintedSwitchRIM(t *testing.T) {
	f := newFixture(t)
	blocks := fakeBlocks(31)
	all := make([]int, 31)
	for i := range all {
		all[i] = i
	}
	doc, err := f.pki.Build(rimtest.Manifest{Version: "96.10.55.00.01", Product: "LS10", Edition: "SWITCH", Measurements: rimtest.Golden(blocks, 31, all...)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.verify(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Expect("NV_SWITCH_BIOS_5612_0002_890_9610550001", "96.10.55.00.01"); err != nil {
		t.Fatal(err)
	}
	cmp, err := rim.CompareSwitch(m, blocks)
	if err != nil || len(cmp.Matched) != 31 {
		t.Fatalf("CompareSwitch: %v", err)
	}
	blocks[31] = bytes.Repeat([]byte{1}, 48)
	cmp, err = rim.CompareSwitch(m, blocks)
	if !errors.Is(err, verify.ErrPolicy) || len(cmp.Mismatches) != 1 || cmp.Mismatches[0].Index != 30 || cmp.Mismatches[0].Source != rim.KindSwitchBIOS {
		t.Fatalf("CompareSwitch with a changed block: %v %+v", err, cmp)
	}
}
