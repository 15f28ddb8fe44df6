package pck

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A platform cache entry serves only the exact bytes it was verified from:
// an entry filed under the key of other bytes (as a maphash collision would
// file it) is a miss, which verifies the QE afresh; the same bytes hit.
func TestPlatformCacheHitNeedsExactBytes(t *testing.T) {
	v := NewVerifier([]*x509.Certificate{IntelSGXRootCA()}, 4)
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	ak, certData := make([]byte, 64), []byte("certification data")
	cached := &Platform{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	errVerified := errors.New("QE verified afresh")
	qe := func() (*QE, error) { return nil, errVerified }

	key, kept := v.platformKey(ak, certData)
	require.True(t, kept)
	v.platforms.Add(key, platformEntry{raw: append(append([]byte(nil), ak...), "certification datA"...), p: cached}, cached.NotAfter)
	_, err := v.Platform(ak, certData, now, qe)
	require.ErrorIs(t, err, errVerified, "an entry of other bytes under the same key was served")

	v.platforms.Add(key, platformEntry{raw: append(append([]byte(nil), ak...), certData...), p: cached}, cached.NotAfter)
	p, err := v.Platform(ak, certData, now, qe)
	require.NoError(t, err)
	require.Same(t, cached, p)
}
