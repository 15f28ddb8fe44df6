package tdx_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// badCollateral runs the bad-collateral cases of catalogue case id
// ("COL-03"); each case name starts with its ID, and every ID must be one of
// badCollateralIDs, each of which has a TestCOLnn function.
func badCollateral(t *testing.T, id string) {
	f := newFixture(t)
	p := f.pki
	q := p.Quote(p.DefaultQuote(nonce))
	tcb := func(mut func(*tdxtest.TCBInfo)) []byte {
		ti := p.DefaultTCBInfo("UpToDate")
		mut(&ti)
		return p.SignTCBInfo(ti)
	}
	qe := func(mut func(*tdxtest.QEIdentity)) []byte {
		qi := tdxtest.DefaultQEIdentity()
		mut(&qi)
		return p.SignQEIdentity(qi)
	}
	okQE := p.SignQEIdentity(tdxtest.DefaultQEIdentity())
	okTCB := p.SignTCBInfo(p.DefaultTCBInfo("UpToDate"))
	withTCB := func(b []byte) *tdx.Collateral { return p.Collateral(b, okQE) }
	withQE := func(b []byte) *tdx.Collateral { return p.Collateral(okTCB, b) }
	edit := func(mut func(*tdx.Collateral)) *tdx.Collateral {
		c := p.DefaultCollateral()
		mut(c)
		return c
	}
	untrusted := tdxtest.NewPKI()
	// A CA certificate used as the TCB signer.
	caSigner := tdxtest.Key{Cert: p.PCKCA.Cert, Private: p.PCKCA.Private}
	otherCA := tdxtest.NewPKI().PCKCA
	sibling := p.IssueCA("Intel SGX PCK Processor CA")

	type tc struct {
		name  string
		col   *tdx.Collateral
		now   time.Time
		kinds []error
	}
	cases := []tc{
		{"COL-01 after nextUpdate", p.DefaultCollateral(), tdxtest.NextUpdate().Add(time.Second), []error{verify.ErrCollateral, verify.ErrExpired}},
		{"COL-02 TCB info issued in the future", withTCB(tcb(func(ti *tdxtest.TCBInfo) { ti.IssueDate = "2025-06-20T00:00:00Z" })), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-02 QE identity issued in the future", withQE(qe(func(qi *tdxtest.QEIdentity) { qi.IssueDate = "2025-06-20T00:00:00Z" })), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-03 TCB info byte flipped", withTCB(bytes.Replace(okTCB, []byte(`"tcbEvaluationDataNumber":17`), []byte(`"tcbEvaluationDataNumber":18`), 1)), time.Time{}, []error{verify.ErrSignature}},
		{"COL-03 QE identity byte flipped", withQE(bytes.Replace(okQE, []byte(`"isvprodid":2`), []byte(`"isvprodid":3`), 1)), time.Time{}, []error{verify.ErrSignature}},
		{"COL-03 TCB info signed by an untrusted key", withTCB(tdxtest.SignJSON("tcbInfo", jsonOf(t, p.DefaultTCBInfo("UpToDate")), untrusted.TCBSigner.Private)), time.Time{}, []error{verify.ErrSignature}},
		{"COL-03 untrusted TCB signing chain", edit(func(c *tdx.Collateral) {
			c.TCBInfo = untrusted.SignTCBInfo(p.DefaultTCBInfo("UpToDate"))
			c.TCBInfoIssuerChain = tdxtest.PEM(untrusted.TCBSigner.Cert, untrusted.Root.Cert)
		}), time.Time{}, []error{verify.ErrChain}},
		{"COL-03 CA certificate as TCB signer", edit(func(c *tdx.Collateral) {
			c.TCBInfo = tdxtest.SignJSON("tcbInfo", jsonOf(t, p.DefaultTCBInfo("UpToDate")), caSigner.Private)
			c.TCBInfoIssuerChain = tdxtest.PEM(caSigner.Cert, p.Root.Cert)
		}), time.Time{}, []error{verify.ErrChain}},
		// A platform's PCK leaf chains to the pinned root too, but its key
		// (one per platform, extracted in past SGX attacks) must not rate
		// every platform's TCB: only a certificate the root issued directly
		// signs collateral.
		{"COL-03 PCK leaf as TCB signer", edit(func(c *tdx.Collateral) {
			c.TCBInfo = tdxtest.SignJSON("tcbInfo", jsonOf(t, p.DefaultTCBInfo("UpToDate")), p.PCK.Private)
			c.TCBInfoIssuerChain = tdxtest.PEM(p.PCK.Cert, p.PCKCA.Cert, p.Root.Cert)
		}), time.Time{}, []error{verify.ErrChain}},
		{"COL-03 PCK leaf as QE identity signer", edit(func(c *tdx.Collateral) {
			c.QEIdentity = tdxtest.SignJSON("enclaveIdentity", mustMarshal(t, tdxtest.DefaultQEIdentity()), p.PCK.Private)
			c.QEIdentityIssuerChain = tdxtest.PEM(p.PCK.Cert, p.PCKCA.Cert, p.Root.Cert)
		}), time.Time{}, []error{verify.ErrChain}},
		{"COL-04 SGX TCB info", withTCB(tcb(func(ti *tdxtest.TCBInfo) { ti.ID = "SGX"; ti.Version = 2 })), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-04 QE identity of the SGX QE", withQE(qe(func(qi *tdxtest.QEIdentity) { qi.ID = "QE" })), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-05 other FMSPC", withTCB(tcb(func(ti *tdxtest.TCBInfo) { ti.FMSPC = "00906ED50001" })), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-05 other PCEID", withTCB(tcb(func(ti *tdxtest.TCBInfo) { ti.PCEID = "0100" })), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-06 15 SGX components", withTCB(tcb(func(ti *tdxtest.TCBInfo) {
			ti.TCBLevels[0].TCB.SGXComponents = ti.TCBLevels[0].TCB.SGXComponents[:15]
		})), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-06 every level above the platform", withTCB(tcb(func(ti *tdxtest.TCBInfo) {
			ti.TCBLevels = []tdxtest.Level{tdxtest.PlatformLevel(9, 13, 2, "UpToDate", "2024-03-13T00:00:00Z")}
		})), time.Time{}, []error{verify.ErrTCB}},
		{"TDX-21 module identities stripped", withTCB(tcb(func(ti *tdxtest.TCBInfo) { ti.TDXModuleIdentities = nil })), time.Time{}, []error{verify.ErrTCB, verify.ErrCollateral}},
		{"TDX-20 module mrsigner mismatch in TCB info", withTCB(tcb(func(ti *tdxtest.TCBInfo) { ti.TDXModule.MRSigner = strings.Repeat("11", 48) })), time.Time{}, []error{verify.ErrTCB}},
		{"COL-08 QE MRSIGNER", withQE(qe(func(qi *tdxtest.QEIdentity) { qi.MRSigner = strings.Repeat("AA", 32) })), time.Time{}, []error{verify.ErrTCB}},
		{"COL-08 QE ISVPRODID", withQE(qe(func(qi *tdxtest.QEIdentity) { qi.ISVProdID = 1 })), time.Time{}, []error{verify.ErrTCB}},
		{"COL-08 QE MISCSELECT", withQE(qe(func(qi *tdxtest.QEIdentity) { qi.MiscSelect = "00000001" })), time.Time{}, []error{verify.ErrTCB}},
		{"COL-08 QE ATTRIBUTES", withQE(qe(func(qi *tdxtest.QEIdentity) { qi.Attributes = "13000000000000000000000000000000" })), time.Time{}, []error{verify.ErrTCB}},
		{"COL-08 QE ISVSVN in a revoked level", withQE(qe(func(qi *tdxtest.QEIdentity) {
			qi.TCBLevels = []tdxtest.Level{tdxtest.ISVLevel(5, "UpToDate", "2024-03-13T00:00:00Z"), tdxtest.ISVLevel(0, "Revoked", "2019-01-01T00:00:00Z")}
		})), time.Time{}, []error{verify.ErrRevoked}},
		{"COL-09 PCK revoked", edit(func(c *tdx.Collateral) { c.PCKCRL = tdxtest.CRL(p.PCKCA, p.PCK.Cert.SerialNumber) }), time.Time{}, []error{verify.ErrRevoked}},
		{"COL-09 PCK CRL by another CA", edit(func(c *tdx.Collateral) {
			c.PCKCRL = tdxtest.CRL(otherCA)
			c.PCKCRLIssuerChain = tdxtest.PEM(otherCA.Cert, p.Root.Cert)
		}), time.Time{}, []error{verify.ErrChain}},
		{"COL-09 PCK CRL issuer is not the PCK's issuer", edit(func(c *tdx.Collateral) {
			c.PCKCRL = tdxtest.CRL(sibling)
			c.PCKCRLIssuerChain = tdxtest.PEM(sibling.Cert, p.Root.Cert)
		}), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-09 PCK CRL signature by another key", edit(func(c *tdx.Collateral) {
			c.PCKCRL = tdxtest.CRL(tdxtest.Key{Cert: p.PCKCA.Cert, Private: otherCA.Private})
		}), time.Time{}, []error{verify.ErrSignature}},
		{"COL-09 PCK CRL past nextUpdate", edit(func(c *tdx.Collateral) {
			c.PCKCRL = tdxtest.CRLAt(p.PCKCA, tdxtest.IssueDate(), tdxtest.VerifyTime().Add(-time.Hour))
		}), time.Time{}, []error{verify.ErrCollateral, verify.ErrExpired}},
		{"COL-09 root CRL revokes the PCK CA", edit(func(c *tdx.Collateral) { c.RootCACRL = tdxtest.CRL(p.Root, p.PCKCA.Cert.SerialNumber) }), time.Time{}, []error{verify.ErrRevoked}},
		{"COL-09 root CRL revokes the TCB signer", edit(func(c *tdx.Collateral) { c.RootCACRL = tdxtest.CRL(p.Root, p.TCBSigner.Cert.SerialNumber) }), time.Time{}, []error{verify.ErrRevoked}},
		{"COL-03 TCB info not JSON", withTCB([]byte("not json")), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-03 TCB info without tcbInfo", withTCB(bytes.Replace(okTCB, []byte(`"tcbInfo"`), []byte(`"tcbInfo2"`), 1)), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-03 QE identity signature not hex", withQE(bytes.Replace(okQE, []byte(`"signature":"`), []byte(`"signature":"zz`), 1)), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-03 QE identity signature of one byte", withQE([]byte(`{"enclaveIdentity":` + string(mustMarshal(t, tdxtest.DefaultQEIdentity())) + `,"signature":"00"}`)), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-10 QE identity missing", withQE(nil), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-09 PCK CRL not a CRL", edit(func(c *tdx.Collateral) { c.PCKCRL = []byte("not a CRL") }), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-09 root CRL bad PEM", edit(func(c *tdx.Collateral) { c.RootCACRL = []byte("-----BEGIN X509 CRL-----\nnot base64\n") }), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-10 PCK CRL missing", edit(func(c *tdx.Collateral) { c.PCKCRL = nil }), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-10 root CRL missing", edit(func(c *tdx.Collateral) { c.RootCACRL = nil }), time.Time{}, []error{verify.ErrCollateral}},
		{"COL-12 clock in 2053", p.DefaultCollateral(), time.Date(2053, 1, 1, 0, 0, 0, 0, time.UTC), []error{verify.ErrChain, verify.ErrExpired}},
		{"COL-12 clock before notBefore", p.DefaultCollateral(), time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), []error{verify.ErrChain, verify.ErrExpired}},
	}
	ran := 0
	for _, c := range cases {
		caseID, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(badCollateralIDs, caseID) {
			t.Fatalf("case %q: its ID is not in badCollateralIDs, so no TestCOLnn runs it", c.name)
		}
		if caseID != id {
			continue
		}
		ran++
		t.Run(c.name, func(t *testing.T) {
			f.setCollateral(c.col)
			e := exp()
			if !c.now.IsZero() {
				e.Now = c.now
			}
			cl, err := verifyQuote(t, f.verifier(t), q, e)
			wantKinds(t, err, c.kinds...)
			if cl != nil {
				t.Fatal("claims with an error")
			}
		})
	}
	if ran == 0 {
		t.Fatalf("no bad-collateral case for %s", id)
	}
}

