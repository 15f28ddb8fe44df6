package sgx_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// zkdcap's real SGX quote and the PCS collateral published next to it
// (provenance in testdata/sgx/README.md).
var (
	zkTime  = time.Date(2025, 2, 15, 0, 0, 0, 0, time.UTC) // inside 2025-01-21..2025-02-20
	zkFMSPC = [6]byte{0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00}
)

func zkQuote(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(string(read(t, "zkdcap_raw_quote_v3.hex"))))
	require.NoError(t, err)
	return b
}

// zkCollateral is the TCB info and QE identity zkdcap publishes, with the
// TCB Signing chain of their time (the certificate valid to 2025-05-21).
// zkdcap publishes no CRLs for it.
func zkCollateral(t testing.TB) *sgx.Collateral {
	chain := read(t, "../tdx/spr_tcbinfo_issuer_chain.pem")
	return &sgx.Collateral{
		TCBInfo:               read(t, "zkdcap_tcbinfov3_00906ED50000.json"),
		TCBInfoIssuerChain:    chain,
		QEIdentity:            read(t, "zkdcap_qeidentityv2_sgx.json"),
		QEIdentityIssuerChain: chain,
	}
}

func zkReportData(t testing.TB) []byte {
	rd := make([]byte, 64)
	copy(rd, mustHex(t, "01af6363621e462319c2bfa15d4b510dfa7911fb22"))
	return rd
}

func TestRealPublicZkdcapSGXQuote(t *testing.T) {
	quote := zkQuote(t)
	q, err := sgx.ParseQuote(quote)
	require.NoError(t, err)
	assert.EqualValues(t, 3, q.Header.Version)
	assert.EqualValues(t, 10, q.Header.QESVN)
	assert.Equal(t, 0, q.Padding)
	// The PEM chain is handed over as a C string: its NUL is counted in
	// the certification data size.
	assert.Equal(t, byte(0), q.PCKChainPEM[len(q.PCKChainPEM)-1])
	exp := verify.Expectations{Now: zkTime, ReportData: zkReportData(t)}

	// Signatures and chain only.
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	c, err := v.VerifyQuote(context.Background(), quote, exp)
	require.NoError(t, err)
	assert.Nil(t, c.TCB)
	assert.Equal(t, []verify.UnsafeSwitch{sgx.UnsafeWithoutCollateral}, c.Unsafe)
	assert.Equal(t, "processor", c.PCKCA)
	assert.Equal(t, zkFMSPC, c.PCK.FMSPC)
	assert.Equal(t, uint16(13), c.PCK.PCESVN, "the PCK's PCESVN, not the quote header's 16")
	assert.False(t, c.Debug())
	m := c.Map()
	assert.Equal(t, "26ae825ffce1cf9dcdf682614f4d36704e7bca087bbb5264aca9301d7824cec8", m["mr_enclave"])
	assert.Equal(t, "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e", m["mr_signer"])
	assert.Equal(t, "1515020401800e000000000000000000", m["pck.cpusvn"])
	assert.Equal(t, hex.EncodeToString(zkReportData(t)), m["report_data"])
	assert.Equal(t, 0, m["isv_prod_id"])

	// With zkdcap's TCB info and QE identity (no CRLs published: only with
	// the unsafe switch).
	src := tdx.NewMemorySource()
	src.AddSGX(zkFMSPC, "processor", zkCollateral(t))
	v, err = sgx.NewVerifier(sgx.WithCollateral(src), sgx.WithoutCRLsUnsafe())
	require.NoError(t, err)
	c, err = v.VerifyQuote(context.Background(), quote, exp)
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	assert.Equal(t, tdx.StatusSWHardeningNeeded, c.TCB.Status)
	assert.Equal(t, tdx.StatusSWHardeningNeeded, c.TCB.PlatformStatus)
	assert.Equal(t, tdx.StatusUpToDate, c.TCB.QEStatus)
	assert.Equal(t, []string{"INTEL-SA-00334", "INTEL-SA-00615"}, c.TCB.AdvisoryIDs)
	assert.Equal(t, time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	assert.Equal(t, 17, c.TCB.EvaluationDataNumber)
	assert.False(t, c.TCB.CRLsChecked)
	assert.Equal(t, []verify.UnsafeSwitch{sgx.UnsafeWithoutCRLs}, c.Unsafe)
	assert.Equal(t, "SWHardeningNeeded", c.Map()["tcb_status"])

	// Without the switch the missing CRLs are a collateral error.
	v, err = sgx.NewVerifier(sgx.WithCollateral(src))
	require.NoError(t, err)
	_, err = v.VerifyQuote(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrCollateral)
	// Past the collateral's nextUpdate.
	v, err = sgx.NewVerifier(sgx.WithCollateral(src), sgx.WithoutCRLsUnsafe())
	require.NoError(t, err)
	late := exp
	late.Now = time.Date(2025, 2, 21, 0, 0, 0, 0, time.UTC)
	_, err = v.VerifyQuote(context.Background(), quote, late)
	require.ErrorIs(t, err, verify.ErrExpired)
	// dcap-qvl's collateral is for another FMSPC.
	_, err = dcapVerifier(t).VerifyQuote(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrCollateral)
	// Before the PCK leaf's notBefore (2025-02-11) the chain is refused.
	early := exp
	early.Now = time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC)
	_, err = v.VerifyQuote(context.Background(), quote, early)
	require.ErrorIs(t, err, verify.ErrChain)
}

