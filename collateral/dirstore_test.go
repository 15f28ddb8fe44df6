package collateral

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

func newDirStore(t *testing.T, maxEntries int, maxBytes int64) (*DirStore, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := NewDirStore(dir, maxEntries, maxBytes)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestDirStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, dir := newDirStore(t, 0, 0)
	key := "https://user:pw@pcs.example/tdx/certification/v4/tcb?fmspc=00806F050000&update=standard"
	in := Entry{Data: []byte("tcb info"), Header: http.Header{"Tcb-Info-Issuer-Chain": {"pem"}}, NotAfter: t0.Add(time.Hour), FetchedAt: t0}
	require.NoError(t, s.Put(ctx, key, in))
	got, ok, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, in.Data, got.Data)
	require.Equal(t, in.Header, got.Header)
	require.True(t, in.NotAfter.Equal(got.NotAfter))
	require.True(t, in.FetchedAt.Equal(got.FetchedAt))

	// The file is named by the key's hash: no part of the key (a path, a
	// password) shows in the directory, and no temporary file is left.
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	require.Equal(t, fileName(key), ents[0].Name())
	require.NotContains(t, ents[0].Name(), "pcs")

	// A second store on the same directory (another process) sees it.
	s2, err := NewDirStore(dir, 0, 0)
	require.NoError(t, err)
	defer s2.Close()
	_, ok, err = s2.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, s.Delete(ctx, key))
	_, ok, err = s.Get(ctx, key)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.Delete(ctx, key), "deleting an absent entry")
}

// Keys that look like paths stay inside the directory.
func TestDirStoreHostileKeys(t *testing.T) {
	ctx := context.Background()
	s, dir := newDirStore(t, 0, 0)
	for _, key := range []string{"../escape", "/etc/passwd", "a/../../b", "", strings.Repeat("k", 10000), "nul\x00byte"} {
		require.NoError(t, s.Put(ctx, key, Entry{Data: []byte(key), NotAfter: t0}))
		got, ok, err := s.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []byte(key), got.Data)
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 6)
	_, err = os.Stat(filepath.Join(filepath.Dir(dir), "escape"))
	require.True(t, os.IsNotExist(err))
}

// A file under a key's name that holds another key (a hash collision, or a
// file copied by hand) is no entry; a corrupt or oversized file is an error,
// never a panic.
func TestDirStoreBadFiles(t *testing.T) {
	ctx := context.Background()
	s, dir := newDirStore(t, 0, 1<<10)
	require.NoError(t, s.Put(ctx, "other", Entry{Data: []byte("x"), NotAfter: t0}))
	b, err := os.ReadFile(filepath.Join(dir, fileName("other")))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, fileName("mine")), b, 0o600))
	_, ok, err := s.Get(ctx, "mine")
	require.NoError(t, err)
	require.False(t, ok, "an entry filed under another key")

	require.NoError(t, os.WriteFile(filepath.Join(dir, fileName("corrupt")), []byte("{not json"), 0o600))
	_, _, err = s.Get(ctx, "corrupt")
	require.ErrorIs(t, err, verify.ErrCollateral)

	require.NoError(t, os.WriteFile(filepath.Join(dir, fileName("big")), make([]byte, 2<<10), 0o600))
	_, _, err = s.Get(ctx, "big")
	require.ErrorIs(t, err, verify.ErrLimit)

	// An entry over the cap is refused and drops the previous one.
	require.NoError(t, s.Put(ctx, "grow", Entry{Data: []byte("small"), NotAfter: t0}))
	require.ErrorIs(t, s.Put(ctx, "grow", Entry{Data: make([]byte, 2<<10), NotAfter: t0}), verify.ErrLimit)
	_, ok, err = s.Get(ctx, "grow")
	require.NoError(t, err)
	require.False(t, ok)
}

// Symbolic links cannot lead the store outside its directory.
func TestDirStoreSymlinkStaysInside(t *testing.T) {
	ctx := context.Background()
	s, dir := newDirStore(t, 0, 0)
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte(`{"key":"k","data":"c2VjcmV0"}`), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, fileName("k"))))
	_, ok, err := s.Get(ctx, "k")
	require.Error(t, err)
	require.False(t, ok)
}

func TestDirStoreBounds(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int64
		puts       int
		wantMax    int
	}{
		{"entries", 3, 1 << 20, 6, 3},
		{"bytes", 100, 600, 6, 5}, // each file is about 105 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newDirStore(t, tt.maxEntries, tt.maxBytes)
			for i := range tt.puts {
				key := string(rune('a' + i))
				require.NoError(t, s.Put(ctx, key, Entry{Data: []byte("0123456789"), NotAfter: t0}))
				// Distinct modification times order the eviction.
				when := t0.Add(time.Duration(i) * time.Second)
				require.NoError(t, os.Chtimes(filepath.Join(dir, fileName(key)), when, when))
			}
			ents, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.LessOrEqual(t, len(ents), tt.wantMax)
			require.NotEmpty(t, ents)
			_, ok, err := s.Get(ctx, string(rune('a'+tt.puts-1)))
			require.NoError(t, err)
			require.True(t, ok, "the newest entry is kept")
			_, ok, err = s.Get(ctx, "a")
			require.NoError(t, err)
			require.False(t, ok, "the oldest entry is evicted")
		})
	}
}

func TestDirStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newDirStore(t, 8, 0)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			key := string(rune('a' + i%4))
			for range 20 {
				if err := s.Put(ctx, key, Entry{Data: []byte(key), NotAfter: t0}); err != nil {
					t.Error(err)
					return
				}
				if e, ok, err := s.Get(ctx, key); err != nil || ok && string(e.Data) != key {
					t.Errorf("get %s: %q, %v", key, e.Data, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDirStoreConfig(t *testing.T) {
	_, err := NewDirStore("", 0, 0)
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = NewDirStore(filepath.Join(t.TempDir(), "missing"), 0, 0)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// A Cache over a DirStore serves what a previous process fetched.
func TestDirStoreBehindCache(t *testing.T) {
	ctx := context.Background()
	_, dir := newDirStore(t, 0, 0)
	fetches := 0
	fetch := func(context.Context) (Entry, error) {
		fetches++
		return Entry{Data: []byte("crl"), NotAfter: t0.Add(time.Hour)}, nil
	}
	for range 2 { // two "processes"
		s, err := NewDirStore(dir, 0, 0)
		require.NoError(t, err)
		e, stale, err := NewCache(CacheOptions{Store: s}).Get(ctx, "https://kds.example/crl", t0, fetch)
		require.NoError(t, err)
		require.False(t, stale)
		require.Equal(t, "crl", string(e.Data))
		s.Close()
	}
	require.Equal(t, 1, fetches)
}