func jsonOf(t *testing.T, ti tdxtest.TCBInfo) []byte {
	t.Helper()
	return mustMarshal(t, ti)
}

// COL-05: FMSPC in lowercase still matches.
func TestFMSPCCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	ti := f.pki.DefaultTCBInfo("UpToDate")
	ti.FMSPC = strings.ToLower(ti.FMSPC)
	f.setCollateral(f.pki.Collateral(f.pki.SignTCBInfo(ti), f.pki.SignQEIdentity(tdxtest.DefaultQEIdentity())))
	if _, err := verifyQuote(t, f.verifier(t), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp()); err != nil {
		t.Fatal(err)
	}
}

// COL-06: unsorted levels never rate a platform higher than a lower level
// it also meets: the first matching level in Intel's order is taken.
func TestUnsortedLevels(t *testing.T) {
	f := newFixture(t)
	ti := f.pki.DefaultTCBInfo("UpToDate")
	ti.TCBLevels[0], ti.TCBLevels[1] = ti.TCBLevels[1], ti.TCBLevels[0]
	f.setCollateral(f.pki.Collateral(f.pki.SignTCBInfo(ti), f.pki.SignQEIdentity(tdxtest.DefaultQEIdentity())))
	c, err := verifyQuote(t, f.verifier(t), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	if err != nil {
		t.Fatal(err)
	}
	if c.TCB.PlatformStatus != tdx.StatusOutOfDate {
		t.Fatalf("status %s", c.TCB.PlatformStatus)
	}
}

// COL-11: rollback to older collateral below a configured evaluation number.
func TestCOL11CollateralRollback(t *testing.T) {
	f := newFixture(t)
	_, err := verifyQuote(t, f.verifier(t, tdx.WithMinTCBEvaluationDataNumber(18)), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	wantKinds(t, err, verify.ErrCollateral)
	if _, err := verifyQuote(t, f.verifier(t, tdx.WithMinTCBEvaluationDataNumber(17)), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp()); err != nil {
		t.Fatal(err)
	}
}

// COL-13: when both the QE identity and the platform TCB fail, both surface.
func TestCOL13ErrorAggregation(t *testing.T) {
	f := newFixture(t)
	ti := f.pki.DefaultTCBInfo("UpToDate")
	ti.TCBLevels = []tdxtest.Level{tdxtest.PlatformLevel(9, 13, 2, "UpToDate", "2024-03-13T00:00:00Z")}
	qi := tdxtest.DefaultQEIdentity()
	qi.MRSigner = strings.Repeat("AA", 32)
	f.setCollateral(f.pki.Collateral(f.pki.SignTCBInfo(ti), f.pki.SignQEIdentity(qi)))
	_, err := verifyQuote(t, f.verifier(t), f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	wantKinds(t, err, verify.ErrTCB)
	for _, want := range []string{"QE report mrsigner", "no TCB level"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%q missing from %v", want, err)
		}
	}
}

// The pinned root is the only anchor: the embedded Intel root rejects the test PKI.
func TestEmbeddedRootRejectsTestPKI(t *testing.T) {
	f := newFixture(t)
	v, err := tdx.NewVerifier(tdx.WithCollateral(f.src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifyQuote(t, v, f.pki.Quote(f.pki.DefaultQuote(nonce)), exp())
	wantKinds(t, err, verify.ErrChain)
	if !tdx.IntelSGXRootCA().IsCA || tdx.IntelSGXRootCA().Subject.CommonName != "Intel SGX Root CA" {
		t.Fatal("embedded root")
	}
}

// COL-01 in explicit offline mode: expired collateral within the grace is a
// claim and an unsafe mark; beyond it, an error.
func TestExpiredCollateralGrace(t *testing.T) {
	f := newFixture(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	v := f.verifier(t, tdx.WithExpiredCollateralUnsafe(48*time.Hour))
	e := exp()
	c, err := verifyQuote(t, v, q, e)
	if err != nil || c.Map()["collateral_expiration_status"] != "0" || len(c.Unsafe) != 0 {
		t.Fatalf("fresh: %v", err)
	}
	e.Now = tdxtest.NextUpdate().Add(24 * time.Hour)
	c, err = verifyQuote(t, v, q, e)
	if err != nil {
		t.Fatal(err)
	}
	if c.Map()["collateral_expiration_status"] != "1" || !c.TCB.Expired || !contains(c.Unsafe, tdx.UnsafeExpiredCollateral) {
		t.Fatalf("stale: %v %v", c.Map()["collateral_expiration_status"], c.Unsafe)
	}
	e.Now = tdxtest.NextUpdate().Add(49 * time.Hour)
	_, err = verifyQuote(t, v, q, e)
	wantKinds(t, err, verify.ErrCollateral, verify.ErrExpired)
	if _, err := tdx.NewVerifier(tdx.WithExpiredCollateralUnsafe(0)); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("zero grace: %v", err)
	}
}
