package tdx

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// Real public TDX quotes found in other projects' test data (provenance in
// testdata/tdx/README.md). Each is checked for what verifies, the claims
// read from it, and what a reviewer would do to it.

// readHexQuote decodes a quote published as hex text, with or without a
// 0x prefix and surrounding whitespace.
func readHexQuote(t testing.TB, name string) []byte {
	t.Helper()
	s := strings.TrimSpace(string(read(t, name)))
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	require.NoError(t, err, name)
	return b
}

// dcapCollateralFrom converts a collateral JSON in dcap-qvl's shape (TCB
// info and QE identity as JSON strings with hex signatures, CRLs as hex
// DER) into the PCS shapes.
func dcapCollateralFrom(t testing.TB, name string) *Collateral {
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
	require.NoError(t, json.Unmarshal(read(t, name), &d))
	pckCRL, err := hex.DecodeString(d.PCKCRL)
	require.NoError(t, err)
	rootCRL, err := hex.DecodeString(d.RootCACRL)
	require.NoError(t, err)
	return &Collateral{
		TCBInfo:               []byte(`{"tcbInfo":` + d.TCBInfo + `,"signature":"` + d.TCBInfoSig + `"}`),
		TCBInfoIssuerChain:    []byte(d.TCBInfoChain),
		QEIdentity:            []byte(`{"enclaveIdentity":` + d.QEIdentity + `,"signature":"` + d.QESig + `"}`),
		QEIdentityIssuerChain: []byte(d.QEChain),
		PCKCRL:                pckCRL,
		PCKCRLIssuerChain:     []byte(d.PCKCRLIssuerChain),
		RootCACRL:             rootCRL,
	}
}

// realSample is a real quote and the claims it must yield.
type realSample struct {
	file      string
	verifyAt  time.Time
	fmspc     string
	ca        string
	tcbSVN    string
	mrTD      string
	rtmr0     string
	rtmr3     string
	reportDat string
}

var (
	// dcap-qvl's quote captured from Phala's tappd (dstack) guest agent.
	tappdSample = realSample{
		file:      "dcapqvl_quote-from-tappd.hex",
		verifyAt:  dcapTime,
		fmspc:     "b0c06f000000",
		ca:        "platform",
		tcbSVN:    "05010200000000000000000000000000",
		mrTD:      "c68518a0ebb42136c12b2275164f8c72f25fa9a34392228687ed6e9caeb9c0f1dbd895e9cf475121c029dc47e70e91fd",
		rtmr0:     "274c2344116db7c663470693b5ba62b8621eac28cb41d2f816ddf188f9f423f900a1c44d32386fd3c993dc814e62af9d",
		rtmr3:     "a2d25bc888a93009af5b70eadb410e9071d18387e4db39aae20fe767f5c4279d95e6519c5d797938a90694599c5bea7a",
		reportDat: "7668c6b4eafb62301c72714ecc7d90ce9a0e04b52dc117720df2047b0a59f1dbd937243eef1410a3cdc524aad66d4554b4f18b54da2fc0608dac40d6dea5f1d4",
	}
	// dcap-qvl's sample/tdx-quote.hex: the same platform and quoting
	// enclave session (same attestation key) as the tappd quote, another TD.
	phalaHexSample = realSample{
		file:      "dcapqvl_tdx-quote.hex",
		verifyAt:  dcapTime,
		fmspc:     "b0c06f000000",
		ca:        "platform",
		tcbSVN:    "05010200000000000000000000000000",
		mrTD:      "7ba9e262ce6979087e34632603f354dd8f8a870f5947d116af8114db6c9d0d74c48bec4280e5b4f4a37025a10905bb29",
		rtmr0:     "4574c098915caf3e82057817dbd135c1ed0ee1b39ac300c921479e2f5ebf5726a13ee0c8745ac891b6aee7c4f9664610",
		rtmr3:     "547fcba4630bfb981169a8a1903b79c244933413409dd0387acbd8e3b985bcc9164cf52735cd31f60bf2c5d1220c113f",
		reportDat: "7148f47ef58b475fce69b386e2d6b4c964a9533cc328ea8e544db66612a5174698d006951cefa8fd4450e884300638e567e22f9a012ef5754aa6a9d9564fcd8a",
	}
	// dcap-qvl's NEAR gas test quote (another platform, PCK of 2025-07-31),
	// published with its complete collateral of 2025-09-02.
	nearSample = realSample{
		file:      "dcapqvl_near_quote_hex.txt",
		verifyAt:  nearTime,
		fmspc:     "20a06f000000",
		ca:        "platform",
		tcbSVN:    "06010400000000000000000000000000",
		mrTD:      "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077",
		rtmr0:     "68102e7b524af310f7b7d426ce75481e36c40f5d513a9009c046e9d37e31551f0134d954b496a3357fd61d03f07ffe96",
		rtmr3:     "287a9242edd8c8429913ec66f44af611b820cf9b574f303a6caeddeb4c9826311aef6e518aaf4a17f55a81154592b7b3",
		reportDat: "0001d579ba6e734a1046feb6112f852df5f4f1e44a4e7ce1755ce3b07bd6aaab04e89ca01fdf4956d2f609c2709731cb813a0000000000000000000000000000",
	}
)

