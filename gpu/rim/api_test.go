package rim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

func TestIDs(t *testing.T) {
	ok := []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return rim.DriverID(rim.ArchHopper, "550.90.07\x00\x00") }, "NV_GPU_DRIVER_GH100_550.90.07"},
		{func() (string, error) { return rim.DriverID(rim.ArchBlackwell, "575.32") }, "NV_GPU_CC_DRIVER_GB100_575.32"},
		{func() (string, error) { return rim.DriverIDForChip(rim.ArchBlackwell, "gb100\x00", "590.48.01") }, "NV_GPU_CC_DRIVER_GB100_590.48.01"},
		{func() (string, error) { return rim.DriverIDForChip(rim.ArchHopper, "GH200", "550.90.07") }, "NV_GPU_DRIVER_GH100_550.90.07"},
		{func() (string, error) { return rim.VBIOSID("1010\x00", "0200", "882\x00\x00", "96.00.9F.00.01") }, "NV_GPU_VBIOS_1010_0200_882_96009F0001"},
		{func() (string, error) { return rim.VBIOSID("g520", "0280", "895", "96.00.cf.00.02") }, "NV_GPU_VBIOS_G520_0280_895_9600CF0002"},
		{func() (string, error) { return rim.SwitchBIOSID(rim.ArchLS10, "96.10.55.00.01") }, "NV_SWITCH_BIOS_5612_0002_890_9610550001"},
	}
	for _, c := range ok {
		got, err := c.got()
		if err != nil || got != c.want {
			t.Errorf("got %q, %v; want %q", got, err, c.want)
		}
	}
	bad := []struct {
		name string
		err  func() error
		kind error
	}{
		{"empty driver version", func() error { _, err := rim.DriverID(rim.ArchHopper, "\x00"); return err }, verify.ErrConfig},
		{"path in driver version", func() error { _, err := rim.DriverID(rim.ArchHopper, "../../etc"); return err }, verify.ErrMalformed},
		{"slash in project", func() error { _, err := rim.VBIOSID("10/0", "0200", "882", "96.00.9F.00.01"); return err }, verify.ErrMalformed},
		{"short VBIOS version", func() error { _, err := rim.VBIOSID("1010", "0200", "882", "96.00.9F.00"); return err }, verify.ErrMalformed},
		{"switch arch for driver", func() error { _, err := rim.DriverID(rim.ArchLS10, "550.90.07"); return err }, verify.ErrUnsupported},
		{"GPU arch for switch", func() error { _, err := rim.SwitchBIOSID(rim.ArchHopper, "96.10.55.00.01"); return err }, verify.ErrUnsupported},
		{"empty arch", func() error { _, err := rim.DriverID("", "550.90.07"); return err }, verify.ErrConfig},
		{"ID with slash", func() error { return rim.CheckID("NV_GPU/../x") }, verify.ErrMalformed},
		{"ID with dot first", func() error { return rim.CheckID("..") }, verify.ErrMalformed},
		{"long ID", func() error { return rim.CheckID(string(bytes.Repeat([]byte("A"), 129))) }, verify.ErrLimit},
	}
	for _, c := range bad {
		if err := c.err(); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
		}
	}
	for id, want := range map[string]rim.Kind{
		"NV_GPU_DRIVER_GH100_550.90.07":           rim.KindDriver,
		"NV_GPU_CC_DRIVER_GB100_575.32":           rim.KindDriver,
		"NV_GPU_VBIOS_1010_0200_882_96009F0001":   rim.KindVBIOS,
		"NV_SWITCH_BIOS_5612_0002_890_9610550001": rim.KindSwitchBIOS,
	} {
		if k, err := rim.KindOfID(id); err != nil || k != want {
			t.Errorf("KindOfID(%s) = %s, %v", id, k, err)
		}
	}
	if _, err := rim.KindOfID("NV_NIC_FIRMWARE_CX7_28.39.4082-LTS"); !errors.Is(err, verify.ErrUnsupported) {
		t.Errorf("NIC RIM ID: %v", err)
	}
}

