package sgx_test

import (
	"context"
	"encoding/binary"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/sgx/sgxtest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Bad SGX inputs, asserted by error kind. Real samples first (dcap-qvl's
// quote with its collateral at 2025-07-01, Occlum's without), then quotes
// minted by sgxtest so that only the targeted check can fire.
//
//	ID      input                                                      kind
//	SGX-01  byte flips in the signed header and body (real quote)      ErrSignature
//	SGX-02  byte flips in the ISV signature, all-zero r‖s              ErrSignature
//	SGX-03  byte flips in the QE report (PCK signature over it)        ErrSignature
//	SGX-04  attestation key replaced and the quote re-signed with it   ErrBinding
//	SGX-05  PCK chain of an untrusted PKI shaped like Intel's          ErrChain
//	SGX-06  PCK chain of 2 certificates; garbage PEM                   ErrChain; ErrMalformed
//	SGX-07  truncation at every structural offset                      ErrMalformed
//	SGX-08  signature_data_len ±1, 0, max; cert data size max          ErrMalformed / ErrLimit
//	SGX-09  non-zero trailing byte (zero padding is accepted)          ErrMalformed
//	SGX-10  versions 2, 4, 5, 0xFFFF; key type 3; TEE type 0x81        ErrMalformed + ErrUnsupported
//	SGX-11  certification data type 6 (v4 wrapper) in a v3 quote       ErrMalformed + ErrUnsupported
//	SGX-12  QE vendor ID not Intel's                                   ErrBinding
//	SGX-13  report data mismatch; none expected                        ErrFreshness; ErrConfig
//	SGX-14  PCK chain expired at the verification time                 ErrChain + ErrExpired
//	SGX-15  collateral expired (real, one second past nextUpdate)      ErrCollateral + ErrExpired
//	SGX-16  TDX collateral (ids TDX, TD_QE) for an SGX quote           ErrCollateral
//	SGX-17  PCK revoked by the PCK CRL; TCB level Revoked              ErrRevoked
//	SGX-18  PCK components below every TCB level (TcbNotSupported)     ErrTCB
//	SGX-19  QE report not matching the QE identity (MRSIGNER)          ErrTCB
//	SGX-20  init data digest not CONFIGID                              ErrBinding
//	SGX-21  malformed JSON evidence, empty or non-base64 quote         ErrMalformed
//	SGX-22  canceled context                                           ErrCanceled
//	SGX-23  contradicting options                                      ErrConfig
//	SGX-24  debug enclave (real Occlum quote): verifies, the claims
//	        say debug, and the default policy refuses it               (policy_test.go)
func expectOK(rd []byte) verify.Expectations {
	return verify.Expectations{Now: tdxtest.VerifyTime(), ReportData: rd}
}

func testRD() []byte {
	rd := make([]byte, 64)
	copy(rd, "session nonce")
	return rd
}

func mintedVerifier(t testing.TB, p *sgxtest.PKI, c *sgx.Collateral) *sgx.Verifier {
	t.Helper()
	v, err := sgx.NewVerifier(sgx.WithTrustedRoots(p.Root.Cert), sgx.WithCollateral(p.Source(c)))
	require.NoError(t, err)
	return v
}

func TestSGX01SignedRegionFlips(t *testing.T) {
	q := read(t, "dcapqvl_sgx_quote.dat")
	v := dcapVerifier(t)
	for _, off := range []int{0x08, 0x0a, 0x1c, 0x2f, 0x30, 0x30 + 64, 0x30 + 128, 0x30 + 256, 0x30 + 320, 431} {
		b := append([]byte(nil), q...)
		b[off] ^= 0x01
		_, err := v.VerifyQuote(context.Background(), b, verify.Expectations{Now: dcapTime, ReportData: dcapRD, AllowMissingReportDataUnsafe: true})
		require.ErrorIs(t, err, verify.ErrSignature, "offset %#x", off)
	}
}

func TestSGX02SignatureFlips(t *testing.T) {
	q := read(t, "dcapqvl_sgx_quote.dat")
	v := dcapVerifier(t)
	for _, off := range []int{436, 436 + 31, 436 + 32, 436 + 63} {
		b := append([]byte(nil), q...)
		b[off] ^= 0x80
		_, err := v.VerifyQuote(context.Background(), b, verify.Expectations{Now: dcapTime, ReportData: dcapRD})
		require.ErrorIs(t, err, verify.ErrSignature, "offset %d", off)
	}
	b := append([]byte(nil), q...)
	clear(b[436 : 436+64])
	_, err := v.VerifyQuote(context.Background(), b, verify.Expectations{Now: dcapTime, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrSignature)
}

func TestSGX03QEReportFlips(t *testing.T) {
	for _, name := range []string{"dcapqvl_sgx_quote.dat", "occlum_quote.dat"} {
		q := read(t, name)
		v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
		require.NoError(t, err)
		qe := 436 + 128
		for _, off := range []int{qe, qe + 64, qe + 256, qe + 320, qe + 383, qe + 384} {
			b := append([]byte(nil), q...)
			b[off] ^= 0x01
			_, err := v.VerifyQuote(context.Background(), b, verify.Expectations{Now: dcapTime, AllowMissingReportDataUnsafe: true})
			require.ErrorIs(t, err, verify.ErrSignature, "%s offset %d", name, off)
		}
	}
}

func TestSGX04AttestationKeyReplaced(t *testing.T) {
	p := sgxtest.NewPKI()
	s := p.DefaultQuote(testRD())
	other := sgxtest.NewPKI()
	s.AttestationKey = other.AttestationKey
	// The QE report still binds the PKI's own key.
	var bound [64]byte
	good := p.Quote(p.DefaultQuote(testRD()))
	copy(bound[:], good[436+128+320:436+128+384])
	s.QEReportData = &bound
	_, err := mintedVerifier(t, p, p.DefaultCollateral()).VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrBinding)
}

func TestSGX05UntrustedRoot(t *testing.T) {
	p, rogue := sgxtest.NewPKI(), sgxtest.NewPKI()
	rogue.Platform = p.Platform
	_, err := mintedVerifier(t, p, p.DefaultCollateral()).VerifyQuote(context.Background(), rogue.Quote(rogue.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrChain)
	// The real quote against a test root: its genuine Intel root is not pinned.
	v, err := sgx.NewVerifier(sgx.WithTrustedRoots(p.Root.Cert), sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	_, err = v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: dcapTime, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrChain)
}

func TestSGX06ChainShape(t *testing.T) {
	p := sgxtest.NewPKI()
	v := mintedVerifier(t, p, p.DefaultCollateral())
	s := p.DefaultQuote(testRD())
	s.PCKChainPEM = tdxtest.PEM(p.PCK.Cert, p.Root.Cert)
	_, err := v.VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrChain)
	s.PCKChainPEM = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	_, err = v.VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrMalformed)
}

func TestSGX07Truncations(t *testing.T) {
	q := read(t, "dcapqvl_sgx_quote.dat")
	v := dcapVerifier(t)
	for _, n := range []int{0, 1, 7, 8, 47, 48, 431, 432, 435, 436, 500, 564, 948, 1012, 1014, 1046, 1048, 1052, 2000, len(q) - 1} {
		_, err := v.VerifyQuote(context.Background(), q[:n], verify.Expectations{Now: dcapTime, ReportData: dcapRD})
		require.ErrorIs(t, err, verify.ErrMalformed, "truncated to %d", n)
	}
}

func TestSGX08LengthFields(t *testing.T) {
	q := read(t, "dcapqvl_sgx_quote.dat")
	sigLen := binary.LittleEndian.Uint32(q[432:])
	for _, l := range []uint32{sigLen - 1, sigLen + 1, 0, 0xFFFFFFFF} {
		b := append([]byte(nil), q...)
		binary.LittleEndian.PutUint32(b[432:], l)
		_, err := sgx.ParseQuote(b)
		require.ErrorIs(t, err, verify.ErrMalformed, "signature_data_len %d", l)
	}
	b := append([]byte(nil), q...)
	binary.LittleEndian.PutUint32(b[436+128+384+64+2+32+2:], 0xFFFFFFFF)
	_, err := sgx.ParseQuote(b)
	require.ErrorIs(t, err, verify.ErrLimit)
	_, err = sgx.ParseQuote(make([]byte, sgx.MaxQuoteSize+1))
	require.ErrorIs(t, err, verify.ErrLimit)
}

func TestSGX09TrailingBytes(t *testing.T) {
	p := sgxtest.NewPKI()
	v := mintedVerifier(t, p, p.DefaultCollateral())
	s := p.DefaultQuote(testRD())
	s.Padding = make([]byte, 406)
	c, err := v.VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.NoError(t, err, "zero padding is accepted")
	assert.Equal(t, 406, c.Quote.Padding)
	s.Padding[100] = 1
	_, err = v.VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrMalformed)
}

