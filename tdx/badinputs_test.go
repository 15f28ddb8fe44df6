package tdx_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Offsets in a v4 quote (badinputs.md).
const (
	offUserData  = 0x1e
	offTEETCBSVN = 0x30
	offMRTD      = 0xb8
	offSigLen    = 0x278
	offSig       = 0x27c
	offCertType  = 0x2fc
	offCertSize  = 0x2fe
	offQEReport  = 0x302
)

func flip(b []byte, off int) []byte {
	c := append([]byte(nil), b...)
	c[off] ^= 0x01
	return c
}

// badQuotes runs the bad-quote cases of catalogue case id ("TDX-07"); each
// case name starts with its ID, and every ID must be one of badQuoteIDs,
// each of which has a TestTDXnn function.
func badQuotes(t *testing.T, id string) {
	f := newFixture(t)
	v := f.verifier(t)
	good := f.pki.Quote(f.pki.DefaultQuote(nonce))
	if _, err := verifyQuote(t, v, good, exp()); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	origQESig := append([]byte(nil), good[offQEReport+384:offQEReport+448]...)
	spec := func(mut func(*tdxtest.QuoteSpec)) []byte {
		s := f.pki.DefaultQuote(nonce)
		mut(&s)
		return f.pki.Quote(s)
	}
	untrusted := tdxtest.NewPKI()
	chainOf := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	leafPEM := tdxtest.PEM(f.pki.PCK.Cert)
	caPEM := tdxtest.PEM(f.pki.PCKCA.Cert)
	rootPEM := tdxtest.PEM(f.pki.Root.Cert)

	withLen := func(off int, val uint32) []byte {
		c := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(c[off:], val)
		return c
	}
	withU16 := func(b []byte, off int, val uint16) []byte {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint16(c[off:], val)
		return c
	}
	zeroSig := append([]byte(nil), good...)
	copy(zeroSig[offSig:offSig+64], make([]byte, 64))
	bigSig := append([]byte(nil), good...)
	copy(bigSig[offSig:offSig+64], bytes.Repeat([]byte{0xff}, 64))

	cases := []struct {
		name  string
		quote []byte
		kinds []error
	}{
		{"TDX-01 MRTD flipped", flip(good, offMRTD), []error{verify.ErrSignature}},
		{"TDX-01 TEE_TCB_SVN flipped", flip(good, offTEETCBSVN+0xc), []error{verify.ErrSignature}},
		{"TDX-02 header user data flipped", flip(good, offUserData), []error{verify.ErrSignature}},
		{"TDX-03 signature flipped", flip(good, offSig+5), []error{verify.ErrSignature}},
		{"TDX-03 zero r,s", zeroSig, []error{verify.ErrSignature}},
		{"TDX-03 r,s >= n", bigSig, []error{verify.ErrSignature}},
		{"TDX-04 attestation key replaced", spec(func(s *tdxtest.QuoteSpec) {
			s.AttestationKey = otherKey
			d := qeReportDataFor(&f.pki.AttestationKey.PublicKey, s.AuthData)
			s.QEReportData = &d
		}), []error{verify.ErrBinding}},
		{"TDX-05 QE report data rewritten, old QE signature", spec(func(s *tdxtest.QuoteSpec) {
			s.AttestationKey = otherKey
			s.QEReportSignature = origQESig
		}), []error{verify.ErrSignature}},
		{"TDX-06 chain from an untrusted root of the same names", untrusted.Quote(untrusted.DefaultQuote(nonce)), []error{verify.ErrChain}},
		{"TDX-07 two certificates", spec(func(s *tdxtest.QuoteSpec) { s.PCKChainPEM = chainOf(leafPEM, caPEM) }), []error{verify.ErrChain}},
		{"TDX-07 four certificates", spec(func(s *tdxtest.QuoteSpec) { s.PCKChainPEM = chainOf(leafPEM, caPEM, rootPEM, rootPEM) }), []error{verify.ErrChain}},
		{"TDX-07 reordered", spec(func(s *tdxtest.QuoteSpec) { s.PCKChainPEM = chainOf(rootPEM, caPEM, leafPEM) }), []error{verify.ErrChain}},
		{"TDX-07 PEM garbage", spec(func(s *tdxtest.QuoteSpec) {
			s.PCKChainPEM = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}), []error{verify.ErrMalformed}},
		{"TDX-08 cert data type 7", spec(func(s *tdxtest.QuoteSpec) { s.CertDataType = 7 }), []error{verify.ErrMalformed}},
		{"TDX-08 cert data type 3", spec(func(s *tdxtest.QuoteSpec) { s.CertDataType = 3 }), []error{verify.ErrMalformed}},
		{"TDX-08 type 5 at top level", spec(func(s *tdxtest.QuoteSpec) { s.CertDataType = 5 }), []error{verify.ErrMalformed}},
		{"TDX-08 type 6 nested in type 6", spec(func(s *tdxtest.QuoteSpec) { s.InnerCertDataType = 6 }), []error{verify.ErrMalformed}},
		{"TDX-09 sig data length +1", withLen(offSigLen, binary.LittleEndian.Uint32(good[offSigLen:])+1), []error{verify.ErrMalformed}},
		{"TDX-09 sig data length -1", withLen(offSigLen, binary.LittleEndian.Uint32(good[offSigLen:])-1), []error{verify.ErrMalformed}},
		{"TDX-09 sig data length 0", withLen(offSigLen, 0), []error{verify.ErrMalformed}},
		{"TDX-09 sig data length max", withLen(offSigLen, 0xffffffff), []error{verify.ErrMalformed}},
		{"TDX-09 cert data size max", withLen(offCertSize, 0xffffffff), []error{verify.ErrMalformed}},
		{"TDX-11 1 MiB appended", append(append([]byte(nil), good...), make([]byte, 1<<20)...), []error{verify.ErrLimit}},
		{"TDX-12 version 3", withU16(good, 0, 3), []error{verify.ErrMalformed}},
		{"TDX-12 version 6", withU16(good, 0, 6), []error{verify.ErrMalformed}},
		{"TDX-12 version 0xffff", withU16(good, 0, 0xffff), []error{verify.ErrMalformed}},
		{"TDX-12 version 5 on a v4 layout", withU16(good, 0, 5), []error{verify.ErrMalformed}},
		{"TDX-13 tee type SGX", withU16(good, 4, 0), []error{verify.ErrMalformed}},
		{"TDX-14 key type 3", withU16(good, 2, 3), []error{verify.ErrMalformed, verify.ErrUnsupported}},
		{"TDX-14 key type 0", withU16(good, 2, 0), []error{verify.ErrMalformed}},
		{"TDX-15 QE vendor id", spec(func(s *tdxtest.QuoteSpec) { s.Header.VendorID[0] ^= 0xff }), []error{verify.ErrBinding}},
		{"TDX-19 SEAM attributes", spec(func(s *tdxtest.QuoteSpec) { s.Body.SEAMAttributes[0] = 1 }), []error{verify.ErrTCB}},
		{"TDX-20 MRSIGNERSEAM", spec(func(s *tdxtest.QuoteSpec) { s.Body.MRSignerSEAM[0] = 1 }), []error{verify.ErrTCB}},
		{"TDX-21 unknown module version", spec(func(s *tdxtest.QuoteSpec) { s.Body.TEETCBSVN[1] = 2 }), []error{verify.ErrTCB, verify.ErrCollateral}},
		{"TDX-23 v5 body type 1", spec(func(s *tdxtest.QuoteSpec) { s.Header.Version = 5; s.BodyType = 1 }), []error{verify.ErrMalformed}},
		{"TDX-23 v5 body type 4", spec(func(s *tdxtest.QuoteSpec) { s.Header.Version = 5; s.BodyType = 4 }), []error{verify.ErrMalformed}},
	}
	// TDX-23: size 999 and 584-with-type-3 (descriptor at 0x30).
	v5 := spec(func(s *tdxtest.QuoteSpec) { s.Header.Version = 5; s.BodyType = 3 })
	v5size := append([]byte(nil), v5...)
	binary.LittleEndian.PutUint32(v5size[0x32:], 999)
	v5mix := append([]byte(nil), v5...)
	binary.LittleEndian.PutUint32(v5mix[0x32:], 584)
	cases = append(cases,
		struct {
			name  string
			quote []byte
			kinds []error
		}{"TDX-23 v5 body size 999", v5size, []error{verify.ErrMalformed}},
		struct {
			name  string
			quote []byte
			kinds []error
		}{"TDX-23 v5 type 3 size 584", v5mix, []error{verify.ErrMalformed}},
	)
	// TDX-10: truncations.
	pemStart := len(good) - len(tdxtest.PEM(f.pki.PCK.Cert, f.pki.PCKCA.Cert, f.pki.Root.Cert))
	for _, n := range []int{0, 1, 47, 48, 0x277, 0x278, 0x27b, 0x2fc, 0x302, offQEReport + 200, pemStart + 100, len(good) - 1} {
		cases = append(cases, struct {
			name  string
			quote []byte
			kinds []error
		}{"TDX-10 truncated at " + itoa(n), good[:n], []error{verify.ErrMalformed}})
	}
	ran := 0
	for _, c := range cases {
		caseID, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(badQuoteIDs, caseID) {
			t.Fatalf("case %q: its ID is not in badQuoteIDs, so no TestTDXnn runs it", c.name)
		}
		if caseID != id {
			continue
		}
		ran++
		t.Run(c.name, func(t *testing.T) {
			cl, err := verifyQuote(t, v, c.quote, exp())
			wantKinds(t, err, c.kinds...)
			if cl != nil {
				t.Fatal("claims with an error")
			}
		})
	}
	if id == "TDX-11" {
		// One trailing byte is ignored and never alters the result.
		ran++
		c, err := verifyQuote(t, v, append(append([]byte(nil), good...), 0x7f), exp())
		if err != nil || c.Quote.TrailingBytes != 1 || c.TCB.Status != tdx.StatusUpToDate {
			t.Fatalf("TDX-11 one trailing byte: %v", err)
		}
	}
	if ran == 0 {
		t.Fatalf("no bad-quote case for %s", id)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TDX-16..18, TDX-22: attributes and the service TD are claims for the policy.
func TestAttributesAreClaims(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	s := f.pki.DefaultQuote(nonce)
	attr := uint64(tdx.TDAttrDebug | 1<<3 | tdx.TDAttrPKS | tdx.TDAttrKL | tdx.TDAttrPerfmon | 1<<40)
	binary.LittleEndian.PutUint64(s.Body.TDAttributes[:], attr)
	s.Header.Version = 5
	s.BodyType = 3
	s.Body.MRServiceTD[0] = 0x99
	c, err := verifyQuote(t, v, f.pki.Quote(s), exp())
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	for k, want := range map[string]any{
		"td_attributes.debug": true, "td_attributes.septve_disable": false, "td_attributes.protection_keys": true,
		"td_attributes.key_locker": true, "td_attributes.perfmon": true, "td_attributes.undefined_bits": "0800000000010000",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if !strings.HasPrefix(m["quote.body.mr_servicetd"].(string), "99") {
		t.Errorf("mr_servicetd %v", m["quote.body.mr_servicetd"])
	}
}

// TDX-24 (a quote over another nonce), with TDX-25 and TDX-26 also covered
// by their own tests, and init data on MRCONFIGID.
func TestTDX24Expectations(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	q := f.pki.Quote(f.pki.DefaultQuote(nonce))
	e := exp()
	e.ReportData = bytes.Repeat([]byte{0x43}, 64)
	_, err := verifyQuote(t, v, q, e) // TDX-24
	wantKinds(t, err, verify.ErrFreshness)
	e.ReportData = nil // TDX-25
	_, err = verifyQuote(t, v, q, e)
	wantKinds(t, err, verify.ErrConfig)
	e.AllowMissingReportDataUnsafe = true
	c, err := verifyQuote(t, v, q, e)
	if err != nil || !contains(c.Unsafe, verify.UnsafeMissingReportData) {
		t.Fatalf("unsafe report data: %v %v", err, c)
	}
	// TDX-26: the expected 32 bytes match, the other 32 are attacker bytes
	// (more in TestTDX26ReportDataLayout).
	e = exp()
	e.ReportData = nonce[:32]
	_, err = verifyQuote(t, v, q, e)
	wantKinds(t, err, verify.ErrBinding)
	// Init data on MRCONFIGID.
	s := f.pki.DefaultQuote(nonce)
	s.Body.MRConfigID = [48]byte{1, 2, 3}
	q2 := f.pki.Quote(s)
	e = exp()
	e.InitDataDigest = []byte{1, 2, 3}
	if c, err := verifyQuote(t, v, q2, e); err != nil || !c.InitDataChecked {
		t.Fatalf("init data: %v", err)
	}
	e.InitDataDigest = []byte{1, 2, 4}
	_, err = verifyQuote(t, v, q2, e)
	wantKinds(t, err, verify.ErrBinding)
	e.InitDataDigest = []byte{}
	_, err = verifyQuote(t, v, q2, e)
	wantKinds(t, err, verify.ErrConfig)
}

func contains(s []verify.UnsafeSwitch, x verify.UnsafeSwitch) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// TDX-27 (replay mismatch when an event is dropped), with TDX-28 and TDX-29
// also covered by their own tests.
func TestTDX27BadEventLogs(t *testing.T) {
	quote, err := os.ReadFile("../testdata/tdx/cos-113-tdx-quote.dat")
	if err != nil {
		t.Fatal(err)
	}
	ccel, err := os.ReadFile("../testdata/tdx/ccel_data.dat")
	if err != nil {
		t.Fatal(err)
	}
	dupe, err := os.ReadFile("../testdata/tdx/cos-113-intel-tdx-dupe-separator.bin")
	if err != nil {
		t.Fatal(err)
	}
	q, err := tdx.ParseQuote(quote)
	if err != nil {
		t.Fatal(err)
	}
	// The COS-113 quote's report data is all zero: it binds no session, so
	// none is expected.
	e := verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if len(bytes.Trim(q.Body.ReportData[:], "\x00")) != 0 {
		e = verify.Expectations{ReportData: q.Body.ReportData[:], Now: e.Now}
	}
	ev := func(log []byte) []byte {
		b, _ := json.Marshal(map[string]any{"quote": quote, "cc_eventlog": log})
		return b
	}
	v, _ := tdx.NewVerifier(tdx.WithoutCollateralUnsafe(), tdx.WithStrictEventLog())
	if _, err := verifyQuote(t, v, ev(ccel), e); err != nil {
		t.Fatal(err)
	}
	// TDX-28: duplicated separator.
	_, err = verifyQuote(t, v, ev(dupe), e)
	wantKinds(t, err, verify.ErrMalformed)

	log, err := tdx.ParseCCEL(ccel)
	if err != nil {
		t.Fatal(err)
	}
	// Byte offset of the last event and of an MR index field, found by re-encoding sizes.
	offsets := eventOffsets(t, ccel)
	last := offsets[len(offsets)-1]
	// TDX-27: drop the last event (overwrite it with padding).
	dropped := append([]byte(nil), ccel...)
	for i := last; i < len(dropped); i++ {
		dropped[i] = 0xff
	}
	_, err = verifyQuote(t, v, ev(dropped), e)
	wantKinds(t, err, verify.ErrBinding)
	// TDX-29: shift the MR index of one RTMR1 event to RTMR2.
	var shifted []byte
	for i, ev := range log.Events {
		if ev.MRIndex == 2 && ev.Type != 4 {
			shifted = append([]byte(nil), ccel...)
			binary.LittleEndian.PutUint32(shifted[offsets[i]:], 3)
			break
		}
	}
	_, err = verifyQuote(t, v, ev(shifted), e)
	wantKinds(t, err, verify.ErrBinding)

	// RTMR3 extended without a log entry.
	l2, _ := tdx.ParseCCEL(ccel)
	rt := q.Body.RTMR
	rt[3][0] ^= 1
	if err := l2.Replay(rt, false); err == nil {
		t.Fatal("RTMR3 mismatch not detected")
	}
	if err := l2.Replay(rt, true); err != nil || !l2.RTMR3Unlogged {
		t.Fatalf("unlogged RTMR3 option: %v", err)
	}
}

// eventOffsets returns the byte offset of each crypto-agile event.
func eventOffsets(t *testing.T, b []byte) []int {
	off := 32 + int(binary.LittleEndian.Uint32(b[28:]))
	var out []int
	for off+8 <= len(b) && !bytes.Equal(b[off:off+8], bytes.Repeat([]byte{0xff}, 8)) && !bytes.Equal(b[off:off+8], make([]byte, 8)) {
		out = append(out, off)
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		p := off + 12
		for i := 0; i < n; i++ {
			p += 2 + 48 // only SHA-384 in these logs
		}
		sz := int(binary.LittleEndian.Uint32(b[p:]))
		off = p + 4 + sz
	}
	return out
}

func qeReportDataFor(pub *ecdsa.PublicKey, auth []byte) [64]byte {
	b, _ := pub.Bytes()
	var out [64]byte
	d := sha256Sum(append(append([]byte(nil), b[1:]...), auth...))
	copy(out[:], d[:])
	return out
}