// GPU-14 and the ID checks: a RIM is only good for what was asked.
func TestExpect(t *testing.T) {
	v := newVerifier(t)
	driver, err := v.Verify(context.Background(), mustRead(t, td+"v1/NV_GPU_DRIVER_GH100_550.90.07.xml"), v1Time)
	if err != nil {
		t.Fatal(err)
	}
	vbios, err := v.Verify(context.Background(), mustRead(t, td+"v1/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"), v1Time)
	if err != nil {
		t.Fatal(err)
	}
	if err := driver.Expect("NV_GPU_DRIVER_GH100_550.90.07", "550.90.07"); err != nil {
		t.Fatal(err)
	}
	if err := vbios.Expect("NV_GPU_VBIOS_1010_0200_882_96009F0001", "96.00.9F.00.01"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		m           *rim.Manifest
		id, version string
		kinds       []error
	}{
		{"report driver version differs", driver, "NV_GPU_DRIVER_GH100_550.90.08", "550.90.08", []error{verify.ErrCollateral, verify.ErrBinding}},
		{"version differs, same ID", driver, "NV_GPU_DRIVER_GH100_550.90.07", "550.90.7", []error{verify.ErrCollateral, verify.ErrBinding}},
		{"VBIOS version in lower case", vbios, "NV_GPU_VBIOS_1010_0200_882_96009F0001", "96.00.9f.00.01", []error{verify.ErrCollateral, verify.ErrBinding}},
		{"driver RIM under a VBIOS ID", driver, "NV_GPU_VBIOS_1010_0200_882_96009F0001", "550.90.07", []error{verify.ErrCollateral}},
		{"VBIOS RIM under a driver ID", vbios, "NV_GPU_DRIVER_GH100_96.00.9F.00.01", "96.00.9F.00.01", []error{verify.ErrCollateral}},
		{"VBIOS RIM under another board's ID", vbios, "NV_GPU_VBIOS_1010_0200_882_96009F0002", "96.00.9F.00.01", []error{verify.ErrCollateral}},
		{"VBIOS RIM under a switch ID", vbios, "NV_SWITCH_BIOS_5612_0002_890_96009F0001", "96.00.9F.00.01", []error{verify.ErrCollateral}},
		{"Hopper RIM under a Blackwell ID", driver, "NV_GPU_CC_DRIVER_GB100_550.90.07", "550.90.07", []error{verify.ErrCollateral}},
		{"empty ID", driver, "", "550.90.07", []error{verify.ErrConfig}},
		{"empty version", driver, "NV_GPU_DRIVER_GH100_550.90.07", "", []error{verify.ErrConfig}},
	}
	for _, c := range cases {
		err := c.m.Expect(c.id, c.version)
		for _, k := range c.kinds {
			if !errors.Is(err, k) {
				t.Errorf("%s: %v, want %v", c.name, err, k)
			}
		}
	}
	// A manifest fetched under one ID is not good for another.
	src, _ := rim.NewMemorySource(map[string][]byte{"NV_GPU_DRIVER_GH100_550.90.08": mustRead(t, td+"v1/NV_GPU_DRIVER_GH100_550.90.07.xml")})
	m, err := v.Fetch(context.Background(), src, "NV_GPU_DRIVER_GH100_550.90.08", "550.90.08", v1Time)
	wantKind(t, m, err, verify.ErrCollateral)
	m, err = v.Fetch(context.Background(), src, "NV_GPU_DRIVER_GH100_550.90.08", "550.90.07", v1Time)
	wantKind(t, m, err, verify.ErrCollateral)
}