// Adversarial variants of the real zkdcap quote.
func TestRealPublicZkdcapSGXVariants(t *testing.T) {
	quote := zkQuote(t)
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	exp := verify.Expectations{Now: zkTime, ReportData: zkReportData(t)}
	q, err := sgx.ParseQuote(quote)
	require.NoError(t, err)
	// Offsets: header 48 + report 384, signature data length, then ISV
	// signature 64, attestation key 64, QE report 384, its signature 64,
	// auth data size and data, certification data type and size.
	const sigLenOff = 432
	certTypeOff := sigLenOff + 4 + 64 + 64 + 384 + 64 + 2 + len(q.QEAuthData)
	rebuild := func(certType uint16, pem []byte) []byte {
		out := append([]byte(nil), quote[:certTypeOff]...)
		out = binary.LittleEndian.AppendUint16(out, certType)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(pem)))
		out = append(out, pem...)
		binary.LittleEndian.PutUint32(out[sigLenOff:], uint32(len(out)-sigLenOff-4))
		return out
	}
	_, err = v.VerifyQuote(context.Background(), rebuild(5, q.PCKChainPEM), exp)
	require.NoError(t, err, "the rebuilt quote is the original")
	// Without the NUL the chain is the same.
	_, err = v.VerifyQuote(context.Background(), rebuild(5, q.PCKChainPEM[:len(q.PCKChainPEM)-1]), exp)
	require.NoError(t, err)

	for _, typ := range []uint16{1, 2, 3, 4, 6, 7} {
		_, err := v.VerifyQuote(context.Background(), rebuild(typ, q.PCKChainPEM), exp)
		require.ErrorIs(t, err, verify.ErrMalformed, "type %d", typ)
	}
	pem := string(q.PCKChainPEM)
	const end = "-----END CERTIFICATE-----\n"
	parts := strings.SplitAfter(pem, end)
	require.Len(t, parts, 4) // three certificates and the NUL
	leaf, inter, root := parts[0], parts[1], parts[2]
	for name, chain := range map[string]string{
		"two certificates":        leaf + inter,
		"intermediate duplicated": leaf + inter + inter + root,
		"root first":              root + inter + leaf,
		"truncated in the leaf":   leaf[:len(leaf)/2],
		"truncated in the END":    leaf + inter + root[:len(root)-10],
	} {
		_, err := v.VerifyQuote(context.Background(), rebuild(5, []byte(chain)), exp)
		require.Error(t, err, name)
		assert.True(t, errorsIsAny(err, verify.ErrChain, verify.ErrMalformed), "%s: %v", name, err)
	}
	// Truncated without fixing lengths.
	for _, cut := range []int{certTypeOff, certTypeOff + 5, len(quote) - 1} {
		_, err := sgx.ParseQuote(quote[:cut])
		require.ErrorIs(t, err, verify.ErrMalformed, "cut at %d", cut)
	}
	// The QE report of dcap-qvl's quote (another platform): not bound to
	// this attestation key.
	other, err := sgx.ParseQuote(read(t, "dcapqvl_sgx_quote.dat"))
	require.NoError(t, err)
	spliced := append([]byte(nil), quote...)
	copy(spliced[sigLenOff+4+64+64:], other.QEReport.Raw[:])
	copy(spliced[sigLenOff+4+64+64+384:], other.QEReportSignature[:])
	_, err = v.VerifyQuote(context.Background(), spliced, exp)
	require.Error(t, err)
	assert.True(t, errorsIsAny(err, verify.ErrSignature, verify.ErrBinding), "%v", err)
}

