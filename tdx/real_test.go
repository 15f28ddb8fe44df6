package tdx

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

const td = "../testdata/tdx/"

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(td + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dcapCollateral converts dcap-qvl's collateral JSON into PCS shapes.
func dcapCollateral(t testing.TB) *Collateral {
	t.Helper()
	var d struct {
		PCKCRLIssuerChain string `json:"pck_crl_issuer_chain"`
		RootCACRL         string `json:"root_ca_crl"`
		PCKCRL            string `json:"pck_crl"`
		TCBInfoChain      string `json:"tcb_info_issuer_chain"`
		TCBInfo           string `json:"tcb_info"`
		TCBInfoSig        string `json:"tcb_info_signature"`
		QEChain           string `json:"qe_identity_issuer_chain"`
		QEIdentity        string `json:"qe_identity"`
		QESig             string `json:"qe_identity_signature"`
	}
	if err := json.Unmarshal(read(t, "dcapqvl_collateral.json"), &d); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return &Collateral{
		TCBInfo:               []byte(`{"tcbInfo":` + d.TCBInfo + `,"signature":"` + d.TCBInfoSig + `"}`),
		TCBInfoIssuerChain:    []byte(d.TCBInfoChain),
		QEIdentity:            []byte(`{"enclaveIdentity":` + d.QEIdentity + `,"signature":"` + d.QESig + `"}`),
		QEIdentityIssuerChain: []byte(d.QEChain),
		PCKCRL:                unhex(d.PCKCRL),
		PCKCRLIssuerChain:     []byte(d.PCKCRLIssuerChain),
		RootCACRL:             unhex(d.RootCACRL),
	}
}

// staticSource serves one collateral set whatever the request.
type staticSource struct{ c *Collateral }

func (s staticSource) Collateral(context.Context, CollateralRequest) (*Collateral, error) {
	return s.c, nil
}

func mustVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func reportDataOf(t testing.TB, quote []byte) []byte {
	q, err := ParseQuote(quote)
	if err != nil {
		t.Fatal(err)
	}
	return q.Body.ReportData[:]
}

var dcapTime = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

func TestRealDCAPQVLFullOffline(t *testing.T) {
	quote := read(t, "dcapqvl_tdx_quote.dat")
	v := mustVerifier(t, WithCollateral(staticSource{dcapCollateral(t)}))
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: reportDataOf(t, quote), Now: dcapTime})
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB == nil || !c.TCB.CRLsChecked {
		t.Fatalf("expected a full appraisal with CRLs, got %+v", c.TCB)
	}
	t.Logf("TCB: %+v", *c.TCB)
	if c.TCB.Status != StatusUpToDate || c.TCB.QEStatus != StatusUpToDate {
		t.Fatalf("status %s / QE %s, want UpToDate", c.TCB.Status, c.TCB.QEStatus)
	}
	if len(c.Unsafe) != 0 {
		t.Fatalf("unsafe %v", c.Unsafe)
	}
	m := c.Map()
	if m["tcb_status"] != "UpToDate" || m["pck.fmspc"] != "b0c06f000000" {
		t.Fatalf("map: %v %v", m["tcb_status"], m["pck.fmspc"])
	}
	// After the collateral's nextUpdate: expired collateral.
	_, err = v.Verify(context.Background(), quote, verify.Expectations{ReportData: reportDataOf(t, quote), Now: time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.Is(err, verify.ErrCollateral) || !errors.Is(err, verify.ErrExpired) {
		t.Fatalf("expected expired collateral, got %v", err)
	}
}
