package bundle_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

const (
	v1Driver = "NV_GPU_DRIVER_GH100_550.90.07"
	v1VBIOS  = "NV_GPU_VBIOS_1010_0200_882_96009F0001"
)

var v1Time = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)

func readV1(t *testing.T, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gpu", "rim", "v1", id+".xml"))
	require.NoError(t, err)
	return b
}

// TestImportNVIDIARIMs: NVIDIA's real RIMs, the driver RIM under an
// arbitrary name, become gpu/rims/<RIM ID>.xml, which rim.FSSource serves.
func TestImportNVIDIARIMs(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "downloaded (1).xml"), readV1(t, v1Driver), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, v1VBIOS+".xml"), readV1(t, v1VBIOS), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "notes.txt"), []byte("skipped"), 0o644))
	dir := filepath.Join(t.TempDir(), "bundle")
	m, err := bundle.ImportNVIDIARIMs(context.Background(), os.DirFS(src), dir, bundle.ImportOptions{Now: v1Time})
	require.NoError(t, err)
	var paths []string
	for _, it := range m.Items {
		paths = append(paths, it.Path)
		assert.Equal(t, "nvidia-rims", it.Source.Imported)
		assert.False(t, it.Validity.NotAfter.IsZero())
	}
	assert.ElementsMatch(t, []string{"gpu/rims/" + v1Driver + ".xml", "gpu/rims/" + v1VBIOS + ".xml"}, paths)

	fsrc, err := rim.NewFSSource(os.DirFS(filepath.Join(dir, "gpu", "rims")))
	require.NoError(t, err)
	rv, err := rim.NewVerifier()
	require.NoError(t, err)
	man, err := rv.Fetch(context.Background(), fsrc, v1Driver, "550.90.07", v1Time)
	require.NoError(t, err)
	assert.Equal(t, v1Driver, man.ID)
}

func TestImportNVIDIARIMsRefuses(t *testing.T) {
	for name, files := range map[string]map[string][]byte{
		// A VBIOS RIM's ID is not in its signed content: the name must be it.
		"vbios without its ID as name": {"vbios.xml": readV1(t, v1VBIOS)},
		// A VBIOS RIM named with another version's ID.
		"vbios under a wrong ID": {"NV_GPU_VBIOS_1010_0200_882_96009F0002.xml": readV1(t, v1VBIOS)},
		// A changed golden value breaks the signature.
		"tampered": {"d.xml": []byte(strings.Replace(string(readV1(t, v1Driver)), `active="True"`, `active="False"`, 1))},
	} {
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			for n, b := range files {
				require.NoError(t, os.WriteFile(filepath.Join(src, n), b, 0o644))
			}
			dir := filepath.Join(t.TempDir(), "bundle")
			_, err := bundle.ImportNVIDIARIMs(context.Background(), os.DirFS(src), dir, bundle.ImportOptions{Now: v1Time})
			require.ErrorIs(t, err, verify.ErrCollateral)
			_, statErr := os.Stat(dir)
			assert.True(t, errors.Is(statErr, os.ErrNotExist))
		})
	}
	_, err := bundle.ImportNVIDIARIMs(context.Background(), os.DirFS(t.TempDir()), filepath.Join(t.TempDir(), "b"), bundle.ImportOptions{Now: v1Time})
	require.ErrorIs(t, err, verify.ErrConfig)
}
