package sgx_test

import (
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/verify"
)

func seedQuotes(f *testing.F) {
	for _, n := range []string{"dcapqvl_sgx_quote.dat", "occlum_quote.dat"} {
		b, err := os.ReadFile(td + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// The real quotes published as hex text (realpublic_test.go).
	f.Add(zkQuote(f))
	rs, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(read(f, "dcaprs_quote.hex"))), "0x"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rs)
}

// FuzzParseQuote: the parser never panics, errors carry a kind and come
// without a quote, and what it accepts lies inside the input and re-reads
// the same.
func FuzzParseQuote(f *testing.F) {
	seedQuotes(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := sgx.ParseQuote(b)
		if err != nil {
			if q != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a quote: %v", err)
			}
			return
		}
		if len(q.Signed) != 432 || len(q.PCKChainPEM) > len(b) || len(q.CertData) > len(b) {
			t.Fatal("slices outside the input")
		}
		again, err := sgx.ParseQuote(b)
		if err != nil || again.Body != q.Body || again.QEReport != q.QEReport || again.Padding != q.Padding {
			t.Fatalf("not deterministic: %v", err)
		}
	})
}

// FuzzVerify drives the whole verifier (JSON decoding, chain, signatures)
// without collateral; it never panics, and errors carry a kind and come
// without claims.
func FuzzVerify(f *testing.F) {
	seedQuotes(f)
	f.Add([]byte(`{"quote":"AwACAAAAAAA="}`))
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	if err != nil {
		f.Fatal(err)
	}
	exp := verify.Expectations{AllowMissingReportDataUnsafe: true, Now: dcapTime}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), b, exp)
		if err != nil && (c != nil || verify.KindOf(err) == nil) {
			t.Fatalf("error without kind or with claims: %v", err)
		}
		_ = v.Detect(b)
	})
}
