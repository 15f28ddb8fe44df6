package tdx

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

func seedQuotes(f *testing.F) {
	for _, n := range []string{"dcapqvl_tdx_quote.dat", "tdx_quote_4.dat", "tdx_quote_5.dat", "tdx_prod_quote_SPR_E4.dat"} {
		b, err := os.ReadFile(td + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseQuote(f *testing.F) {
	seedQuotes(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseQuote(b)
		if err != nil {
			if q != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a quote: %v", err)
			}
			return
		}
		if len(q.Signed) > len(b) || len(q.PCKChainPEM) > len(b) {
			t.Fatal("slices outside the input")
		}
	})
}

// FuzzVerify drives the whole verifier (chain, signatures, JSON decoding)
// without collateral; it must never panic and errors must carry a kind.
func FuzzVerify(f *testing.F) {
	seedQuotes(f)
	f.Add([]byte(`{"quote":"BAACAIEAAAA=","cc_eventlog":null}`))
	v, err := NewVerifier(WithoutCollateralUnsafe())
	if err != nil {
		f.Fatal(err)
	}
	exp := verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), b, exp)
		if err != nil && (c != nil || verify.KindOf(err) == nil) {
			t.Fatalf("error without kind or with claims: %v", err)
		}
		_ = v.Detect(b)
	})
}

func FuzzParseCCEL(f *testing.F) {
	for _, n := range []string{"ccel_data.dat", "CCEL_data"} {
		b, err := os.ReadFile(td + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:8192])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseCCEL(b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without kind: %v", err)
			}
			return
		}
		_ = l.Replay([4][48]byte{}, false)
		_ = l.CheckSeparators()
		_, _ = l.KernelCmdline()
	})
}
