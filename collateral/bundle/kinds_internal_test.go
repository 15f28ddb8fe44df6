package bundle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// brokenFS fails every Open: a directory that cannot be read.
type brokenFS struct{}

func (brokenFS) Open(string) (fs.File, error) { return nil, fs.ErrPermission }

// Every error of the writer and of the importers' file handling has a
// kind: the output directory and the input store are configuration
// (ErrConfig), whatever the operating system said.
func TestWriterAndImportErrorsHaveKinds(t *testing.T) {
	w, err := newWriter(filepath.Join(t.TempDir(), "bundle"))
	require.NoError(t, err)
	defer w.abort()
	for name, err := range map[string]error{
		"path outside the bundle": w.add("../escape", "tdx.tcb_info", []byte("x"), Source{}, Validity{}),
		"unknown kind":            w.add("tdx/x.json", "tdx.unknown", []byte("x"), Source{}, Validity{}),
	} {
		assert.ErrorIs(t, err, verify.ErrConfig, name)
	}
	require.NoError(t, w.add("tdx/qe_identity.json", "tdx.qe_identity", []byte("{}"), Source{}, Validity{}))
	assert.ErrorIs(t, w.add("tdx/qe_identity.json", "tdx.qe_identity", []byte("[]"), Source{}, Validity{}), verify.ErrCollateral, "two different items")

	// A file where the temporary directory was: writing an item and
	// committing fail.
	require.NoError(t, os.RemoveAll(w.tmp))
	require.NoError(t, os.WriteFile(w.tmp, nil, 0o644))
	assert.ErrorIs(t, w.add("tdx/root_ca_crl.der", "tdx.root_ca_crl", []byte{1}, Source{}, Validity{}), verify.ErrConfig)
	_, err = w.commit(time.Now(), "test")
	assert.ErrorIs(t, err, verify.ErrConfig)

	// Moving into place over a non-empty directory fails.
	dir := filepath.Join(t.TempDir(), "bundle")
	w2, err := newWriter(dir)
	require.NoError(t, err)
	defer w2.abort()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "occupied"), 0o755))
	_, err = w2.commit(time.Now(), "test")
	assert.ErrorIs(t, err, verify.ErrConfig)
	assert.Contains(t, err.Error(), dir)

	_, err = readCapped(fstest.MapFS{}, "missing.der")
	assert.ErrorIs(t, err, verify.ErrConfig)
	assert.True(t, errors.Is(err, fs.ErrNotExist))
	_, err = readCappedN(fstest.MapFS{"big": {Data: make([]byte, 11)}}, "big", 10)
	assert.ErrorIs(t, err, verify.ErrLimit)

	_, err = ImportTrusteeKDS(brokenFS{}, filepath.Join(t.TempDir(), "kds"), ImportOptions{})
	assert.ErrorIs(t, err, verify.ErrConfig)
	_, err = ImportNVIDIARIMs(t.Context(), brokenFS{}, filepath.Join(t.TempDir(), "rims"), ImportOptions{})
	assert.ErrorIs(t, err, verify.ErrConfig)
}