// nearTime is the time the NEAR gas test pins (2025-09-10T00:00:00Z),
// inside its collateral window 2025-09-02..2025-10-02.
var nearTime = time.Date(2025, 9, 10, 0, 0, 0, 0, time.UTC)

func checkRealSample(t *testing.T, s realSample) *Claims {
	t.Helper()
	quote := readHexQuote(t, s.file)
	q, err := ParseQuote(quote)
	require.NoError(t, err)
	assert.EqualValues(t, 4, q.Header.Version)
	assert.EqualValues(t, bodyTypeTDX10, q.BodyType)
	// 70 zero bytes pad each of these quotes to 5006 bytes.
	assert.Equal(t, 70, q.TrailingBytes)
	c, err := mustVerifier(t, WithoutCollateralUnsafe()).VerifyQuote(context.Background(), quote, expectQuote(t, quote, s.verifyAt))
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, s.fmspc, m["pck.fmspc"])
	assert.Equal(t, s.ca, m["pck.ca"])
	assert.Equal(t, s.tcbSVN, m["quote.body.tcb_svn"])
	assert.Equal(t, s.mrTD, m["quote.body.mr_td"])
	assert.Equal(t, s.rtmr0, m["quote.body.rtmr_0"])
	assert.Equal(t, s.rtmr3, m["quote.body.rtmr_3"])
	assert.Equal(t, s.reportDat, m["report_data"])
	assert.Equal(t, false, m["td_attributes.debug"])
	assert.Equal(t, true, m["td_attributes.septve_disable"])
	assert.Equal(t, []verify.UnsafeSwitch{UnsafeWithoutCollateral}, c.Unsafe)
	assert.Nil(t, c.TCB, "no TCB status without collateral")
	return c
}

func TestRealPublicTappdQuote(t *testing.T) {
	c := checkRealSample(t, tappdSample)
	assert.Equal(t, "0000001000000000", c.Map()["quote.body.td_attributes"])

	quote := readHexQuote(t, tappdSample.file)
	exp := verify.Expectations{ReportData: reportDataOf(t, quote), Now: dcapTime}
	// dcap-qvl's collateral of June 2025 for the same FMSPC: every
	// signature, chain and CRL checks out, but no TCB level admits this
	// PCK's SGX component 8 (3 < 5): TcbNotSupported, an ErrTCB only.
	_, err := mustVerifier(t, WithCollateral(staticSource{dcapCollateral(t)})).Verify(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrTCB)
	for _, kind := range []error{verify.ErrSignature, verify.ErrChain, verify.ErrRevoked, verify.ErrCollateral, verify.ErrExpired, verify.ErrBinding} {
		assert.NotErrorIs(t, err, kind)
	}
	assert.Contains(t, err.Error(), "SGX component 8 is 3 < 5")
	assert.Contains(t, err.Error(), "TcbNotSupported")

	// Without collateral and without the unsafe switch there is no verifier.
	_, err = NewVerifier()
	require.ErrorIs(t, err, verify.ErrConfig)
	// A source that has nothing for this platform: a collateral error.
	_, err = mustVerifier(t, WithCollateral(NewMemorySource())).Verify(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrCollateral)
}

func TestRealPublicPhalaHexQuote(t *testing.T) {
	checkRealSample(t, phalaHexSample)
	// Same quoting enclave session as the tappd quote: the attestation
	// key, the QE report and the PCK chain are byte-identical; only the
	// QE report's (randomised) ECDSA signature differs.
	a, err := ParseQuote(readHexQuote(t, phalaHexSample.file))
	require.NoError(t, err)
	b, err := ParseQuote(readHexQuote(t, tappdSample.file))
	require.NoError(t, err)
	assert.True(t, a.AttestationKey == b.AttestationKey, "attestation keys differ")
	assert.True(t, a.QEReport.Raw == b.QEReport.Raw, "QE reports differ")
	assert.True(t, bytes.Equal(a.PCKChainPEM, b.PCKChainPEM), "PCK chains differ")
	assert.False(t, a.QEReportSignature == b.QEReportSignature)
	assert.False(t, a.Body.MRTD == b.Body.MRTD)
}

