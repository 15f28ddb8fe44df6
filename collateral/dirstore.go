package collateral

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Defaults used by NewDirStore for non-positive bounds.
const (
	DefaultDirMaxEntries    = 4096
	DefaultDirMaxBytes      = 256 << 20
	DefaultDirMaxEntryBytes = 2 * DefaultMaxBodyBytes
)

// dirEntrySuffix names entry files; anything else in the directory is ignored.
const dirEntrySuffix = ".entry"

// DirStore is a Store kept in a directory, so that collateral survives
// restarts and can be shared by the processes of one host. Create it with
// NewDirStore; it is safe for concurrent use, also by several processes.
//
// Each entry is one file named by the SHA-256 of its key (so that no key,
// whatever it holds, can name a path), written to a temporary file and
// renamed into place (a reader sees the old entry or the new one, never
// half of one). The file repeats its key, and an entry whose key differs is
// absent. All file access goes through an os.Root: nothing outside the
// directory is read or written, symbolic links included.
//
// Entries are bounded in size (each file, on write and on read) and in
// number and total bytes: a Put that passes a bound removes the entries
// written longest ago. Like every Store it does not judge validity, and what
// it returns is checked by its users as anything fetched is.
type DirStore struct {
	root          *os.Root
	maxEntries    int
	maxBytes      int64
	maxEntryBytes int64
	mu            sync.Mutex // serialises this process's Puts and evictions
}

// dirEntry is the file format of one entry (JSON; Data is base64).
type dirEntry struct {
	Key       string      `json:"key"`
	Data      []byte      `json:"data"`
	Header    http.Header `json:"header,omitempty"`
	NotAfter  time.Time   `json:"notAfter"`
	FetchedAt time.Time   `json:"fetchedAt"`
}

// NewDirStore returns a DirStore in dir, which must exist, holding at most
// maxEntries entries and maxBytes bytes of entry files; a non-positive bound
// takes DefaultDirMaxEntries or DefaultDirMaxBytes. A single entry file is
// capped at DefaultDirMaxEntryBytes (or maxBytes, when smaller). Close
// releases the directory.
func NewDirStore(dir string, maxEntries int, maxBytes int64) (*DirStore, error) {
	if dir == "" {
		return nil, verify.Errorf(verify.ErrConfig, "collateral dir store: empty directory name")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, verify.Wrap(verify.ErrConfig, err)
	}
	if maxEntries <= 0 {
		maxEntries = DefaultDirMaxEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultDirMaxBytes
	}
	return &DirStore{root: root, maxEntries: maxEntries, maxBytes: maxBytes, maxEntryBytes: min(maxBytes, DefaultDirMaxEntryBytes)}, nil
}

// Close releases the directory; the store must not be used afterwards.
func (s *DirStore) Close() error { return s.root.Close() }

// fileName is the entry file of key.
func fileName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:]) + dirEntrySuffix
}

// Get reads the entry for key. A missing file, or one holding another key,
// is no entry; an unreadable, oversized or malformed one is an error (the
// Cache then fetches again and overwrites it).
func (s *DirStore) Get(ctx context.Context, key string) (Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, verify.Wrap(verify.ErrCollateral, err)
	}
	name := fileName(key)
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, verify.Errorf(verify.ErrCollateral, "collateral dir store: entry %q: %w", ShownURL(key), err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, s.maxEntryBytes+1))
	if err != nil {
		return Entry{}, false, verify.Errorf(verify.ErrCollateral, "collateral dir store: entry %q: %w", ShownURL(key), err)
	}
	if int64(len(b)) > s.maxEntryBytes {
		return Entry{}, false, verify.Errorf(verify.ErrLimit, "collateral dir store: entry %q: file %s exceeds the cap of %d bytes", ShownURL(key), name, s.maxEntryBytes)
	}
	var de dirEntry
	if err := json.Unmarshal(b, &de); err != nil {
		return Entry{}, false, verify.Errorf(verify.ErrCollateral, "collateral dir store: entry %q: file %s: %w", ShownURL(key), name, err)
	}
	if de.Key != key {
		return Entry{}, false, nil
	}
	return Entry{Data: de.Data, Header: de.Header, NotAfter: de.NotAfter, FetchedAt: de.FetchedAt}, true, nil
}

// Put writes e under key atomically, then removes the oldest entries while
// a bound is passed. An entry larger than the per-entry cap is refused with
// verify.ErrLimit (and any previous entry for key is removed).
func (s *DirStore) Put(ctx context.Context, key string, e Entry) error {
	if err := ctx.Err(); err != nil {
		return verify.Wrap(verify.ErrCollateral, err)
	}
	b, err := json.Marshal(dirEntry{Key: key, Data: e.Data, Header: e.Header, NotAfter: e.NotAfter, FetchedAt: e.FetchedAt})
	if err != nil {
		return verify.Errorf(verify.ErrConfig, "collateral dir store: entry %q: %w", ShownURL(key), err)
	}
	name := fileName(key)
	if int64(len(b)) > s.maxEntryBytes {
		_ = s.remove(name)
		return verify.Errorf(verify.ErrLimit, "collateral dir store: entry %q of %d bytes exceeds the cap of %d", ShownURL(key), len(b), s.maxEntryBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writeAtomic(name, b); err != nil {
		return verify.Errorf(verify.ErrCollateral, "collateral dir store: entry %q: %w", ShownURL(key), err)
	}
	return s.evict(name)
}

// writeAtomic writes b to a fresh temporary file, syncs it and renames it
// to name.
func (s *DirStore) writeAtomic(name string, b []byte) error {
	tmp := "." + rand.Text() + ".tmp"
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = s.root.Rename(tmp, name)
	}
	if werr != nil {
		_ = s.root.Remove(tmp)
	}
	return werr
}

// evict removes the entries written longest ago (never keep, the one just
// written) while there are more than maxEntries or their files hold more
// than maxBytes.
func (s *DirStore) evict(keep string) error {
	dir, err := s.root.Open(".")
	if err != nil {
		return verify.Errorf(verify.ErrCollateral, "collateral dir store: %w", err)
	}
	ents, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return verify.Errorf(verify.ErrCollateral, "collateral dir store: %w", err)
	}
	type file struct {
		name string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	for _, d := range ents {
		if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), dirEntrySuffix) {
			continue
		}
		fi, err := d.Info()
		if err != nil {
			continue // removed meanwhile
		}
		files = append(files, file{d.Name(), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	n := len(files)
	for _, f := range files {
		if n <= s.maxEntries && total <= s.maxBytes {
			break
		}
		if f.name == keep {
			continue
		}
		if err := s.remove(f.name); err != nil {
			return verify.Errorf(verify.ErrCollateral, "collateral dir store: evicting %s: %w", f.name, err)
		}
		n--
		total -= f.size
	}
	return nil
}

func (s *DirStore) remove(name string) error {
	if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Delete removes the entry for key, if any.
func (s *DirStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return verify.Wrap(verify.ErrCollateral, err)
	}
	if err := s.remove(fileName(key)); err != nil {
		return verify.Errorf(verify.ErrCollateral, "collateral dir store: entry %q: %w", ShownURL(key), err)
	}
	return nil
}

var (
	_ Store   = (*DirStore)(nil)
	_ Deleter = (*DirStore)(nil)
	_ Store   = (*MemoryStore)(nil)
)