func TestSGX10VersionKeyAndTEEType(t *testing.T) {
	q := read(t, "dcapqvl_sgx_quote.dat")
	for _, c := range []struct {
		off int
		val uint32
		n   int
	}{{0, 2, 2}, {0, 4, 2}, {0, 5, 2}, {0, 0xFFFF, 2}, {2, 3, 2}, {2, 0, 2}, {4, 0x81, 4}} {
		b := append([]byte(nil), q...)
		if c.n == 2 {
			binary.LittleEndian.PutUint16(b[c.off:], uint16(c.val))
		} else {
			binary.LittleEndian.PutUint32(b[c.off:], c.val)
		}
		_, err := sgx.ParseQuote(b)
		require.ErrorIs(t, err, verify.ErrMalformed, "offset %d = %#x", c.off, c.val)
		require.ErrorIs(t, err, verify.ErrUnsupported, "offset %d = %#x", c.off, c.val)
	}
}

func TestSGX11CertificationDataType(t *testing.T) {
	p := sgxtest.NewPKI()
	for _, typ := range []uint16{1, 3, 6, 7} {
		s := p.DefaultQuote(testRD())
		s.CertDataType = typ
		_, err := sgx.ParseQuote(p.Quote(s))
		require.ErrorIs(t, err, verify.ErrUnsupported, "type %d", typ)
	}
}