func TestRealPublicNEARQuoteFullCollateral(t *testing.T) {
	checkRealSample(t, nearSample)
	quote := readHexQuote(t, nearSample.file)
	col := dcapCollateralFrom(t, "dcapqvl_near_quote_collateral.json")
	v := mustVerifier(t, WithCollateral(staticSource{col}))
	c, err := v.VerifyQuote(context.Background(), quote, expectQuote(t, quote, nearTime))
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	assert.Empty(t, c.Unsafe)
	assert.True(t, c.TCB.CRLsChecked)
	assert.Equal(t, StatusUpToDate, c.TCB.Status)
	assert.Equal(t, StatusUpToDate, c.TCB.PlatformStatus)
	assert.Equal(t, "TDX_01", c.TCB.ModuleID)
	assert.Equal(t, StatusUpToDate, c.TCB.ModuleStatus)
	assert.Equal(t, StatusUpToDate, c.TCB.QEStatus)
	assert.Equal(t, 17, c.TCB.EvaluationDataNumber)
	assert.Equal(t, time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	// The PCK CRL's nextUpdate is the earliest end of validity.
	assert.Equal(t, time.Date(2025, 10, 2, 7, 3, 51, 0, time.UTC), c.TCB.Expiry)
	m := c.Map()
	assert.Equal(t, "UpToDate", m["tcb_status"])
	assert.Equal(t, "UpToDate", m["tdx_module.tcb_status"])

	// The collateral's own window bounds the appraisal.
	exp := expectQuote(t, quote, time.Date(2025, 10, 3, 0, 0, 0, 0, time.UTC))
	_, err = v.Verify(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.ErrorIs(t, err, verify.ErrExpired)
	exp = expectQuote(t, quote, time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC))
	_, err = v.Verify(context.Background(), quote, exp)
	require.Error(t, err, "collateral issued 2025-09-02 cannot vouch for 2025-09-01")

	// This platform's collateral does not serve the other one (FMSPC B0C06F000000).
	other := readHexQuote(t, tappdSample.file)
	_, err = v.Verify(context.Background(), other, verify.Expectations{ReportData: reportDataOf(t, other), Now: nearTime})
	require.ErrorIs(t, err, verify.ErrCollateral)
}

// quoteParts locates the certification data of a v4 quote.
type quoteParts struct {
	q         *Quote
	sigLenOff int // offset of the signature data length
	certOff   int // offset of the outer certification data type
	innerOff  int // offset of the PCK certification data type
}

func splitV4(t testing.TB, quote []byte) quoteParts {
	t.Helper()
	q, err := ParseQuote(quote)
	require.NoError(t, err)
	require.EqualValues(t, 4, q.Header.Version)
	p := quoteParts{q: q, sigLenOff: headerSize + body10Size}
	p.certOff = p.sigLenOff + 4 + ecdsaSigSize + ecdsaKeySize
	p.innerOff = p.certOff + 6 + enclaveReportSize + ecdsaSigSize + 2 + len(q.QEAuthData)
	return p
}

// withInner rebuilds quote with the PCK certification data replaced by
// (innerType, pem) and every length field fixed, so that only the
// certification data differs.
func withInner(t testing.TB, quote []byte, innerType uint16, pem []byte) []byte {
	t.Helper()
	p := splitV4(t, quote)
	out := append([]byte(nil), quote[:p.innerOff]...)
	out = binary.LittleEndian.AppendUint16(out, innerType)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(pem)))
	out = append(out, pem...)
	binary.LittleEndian.PutUint32(out[p.certOff+2:], uint32(len(out)-(p.certOff+6)))
	binary.LittleEndian.PutUint32(out[p.sigLenOff:], uint32(len(out)-(p.sigLenOff+4)))
	return out
}

// pemBlocks splits a PEM chain into its certificate blocks.
func pemBlocks(t testing.TB, chain []byte) [][]byte {
	t.Helper()
	const end = "-----END CERTIFICATE-----\n"
	var out [][]byte
	for _, part := range strings.SplitAfter(string(chain), end) {
		if strings.Contains(part, "BEGIN CERTIFICATE") {
			out = append(out, []byte(part))
		}
	}
	require.Len(t, out, 3)
	return out
}

