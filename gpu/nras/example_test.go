package nras_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// Verifying an NRAS result online: the JWKS is fetched from the NRAS base
// URL through the collateral layer (here a test NRAS on httptest; in
// production leave out WithBaseURL).
func Example() {
	authority, server, err := nrastest.NewServedAuthority()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()
	nonce := []byte("0123456789abcdef0123456789abcdef") // the 32-byte nonce sent to NRAS
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	eat, err := authority.Mint(nrastest.Request{Nonce: nonce, Now: now, Version: "4.0"})
	if err != nil {
		fmt.Println(err)
		return
	}

	v, err := nras.NewVerifier(nras.FormatGPU,
		nras.WithBaseURL(server.URL),
		nras.WithFetcher(&collateral.HTTPFetcher{}),
		nras.WithStore(collateral.NewMemoryStore(0, 0)))
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := v.Verify(context.Background(), eat, verify.Expectations{ReportData: nonce, Now: now.Add(time.Minute)})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := claims.Map()
	fmt.Println(m["x-attest-nras-submod"], m["measres"], m["x-nvidia-gpu-driver-version"], m["x-nvidia-gpu-claims-version"])
	// Output: GPU-0 success 550.90.07 4.0
}

// Verifying offline with the JWKS captured when the token was issued.
func ExampleWithJWKS() {
	authority, _ := nrastest.NewAuthority(nras.ProductionURL)
	jwks := authority.JWKS() // in production: the document fetched from ProductionURL + JWKSPath
	nonce := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	eat, _ := authority.Mint(nrastest.Request{Nonce: nonce, Now: now})

	v, _ := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(jwks))
	_, err := v.Verify(context.Background(), eat, verify.Expectations{ReportData: nonce, Now: now.Add(2 * time.Hour)})
	fmt.Println(err != nil, verify.KindOf(err) == verify.ErrExpired)
	// Output: true true
}
