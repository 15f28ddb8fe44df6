package tdx

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

// flatten turns nested JSON objects into dotted keys, as Map uses them.
func flatten(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, x, out)
		}
		return
	}
	out[prefix] = v
}

// TestGoldenTrusteeClaims compares our flat claims for Trustee's
// tdx_quote_4.dat with Trustee's golden parse, and our CCEL parse of
// CCEL_data with its uefi_event_logs.
func TestGoldenTrusteeClaims(t *testing.T) {
	var golden map[string]any
	if err := json.Unmarshal(read(t, "parse_tdx_claims_expected.json"), &golden); err != nil {
		t.Fatal(err)
	}
	events := golden["uefi_event_logs"].([]any)
	delete(golden, "uefi_event_logs")
	want := map[string]any{}
	flatten("", golden, want)

	quote := read(t, "tdx_quote_4.dat")
	v := mustVerifier(t, WithoutCollateralUnsafe())
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: reportDataOf(t, quote), Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Map()
	if len(want) < 25 {
		t.Fatalf("golden has only %d keys", len(want))
	}
	for k, w := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, golden %v", k, got[k], w)
		}
	}

	log, err := ParseCCEL(read(t, "CCEL_data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != len(events) {
		t.Fatalf("%d events, golden %d", len(log.Events), len(events))
	}
	cl := &Claims{Quote: c.Quote, EventLog: log}
	ours := cl.Map()["uefi_event_logs"].([]any)
	for i, ge := range events {
		g := ge.(map[string]any)
		o := ours[i].(map[string]any)
		for _, k := range []string{"index", "type_name", "event", "digest_matches_event"} {
			if fmt.Sprint(o[k]) != fmt.Sprint(g[k]) {
				t.Errorf("event %d %s: got %v, golden %v", i, k, o[k], g[k])
			}
		}
		gd, _ := json.Marshal(g["digests"])
		od, _ := json.Marshal(o["digests"])
		if string(gd) != string(od) {
			t.Errorf("event %d digests: got %s, golden %s", i, od, gd)
		}
	}
}

// TestGoldenAAEL compares the events of a log with AAEL runtime events with
// Trustee's golden parse.
func TestGoldenAAEL(t *testing.T) {
	var golden struct {
		Events []map[string]any `json:"uefi_event_logs"`
	}
	if err := json.Unmarshal(read(t, "CCEL_AAEL_alibabacloud_out.json"), &golden); err != nil {
		t.Fatal(err)
	}
	log, err := ParseCCEL(read(t, "CCEL_AAEL_alibabacloud"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuote(read(t, "tdx_quote_4.dat"))
	if err != nil {
		t.Fatal(err)
	}
	ours := (&Claims{Quote: q, EventLog: log}).Map()["uefi_event_logs"].([]any)
	if len(ours) != len(golden.Events) {
		t.Fatalf("%d events, golden %d", len(ours), len(golden.Events))
	}
	aael := 0
	for i, g := range golden.Events {
		o := ours[i].(map[string]any)
		for _, k := range []string{"index", "type_name", "event", "digest_matches_event"} {
			if fmt.Sprint(o[k]) != fmt.Sprint(g[k]) {
				t.Errorf("event %d %s: got %v, golden %v", i, k, o[k], g[k])
			}
		}
		gd, _ := g["details"].(map[string]any)
		if data, ok := gd["data"]; ok {
			aael++
			od := o["details"].(map[string]any)
			a, _ := json.Marshal(data)
			b, _ := json.Marshal(od["data"])
			if string(a) != string(b) || od["string"] != gd["string"] {
				t.Errorf("event %d AAEL: got %s %q, golden %s %q", i, b, od["string"], a, gd["string"])
			}
		}
	}
	if aael != 2 {
		t.Fatalf("%d AAEL events, want 2", aael)
	}
}