// Adversarial variants of the real quotes: what verifies stays the same,
// only the piece that was changed is refused, with the kind badinputs.md
// gives it.
func TestRealPublicQuoteVariants(t *testing.T) {
	tappd := readHexQuote(t, tappdSample.file)
	phala := readHexQuote(t, phalaHexSample.file)
	near := readHexQuote(t, nearSample.file)
	v := mustVerifier(t, WithoutCollateralUnsafe())
	// Every variant keeps the tappd quote's body.
	rd := reportDataOf(t, tappd)
	verifyAt := func(quote []byte, now time.Time) error {
		_, err := v.Verify(context.Background(), quote, verify.Expectations{ReportData: rd, Now: now})
		return err
	}
	p := splitV4(t, tappd)
	blocks := pemBlocks(t, p.q.PCKChainPEM)
	leaf, inter, root := blocks[0], blocks[1], blocks[2]
	join := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

	t.Run("rebuilt unchanged verifies", func(t *testing.T) {
		require.NoError(t, verifyAt(withInner(t, tappd, certTypePCKChain, p.q.PCKChainPEM), dcapTime))
	})
	t.Run("NUL-terminated PEM verifies", func(t *testing.T) {
		// Intel's quote generation library hands the chain over as a C
		// string: real quotes (e.g. zkdcap's SGX sample) count the NUL in
		// the certification data size.
		q := withInner(t, tappd, certTypePCKChain, append(append([]byte(nil), p.q.PCKChainPEM...), 0))
		require.NoError(t, verifyAt(q, dcapTime))
	})

	// TDX-07: chain shape.
	for name, pem := range map[string][]byte{
		"leaf and intermediate only":  join(leaf, inter),
		"intermediate duplicated":     join(leaf, inter, inter, root),
		"root appended twice":         join(leaf, inter, root, root),
		"leaf duplicated":             join(leaf, leaf, inter, root),
		"reordered root first":        join(root, inter, leaf),
		"intermediate and leaf swapd": join(inter, leaf, root),
		"leaf only":                   leaf,
	} {
		t.Run("TDX-07 "+name, func(t *testing.T) {
			err := verifyAt(withInner(t, tappd, certTypePCKChain, pem), dcapTime)
			require.Error(t, err)
			require.True(t, errors.Is(err, verify.ErrChain) || errors.Is(err, verify.ErrMalformed), "%v", err)
		})
	}
	t.Run("TDX-07 other platform's leaf", func(t *testing.T) {
		// The NEAR platform's PCK leaf did not sign this QE report.
		nearLeaf := pemBlocks(t, splitV4(t, near).q.PCKChainPEM)[0]
		// At a time both leaves are valid.
		err := verifyAt(withInner(t, tappd, certTypePCKChain, join(nearLeaf, inter, root)), nearTime)
		require.ErrorIs(t, err, verify.ErrSignature)
	})

	// TDX-10: certification data cut inside the PEM, lengths made consistent.
	for _, cut := range []int{0, 1, 27, len(leaf) / 2, len(leaf), len(leaf) + len(inter) - 30, bytes.LastIndex(p.q.PCKChainPEM, []byte("-----END")) + 12} {
		err := verifyAt(withInner(t, tappd, certTypePCKChain, p.q.PCKChainPEM[:cut]), dcapTime)
		require.Error(t, err, "cut at %d", cut)
		require.True(t, errors.Is(err, verify.ErrChain) || errors.Is(err, verify.ErrMalformed), "cut at %d: %v", cut, err)
	}
	// ... and truncated without fixing the lengths.
	for _, cut := range []int{p.innerOff, p.innerOff + 3, p.innerOff + 6 + 100, len(tappd) - 70 - 1} {
		_, err := ParseQuote(tappd[:cut])
		require.ErrorIs(t, err, verify.ErrMalformed, "cut at %d", cut)
	}

	// TDX-08: certification data types other than a nested 5.
	for _, typ := range []uint16{1, 2, 3, 4, 6, 7} {
		err := verifyAt(withInner(t, tappd, typ, p.q.PCKChainPEM), dcapTime)
		require.ErrorIs(t, err, verify.ErrMalformed, "inner type %d", typ)
	}
	t.Run("TDX-08 outer type 5", func(t *testing.T) {
		q := append([]byte(nil), tappd...)
		binary.LittleEndian.PutUint16(q[p.certOff:], certTypePCKChain)
		require.ErrorIs(t, verifyAt(q, dcapTime), verify.ErrMalformed)
	})

	// QE report (with its signature, auth data and PCK chain) from another
	// platform's quote: the QE report does not commit to this attestation key.
	t.Run("TDX-04 QE report from a different quote", func(t *testing.T) {
		np := splitV4(t, near)
		q := append([]byte(nil), tappd[:p.certOff]...)
		q = append(q, near[np.certOff:len(near)-np.q.TrailingBytes]...)
		binary.LittleEndian.PutUint32(q[p.sigLenOff:], uint32(len(q)-(p.sigLenOff+4)))
		require.ErrorIs(t, verifyAt(q, nearTime), verify.ErrBinding)
	})
	// Two quotes of one quoting enclave share the attestation key: one's
	// signature over the other's body must still fail.
	t.Run("TDX-03 signature from a sibling quote", func(t *testing.T) {
		q := append([]byte(nil), tappd...)
		copy(q[p.sigLenOff+4:], phala[p.sigLenOff+4:p.sigLenOff+4+ecdsaSigSize])
		require.ErrorIs(t, verifyAt(q, dcapTime), verify.ErrSignature)
	})

	// TDX-23: a v4 quote relabelled v5 with a descriptor that does not fit.
	for _, d := range []struct{ typ, size uint16 }{{2, 648}, {3, 584}, {4, 584}, {1, 584}} {
		q := append([]byte(nil), tappd[:headerSize]...)
		binary.LittleEndian.PutUint16(q, 5)
		q = binary.LittleEndian.AppendUint16(q, d.typ)
		q = binary.LittleEndian.AppendUint32(q, uint32(d.size))
		q = append(q, tappd[headerSize:]...)
		_, err := ParseQuote(q)
		require.ErrorIs(t, err, verify.ErrMalformed, "type %d size %d", d.typ, d.size)
	}
	t.Run("TDX-23 v5 descriptor type 2 size 584 on a v4 body fails only its signature", func(t *testing.T) {
		// Structurally right, but the header and descriptor are signed.
		q := append([]byte(nil), tappd[:headerSize]...)
		binary.LittleEndian.PutUint16(q, 5)
		q = binary.LittleEndian.AppendUint16(q, bodyTypeTDX10)
		q = binary.LittleEndian.AppendUint32(q, body10Size)
		q = append(q, tappd[headerSize:]...)
		require.ErrorIs(t, verifyAt(q, dcapTime), verify.ErrSignature)
	})
}

