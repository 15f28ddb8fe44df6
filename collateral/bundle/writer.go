package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/trustfactory/attest/verify"
)

// writer builds a bundle in a temporary directory next to its destination
// and moves it into place on commit, manifest last, so that a failed or
// interrupted run never leaves a half-written bundle at dir.
type writer struct {
	dir, tmp string
	mu       sync.Mutex
	items    map[string]Item
}

// newWriter prepares a bundle at dir, which must not exist or be empty.
func newWriter(dir string) (*writer, error) {
	if dir == "" {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: no output directory")
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: output directory %s exists and is not empty", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: output directory: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".bundle-*")
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: %w", err)
	}
	return &writer{dir: dir, tmp: tmp, items: map[string]Item{}}, nil
}

// add writes data at the slash-separated path p and records it. Writing the
// same bytes twice is a no-op (two evidences needing one item); different
// bytes at one path are an error.
func (w *writer) add(p, kind string, data []byte, src Source, v Validity) error {
	if !fs.ValidPath(p) || !knownKinds[kind] {
		return verify.Errorf(verify.ErrConfig, "bundle: invalid item %q (kind %q)", p, kind)
	}
	sum := sha256.Sum256(data)
	it := Item{Path: p, Kind: kind, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Source: src, Validity: v}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.items[p]; ok {
		if old.SHA256 == it.SHA256 {
			return nil
		}
		return verify.Errorf(verify.ErrCollateral, "bundle: two different items for %s (sha256 %s and %s)", p, old.SHA256, it.SHA256)
	}
	fp := filepath.Join(w.tmp, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
		return verify.Errorf(verify.ErrConfig, "bundle: writing %s: %w", p, err)
	}
	if err := writeFileSync(fp, data); err != nil {
		return verify.Errorf(verify.ErrConfig, "bundle: writing %s: %w", p, err)
	}
	w.items[p] = it
	return nil
}

// commit writes the manifest and moves the bundle into place.
func (w *writer) commit(created time.Time, producer string) (*Manifest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := &Manifest{Format: Format, Created: created.UTC(), Producer: producer, Items: make([]Item, 0, len(w.items))}
	for _, it := range w.items {
		m.Items = append(m.Items, it)
	}
	sort.Slice(m.Items, func(i, j int) bool { return m.Items[i].Path < m.Items[j].Path })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: encoding the manifest: %w", err)
	}
	if err := writeFileSync(filepath.Join(w.tmp, ManifestName), append(b, '\n')); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: writing the manifest: %w", err)
	}
	// MkdirTemp made the directory private; a bundle is meant to be copied.
	if err := os.Chmod(w.tmp, 0o755); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: %w", err)
	}
	// An empty directory left at dir (checked by newWriter) is replaced.
	_ = os.Remove(w.dir)
	if err := os.Rename(w.tmp, w.dir); err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: moving the bundle into place at %s: %w", w.dir, err)
	}
	return m, nil
}

// abort removes the temporary directory (after a failure).
func (w *writer) abort() { _ = os.RemoveAll(w.tmp) }

func writeFileSync(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// join is path.Join for bundle paths.
func join(elem ...string) string { return path.Join(elem...) }
