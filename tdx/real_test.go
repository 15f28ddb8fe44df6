package tdx

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/trustfactory/attest/internal/pck"
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

// expectQuote expects the quote's own report data, or, for a quote whose
// report data is all zero (bound to no session, like the COS-113 sample,
// and refused as an expectation), no report data at all.
func expectQuote(t testing.TB, quote []byte, now time.Time) verify.Expectations {
	rd := reportDataOf(t, quote)
	if len(bytes.Trim(rd, "\x00")) == 0 {
		return verify.Expectations{AllowMissingReportDataUnsafe: true, Now: now}
	}
	return verify.Expectations{ReportData: rd, Now: now}
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

func sprCollateral(t testing.TB) *Collateral {
	return &Collateral{
		TCBInfo:               read(t, "sample_tcbInfo_response"),
		TCBInfoIssuerChain:    read(t, "spr_tcbinfo_issuer_chain.pem"),
		QEIdentity:            read(t, "sample_qeIdentity_response"),
		QEIdentityIssuerChain: read(t, "spr_qeidentity_issuer_chain.pem"),
		PCKCRL:                read(t, "pckcrl"),
		PCKCRLIssuerChain:     read(t, "spr_pckcrl_issuer_chain.pem"),
		RootCACRL:             read(t, "rootcrl.der"),
	}
}

var sprTime = time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)

func TestRealSPRSignatureAndChain(t *testing.T) {
	quote := read(t, "tdx_prod_quote_SPR_E4.dat")
	v := mustVerifier(t, WithoutCollateralUnsafe())
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: reportDataOf(t, quote), Now: sprTime})
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB != nil || len(c.Unsafe) != 1 || c.Unsafe[0] != UnsafeWithoutCollateral {
		t.Fatalf("expected no TCB and the unsafe mark, got %+v %v", c.TCB, c.Unsafe)
	}
	if got := c.Map()["quote.trailing_bytes"]; got != 39 {
		t.Fatalf("trailing bytes %v", got)
	}
}

