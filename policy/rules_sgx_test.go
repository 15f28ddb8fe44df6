package policy

import (
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/sgx/sgxtest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// sgxMinted verifies a quote of sgxtest's default (production) enclave,
// changed by mutate, against collateral rating its platform status.
func sgxMinted(t *testing.T, status string, mutate func(*sgxtest.QuoteSpec)) map[string]any {
	t.Helper()
	p := sgxtest.NewPKI()
	rd := make([]byte, 64)
	copy(rd, "policy")
	s := p.DefaultQuote(rd)
	if mutate != nil {
		mutate(&s)
	}
	coll := p.Collateral(p.SignTCBInfo(p.DefaultTCBInfo(status)), p.SignQEIdentity(p.DefaultQEIdentity()))
	v, err := sgx.NewVerifier(sgx.WithTrustedRoots(p.Root.Cert), sgx.WithCollateral(p.Source(coll)))
	require.NoError(t, err)
	c, err := v.Verify(context.Background(), p.Quote(s), verify.Expectations{Now: tdxtest.VerifyTime(), ReportData: rd})
	require.NoError(t, err)
	return c.Map()
}

func appraiseSGX(t *testing.T, rv *ReferenceValues, m map[string]any, unsafe ...verify.UnsafeSwitch) *verify.PolicyResult {
	t.Helper()
	p, err := New(rv)
	require.NoError(t, err)
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: verify.FormatSGX, Claims: m, Now: now, Unsafe: unsafe})
	require.NoError(t, err)
	for _, c := range r.Checks {
		require.NotEmpty(t, c.Title, c.ID)
		require.False(t, !c.OK && c.Value.Tier() == ear.StatusAffirming, "failed check %s sets an affirming claim %d", c.ID, c.Value)
	}
	return r
}

func sgxRV(t *testing.T, entries ...Entry) *ReferenceValues {
	t.Helper()
	rv, err := FromEntries(entries...)
	require.NoError(t, err)
	return rv
}

func hex32(b [32]byte) string { return hex.EncodeToString(b[:]) }

// An UpToDate production enclave pinned by MRENCLAVE, or by MRSIGNER and
// ISVPRODID, is affirmed with approved boot.
func TestSGXAffirming(t *testing.T) {
	m := sgxMinted(t, "UpToDate", nil)
	for name, rv := range map[string]*ReferenceValues{
		"mr_enclave": sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())}),
		"mr_signer + isv_prod_id + isv_svn floor": sgxRV(t, Entry{Name: "sgx_mr_signer", Value: hex32(sgxtest.MRSigner())}, Entry{Name: "sgx_isv_prod_id", Value: "7"},
			Entry{Name: "sgx_min_isv_svn", Value: "1"}),
		"with an ISVSVN floor": sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())}, Entry{Name: "sgx_min_isv_svn", Value: "3"}),
	} {
		r := appraiseSGX(t, rv, m)
		require.Equal(t, ear.StatusAffirming, r.Status(), "%s: vector %v checks %+v", name, r.TrustVector, r.Checks)
		wantVector(t, r, ear.Executables, ear.ApprovedBoot)
		wantVector(t, r, ear.Hardware, ear.GenuineHardware)
		wantVector(t, r, ear.Configuration, ear.NoConfigVulns)
		wantVector(t, r, ear.RuntimeOpaque, ear.EncryptedMemory)
	}
}

// MRSIGNER and ISVPRODID without an ISVSVN floor: every version the signer
// ever shipped would pass, so the enclave is not approved.
func TestSGXSignerWithoutSVNFloor(t *testing.T) {
	m := sgxMinted(t, "UpToDate", nil)
	r := appraiseSGX(t, sgxRV(t, Entry{Name: "sgx_mr_signer", Value: hex32(sgxtest.MRSigner())}, Entry{Name: "sgx_isv_prod_id", Value: "7"}), m)
	require.NotEqual(t, ear.StatusAffirming, r.Status())
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
}