func TestSGX12QEVendor(t *testing.T) {
	p := sgxtest.NewPKI()
	s := p.DefaultQuote(testRD())
	s.Header.VendorID[0] ^= 0xff
	_, err := mintedVerifier(t, p, p.DefaultCollateral()).VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrBinding)
}

func TestSGX13ReportData(t *testing.T) {
	v := dcapVerifier(t)
	q := read(t, "dcapqvl_sgx_quote.dat")
	_, err := v.VerifyQuote(context.Background(), q, verify.Expectations{Now: dcapTime, ReportData: padded("Hello, world?")})
	require.ErrorIs(t, err, verify.ErrFreshness)
	_, err = v.VerifyQuote(context.Background(), q, verify.Expectations{Now: dcapTime})
	require.ErrorIs(t, err, verify.ErrConfig)
	c, err := v.VerifyQuote(context.Background(), q, verify.Expectations{Now: dcapTime, AllowMissingReportDataUnsafe: true})
	require.NoError(t, err)
	assert.Contains(t, c.Unsafe, verify.UnsafeMissingReportData)
}

func TestSGX14ExpiredPCKChain(t *testing.T) {
	v, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	for _, now := range []time.Time{time.Date(2030, 4, 27, 0, 0, 0, 0, time.UTC), time.Date(2023, 4, 25, 0, 0, 0, 0, time.UTC)} {
		_, err = v.VerifyQuote(context.Background(), read(t, "occlum_quote.dat"), verify.Expectations{Now: now, ReportData: occlumRD})
		require.ErrorIs(t, err, verify.ErrChain, "at %s", now)
		require.ErrorIs(t, err, verify.ErrExpired, "at %s", now)
	}
}

func TestSGX15ExpiredCollateral(t *testing.T) {
	v := dcapVerifier(t)
	late := time.Date(2025, 7, 19, 10, 1, 19, 0, time.UTC)
	_, err := v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: late, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.ErrorIs(t, err, verify.ErrExpired)
	// Accepted only by the unsafe switch, and said so.
	v = dcapVerifier(t, sgx.WithExpiredCollateralUnsafe(24*time.Hour))
	c, err := v.VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: late, ReportData: dcapRD})
	require.NoError(t, err)
	assert.Contains(t, c.Unsafe, sgx.UnsafeExpiredCollateral)
	assert.Equal(t, "1", c.Map()["collateral_expiration_status"])
}

func TestSGX16TDXCollateral(t *testing.T) {
	p := sgxtest.NewPKI()
	tdxColl := p.PKI.DefaultCollateral()
	_, err := mintedVerifier(t, p, tdxColl).VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrCollateral)
	// SGX TCB info with the TDX QE identity.
	mixed := p.Collateral(p.SignTCBInfo(p.DefaultTCBInfo("UpToDate")), p.SignQEIdentity(p.PKI.DefaultQEIdentity()))
	_, err = mintedVerifier(t, p, mixed).VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrCollateral)
}

func TestSGX17Revoked(t *testing.T) {
	p := sgxtest.NewPKI()
	c := p.DefaultCollateral()
	revoked := &sgx.Collateral{
		TCBInfo: c.TCBInfo, TCBInfoIssuerChain: c.TCBInfoIssuerChain,
		QEIdentity: c.QEIdentity, QEIdentityIssuerChain: c.QEIdentityIssuerChain,
		PCKCRL: p.CRL(p.PCKCA, big.NewInt(1), p.PCK.Cert.SerialNumber), PCKCRLIssuerChain: c.PCKCRLIssuerChain, RootCACRL: c.RootCACRL,
	}
	_, err := mintedVerifier(t, p, revoked).VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrRevoked)

	tcb := p.DefaultTCBInfo("Revoked")
	_, err = mintedVerifier(t, p, p.Collateral(p.SignTCBInfo(tcb), p.SignQEIdentity(p.DefaultQEIdentity()))).
		VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrRevoked)

	qe := p.DefaultQEIdentity()
	qe.TCBLevels[0].TCBStatus = "Revoked"
	_, err = mintedVerifier(t, p, p.Collateral(p.SignTCBInfo(p.DefaultTCBInfo("UpToDate")), p.SignQEIdentity(qe))).
		VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrRevoked, "a revoked QE level revokes the quote")
}