func TestSources(t *testing.T) {
	ctx := context.Background()
	v := newVerifier(t)
	driverDoc := mustRead(t, td+"v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	const id = "NV_GPU_DRIVER_GH100_550.90.07"

	t.Run("memory", func(t *testing.T) {
		src, err := rim.NewMemorySource(map[string][]byte{id: driverDoc})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Fetch(ctx, src, id, "550.90.07", v1Time); err != nil {
			t.Fatal(err)
		}
		_, err = src.Get(ctx, "NV_GPU_DRIVER_GH100_1.0")
		if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, collateral.ErrNotFound) {
			t.Fatalf("missing RIM: %v", err)
		}
		if _, err := rim.NewMemorySource(map[string][]byte{"../x": nil}); !errors.Is(err, verify.ErrMalformed) {
			t.Fatalf("bad ID: %v", err)
		}
	})

	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, id+".xml"), driverDoc, 0o600); err != nil {
			t.Fatal(err)
		}
		// A symbolic link out of the directory is not followed.
		outside := filepath.Join(t.TempDir(), "secret.xml")
		if err := os.WriteFile(outside, driverDoc, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "NV_GPU_DRIVER_GH100_1.0.xml")); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		src, err := rim.NewFSSource(root.FS())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Fetch(ctx, src, id, "550.90.07", v1Time); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Get(ctx, "NV_GPU_DRIVER_GH100_1.0"); !errors.Is(err, verify.ErrCollateral) {
			t.Fatalf("escaping symlink: %v", err)
		}
		if _, err := src.Get(ctx, "NV_GPU_DRIVER_GH100_2.0"); !errors.Is(err, collateral.ErrNotFound) {
			t.Fatalf("missing file: %v", err)
		}
		if _, err := src.Get(ctx, "../"+id); !errors.Is(err, verify.ErrMalformed) {
			t.Fatalf("path traversal: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "NV_GPU_DRIVER_GH100_3.0.xml"), make([]byte, 4<<20+1), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Get(ctx, "NV_GPU_DRIVER_GH100_3.0"); !errors.Is(err, verify.ErrLimit) {
			t.Fatalf("oversized file: %v", err)
		}
		if _, err := rim.NewFSSource(nil); !errors.Is(err, verify.ErrConfig) {
			t.Fatalf("nil fs: %v", err)
		}
	})

	t.Run("service", func(t *testing.T) {
		svc := rimtest.NewService(map[string][]byte{id: driverDoc})
		defer svc.Close()
		fetcher := &collateral.HTTPFetcher{MaxRetries: -1}
		src, err := rim.NewHTTPSource(svc.URL, fetcher, nil, rim.WithClock(func() time.Time { return v1Time }))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if _, err := v.Fetch(ctx, src, id, "550.90.07", v1Time); err != nil {
				t.Fatal(err)
			}
		}
		if n := svc.Requests(); n != 1 {
			t.Fatalf("%d requests for three fetches, want 1 (cached)", n)
		}
		_, err = src.Get(ctx, "NV_GPU_DRIVER_GH100_1.0")
		if !errors.Is(err, collateral.ErrNotFound) || !errors.Is(err, verify.ErrCollateral) {
			t.Fatalf("404: %v", err)
		}
		lies := map[string]struct {
			body []byte
			kind error
		}{
			"NV_GPU_DRIVER_GH100_9.1": {rimtest.Response("NV_GPU_DRIVER_GH100_550.90.07", driverDoc), verify.ErrCollateral},
			"NV_GPU_DRIVER_GH100_9.2": {bytes.Replace(rimtest.Response("NV_GPU_DRIVER_GH100_9.2", driverDoc), []byte(`"sha256":"`), []byte(`"sha256":"00`), 1), verify.ErrCollateral},
			"NV_GPU_DRIVER_GH100_9.3": {bytes.Replace(rimtest.Response("NV_GPU_DRIVER_GH100_9.3", driverDoc), []byte(`"TCG"`), []byte(`"CORIM"`), 1), verify.ErrUnsupported},
			"NV_GPU_DRIVER_GH100_9.4": {[]byte(`<html>`), verify.ErrCollateral},
			"NV_GPU_DRIVER_GH100_9.5": {[]byte(`{"id":"NV_GPU_DRIVER_GH100_9.5","rim":"!!"}`), verify.ErrCollateral},
			"NV_GPU_DRIVER_GH100_9.6": {[]byte(`{"id":"NV_GPU_DRIVER_GH100_9.6"}`), verify.ErrCollateral},
		}
		for lid, c := range lies {
			svc.SetResponse(lid, c.body)
			if _, err := src.Get(ctx, lid); !errors.Is(err, c.kind) {
				t.Errorf("%s: %v, want %v", lid, err, c.kind)
			}
		}
		// The service's body passes through the Verifier: a tampered document
		// with a matching sha256 is still rejected.
		tampered := bytes.Replace(driverDoc, []byte(`index="7" active="True"`), []byte(`index="7" active="False"`), 1)
		svc.Add("NV_GPU_DRIVER_GH100_550.90.99", tampered)
		m, err := v.Fetch(ctx, src, "NV_GPU_DRIVER_GH100_550.90.99", "550.90.07", v1Time)
		wantKind(t, m, err, verify.ErrSignature)
	})

	t.Run("concurrent service fetches", func(t *testing.T) {
		svc := rimtest.NewService(map[string][]byte{id: driverDoc})
		defer svc.Close()
		src, err := rim.NewHTTPSource(svc.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil, rim.WithClock(func() time.Time { return v1Time }))
		if err != nil {
			t.Fatal(err)
		}
		cv := newVerifier(t)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := cv.Fetch(ctx, src, id, "550.90.07", v1Time); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := svc.Requests(); n != 1 {
			t.Fatalf("%d requests for 8 concurrent fetches, want 1", n)
		}
	})

	t.Run("unavailable service", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		src, err := rim.NewHTTPSource(srv.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := v.Fetch(ctx, src, id, "550.90.07", v1Time)
		wantKind(t, m, err, verify.ErrCollateral)
	})

	t.Run("options", func(t *testing.T) {
		for _, base := range []string{"ftp://x", "http://h/?q=1", "http://user:pw@h/%zz"} {
			if _, err := rim.NewHTTPSource(base, nil, nil); !errors.Is(err, verify.ErrConfig) {
				t.Errorf("base URL %q accepted: %v", base, err)
			}
		}
		for _, o := range []rim.HTTPOption{rim.WithTTL(0), rim.WithClock(nil), rim.WithMaxStale(-1)} {
			if _, err := rim.NewHTTPSource("", nil, nil, o); !errors.Is(err, verify.ErrConfig) {
				t.Errorf("option accepted: %v", err)
			}
		}
		for _, o := range []rim.Option{rim.WithRoots(), rim.WithRoots(nil), rim.WithLogger(nil), rim.WithMaxSize(0), rim.WithCacheSize(0)} {
			if _, err := rim.NewVerifier(o); !errors.Is(err, verify.ErrConfig) {
				t.Errorf("option accepted: %v", err)
			}
		}
		m, err := v.Fetch(ctx, nil, id, "550.90.07", v1Time)
		wantKind(t, m, err, verify.ErrConfig)
		m, err = v.Verify(ctx, driverDoc, time.Time{})
		wantKind(t, m, err, verify.ErrConfig)
	})
}

