package sgx_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

const td = "../testdata/sgx/"

// The pinned clocks of the real samples (testdata/sgx/README.md).
var (
	dcapTime    = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	occlumTime  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dcapRD      = padded("Hello, world!")
	occlumRD    = padded("test")
	dcapFMSPC   = [6]byte{0x00, 0xa0, 0x67, 0x11, 0x00, 0x00}
	occlumFMSPC = [6]byte{0x00, 0x60, 0x6a, 0x00, 0x00, 0x00}
)

func padded(s string) []byte {
	b := make([]byte, 64)
	copy(b, s)
	return b
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(td + name)
	require.NoError(t, err)
	return b
}

// dcapCollateral converts dcap-qvl's collateral JSON into the PCS shapes.
func dcapCollateral(t testing.TB) *sgx.Collateral {
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
	require.NoError(t, json.Unmarshal(read(t, "dcapqvl_sgx_collateral.json"), &d))
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	return &sgx.Collateral{
		TCBInfo:               []byte(`{"tcbInfo":` + d.TCBInfo + `,"signature":"` + d.TCBInfoSig + `"}`),
		TCBInfoIssuerChain:    []byte(d.TCBInfoChain),
		QEIdentity:            []byte(`{"enclaveIdentity":` + d.QEIdentity + `,"signature":"` + d.QESig + `"}`),
		QEIdentityIssuerChain: []byte(d.QEChain),
		PCKCRL:                unhex(d.PCKCRL),
		PCKCRLIssuerChain:     []byte(d.PCKCRLIssuerChain),
		RootCACRL:             unhex(d.RootCACRL),
	}
}

func dcapSource(t testing.TB, c *sgx.Collateral) *tdx.MemorySource {
	src := tdx.NewMemorySource()
	src.AddSGX(dcapFMSPC, "processor", c)
	return src
}

func dcapVerifier(t testing.TB, opts ...sgx.Option) *sgx.Verifier {
	t.Helper()
	v, err := sgx.NewVerifier(append([]sgx.Option{sgx.WithCollateral(dcapSource(t, dcapCollateral(t)))}, opts...)...)
	require.NoError(t, err)
	return v
}

// TestRealDCAPQVLSGXQuote verifies dcap-qvl's real SGX quote with its full
// collateral at the pinned time and checks Intel's answer (spec §1.7).
func TestRealDCAPQVLSGXQuote(t *testing.T) {
	v := dcapVerifier(t)
	c, err := v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: dcapTime, ReportData: dcapRD})
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	assert.Equal(t, tdx.StatusConfigurationAndSWHardeningNeeded, c.TCB.Status)
	assert.Equal(t, tdx.StatusConfigurationAndSWHardeningNeeded, c.TCB.PlatformStatus)
	assert.Equal(t, tdx.StatusUpToDate, c.TCB.QEStatus)
	assert.Equal(t, time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	assert.Equal(t, []string{"INTEL-SA-00289", "INTEL-SA-00615"}, c.TCB.AdvisoryIDs)
	assert.True(t, c.TCB.CRLsChecked)
	assert.Equal(t, 17, c.TCB.EvaluationDataNumber)
	assert.Equal(t, "processor", c.PCKCA)
	assert.Equal(t, dcapFMSPC, c.PCK.FMSPC)
	assert.Equal(t, uint16(13), c.PCK.PCESVN, "the PCK's PCESVN, not the quote header's 15")
	assert.False(t, c.Debug())
	assert.Empty(t, c.Unsafe)
	m := c.Map()
	assert.Equal(t, hex.EncodeToString(dcapRD), m["report_data"])
	assert.Equal(t, false, m["debug"])
	assert.Equal(t, "ConfigurationAndSWHardeningNeeded", m["tcb_status"])
	assert.Equal(t, "0300", m["header.version"])
	assert.Equal(t, c.Quote.Body.MREnclave[:], mustHex(t, m["mr_enclave"].(string)))

	// The expired collateral one second past the QE identity's nextUpdate.
	_, err = v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"),
		verify.Expectations{Now: time.Date(2025, 7, 19, 10, 1, 19, 0, time.UTC), ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrExpired)
	require.ErrorIs(t, err, verify.ErrCollateral)
}

func mustHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// TestRealOcclumDebugEnclave verifies Trustee's Occlum quote (signatures
// and chain only: no collateral exists for it) and reports the DEBUG bit.
func TestRealOcclumDebugEnclave(t *testing.T) {
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	c, err := v.VerifyQuote(context.Background(), read(t, "occlum_quote.dat"), verify.Expectations{Now: occlumTime, ReportData: occlumRD})
	require.NoError(t, err)
	assert.True(t, c.Debug())
	assert.Equal(t, true, c.Map()["debug"])
	assert.Equal(t, "platform", c.PCKCA)
	assert.Equal(t, occlumFMSPC, c.PCK.FMSPC)
	assert.Nil(t, c.TCB)
	assert.Equal(t, []verify.UnsafeSwitch{sgx.UnsafeWithoutCollateral}, c.Unsafe)
	assert.Equal(t, uint64(0x07), c.Quote.Body.Flags())
}

// TestRealTrusteeJSONEvidence reads Trustee's {"quote": base64} form.
func TestRealTrusteeJSONEvidence(t *testing.T) {
	q := read(t, "dcapqvl_sgx_quote.dat")
	ev, err := json.Marshal(map[string]any{"quote": q, "ignored": 1})
	require.NoError(t, err)
	v := dcapVerifier(t)
	assert.True(t, v.Detect(ev))
	assert.True(t, v.Detect(q))
	c, err := v.VerifyQuote(context.Background(), ev, verify.Expectations{Now: dcapTime, ReportData: dcapRD})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(q[:432], c.Quote.Signed))
}