// near/mpc's node quote (a dstack TD on an updated B0C06F000000 platform,
// PCK of 2025-06-09) appraised with dcap-qvl's collateral for the same
// FMSPC: two projects' real data that fit together.
func TestRealPublicNEARMPCQuoteWithDcapCollateral(t *testing.T) {
	var raw []int
	require.NoError(t, json.Unmarshal(read(t, "nearmpc_quote.json"), &raw))
	quote := make([]byte, len(raw))
	for i, x := range raw {
		require.True(t, x >= 0 && x <= 255)
		quote[i] = byte(x)
	}
	exp := expectQuote(t, quote, dcapTime)
	c, err := mustVerifier(t, WithoutCollateralUnsafe()).VerifyQuote(context.Background(), quote, exp)
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, "b0c06f000000", m["pck.fmspc"])
	assert.Equal(t, "03030202040100050000000000000000", m["pck.cpusvn"])
	assert.Equal(t, "07010300000000000000000000000000", m["quote.body.tcb_svn"])
	// The same dstack firmware as the tappd quote: the same MRTD.
	assert.Equal(t, tappdSample.mrTD, m["quote.body.mr_td"])
	assert.Equal(t, "012e649118948876ce7f2390e998056032783fbf0882721a464ed428896b3d8594000000000000000000000000000000", m["quote.body.mr_config_id"])
	assert.Equal(t, "3744b154069500a466f514253b49858299b2e1bdc44e3d557337d81e828bedf6a0410f27d3a18c932e5e49e1c4215737", m["quote.body.rtmr_0"])
	assert.Equal(t, "74c3f1e616efcab376d473c9a1060ee40ecae125c17d468c01bbaf87f26e8c60208d335513738542c99841a1471aa5cb", m["quote.body.rtmr_3"])
	assert.Equal(t, "0001a79637ae7c78483acce5af6fb41ed331190d02e8c764585e8f1a62f52535991d059078d1c729ebf0c639eb6479124c510000000000000000000000000000", m["report_data"])

	c, err = mustVerifier(t, WithCollateral(staticSource{dcapCollateral(t)})).VerifyQuote(context.Background(), quote, exp)
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	assert.Empty(t, c.Unsafe)
	assert.True(t, c.TCB.CRLsChecked, "the PCK is checked against the June 2025 Platform CA CRL")
	assert.Equal(t, StatusUpToDate, c.TCB.Status)
	assert.Equal(t, "TDX_01", c.TCB.ModuleID)
	assert.Equal(t, StatusUpToDate, c.TCB.ModuleStatus)
	assert.Equal(t, StatusUpToDate, c.TCB.QEStatus)
	assert.Empty(t, c.TCB.AdvisoryIDs)
	// The tappd quote of the same FMSPC, before the platform update, is
	// refused by the same collateral (TestRealPublicTappdQuote): the
	// appraisal follows the PCK's TCB, not the FMSPC.
}

// The TD quote of Trustee's Azure TDX CVM evidence (base64url with
// padding, as Trustee stores it): Azure's TDX 1.0 platform, RTMRs unused
// (Azure measures into the vTPM), REPORTDATA = SHA-256 of the HCL
// report's runtime data.
func TestRealPublicAzureTDQuote(t *testing.T) {
	quote, err := base64.URLEncoding.DecodeString(strings.TrimSpace(string(read(t, "trustee_az_tdx_td_quote.b64url"))))
	require.NoError(t, err)
	q, err := ParseQuote(quote)
	require.NoError(t, err)
	assert.Equal(t, 70, q.TrailingBytes)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) // PCK leaf 2023-09-13..2030-09-13
	c, err := mustVerifier(t, WithoutCollateralUnsafe()).VerifyQuote(context.Background(), quote, expectQuote(t, quote, now))
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, "00806f050000", m["pck.fmspc"])
	assert.Equal(t, "platform", m["pck.ca"])
	assert.Equal(t, "06060202030100030000000000000000", m["pck.cpusvn"])
	assert.Equal(t, "02010600000000000000000000000000", m["quote.body.tcb_svn"])
	assert.Equal(t, "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b", m["quote.body.mr_td"])
	assert.Equal(t, "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e5938390000000000000000000000000000000000000000000000000000000000000000", m["report_data"])
	assert.Equal(t, strings.Repeat("0", 96), m["quote.body.rtmr_0"])
	assert.Equal(t, "0000000000000000", m["quote.body.td_attributes"])
	assert.Equal(t, false, m["td_attributes.septve_disable"], "Azure's TDs leave SEPT_VE_DISABLE clear")
	assert.Equal(t, "e718060000000000", m["quote.body.xfam"])

	// No collateral for FMSPC 00806F050000 is published with it: a source
	// holding another platform's collateral is a collateral error.
	_, err = mustVerifier(t, WithCollateral(staticSource{dcapCollateral(t)})).Verify(context.Background(), quote, expectQuote(t, quote, dcapTime))
	require.ErrorIs(t, err, verify.ErrCollateral)
	// Before the PCK leaf's notBefore the chain is refused.
	_, err = mustVerifier(t, WithoutCollateralUnsafe()).Verify(context.Background(), quote, expectQuote(t, quote, time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC)))
	require.ErrorIs(t, err, verify.ErrChain)
}

