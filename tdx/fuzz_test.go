package tdx

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
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
	// The real quotes published as text (realpublic_test.go).
	for _, n := range []string{"dcapqvl_quote-from-tappd.hex", "dcapqvl_near_quote_hex.txt"} {
		f.Add(readHexQuote(f, n))
	}
	az, err := base64.URLEncoding.DecodeString(strings.TrimSpace(string(read(f, "trustee_az_tdx_td_quote.b64url"))))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(az)
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
	// Trustee's legacy evidence: the real quote with its real aa_eventlog.
	q, qerr := os.ReadFile(td + "AAEL_quote_tdx")
	l, lerr := os.ReadFile(td + "AAEL_data_1")
	if qerr != nil || lerr != nil {
		f.Fatal(qerr, lerr)
	}
	legacy, _ := json.Marshal(map[string]string{"quote": base64.StdEncoding.EncodeToString(q), "aa_eventlog": string(l)})
	f.Add(legacy)
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
	for _, n := range []string{"ccel_data.dat", "CCEL_data", "CCEL_AAEL_alibabacloud"} {
		b, err := os.ReadFile(td + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 8192)])
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
		_ = l.CheckAAEL()
		_, _ = l.KernelCmdline()
	})
}

// FuzzParseAAEL drives the legacy text AA event log parser, seeded with
// Trustee's real samples: no panic, every error has a kind, and a parsed
// log replays.
func FuzzParseAAEL(f *testing.F) {
	for _, n := range []string{"AAEL_data_1", "AAEL_data_2", "AAEL_data_3"} {
		b, err := os.ReadFile(td + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseAAEL(b)
		if err != nil {
			if l != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a log: %v", err)
			}
			return
		}
		if len(l.Init) != 48 || len(l.Events) != len(l.lines) {
			t.Fatalf("parsed log inconsistent: init %d bytes, %d events, %d lines", len(l.Init), len(l.Events), len(l.lines))
		}
		_ = l.Replay()
	})
}