func errorsIsAny(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// dcap-rs's "full collateral" for FMSPC 00A067110000 (Intel's SGX TCB
// info and QE identity of 2024-08-26 embedded as JSON objects, both CRLs
// as PEM with CRLF line ends) appraises dcap-qvl's real SGX quote of the
// same platform, a year before the collateral dcap-qvl ships with it.
func TestRealPublicDCAPQVLSGXQuoteWithDcapRsCollateral(t *testing.T) {
	var d map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(read(t, "dcaprs_full_collateral_tdx.json"), &d))
	str := func(k string) []byte {
		var s string
		require.NoError(t, json.Unmarshal(d[k], &s), k)
		return []byte(s)
	}
	col := &sgx.Collateral{
		TCBInfo: d["tcb_info"], TCBInfoIssuerChain: str("tcb_info_issuer_chain"),
		QEIdentity: d["qe_identity"], QEIdentityIssuerChain: str("qe_identity_issuer_chain"),
		PCKCRL: str("pck_crl"), PCKCRLIssuerChain: str("pck_crl_issuer_chain"), RootCACRL: str("root_ca_crl"),
	}
	require.Contains(t, string(col.PCKCRL), "-----BEGIN X509 CRL-----\r\n")
	at := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	quote := read(t, "dcapqvl_sgx_quote.dat")
	v, err := sgx.NewVerifier(sgx.WithCollateral(dcapSource(t, col)))
	require.NoError(t, err)
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{Now: at, ReportData: dcapRD})
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	assert.True(t, c.TCB.CRLsChecked)
	assert.Empty(t, c.Unsafe)
	assert.Equal(t, tdx.StatusConfigurationAndSWHardeningNeeded, c.TCB.Status)
	assert.Equal(t, tdx.StatusUpToDate, c.TCB.QEStatus)
	// Intel's tcbDate for this level moved from 2023-08-09 (evaluation 16)
	// to 2024-03-13 (evaluation 17, TestRealDCAPQVLSGXQuote).
	assert.Equal(t, time.Date(2023, 8, 9, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	assert.Equal(t, 16, c.TCB.EvaluationDataNumber)
	assert.Equal(t, []string{"INTEL-SA-00289", "INTEL-SA-00615"}, c.TCB.AdvisoryIDs)
	assert.Equal(t, time.Date(2024, 9, 25, 0, 15, 38, 0, time.UTC), c.TCB.Expiry)

	// A floor of evaluation 17 refuses this older collateral.
	v17, err := sgx.NewVerifier(sgx.WithCollateral(dcapSource(t, col)), sgx.WithMinTCBEvaluationDataNumber(17))
	require.NoError(t, err)
	_, err = v17.VerifyQuote(context.Background(), quote, verify.Expectations{Now: at, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrCollateral)
	// After the TCB info's nextUpdate: expired.
	_, err = v.VerifyQuote(context.Background(), quote, verify.Expectations{Now: time.Date(2024, 9, 26, 0, 0, 0, 0, time.UTC), ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrExpired)
}

// dcap-rs's SGX quote: PCK Platform CA on FMSPC 00606A000000, its PCK
// certificate carrying SGX component SVNs of 255 (DER INTEGER 00 FF).
func TestRealPublicDcapRsSGXQuote(t *testing.T) {
	quote, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(read(t, "dcaprs_quote.hex"))), "0x"))
	require.NoError(t, err)
	q, err := sgx.ParseQuote(quote)
	require.NoError(t, err)
	assert.EqualValues(t, 9, q.Header.QESVN)
	assert.EqualValues(t, 14, q.Header.PCESVN)
	assert.Equal(t, byte(0), q.PCKChainPEM[len(q.PCKChainPEM)-1], "NUL-terminated PEM")
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	// Its REPORTDATA is all zero: no session to bind, so only the unsafe
	// switch lets it through, and an all-zero expectation is refused.
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) // PCK leaf 2023-08-24..2030-08-24
	_, err = v.VerifyQuote(context.Background(), quote, verify.Expectations{Now: at, ReportData: make([]byte, 64)})
	require.ErrorIs(t, err, verify.ErrConfig)
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{Now: at, AllowMissingReportDataUnsafe: true})
	require.NoError(t, err)
	assert.Equal(t, "platform", c.PCKCA)
	assert.Equal(t, occlumFMSPC, c.PCK.FMSPC)
	assert.Equal(t, [16]byte{12, 12, 3, 3, 255, 255, 1}, c.PCK.CompSVN)
	assert.Equal(t, uint16(13), c.PCK.PCESVN)
	m := c.Map()
	assert.Equal(t, "0c0c0303ffff01000000000000000000", m["pck.cpusvn"])
	assert.Equal(t, "a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd", m["mr_enclave"])
	assert.Equal(t, "1bda23eb3a807dfe735ddcebbfa2eac05e04a00df2804296612f770b594180ba", m["mr_signer"])
	assert.Equal(t, false, m["debug"])
	assert.Contains(t, c.Unsafe, verify.UnsafeMissingReportData)
	// Before the PCK leaf's notBefore.
	_, err = v.VerifyQuote(context.Background(), quote, verify.Expectations{Now: time.Date(2023, 8, 1, 0, 0, 0, 0, time.UTC), AllowMissingReportDataUnsafe: true})
	require.ErrorIs(t, err, verify.ErrChain)

	// No collateral is published for it: without the unsafe switch there is
	// no verifier, and a source without its platform is a collateral error.
	_, err = sgx.NewVerifier()
	require.ErrorIs(t, err, verify.ErrConfig)
	v, err = sgx.NewVerifier(sgx.WithCollateral(dcapSource(t, dcapCollateral(t))))
	require.NoError(t, err)
	_, err = v.VerifyQuote(context.Background(), quote, verify.Expectations{Now: at, AllowMissingReportDataUnsafe: true})
	require.ErrorIs(t, err, verify.ErrCollateral)
}