// Trustee's real v5 quote (TD 1.5 body, type 3): the TD 1.5 fields are
// claimed as signed, and every way of relabelling its body is refused.
func TestRealPublicV5TD15Variants(t *testing.T) {
	quote := read(t, "tdx_quote_5.dat")
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	q, err := ParseQuote(quote)
	require.NoError(t, err)
	require.EqualValues(t, bodyTypeTDX15, q.BodyType)
	rd := q.Body.ReportData[:]
	v := mustVerifier(t, WithoutCollateralUnsafe())
	c, err := v.VerifyQuote(context.Background(), quote, verify.Expectations{ReportData: rd, Now: now})
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, "05010200000000000000000000000000", m["quote.body.tcb_svn"])
	assert.Equal(t, "05010200000000000000000000000000", m["quote.body.tee_tcb_svn2"])
	assert.Equal(t, "383c87d3bbb047b2d171eaca95312ede99f258088dc788f6ae2ccf8b6dd848fe8d47629e08b3f6cbd4a00dd47a5a033d", m["quote.body.mr_servicetd"])
	assert.Equal(t, "0300", m["quote.type"])

	const descOff = headerSize
	bodyOff := headerSize + descriptorSize
	mutate := func(f func(q []byte) []byte) []byte { return f(append([]byte(nil), quote...)) }
	structural := map[string][]byte{
		"type 2 with the TD 1.5 size": mutate(func(q []byte) []byte { binary.LittleEndian.PutUint16(q[descOff:], bodyTypeTDX10); return q }),
		"type 3 with the TD 1.0 size": mutate(func(q []byte) []byte { binary.LittleEndian.PutUint32(q[descOff+2:], body10Size); return q }),
		"type 4 (TD 1.5 extended)":    mutate(func(q []byte) []byte { binary.LittleEndian.PutUint16(q[descOff:], 4); return q }),
		"size 0xFFFFFFFF":             mutate(func(q []byte) []byte { binary.LittleEndian.PutUint32(q[descOff+2:], 0xFFFFFFFF); return q }),
		"relabelled v4": mutate(func(q []byte) []byte {
			binary.LittleEndian.PutUint16(q, 4)
			return append(q[:descOff], q[bodyOff:]...)
		}),
		"truncated in the descriptor":                quote[:descOff+3],
		"truncated in the TD 1.5 part":               quote[:bodyOff+body10Size+10],
		"truncated before the signature data length": quote[:bodyOff+body15Size],
	}
	for name, bad := range structural {
		_, err := ParseQuote(bad)
		require.ErrorIs(t, err, verify.ErrMalformed, name)
	}
	// A well-formed TD 1.0 relabelling (type 2, size 584, TEE_TCB_SVN2 and
	// MRSERVICETD cut out, lengths intact): the descriptor and body are
	// signed, so only the signature fails.
	td10 := append([]byte(nil), quote[:bodyOff+body10Size]...)
	binary.LittleEndian.PutUint16(td10[descOff:], bodyTypeTDX10)
	binary.LittleEndian.PutUint32(td10[descOff+2:], body10Size)
	td10 = append(td10, quote[bodyOff+body15Size:]...)
	_, err = v.Verify(context.Background(), td10, verify.Expectations{ReportData: rd, Now: now})
	require.ErrorIs(t, err, verify.ErrSignature)
	// TDX-01 on the TD 1.5 fields themselves.
	for _, off := range []int{bodyOff + body10Size, bodyOff + body10Size + 16 + 47} {
		bad := append([]byte(nil), quote...)
		bad[off] ^= 1
		_, err := v.Verify(context.Background(), bad, verify.Expectations{ReportData: rd, Now: now})
		require.ErrorIs(t, err, verify.ErrSignature, "flip at %#x", off)
	}
}

