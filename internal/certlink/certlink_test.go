package certlink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type node struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// mint issues a certificate named cn by parent (nil: self-signed), after
// edit has changed the template.
func mint(t *testing.T, cn string, parent *node, ca bool, edit func(*x509.Certificate)) *node {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: ca, MaxPathLen: -1,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if edit != nil {
		edit(tmpl)
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &node{c, key}
}

// x509Accepts reports whether x509.Verify builds exactly path.
func x509Accepts(path []*x509.Certificate, at time.Time) bool {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(path[len(path)-1])
	for _, c := range path[1 : len(path)-1] {
		inter.AddCert(c)
	}
	chains, err := path[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return false
	}
	for _, ch := range chains {
		if len(ch) == len(path) {
			same := true
			for i := range ch {
				same = same && ch[i].Equal(path[i])
			}
			if same {
				return true
			}
		}
	}
	return false
}

// TestVerifyAgreesWithX509: Verify accepts the plain path and never accepts
// one x509.Verify rejects, nor one with features it leaves to x509.
func TestVerifyAgreesWithX509(t *testing.T) {
	root := mint(t, "root", nil, true, nil)
	inter := mint(t, "inter", root, true, nil)
	leaf := mint(t, "leaf", inter, false, nil)
	other := mint(t, "inter", nil, true, nil) // same name as inter, another key

	for _, tc := range []struct {
		name string
		path func() []*x509.Certificate
		at   time.Time
		want bool
	}{
		{"good", func() []*x509.Certificate { return []*x509.Certificate{leaf.cert, inter.cert, root.cert} }, now, true},
		{"wrong issuer key", func() []*x509.Certificate {
			return []*x509.Certificate{mint(t, "leaf", other, false, nil).cert, inter.cert, root.cert}
		}, now, false},
		{"expired", func() []*x509.Certificate { return []*x509.Certificate{leaf.cert, inter.cert, root.cert} }, now.Add(2 * time.Hour), false},
		{"not yet valid", func() []*x509.Certificate { return []*x509.Certificate{leaf.cert, inter.cert, root.cert} }, now.Add(-2 * time.Hour), false},
		{"intermediate not a CA", func() []*x509.Certificate {
			i := mint(t, "inter", root, false, nil)
			return []*x509.Certificate{mint(t, "leaf", i, false, nil).cert, i.cert, root.cert}
		}, now, false},
		{"path length exceeded", func() []*x509.Certificate {
			r := mint(t, "root0", nil, true, func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true })
			i := mint(t, "inter", r, true, nil)
			return []*x509.Certificate{mint(t, "leaf", i, false, nil).cert, i.cert, r.cert}
		}, now, false},
		{"name mismatch", func() []*x509.Certificate {
			return []*x509.Certificate{leaf.cert, mint(t, "elsewhere", root, true, nil).cert, root.cert}
		}, now, false},
		{"name constraints left to x509", func() []*x509.Certificate {
			i := mint(t, "inter", root, true, func(c *x509.Certificate) {
				c.PermittedIPRanges = []*net.IPNet{{IP: net.IP{10, 0, 0, 0}, Mask: net.CIDRMask(8, 32)}}
			})
			return []*x509.Certificate{mint(t, "leaf", i, false, nil).cert, i.cert, root.cert}
		}, now, false},
		{"unknown critical extension", func() []*x509.Certificate {
			l := mint(t, "leaf", inter, false, func(c *x509.Certificate) {
				c.ExtraExtensions = []pkix.Extension{{Id: []int{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}
			})
			return []*x509.Certificate{l.cert, inter.cert, root.cert}
		}, now, false},
		{"certificate twice", func() []*x509.Certificate { return []*x509.Certificate{inter.cert, inter.cert, root.cert} }, now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(16)
			path := tc.path()
			got := c.Verify(path, tc.at)
			require.Equal(t, tc.want, got)
			if got {
				require.True(t, x509Accepts(path, tc.at), "certlink accepted a path x509.Verify rejects")
			}
			// A second call answers from the cache the same way.
			require.Equal(t, got, c.Verify(path, tc.at))
		})
	}
}

// TestCacheIsKeyedByBytes: a link remembered as good does not vouch for a
// certificate with the same names but other bytes, and time is checked on
// every call though signatures are remembered.
func TestCacheIsKeyedByBytes(t *testing.T) {
	root := mint(t, "root", nil, true, nil)
	inter := mint(t, "inter", root, true, nil)
	leaf := mint(t, "leaf", inter, false, nil)
	c := New(16)
	require.True(t, c.Verify([]*x509.Certificate{leaf.cert, inter.cert, root.cert}, now))
	require.Equal(t, 2, c.links.Len())

	forged := *leaf.cert
	forged.Raw = append([]byte(nil), leaf.cert.Raw...)
	forged.Signature = append([]byte(nil), leaf.cert.Signature...)
	forged.Signature[len(forged.Signature)-3] ^= 1
	forged.Raw[len(forged.Raw)-3] ^= 1 // the signature's bytes are at the end of the DER
	require.False(t, c.Verify([]*x509.Certificate{&forged, inter.cert, root.cert}, now))
	require.False(t, c.Verify([]*x509.Certificate{leaf.cert, inter.cert, root.cert}, now.Add(2*time.Hour)))
	require.True(t, c.Verify([]*x509.Certificate{leaf.cert, inter.cert, root.cert}, now))
}

// TestBounded: the cache never holds more links than its size.
func TestBounded(t *testing.T) {
	root := mint(t, "root", nil, true, nil)
	c := New(3)
	for range 6 {
		require.True(t, c.Verify([]*x509.Certificate{mint(t, "leaf", root, false, nil).cert, root.cert}, now))
	}
	require.Equal(t, 3, c.links.Len())
}

// TestConcurrent runs many verifications of shared and distinct links at
// once (for go test -race).
func TestConcurrent(t *testing.T) {
	root := mint(t, "root", nil, true, nil)
	inter := mint(t, "inter", root, true, nil)
	leaves := []*node{mint(t, "a", inter, false, nil), mint(t, "b", inter, false, nil)}
	c := New(16)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if !c.Verify([]*x509.Certificate{leaves[i%2].cert, inter.cert, root.cert}, now) {
				t.Error("good path refused")
			}
		})
	}
	wg.Wait()
	require.Equal(t, 3, c.links.Len())
}
