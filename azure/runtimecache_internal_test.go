package azure

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// padded is a digest zero padded to 64 bytes, as REPORTDATA carries it.
func padded(d []byte) []byte { return append(d, make([]byte, 64-len(d))...) }

// A runtime cache entry serves only the exact bytes and hash algorithm it
// was made from: entries filed under the key of other runtime data (as a
// maphash collision would file them) are misses, whose digest is computed
// afresh, and only the same bytes and algorithm hit.
func TestRuntimeCacheHitNeedsExactBytes(t *testing.T) {
	cache := newRuntimeCache()
	hcl := &HCLReport{Hash: crypto.SHA256, RuntimeData: []byte(`{"keys":[]}`)}
	d := sha256.Sum256(hcl.RuntimeData)
	other := []byte(`{"keys":[1]}`)
	od := sha256.Sum256(other)
	key := cache.key(hcl)

	cache.entries.Add(key, &runtimeEntry{raw: other, hash: crypto.SHA256, want: padded(od[:]), rd: &RuntimeData{}}, time.Time{})
	_, err := bindRuntimeData(cache, hcl, padded(od[:]), "REPORTDATA")
	require.ErrorIs(t, err, verify.ErrBinding, "the digest of other bytes was served")
	b, err := bindRuntimeData(cache, hcl, padded(d[:]), "REPORTDATA")
	require.NoError(t, err)
	require.Nil(t, b.entry)

	d384 := sha512.Sum384(hcl.RuntimeData)
	cache.entries.Add(key, &runtimeEntry{raw: hcl.RuntimeData, hash: crypto.SHA384, want: padded(d384[:]), rd: &RuntimeData{}}, time.Time{})
	b, err = bindRuntimeData(cache, hcl, padded(d[:]), "REPORTDATA")
	require.NoError(t, err)
	require.Nil(t, b.entry, "an entry of another hash algorithm was served")

	e := &runtimeEntry{raw: hcl.RuntimeData, hash: crypto.SHA256, want: padded(d[:]), rd: &RuntimeData{}}
	cache.entries.Add(key, e, time.Time{})
	b, err = bindRuntimeData(cache, hcl, padded(d[:]), "REPORTDATA")
	require.NoError(t, err)
	require.Same(t, e, b.entry)
	rd, _, err := runtimeData(cache, hcl, b)
	require.NoError(t, err)
	require.Same(t, e.rd, rd)
}