// dcap-qvl's collateral of October 2026 for B0C06F000000 (evaluation data
// number 20) re-appraises the same real quotes: near/mpc's quote, UpToDate
// with the June 2025 collateral, is now OutOfDate on its platform level and
// its TDX module, with the advisories of both; the tappd quote is still
// TcbNotSupported.
func TestRealPublicQuotesWithLaterCollateral(t *testing.T) {
	var raw []int
	require.NoError(t, json.Unmarshal(read(t, "nearmpc_quote.json"), &raw))
	mpc := make([]byte, len(raw))
	for i, x := range raw {
		mpc[i] = byte(x)
	}
	at := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	v := mustVerifier(t, WithCollateral(staticSource{dcapCollateralFrom(t, "dcapqvl_td15ex_collateral.json")}))
	c, err := v.VerifyQuote(context.Background(), mpc, expectQuote(t, mpc, at))
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	assert.True(t, c.TCB.CRLsChecked)
	assert.Equal(t, StatusOutOfDate, c.TCB.Status)
	assert.Equal(t, StatusOutOfDate, c.TCB.PlatformStatus)
	assert.Equal(t, "TDX_01", c.TCB.ModuleID)
	assert.Equal(t, StatusOutOfDate, c.TCB.ModuleStatus)
	assert.Equal(t, StatusUpToDate, c.TCB.QEStatus)
	assert.Equal(t, 20, c.TCB.EvaluationDataNumber)
	assert.Equal(t, time.Date(2025, 5, 14, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	assert.Equal(t, []string{"INTEL-SA-01192", "INTEL-SA-01245", "INTEL-SA-01312", "INTEL-SA-01313"}, c.TCB.AdvisoryIDs)
	assert.Equal(t, "OutOfDate", c.Map()["tcb_status"])
	// The QE identity (nextUpdate 2026-11-06T23:45:11Z) bounds the set.
	assert.Equal(t, time.Date(2026, 11, 6, 23, 45, 11, 0, time.UTC), c.TCB.Expiry)

	// The policy's floor on the evaluation data number: 20 passes, 21 is
	// newer than this collateral.
	_, err = mustVerifier(t, WithCollateral(staticSource{dcapCollateralFrom(t, "dcapqvl_td15ex_collateral.json")}), WithMinTCBEvaluationDataNumber(20)).
		Verify(context.Background(), mpc, expectQuote(t, mpc, at))
	require.NoError(t, err)
	_, err = mustVerifier(t, WithCollateral(staticSource{dcapCollateralFrom(t, "dcapqvl_td15ex_collateral.json")}), WithMinTCBEvaluationDataNumber(21)).
		Verify(context.Background(), mpc, expectQuote(t, mpc, at))
	require.ErrorIs(t, err, verify.ErrCollateral)
	assert.Contains(t, err.Error(), "expected at least 21, TCB info has 20 and QE identity 20")
	// The June 2025 collateral (number 17) is below a floor of 20.
	_, err = mustVerifier(t, WithCollateral(staticSource{dcapCollateral(t)}), WithMinTCBEvaluationDataNumber(20)).
		Verify(context.Background(), mpc, expectQuote(t, mpc, dcapTime))
	require.ErrorIs(t, err, verify.ErrCollateral)

	tappd := readHexQuote(t, tappdSample.file)
	_, err = v.Verify(context.Background(), tappd, expectQuote(t, tappd, at))
	require.ErrorIs(t, err, verify.ErrTCB)
	assert.Contains(t, err.Error(), "TcbNotSupported")
}

// dcap-rs stores Intel's TDX collateral pretty-printed. The Azure TD
// quote's platform (00806F050000) has its TCB info and TD_QE identity of
// 2024-09-10 there: Intel signed the compact text, so the signatures are
// checked over the documents with the whitespace between their tokens
// removed, and nothing else may differ.
func TestRealPublicAzureTDQuotePrettyPrintedCollateral(t *testing.T) {
	quote, err := base64.URLEncoding.DecodeString(strings.TrimSpace(string(read(t, "trustee_az_tdx_td_quote.b64url"))))
	require.NoError(t, err)
	chain := read(t, "spr_tcbinfo_issuer_chain.pem") // the TCB Signing certificate valid to 2025-05-21
	tcb, qe := read(t, "dcaprs_tcbinfov3_00806f050000.json"), read(t, "dcaprs_qeidentityv2_apiv4.json")
	require.True(t, bytes.Contains(tcb, []byte("\n    \"tcbInfo\": {")), "the sample is pretty-printed")
	at := time.Date(2024, 9, 20, 0, 0, 0, 0, time.UTC)
	verifyWith := func(tcb, qe []byte) (*Claims, error) {
		col := &Collateral{TCBInfo: tcb, TCBInfoIssuerChain: chain, QEIdentity: qe, QEIdentityIssuerChain: chain}
		return mustVerifier(t, WithCollateral(staticSource{col}), WithoutCRLsUnsafe()).VerifyQuote(context.Background(), quote, expectQuote(t, quote, at))
	}
	c, err := verifyWith(tcb, qe)
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	// TEE_TCB_SVN 02010600…: module TDX_01 at SVN 2; its bytes 0 and 1 are
	// judged by the module identity, byte 2 (6) by the platform level.
	assert.Equal(t, StatusUpToDate, c.TCB.Status)
	assert.Equal(t, StatusUpToDate, c.TCB.PlatformStatus)
	assert.Equal(t, "TDX_01", c.TCB.ModuleID)
	assert.Equal(t, StatusUpToDate, c.TCB.ModuleStatus)
	assert.Equal(t, StatusUpToDate, c.TCB.QEStatus)
	assert.Equal(t, 16, c.TCB.EvaluationDataNumber)
	assert.Equal(t, time.Date(2023, 8, 9, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	assert.Equal(t, []verify.UnsafeSwitch{UnsafeWithoutCRLs}, c.Unsafe)

	// The compact form verifies to the same appraisal.
	var ctcb, cqe bytes.Buffer
	require.NoError(t, json.Compact(&ctcb, tcb))
	require.NoError(t, json.Compact(&cqe, qe))
	c2, err := verifyWith(ctcb.Bytes(), cqe.Bytes())
	require.NoError(t, err)
	assert.Equal(t, *c.TCB, *c2.TCB)

	// Anything but whitespace between tokens still breaks the signature.
	for name, bad := range map[string][]byte{
		"a status changed":           bytes.Replace(tcb, []byte(`"tcbStatus": "OutOfDate"`), []byte(`"tcbStatus": "UpToDate"`), 1),
		"a space inside a string":    bytes.Replace(tcb, []byte(`"TDX Module"`), []byte(`"TDX  Module"`), 1),
		"members reordered":          bytes.Replace(tcb, []byte("\"id\": \"TDX\",\n        \"version\": 3,"), []byte("\"version\": 3,\n        \"id\": \"TDX\","), 1),
		"a number written otherwise": bytes.Replace(tcb, []byte(`"tcbEvaluationDataNumber": 16`), []byte(`"tcbEvaluationDataNumber": 16.0`), 1),
	} {
		require.False(t, bytes.Equal(bad, tcb), name)
		_, err := verifyWith(bad, qe)
		require.ErrorIs(t, err, verify.ErrSignature, name)
	}
	// dcap-rs's own tampered copy (a non-zero module MRSIGNER, "version"
	// moved before "id", Intel's signature kept) is refused as well.
	_, err = verifyWith(read(t, "dcaprs_tcb_info_v3_with_tdx_module.json"), qe)
	require.ErrorIs(t, err, verify.ErrSignature)
	// The QE identity is checked the same way.
	_, err = verifyWith(tcb, bytes.Replace(qe, []byte(`"isvsvn": 4`), []byte(`"isvsvn": 3`), 1))
	require.ErrorIs(t, err, verify.ErrSignature)
	// Outside the documents' window (2024-09-10..2024-10-10): expired.
	_, err = mustVerifier(t, WithCollateral(staticSource{&Collateral{TCBInfo: tcb, TCBInfoIssuerChain: chain, QEIdentity: qe, QEIdentityIssuerChain: chain}}), WithoutCRLsUnsafe()).
		Verify(context.Background(), quote, expectQuote(t, quote, time.Date(2024, 10, 11, 0, 0, 0, 0, time.UTC)))
	require.ErrorIs(t, err, verify.ErrExpired)
}

// Trustee's v5 TD 1.5 quote (FMSPC 90C06F000000) against Intel's TCB info
// for that platform of May 2024 (dcap-rs) and the TD_QE identity of
// September 2024: no overlap of their windows, so only with an expired
// grace, and then every signature verifies but no TCB level admits the
// quote's PCK (SGX components 1 and 2 are 1 < 2): TcbNotSupported.
func TestRealPublicV5QuoteWithDcapRsCollateral(t *testing.T) {
	quote := read(t, "tdx_quote_5.dat")
	chain := read(t, "spr_tcbinfo_issuer_chain.pem")
	col := &Collateral{
		TCBInfo: read(t, "dcaprs_tcbinfov3_90c06f000000.json"), TCBInfoIssuerChain: chain,
		QEIdentity: read(t, "dcaprs_qeidentityv2_apiv4.json"), QEIdentityIssuerChain: chain,
	}
	q, err := ParseQuote(quote)
	require.NoError(t, err)
	exp := verify.Expectations{ReportData: q.Body.ReportData[:], Now: time.Date(2024, 9, 20, 0, 0, 0, 0, time.UTC)}
	_, err = mustVerifier(t, WithCollateral(staticSource{col}), WithoutCRLsUnsafe()).Verify(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrExpired, "the TCB info ended 2024-06-15")
	_, err = mustVerifier(t, WithCollateral(staticSource{col}), WithoutCRLsUnsafe(), WithExpiredCollateralUnsafe(120*24*time.Hour)).Verify(context.Background(), quote, exp)
	require.ErrorIs(t, err, verify.ErrTCB)
	assert.NotErrorIs(t, err, verify.ErrSignature)
	assert.Contains(t, err.Error(), "fmspc 90C06F000000")
	assert.Contains(t, err.Error(), "SGX component 1 is 1 < 2, SGX component 2 is 1 < 2")
	assert.Contains(t, err.Error(), "TcbNotSupported")
}

// go-tdx-guest's GCE COS-113 quote runs on the same FMSPC (00806F050000) as
// the Azure TD quote: dcap-rs's September 2024 collateral appraises it too,
// with its own TEE_TCB_SVN (04010700: module TDX_01 at SVN 4).
func TestRealPublicGCETDQuoteWithDcapRsCollateral(t *testing.T) {
	quote := read(t, "cos-113-tdx-quote.dat")
	chain := read(t, "spr_tcbinfo_issuer_chain.pem")
	col := &Collateral{
		TCBInfo: read(t, "dcaprs_tcbinfov3_00806f050000.json"), TCBInfoIssuerChain: chain,
		QEIdentity: read(t, "dcaprs_qeidentityv2_apiv4.json"), QEIdentityIssuerChain: chain,
	}
	at := time.Date(2024, 9, 20, 0, 0, 0, 0, time.UTC)
	c, err := mustVerifier(t, WithCollateral(staticSource{col}), WithoutCRLsUnsafe()).VerifyQuote(context.Background(), quote, expectQuote(t, quote, at))
	require.NoError(t, err)
	require.NotNil(t, c.TCB)
	m := c.Map()
	assert.Equal(t, "00806f050000", m["pck.fmspc"])
	assert.Equal(t, "04010700000000000000000000000000", m["quote.body.tcb_svn"])
	assert.Equal(t, StatusUpToDate, c.TCB.Status)
	assert.Equal(t, StatusUpToDate, c.TCB.PlatformStatus)
	assert.Equal(t, time.Date(2023, 8, 9, 0, 0, 0, 0, time.UTC), c.TCB.Date)
	assert.Empty(t, c.TCB.AdvisoryIDs)
	assert.Equal(t, "TDX_01", c.TCB.ModuleID)
	assert.Equal(t, StatusUpToDate, c.TCB.ModuleStatus)
	assert.Equal(t, StatusUpToDate, c.TCB.QEStatus)
}