func TestCompareRules(t *testing.T) {
	f := newFixture(t)
	driver := f.mustVerify(t, f.driver)
	vbios := f.mustVerify(t, f.vbios)
	enabled := rim.CompareOptions{NVDEC0Status: rim.NVDEC0Enabled, HasNVDEC0Status: true}
	disabled := rim.CompareOptions{NVDEC0Status: rim.NVDEC0Disabled, HasNVDEC0Status: true}

	// NVDEC0: a wrong block 36 (RIM index 35) fails unless the report says
	// NVDEC0 is disabled; a report without the field compares it.
	blocks := cloneBlocks(f.blocks)
	blocks[36] = bytes.Repeat([]byte{0xEE}, 48)
	for name, o := range map[string]rim.CompareOptions{"enabled": enabled, "no status": {}} {
		cmp, err := rim.Compare(driver, vbios, blocks, o)
		if !errors.Is(err, verify.ErrPolicy) || len(cmp.Mismatches) != 1 || cmp.Mismatches[0].Index != 35 {
			t.Errorf("NVDEC0 %s: %v", name, err)
		}
	}
	cmp, err := rim.Compare(driver, vbios, blocks, disabled)
	if err != nil || len(cmp.Skipped) != 1 || cmp.Skipped[0] != 35 {
		t.Fatalf("NVDEC0 disabled: %v %+v", err, cmp)
	}
	// Only index 35 is skipped.
	blocks[37] = bytes.Repeat([]byte{0xEE}, 48)
	if _, err := rim.Compare(driver, vbios, blocks, disabled); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("index 36 with NVDEC0 disabled: %v", err)
	}
	for _, s := range []byte{0x00, 0xAB, 0xFF} {
		c, err := rim.Compare(driver, vbios, f.blocks, rim.CompareOptions{NVDEC0Status: s, HasNVDEC0Status: true})
		if !errors.Is(err, verify.ErrMalformed) || c != nil {
			t.Errorf("NVDEC0 %#x: %v", s, err)
		}
	}

	// GPU-16: missing block and fewer blocks than golden entries.
	blocks = cloneBlocks(f.blocks)
	delete(blocks, 8)
	cmp, err = rim.Compare(driver, vbios, blocks, enabled)
	if !errors.Is(err, verify.ErrPolicy) || len(cmp.Mismatches) != 1 || !cmp.Mismatches[0].Missing || cmp.Mismatches[0].Index != 7 {
		t.Fatalf("missing block: %v", err)
	}
	few := map[int][]byte{1: f.blocks[1], 2: f.blocks[2]}
	cmp, err = rim.Compare(driver, vbios, few, enabled)
	if !errors.Is(err, verify.ErrPolicy) || len(cmp.Mismatches) != len(driverActive)+len(vbiosActive)-2 {
		t.Fatalf("two blocks: %v", err)
	}
	// Size: a value with the right prefix but the wrong length does not match.
	blocks = cloneBlocks(f.blocks)
	blocks[8] = append(blocks[8], 0)
	cmp, err = rim.Compare(driver, vbios, blocks, enabled)
	if !errors.Is(err, verify.ErrPolicy) || cmp.Mismatches[0].ActualSize != 49 || cmp.Mismatches[0].ExpectedSize != 48 {
		t.Fatalf("49-byte block: %v", err)
	}
	// GPU-15: a changed runtime value.
	blocks = cloneBlocks(f.blocks)
	blocks[22][0] ^= 0x80
	if _, err := rim.Compare(driver, vbios, blocks, enabled); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("changed block: %v", err)
	}

	// Alternatives: any one matches.
	ms := rimtest.Golden(f.blocks, 64, driverActive...)
	ms[24].Alternatives = [][]byte{bytes.Repeat([]byte{1}, 48), f.blocks[25], bytes.Repeat([]byte{2}, 48)}
	alt := f.mustVerify(t, mustBuild(t, f.pki, rimtest.Manifest{Version: "550.90.07", Measurements: ms}))
	if _, err := rim.Compare(alt, vbios, f.blocks, enabled); err != nil {
		t.Fatalf("second of three alternatives: %v", err)
	}
	ms[24].Alternatives = ms[24].Alternatives[:1]
	alt = f.mustVerify(t, mustBuild(t, f.pki, rimtest.Manifest{Version: "550.90.07", Measurements: ms}))
	if _, err := rim.Compare(alt, vbios, f.blocks, enabled); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("no matching alternative: %v", err)
	}

	// GPU-17: an index active in both RIMs.
	conflict := f.mustVerify(t, mustBuild(t, f.pki, rimtest.Manifest{Version: "96.00.9F.00.01", Measurements: rimtest.Golden(f.blocks, 64, append([]int{7}, vbiosActive...)...)}))
	cmp, err = rim.Compare(driver, conflict, f.blocks, enabled)
	if !errors.Is(err, verify.ErrPolicy) || len(cmp.Conflicts) != 1 || cmp.Conflicts[0] != 7 {
		t.Fatalf("conflict: %v %+v", err, cmp)
	}

	// Wrong inputs.
	for name, fn := range map[string]func() (*rim.Comparison, error){
		"nil driver":      func() (*rim.Comparison, error) { return rim.Compare(nil, vbios, f.blocks, enabled) },
		"swapped":         func() (*rim.Comparison, error) { return rim.Compare(vbios, driver, f.blocks, enabled) },
		"empty report":    func() (*rim.Comparison, error) { return rim.Compare(driver, vbios, nil, enabled) },
		"switch with GPU": func() (*rim.Comparison, error) { return rim.CompareSwitch(vbios, f.blocks) },
		"nil switch":      func() (*rim.Comparison, error) { return rim.CompareSwitch(nil, f.blocks) },
	} {
		if c, err := fn(); !errors.Is(err, verify.ErrConfig) || c != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func mustBuild(t testing.TB, p *rimtest.PKI, m rimtest.Manifest) []byte {
	t.Helper()
	doc, err := p.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m1, err := f.v.Verify(ctx, f.driver, testTime)
	if err != nil {
		t.Fatal(err)
	}
	// A caller changing its manifest does not change the cached one.
	m1.Version = "x"
	m1.Measurements[7].Alternatives[0][0] ^= 0xFF
	m1.Chain[0] = nil
	m2, err := f.v.Verify(ctx, f.driver, testTime)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Version != "550.90.07" || !bytes.Equal(m2.Measurements[7].Alternatives[0], f.blocks[8]) || m2.Chain[0] == nil {
		t.Fatal("cached manifest was modified through a returned one")
	}
	// The cache never outlives the chain: the same bytes after the signer
	// expired, or before it was valid, fail as on the cold path.
	short, err := rimtest.NewPKI(rimtest.PKIOptions{SignerNotBefore: testTime.Add(-time.Hour), SignerNotAfter: testTime.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sv := newVerifier(t, rim.WithRoots(short.Root))
	doc := mustBuild(t, short, rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(f.blocks, 64, driverActive...)})
	if _, err := sv.Verify(ctx, doc, testTime); err != nil {
		t.Fatal(err)
	}
	m, err := sv.Verify(ctx, doc, testTime.Add(2*time.Hour))
	wantKind(t, m, err, verify.ErrExpired)
	if _, err := sv.Verify(ctx, doc, testTime); err != nil {
		t.Fatal(err)
	}
	m, err = sv.Verify(ctx, doc, testTime.Add(-2*time.Hour))
	wantKind(t, m, err, verify.ErrExpired)
	// Concurrent use is safe.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := f.v.Verify(ctx, f.vbios, testTime); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A Comparer prepared once gives, report after report and from several
// goroutines, what Compare gives; it refuses the manifests Compare refuses.
func TestComparerReuse(t *testing.T) {
	f := newFixture(t)
	driver := f.mustVerify(t, f.driver)
	vbios := f.mustVerify(t, f.vbios)
	c, err := rim.NewComparer(driver, vbios)
	if err != nil {
		t.Fatal(err)
	}
	enabled := rim.CompareOptions{NVDEC0Status: rim.NVDEC0Enabled, HasNVDEC0Status: true}
	bad := cloneBlocks(f.blocks)
	bad[3] = bytes.Repeat([]byte{0xEE}, 48)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, blocks := range []map[int][]byte{f.blocks, bad, f.blocks} {
				want, werr := rim.Compare(driver, vbios, blocks, enabled)
				got, gerr := c.Compare(blocks, enabled)
				if !reflect.DeepEqual(got, want) || (werr == nil) != (gerr == nil) {
					t.Errorf("Comparer %+v %v, Compare %+v %v", got, gerr, want, werr)
				}
				got, gerr = c.CompareFunc(func(i int) ([]byte, bool) { v, ok := blocks[i]; return v, ok }, enabled)
				if !reflect.DeepEqual(got, want) || (werr == nil) != (gerr == nil) {
					t.Errorf("CompareFunc %+v %v, Compare %+v %v", got, gerr, want, werr)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := rim.NewComparer(vbios, driver); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("swapped kinds: %v", err)
	}
	if _, err := rim.NewSwitchComparer(vbios); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("VBIOS RIM as switch BIOS: %v", err)
	}
	if _, err := rim.NewComparer(nil, vbios); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("nil driver: %v", err)
	}
	// Conflicts are each result's own: changing one result's list changes
	// neither the comparer nor the next result.
	di := -1
	for _, ms := range driver.Measurements {
		if ms.Active {
			di = ms.Index
			break
		}
	}
	vb := *vbios
	vb.Measurements = append([]rim.Measurement{{Index: di, Name: "dup", Active: true, Size: 48, Alternatives: [][]byte{make([]byte, 48)}}}, vbios.Measurements...)
	cc, err := rim.NewComparer(driver, &vb)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := cc.Compare(f.blocks, enabled)
	if !errors.Is(err, verify.ErrPolicy) || len(r1.Conflicts) != 1 || r1.Conflicts[0] != di {
		t.Fatalf("conflict at %d: %v %+v", di, err, r1)
	}
	r1.Conflicts[0] = -1
	if r2, _ := cc.Compare(f.blocks, enabled); len(r2.Conflicts) != 1 || r2.Conflicts[0] != di {
		t.Errorf("a result's Conflicts is shared: %v", r2.Conflicts)
	}
	if _, err := c.CompareFunc(nil, enabled); !errors.Is(err, verify.ErrConfig) {
		t.Errorf("nil report: %v", err)
	}
	none := func(int) ([]byte, bool) { return nil, false }
	if cmp, err := c.CompareFunc(none, enabled); !errors.Is(err, verify.ErrPolicy) || len(cmp.Matched) != 0 || !cmp.Mismatches[0].Missing {
		t.Errorf("report without blocks: %v", err)
	}
}