// The shipped SPR collateral passes every signature, chain, CRL and identity
// check, but no TCB level matches the quote: the PCK's SGX components 1, 2,
// 5 and 8 and TEE_TCB_SVN[2] are below what both levels require.
func TestRealSPRCollateralNamesTCBMismatch(t *testing.T) {
	quote := read(t, "tdx_prod_quote_SPR_E4.dat")
	v := mustVerifier(t, WithCollateral(staticSource{sprCollateral(t)}))
	_, err := v.Verify(context.Background(), quote, verify.Expectations{ReportData: reportDataOf(t, quote), Now: sprTime})
	if !errors.Is(err, verify.ErrTCB) {
		t.Fatalf("expected ErrTCB, got %v", err)
	}
	for _, kind := range []error{verify.ErrSignature, verify.ErrChain, verify.ErrRevoked, verify.ErrCollateral, verify.ErrExpired} {
		if errors.Is(err, kind) {
			t.Fatalf("only the TCB level may fail, got also %v: %v", kind, err)
		}
	}
	t.Log(err)
	for _, want := range []string{"no TCB level", "50806F000000", "TEE_TCB_SVN 03000400000000000000000000000000",
		"level 0 (UpToDate): SGX component 1 is 3 < 5, SGX component 2 is 3 < 5, SGX component 5 is 2 < 3, SGX component 8 is 2 < 3, TEE_TCB_SVN[2] is 4 < 5",
		"level 1 (OutOfDate): SGX component 1 is 3 < 5"} {
		if !contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
	}
	if contains(err.Error(), "QE ") || contains(err.Error(), "mrsigner_seam") || contains(err.Error(), "seam_attributes") {
		t.Fatalf("the QE identity and module checks must pass: %v", err)
	}
	// The same collateral, checked step by step, is sound.
	vc, err := v.dcap.Trust.VerifyCollateral(sprCollateral(t).items(), pck.FlavorTDX, sprTime, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := vc.CheckValidity(sprTime); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestRealCOS113WithCCEL(t *testing.T) {
	quote := read(t, "cos-113-tdx-quote.dat")
	ccel := read(t, "ccel_data.dat")
	ev, _ := json.Marshal(map[string]any{"quote": quote, "cc_eventlog": ccel})
	v := mustVerifier(t, WithoutCollateralUnsafe())
	if !v.Detect(ev) || !v.Detect(quote) {
		t.Fatal("Detect failed on COS-113 evidence")
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := v.VerifyQuote(context.Background(), ev, expectQuote(t, quote, now))
	if err != nil {
		t.Fatal(err)
	}
	if c.EventLog == nil || len(c.EventLog.Events) < 40 {
		t.Fatalf("event log not replayed: %+v", c.EventLog)
	}
	if c.EventLog.Replayed != c.Quote.Body.RTMR {
		t.Fatal("replayed RTMRs differ from the quote")
	}
	cmd, ok := c.EventLog.KernelCmdline()
	t.Logf("%d events, kernel cmdline %q (%v)", len(c.EventLog.Events), cmd, ok)
	if !ok || cmd == "" {
		t.Fatal("no kernel command line found")
	}
	m := c.Map()
	if apps := m["boot_applications"].([]any); len(apps) == 0 || m["kernel_cmdline"] != cmd {
		t.Fatalf("boot applications %v, cmdline %v", apps, m["kernel_cmdline"])
	}
	// TDX-27: one digest changed.
	bad := append([]byte(nil), ccel...)
	flipFirstDigest(t, bad, 1)
	ev2, _ := json.Marshal(map[string]any{"quote": quote, "cc_eventlog": bad})
	c2, err := v.VerifyQuote(context.Background(), ev2, expectQuote(t, quote, now))
	if !errors.Is(err, verify.ErrBinding) || c2 != nil {
		t.Fatalf("expected ErrBinding, got %v", err)
	}
}

// flipFirstDigest flips a byte of the SHA-384 digest of the first event of MR index mr.
func flipFirstDigest(t testing.TB, log []byte, mr uint32) {
	t.Helper()
	l, err := ParseCCEL(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Events {
		if e.MRIndex == mr && e.Type != evNoAction {
			e.Digest[0] ^= 1 // Digest aliases log
			return
		}
	}
	t.Fatal("no event")
}

func TestRealTrusteeQuote6WithoutCRLs(t *testing.T) {
	quote := read(t, "tdx_quote_6.dat")
	dc := dcapCollateral(t)
	col := &Collateral{
		TCBInfo: read(t, "tcbInfo.json"), TCBInfoIssuerChain: dc.TCBInfoIssuerChain,
		QEIdentity: read(t, "enclaveIdentity.json"), QEIdentityIssuerChain: dc.QEIdentityIssuerChain,
	}
	now := time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	exp := verify.Expectations{ReportData: reportDataOf(t, quote), Now: now}
	// Without the unsafe option, missing CRLs are a collateral error.
	_, err := mustVerifier(t, WithCollateral(staticSource{col})).Verify(context.Background(), quote, exp)
	if !errors.Is(err, verify.ErrCollateral) {
		t.Fatalf("expected ErrCollateral for missing CRLs, got %v", err)
	}
	c, err := mustVerifier(t, WithCollateral(staticSource{col}), WithoutCRLsUnsafe()).VerifyQuote(context.Background(), quote, exp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quote 6: status %s date %s advisories %v QE %s", c.TCB.Status, c.TCB.Date, c.TCB.AdvisoryIDs, c.TCB.QEStatus)
	if c.TCB.Status == "" || c.TCB.CRLsChecked || len(c.Unsafe) != 1 || c.Unsafe[0] != UnsafeWithoutCRLs {
		t.Fatalf("unexpected %+v %v", c.TCB, c.Unsafe)
	}
	if c.Map()["tcb_status"] != string(c.TCB.Status) {
		t.Fatal("map tcb_status")
	}
}

func TestRealTrusteeQuote5V5(t *testing.T) {
	quote := read(t, "tdx_quote_5.dat")
	q, err := ParseQuote(quote)
	if err != nil {
		t.Fatal(err)
	}
	if q.Header.Version != 5 || q.BodyType != 3 {
		t.Fatalf("version %d body type %d", q.Header.Version, q.BodyType)
	}
	v := mustVerifier(t, WithoutCollateralUnsafe())
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: q.Body.ReportData[:], Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["quote.type"] != "0300" || m["quote.size"] != "88020000" || m["quote.body.mr_servicetd"] == nil {
		t.Fatalf("v5 claims: %v %v", m["quote.type"], m["quote.size"])
	}
	if m["pck.fmspc"] != "90c06f000000" {
		t.Fatalf("fmspc %v", m["pck.fmspc"])
	}
}
