package tdx_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// The bad-input catalogue's TDX and COL cases, one test function per case
// ID, so that `go test -run TDX07` runs exactly that case and the catalogue
// coverage test (internal/catalogue) finds every ID. The cases themselves
// are the tables of badQuotes and badCollateral.

// badQuoteIDs are the IDs badQuotes has cases for.
var badQuoteIDs = []string{"TDX-01", "TDX-02", "TDX-03", "TDX-04", "TDX-05", "TDX-06", "TDX-07", "TDX-08",
	"TDX-09", "TDX-10", "TDX-11", "TDX-12", "TDX-13", "TDX-14", "TDX-15", "TDX-19", "TDX-20", "TDX-21", "TDX-23"}

func TestTDX01SignedBody(t *testing.T)            { badQuotes(t, "TDX-01") }
func TestTDX02SignedHeader(t *testing.T)          { badQuotes(t, "TDX-02") }
func TestTDX03QuoteSignature(t *testing.T)        { badQuotes(t, "TDX-03") }
func TestTDX04AttestationKeyBinding(t *testing.T) { badQuotes(t, "TDX-04") }
func TestTDX05QEReportBinding(t *testing.T)       { badQuotes(t, "TDX-05") }
func TestTDX06UntrustedRoot(t *testing.T)         { badQuotes(t, "TDX-06") }
func TestTDX07PCKChainShape(t *testing.T)         { badQuotes(t, "TDX-07") }
func TestTDX08CertDataType(t *testing.T)          { badQuotes(t, "TDX-08") }
func TestTDX09LengthFields(t *testing.T)          { badQuotes(t, "TDX-09") }
func TestTDX10Truncation(t *testing.T)            { badQuotes(t, "TDX-10") }
func TestTDX11TrailingBytes(t *testing.T)         { badQuotes(t, "TDX-11") }
func TestTDX12Version(t *testing.T)               { badQuotes(t, "TDX-12") }
func TestTDX13TEEType(t *testing.T)               { badQuotes(t, "TDX-13") }
func TestTDX14KeyType(t *testing.T)               { badQuotes(t, "TDX-14") }
func TestTDX15QEVendor(t *testing.T)              { badQuotes(t, "TDX-15") }
func TestTDX19SEAMAttributes(t *testing.T)        { badQuotes(t, "TDX-19") }
func TestTDX20MRSignerSEAM(t *testing.T)          { badQuotes(t, "TDX-20") }
func TestTDX21ModuleIdentity(t *testing.T)        { badQuotes(t, "TDX-21") }
func TestTDX23V5Body(t *testing.T)                { badQuotes(t, "TDX-23") }

// badCollateralIDs are the IDs badCollateral has cases for.
var badCollateralIDs = []string{"COL-01", "COL-02", "COL-03", "COL-04", "COL-05", "COL-06", "COL-08", "COL-09", "COL-10", "COL-12",
	"TDX-20", "TDX-21"}

func TestCOL01TCBInfoExpiry(t *testing.T)         { badCollateral(t, "COL-01") }
func TestCOL02IssueDate(t *testing.T)             { badCollateral(t, "COL-02") }
func TestCOL03SigningChain(t *testing.T)          { badCollateral(t, "COL-03") }
func TestCOL04CollateralType(t *testing.T)        { badCollateral(t, "COL-04") }
func TestCOL05FMSPCAndPCEID(t *testing.T)         { badCollateral(t, "COL-05") }
func TestCOL06TCBLevelMatch(t *testing.T)         { badCollateral(t, "COL-06") }
func TestCOL08QEIdentity(t *testing.T)            { badCollateral(t, "COL-08") }
func TestCOL09PCKRevocation(t *testing.T)         { badCollateral(t, "COL-09") }
func TestCOL10RevocationUnavailable(t *testing.T) { badCollateral(t, "COL-10") }
func TestCOL12TimeSource(t *testing.T)            { badCollateral(t, "COL-12") }

