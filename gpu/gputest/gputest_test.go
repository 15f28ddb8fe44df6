package gputest_test

import (
	"context"
	"crypto/x509"
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
	chk, err := ocsp.NewChecker(ocsp.NewHTTPSource(&collateral.HTTPFetcher{MaxRetries: -1}, ocsp.WithResponderURL(r.Server.URL)))
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
			chk, err := ocsp.NewChecker(ocsp.NewHTTPSource(&collateral.HTTPFetcher{MaxRetries: -1}, ocsp.WithResponderURL(r.Server.URL)))
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