// Intel's TCB info version 2 (PCS API v3; components as sgxtcbcompNNsvn,
// no id) is genuinely signed but not read: it is refused as collateral,
// after its signature verifies, naming its version.
func TestRealPublicTCBInfoV2Refused(t *testing.T) {
	v2 := read(t, "dcaprs_tcb_info_v2.json")
	dc := dcapCollateral(t)
	col := sgx.Collateral{
		TCBInfo: v2, TCBInfoIssuerChain: dc.TCBInfoIssuerChain,
		QEIdentity: dc.QEIdentity, QEIdentityIssuerChain: dc.QEIdentityIssuerChain,
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // inside 2025-05-12..2025-06-11
	v, err := sgx.NewVerifier(sgx.WithCollateral(dcapSource(t, &col)), sgx.WithoutCRLsUnsafe())
	require.NoError(t, err)
	_, err = v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: at, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.NotErrorIs(t, err, verify.ErrSignature)
	assert.Contains(t, err.Error(), "version 2")
	// The same document with one byte changed fails its signature first.
	bad := sgx.Collateral{
		TCBInfo: bytes.Replace(v2, []byte(`"pcesvn":11`), []byte(`"pcesvn":12`), 1), TCBInfoIssuerChain: dc.TCBInfoIssuerChain,
		QEIdentity: dc.QEIdentity, QEIdentityIssuerChain: dc.QEIdentityIssuerChain,
	}
	v, err = sgx.NewVerifier(sgx.WithCollateral(dcapSource(t, &bad)), sgx.WithoutCRLsUnsafe())
	require.NoError(t, err)
	_, err = v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: at, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrSignature)
}
