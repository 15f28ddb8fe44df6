package gputest_test

import (
	"context"
	"crypto/x509"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
)

func TestPKIAndReport(t *testing.T) {
	for _, arch := range []gpu.Arch{gpu.ArchHopper, gpu.ArchBlackwell, gpu.ArchLS10} {
		p := gputest.NewPKI(gputest.PKIOptions{Arch: arch})
		roots := x509.NewCertPool()
		roots.AddCert(p.Root())
		inter := x509.NewCertPool()
		for _, c := range p.Certs[1:4] {
			inter.AddCert(c)
		}
		if _, err := p.Certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("%s chain: %v", arch, err)
		}
		nonce := [32]byte{9}
		r, err := gpu.ParseReport(p.Sign(gputest.Report{Nonce: nonce, Measurements: map[int][]byte{3: make([]byte, 32)}}), gpu.ParseOptions{})
		if err != nil {
			t.Fatalf("%s report: %v", arch, err)
		}
		if r.Request.Nonce != nonce {
			t.Fatal("nonce")
		}
		if v, ok := r.Response.Measurement(3); !ok || len(v) != 32 {
			t.Fatal("chosen measurement")
		}
	}
}

func TestResponder(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := gputest.NewDeviceResponder(p)
	defer r.Close()
	src, err := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chk, err := ocsp.NewChecker(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status() != ocsp.StatusGood || !res.Certs[0].NonceChecked {
		t.Fatalf("%+v", res)
	}
}

// countingFetcher is a collateral.Fetcher of the caller's own, wrapping
// another and counting the requests.
type countingFetcher struct {
	inner collateral.Fetcher
	n     atomic.Int64
}

func (c *countingFetcher) Fetch(ctx context.Context, u string) (*collateral.Response, error) {
	c.n.Add(1)
	return c.inner.Fetch(ctx, u)
}

// With a Store, OCSP answers are shared: two checkers over two sources on
// one store ask the responder once per certificate, without a nonce; without
// a Store each checker asks with its own nonce.
func TestResponderThroughSharedStore(t *testing.T) {
	p := gputest.NewPKI(gputest.PKIOptions{})
	r := gputest.NewDeviceResponder(p)
	defer r.Close()
	f := &countingFetcher{inner: &collateral.HTTPFetcher{MaxRetries: -1}}
	store := collateral.NewMemoryStore(0, 0)
	now := time.Now()
	for range 2 {
		src, err := ocsp.NewHTTPSource(r.Server.URL, f, store)
		require.NoError(t, err)
		require.False(t, src.SendsNonce())
		chk, err := ocsp.NewChecker(src)
		require.NoError(t, err)
		res, err := chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, now)
		require.NoError(t, err)
		require.Equal(t, ocsp.StatusGood, res.Status())
		require.False(t, res.Certs[0].NonceChecked)
	}
	perChain := int64(len(p.Certs) - 2) // every certificate from index 1 below the root
	require.Equal(t, perChain, f.n.Load(), "one fetch per certificate for both checkers")

	f.n.Store(0)
	for range 2 {
		src, err := ocsp.NewHTTPSource(r.Server.URL, f, nil)
		require.NoError(t, err)
		require.True(t, src.SendsNonce())
		chk, err := ocsp.NewChecker(src)
		require.NoError(t, err)
		_, err = chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, now)
		require.NoError(t, err)
	}
	require.Equal(t, 2*perChain, f.n.Load(), "without a store every checker asks")
}

// One responder answers for the CAs of several PKIs, whose CAs share names:
// it must pick the issuer by name and key hash, as the CertID names it, or
// every PKI but one gets answers signed for the wrong issuer.
func TestResponderSeveralPKIs(t *testing.T) {
	cases := []struct {
		name   string
		shared bool // one root for all PKIs
	}{
		{"own roots", false},
		{"shared root", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o gputest.PKIOptions
			if c.shared {
				o.Root, o.RootKey = gputest.NewRoot()
			}
			var pkis []*gputest.PKI
			for range 8 {
				pkis = append(pkis, gputest.NewPKI(o))
			}
			require.Equal(t, pkis[0].Certs[1].Subject.String(), pkis[7].Certs[1].Subject.String(), "the PKIs' CAs share names")
			r := gputest.NewDeviceResponder(pkis...)
			defer r.Close()
			src, err := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1}, nil)
			require.NoError(t, err)
			chk, err := ocsp.NewChecker(src)
			require.NoError(t, err)
			for i, p := range pkis {
				res, err := chk.CheckChain(context.Background(), p.Certs, 1, ocsp.ScopeDevice, time.Now())
				require.NoError(t, err, "PKI %d", i)
				assert.Equal(t, ocsp.StatusGood, res.Status(), "PKI %d", i)
			}
			// A CA the responder was not given is not answered for.
			stranger := gputest.NewPKI(gputest.PKIOptions{})
			_, err = chk.CheckChain(context.Background(), stranger.Certs, 1, ocsp.ScopeDevice, time.Now())
			require.Error(t, err)
		})
	}
}