// Neither MRENCLAVE nor MRSIGNER with ISVPRODID pinned: never approved.
// MRSIGNER alone would approve every enclave of its signer.
func TestSGXUnpinned(t *testing.T) {
	m := sgxMinted(t, "UpToDate", nil)
	for name, rv := range map[string]*ReferenceValues{
		"none":             nil,
		"mr_signer only":   sgxRV(t, Entry{Name: "sgx_mr_signer", Value: hex32(sgxtest.MRSigner())}),
		"isv_prod_id only": sgxRV(t, Entry{Name: "sgx_isv_prod_id", Value: "7"}),
	} {
		r := appraiseSGX(t, rv, m)
		assert.Equal(t, ear.StatusWarning, r.Status(), name)
		wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
	}
}

// A pinned identity that differs, or an ISVSVN below the floor,
// contraindicates the executables.
func TestSGXMismatch(t *testing.T) {
	m := sgxMinted(t, "UpToDate", nil)
	other := hex32([32]byte{1})
	for name, rv := range map[string]*ReferenceValues{
		"mr_enclave":  sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: other}),
		"mr_signer":   sgxRV(t, Entry{Name: "sgx_mr_signer", Value: other}, Entry{Name: "sgx_isv_prod_id", Value: "7"}),
		"isv_prod_id": sgxRV(t, Entry{Name: "sgx_mr_signer", Value: hex32(sgxtest.MRSigner())}, Entry{Name: "sgx_isv_prod_id", Value: "8"}),
		"isv_svn":     sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())}, Entry{Name: "sgx_min_isv_svn", Value: "4"}),
		"misc_select": sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())}, Entry{Name: "sgx_misc_select", Value: "01000000"}),
		"family_id":   sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())}, Entry{Name: "sgx_isv_family_id", Value: "01" + strings.Repeat("00", 15)}),
	} {
		r := appraiseSGX(t, rv, m)
		assert.Equal(t, ear.StatusContraindicated, r.Status(), name)
		wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
		for _, c := range r.Checks {
			assert.NotEqual(t, "sgx.executables", c.ID, "%s: no approval beside a failed pin", name)
		}
	}
}

// TestSGX24DebugEnclaveRefused: a debug enclave is refused even with its
// MRENCLAVE pinned — minted, and the real Occlum quote (DEBUG, flags 0x07).
func TestSGX24DebugEnclaveRefused(t *testing.T) {
	minted := sgxMinted(t, "UpToDate", func(s *sgxtest.QuoteSpec) { s.Body.Attributes[0] |= sgx.AttrDebug })
	b, err := os.ReadFile("../testdata/sgx/occlum_quote.dat")
	require.NoError(t, err)
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	rd := make([]byte, 64)
	copy(rd, "test")
	c, err := v.Verify(context.Background(), b, verify.Expectations{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), ReportData: rd})
	require.NoError(t, err)
	for name, in := range map[string]struct {
		m      map[string]any
		unsafe []verify.UnsafeSwitch
	}{"minted": {minted, nil}, "occlum": {c.Map(), verify.UnsafeSwitchesOf(c)}} {
		require.Equal(t, true, in.m["debug"], name)
		r := appraiseSGX(t, sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: in.m["mr_enclave"]}), in.m, in.unsafe...)
		assert.Equal(t, ear.StatusContraindicated, r.Status(), name)
		wantVector(t, r, ear.Configuration, ear.UnsupportableConfig)
		wantVector(t, r, ear.RuntimeOpaque, ear.VisibleMemory)
		assert.False(t, check(t, r, "sgx.debug").OK, name)
	}
}

// TCB statuses as for TDX: tolerated ones warn, Revoked never reaches the
// policy (the verifier refuses it), no status (no collateral) is unrecognized.
func TestSGXTCBStatus(t *testing.T) {
	rv := sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())})
	hardening := sgxMinted(t, "SWHardeningNeeded", nil)
	r := appraiseSGX(t, rv, hardening)
	assert.Equal(t, ear.StatusWarning, r.Status())
	wantVector(t, r, ear.Hardware, ear.UnsafeHardware)
	accept := sgxRV(t, Entry{Name: "sgx_mr_enclave", Value: hex32(sgxtest.MREnclave())}, Entry{Name: "sgx_accepted_tcb_status", Value: []any{"UpToDate", "SWHardeningNeeded"}})
	assert.Equal(t, ear.StatusAffirming, appraiseSGX(t, accept, hardening).Status())

	m := sgxMinted(t, "UpToDate", nil)
	delete(m, "tcb_status")
	r = appraiseSGX(t, rv, m)
	wantVector(t, r, ear.Hardware, ear.UnrecognizedHardware)
}