func TestSGX18TCBNotSupported(t *testing.T) {
	p := sgxtest.NewPKI()
	tcb := p.DefaultTCBInfo("UpToDate")
	for i := range tcb.TCBLevels {
		tcb.TCBLevels[i].TCB.SGXComponents[0].SVN = 200
	}
	_, err := mintedVerifier(t, p, p.Collateral(p.SignTCBInfo(tcb), p.SignQEIdentity(p.DefaultQEIdentity()))).
		VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(testRD())), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrTCB)
	assert.Contains(t, err.Error(), "TcbNotSupported")
}

func TestSGX19QEIdentityMismatch(t *testing.T) {
	p := sgxtest.NewPKI()
	s := p.DefaultQuote(testRD())
	s.QE.MRSigner[0] ^= 0xff
	_, err := mintedVerifier(t, p, p.DefaultCollateral()).VerifyQuote(context.Background(), p.Quote(s), expectOK(testRD()))
	require.ErrorIs(t, err, verify.ErrTCB)
}

func TestSGX20InitData(t *testing.T) {
	p := sgxtest.NewPKI()
	s := p.DefaultQuote(testRD())
	copy(s.Body.ConfigID[:], "init data digest")
	v := mintedVerifier(t, p, p.DefaultCollateral())
	exp := expectOK(testRD())
	exp.InitDataDigest = []byte("other data digest")
	_, err := v.VerifyQuote(context.Background(), p.Quote(s), exp)
	require.ErrorIs(t, err, verify.ErrBinding)
	exp.InitDataDigest = []byte("init data digest")
	c, err := v.VerifyQuote(context.Background(), p.Quote(s), exp)
	require.NoError(t, err)
	assert.True(t, c.InitDataChecked)
}

func TestSGX21JSONEvidence(t *testing.T) {
	v := dcapVerifier(t)
	for _, ev := range []string{`{"quote":`, `{"quote":""}`, `{"quote":"!!!"}`, `{"quote":1}`, `{}`} {
		_, err := v.VerifyQuote(context.Background(), []byte(ev), verify.Expectations{Now: dcapTime, ReportData: dcapRD})
		require.ErrorIs(t, err, verify.ErrMalformed, "%s", ev)
	}
}

func TestSGX22Canceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := dcapVerifier(t).VerifyQuote(ctx, read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: dcapTime, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrCanceled)
}

func TestSGX23ContradictingOptions(t *testing.T) {
	src := dcapSource(t, dcapCollateral(t))
	for name, opts := range map[string][]sgx.Option{
		"no source":                  nil,
		"source and none":            {sgx.WithCollateral(src), sgx.WithoutCollateralUnsafe()},
		"no CRLs without collateral": {sgx.WithoutCollateralUnsafe(), sgx.WithoutCRLsUnsafe()},
		"grace without collateral":   {sgx.WithoutCollateralUnsafe(), sgx.WithExpiredCollateralUnsafe(time.Hour)},
		"min eval without":           {sgx.WithoutCollateralUnsafe(), sgx.WithMinTCBEvaluationDataNumber(17)},
		"nil source":                 {sgx.WithCollateral(nil)},
		"no roots":                   {sgx.WithCollateral(src), sgx.WithTrustedRoots()},
		"zero cache":                 {sgx.WithCollateral(src), sgx.WithCacheSize(0)},
		"zero grace":                 {sgx.WithCollateral(src), sgx.WithExpiredCollateralUnsafe(0)},
	} {
		_, err := sgx.NewVerifier(opts...)
		require.ErrorIs(t, err, verify.ErrConfig, name)
	}
	// A rollback floor above the real collateral's evaluation number (17).
	_, err := dcapVerifier(t, sgx.WithMinTCBEvaluationDataNumber(18)).VerifyQuote(context.Background(), read(t, "dcapqvl_sgx_quote.dat"), verify.Expectations{Now: dcapTime, ReportData: dcapRD})
	require.ErrorIs(t, err, verify.ErrCollateral)
}