// TDX-25: a missing, empty or all-zero expected report data is ErrConfig,
// never an unchecked field; only the Unsafe switch skips the check, and the
// claims say so.
func TestTDX25EmptyExpectation(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	for name, rd := range map[string][]byte{"nil": nil, "empty": {}, "all zero": make([]byte, 64)} {
		t.Run(name, func(t *testing.T) {
			e := exp()
			e.ReportData = rd
			cl, err := verifyQuote(t, v, q, e)
			require.ErrorIs(t, err, verify.ErrConfig)
			assert.Nil(t, cl)
		})
	}
	e := exp()
	e.ReportData, e.AllowMissingReportDataUnsafe = nil, true
	cl, err := verifyQuote(t, v, q, e)
	require.NoError(t, err)
	assert.Contains(t, cl.UnsafeSwitches(), verify.UnsafeMissingReportData)
}

// TDX-29: a CCEL event moved to another CC MR index (RTMR1 → RTMR2) no
// longer replays to the quote's RTMRs: ErrBinding.
func TestTDX29MRIndexShift(t *testing.T) {
	quote := mustRead(t, "../testdata/tdx/cos-113-tdx-quote.dat")
	ccel := mustRead(t, "../testdata/tdx/ccel_data.dat")
	log, err := tdx.ParseCCEL(ccel)
	require.NoError(t, err)
	offsets := eventOffsets(t, ccel)
	var shifted []byte
	for i, ev := range log.Events {
		if ev.MRIndex == 2 && ev.Type != 4 {
			shifted = append([]byte(nil), ccel...)
			binary.LittleEndian.PutUint32(shifted[offsets[i]:], 3)
			break
		}
	}
	require.NotNil(t, shifted, "the log has an RTMR1 event")
	ev := func(l []byte) []byte {
		b, err := json.Marshal(map[string]any{"quote": quote, "cc_eventlog": l})
		require.NoError(t, err)
		return b
	}
	e := verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	v, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	_, err = verifyQuote(t, v, ev(ccel), e)
	require.NoError(t, err)
	cl, err := verifyQuote(t, v, ev(shifted), e)
	require.ErrorIs(t, err, verify.ErrBinding)
	assert.Nil(t, cl)
}

// TDX-16: a debug TD (TD_ATTRIBUTES bit 0) verifies, and its claims say
// so; the default policy denies it (contraindicated, configuration 96) even
// when every measurement matches.
func TestTDX16DebugTDDeniedByDefault(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	s := f.pki.DefaultQuote(nonce)
	binary.LittleEndian.PutUint64(s.Body.TDAttributes[:], tdx.TDAttrDebug)
	cl, err := verifyQuote(t, v, f.pki.Quote(s), exp())
	require.NoError(t, err)
	claims := cl.Map()
	require.Equal(t, true, claims["td_attributes.debug"])
	rv, err := policy.FromEntries(policy.Entry{Name: "mr_td", Value: claims["quote.body.mr_td"].(string)})
	require.NoError(t, err)
	p, err := policy.New(rv)
	require.NoError(t, err)
	r, err := p.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: verify.FormatTDX, Claims: claims, Now: exp().Now})
	require.NoError(t, err)
	assert.Equal(t, ear.StatusContraindicated, r.Status())
	assert.Equal(t, ear.UnsupportableConfig, r.TrustVector[ear.Configuration])

	// The same quote without the debug bit is not contraindicated.
	binary.LittleEndian.PutUint64(s.Body.TDAttributes[:], tdx.TDAttrSEPTVEDisable)
	cl, err = verifyQuote(t, v, f.pki.Quote(s), exp())
	require.NoError(t, err)
	r, err = p.Appraise(context.Background(), verify.PolicyInput{Submod: "cpu0", Format: verify.FormatTDX, Claims: cl.Map(), Now: exp().Now})
	require.NoError(t, err)
	assert.NotEqual(t, ear.StatusContraindicated, r.Status())
}
