package ocsp_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/verify"
)

// FuzzVerifyResponse feeds arbitrary bytes, seeded with NVIDIA's recorded
// answers, to the response checks and to a recorded source: no panic, every
// error has a kind, and nothing but a good, revoked or unknown answer for the
// asked certificate is returned.
func FuzzVerifyResponse(f *testing.F) {
	for _, dir := range []string{"device", "rim"} {
		files, err := filepath.Glob(filepath.Join(td, "ocsp", dir, "*"))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	b, err := os.ReadFile(td + "/v1/hopperCertChain.txt")
	if err != nil {
		f.Fatal(err)
	}
	certs, err := gpu.ParsePEMChain(b)
	if err != nil {
		f.Fatal(err)
	}
	cert, issuer := certs[1], certs[2]
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := ocsp.NewMemorySource(b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("recorded source error without kind: %v", err)
			}
			return
		}
		der, err := src.Fetch(t.Context(), ocsp.Query{Cert: cert, Issuer: issuer})
		if err != nil {
			return // recorded for another serial
		}
		for _, nonce := range [][]byte{nil, make([]byte, 32)} {
			a, err := ocsp.VerifyResponse(der, cert, issuer, nonce, deviceTime, time.Minute)
			if err != nil {
				if verify.KindOf(err) == nil {
					t.Fatalf("error without kind: %v", err)
				}
				continue
			}
			if a.NextUpdate.IsZero() || a.ValidUntil.After(a.NextUpdate) || (nonce != nil && !a.Nonce) {
				t.Fatalf("accepted answer %+v", a)
			}
		}
	})
}
