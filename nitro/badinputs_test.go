package nitro_test

// Bad inputs for AWS Nitro documents. The shared catalogue has no Nitro
// IDs; these are ours:
//
//	NITRO-01 signature bytes flipped                          → ErrSignature
//	NITRO-02 a signed payload value flipped (PCR, user_data,
//	         module_id, timestamp)                            → ErrSignature
//	NITRO-03 any byte flipped anywhere                        → never verifies; always a kind
//	NITRO-04 verified outside a certificate's validity        → ErrExpired
//	NITRO-05 timestamp too old / in the future / outside the
//	         leaf's validity                                  → ErrExpired
//	NITRO-06 another root pinned; cabundle root replaced;
//	         cabundle with an unused or reordered certificate → ErrChain
//	NITRO-07 every truncation                                 → ErrMalformed
//	NITRO-08 oversized document, field, bundle or PCR count   → ErrLimit
//	NITRO-09 trailing bytes, duplicate or missing keys, wrong
//	         types, bad PCR index or size, bad tag            → ErrMalformed
//	NITRO-10 unknown payload key, other algorithm or headers  → ErrUnsupported
//	NITRO-11 user_data / nonce not the expected report data,
//	         or the binding field absent                      → ErrFreshness
//	NITRO-12 no expected report data, all-zero report data,
//	         an init-data digest (no such field)              → ErrConfig
//	NITRO-13 leaf key did not sign the document               → ErrSignature
//	NITRO-14 contradictory or invalid options                 → ErrConfig
//
// Freshness vs binding: ErrFreshness is the kind of a report-data field that
// does not carry the caller's session value (verify.Expectations.CheckReportData,
// as for every TEE); ErrBinding is kept for fields that must equal another
// authenticated value, which a Nitro document does not have.
// A debug enclave (PCR0–3 zero) verifies; the default policy refuses it
// (policy/rules_nitro_test.go).

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/nitro/nitrotest"
	"github.com/trustfactory/attest/verify"
)

var unbound = func(at time.Time) verify.Expectations {
	return verify.Expectations{Now: at, AllowMissingReportDataUnsafe: true}
}

func requireKind(t *testing.T, kind error, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.True(t, errors.Is(err, kind), "want %v, got %v (%v)", kind, verify.KindOf(err), err)
}

// find returns the offset of needle in b after the COSE head.
func find(t *testing.T, b, needle []byte) int {
	t.Helper()
	for i := 0; i+len(needle) <= len(b); i++ {
		if string(b[i:i+len(needle)]) == string(needle) {
			return i
		}
	}
	t.Fatalf("% x not found", needle)
	return -1
}

func flipped(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}

func TestNITRO01SignatureFlipped(t *testing.T) {
	v := newVerifier(t)
	doc := sampleNSM.read(t)
	for _, i := range []int{len(doc) - 96, len(doc) - 49, len(doc) - 48, len(doc) - 1} {
		_, err := v.Verify(context.Background(), flipped(doc, i), unbound(sampleNSM.at))
		requireKind(t, verify.ErrSignature, err, "byte %d", i)
	}
}

func TestNITRO02SignedValueFlipped(t *testing.T) {
	v := newVerifier(t)
	doc := sampleNSM.read(t)
	d, err := nitro.ParseDocument(doc)
	require.NoError(t, err)
	for name, at := range map[string]int{
		"module_id": find(t, doc, []byte(d.ModuleID)) + 3,
		"pcr0":      find(t, doc, d.PCRs[0]) + 5,
		"pcr15":     find(t, doc, d.PCRs[15]) + 47,
		"user_data": find(t, doc, append([]byte{0x58, 0x40}, make([]byte, 8)...)) + 9,
		"timestamp": find(t, doc, []byte("timestamp")) + 9 + 8, // last byte of the uint64 (1b + 8 bytes)
	} {
		_, err := v.Verify(context.Background(), flipped(doc, at), unbound(sampleNSM.at))
		requireKind(t, verify.ErrSignature, err, "%s at %d", name, at)
	}
}

func TestNITRO03AnyByteFlipped(t *testing.T) {
	v := newVerifier(t)
	doc := sampleDstck.read(t)
	exp := verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest}
	_, err := v.Verify(context.Background(), doc, exp)
	require.NoError(t, err)
	// Every 17th byte: a flipped certificate costs a full chain check, so
	// all of them take half a minute under -race; the offsets still land
	// in every field. -short: every 101st.
	step := 17
	if testing.Short() {
		step = 101
	}
	for i := 0; i < len(doc); i += step {
		c, err := v.Verify(context.Background(), flipped(doc, i), exp)
		require.Error(t, err, "byte %d flipped still verifies", i)
		require.Nil(t, c)
		require.NotNil(t, verify.KindOf(err), "byte %d: error without a kind: %v", i, err)
	}
}

func TestNITRO04OutsideCertificateValidity(t *testing.T) {
	v := newVerifier(t)
	doc := sampleNSM.read(t)
	// Leaf 13:15:34Z–16:15:37Z.
	for _, at := range []time.Time{
		time.Date(2025, 12, 25, 13, 15, 33, 0, time.UTC),
		time.Date(2025, 12, 25, 16, 15, 38, 0, time.UTC),
		time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		_, err := v.Verify(context.Background(), doc, unbound(at))
		requireKind(t, verify.ErrExpired, err, "at %s", at)
		assert.Contains(t, err.Error(), "certificate", "at %s", at)
	}
	// The same after the chain was cached at a good time.
	_, err := v.Verify(context.Background(), doc, unbound(sampleNSM.at))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), doc, unbound(time.Date(2025, 12, 25, 13, 15, 33, 0, time.UTC)))
	requireKind(t, verify.ErrExpired, err)
}

func TestNITRO05Timestamp(t *testing.T) {
	doc := sampleNSM.read(t) // timestamp 13:15:37.578Z, leaf to 16:15:37Z
	ts := time.Date(2025, 12, 25, 13, 15, 37, 578e6, time.UTC)
	v := newVerifier(t)
	_, err := v.Verify(context.Background(), doc, unbound(ts.Add(2*time.Hour))) // leaf still valid
	requireKind(t, verify.ErrExpired, err)
	assert.Contains(t, err.Error(), "before the verification time")
	_, err = v.Verify(context.Background(), doc, unbound(ts.Add(59*time.Minute)))
	require.NoError(t, err, "an hour is the default maximum age")

	strict := newVerifier(t, nitro.WithClockSkew(0))
	_, err = strict.Verify(context.Background(), doc, unbound(ts.Add(-time.Millisecond)))
	requireKind(t, verify.ErrExpired, err)
	assert.Contains(t, err.Error(), "after the verification time")

	// A timestamp outside the leaf's validity, signed by a genuine leaf.
	pki := newPKI(t)
	leaf, err := pki.Leaf(pki.At.Add(-4*time.Hour), "i-0123456789abcdef0-enc0123456789abcdef")
	require.NoError(t, err)
	signed := mintWith(t, pki, leaf, nitrotest.Spec{Timestamp: pki.At}, nil)
	_, err = newVerifier(t, nitro.WithRoot(pki.Root.Cert)).Verify(context.Background(), signed, unbound(pki.At.Add(-3*time.Hour-30*time.Minute)))
	requireKind(t, verify.ErrExpired, err)
	assert.Contains(t, err.Error(), "outside its certificate's validity")
}

func TestNITRO06Chain(t *testing.T) {
	ctx := context.Background()
	pki := newPKI(t)
	// The real document under a verifier that pins another root.
	_, err := newVerifier(t, nitro.WithRoot(pki.Root.Cert)).Verify(ctx, sampleNSM.read(t), unbound(sampleNSM.at))
	requireKind(t, verify.ErrChain, err)
	// A minted document under the AWS root.
	doc, err := pki.Mint(nitrotest.Spec{})
	require.NoError(t, err)
	_, err = newVerifier(t).Verify(ctx, doc, unbound(pki.At))
	requireKind(t, verify.ErrChain, err)

	v := newVerifier(t, nitro.WithRoot(pki.Root.Cert))
	other := newPKI(t)
	leaf, err := pki.Leaf(pki.At.Add(-3*time.Second), "enc")
	require.NoError(t, err)
	for name, bundle := range map[string][][]byte{
		"root replaced by another":  {other.Root.Cert.Raw, pki.Regional.Cert.Raw, pki.Zonal.Cert.Raw, pki.Instance.Cert.Raw},
		"intermediate missing":      {pki.Root.Cert.Raw, pki.Regional.Cert.Raw, pki.Instance.Cert.Raw},
		"unused extra certificate":  {pki.Root.Cert.Raw, other.Regional.Cert.Raw, pki.Regional.Cert.Raw, pki.Zonal.Cert.Raw, pki.Instance.Cert.Raw},
		"reordered intermediates":   {pki.Root.Cert.Raw, pki.Zonal.Cert.Raw, pki.Regional.Cert.Raw, pki.Instance.Cert.Raw},
		"other hierarchy's interms": {pki.Root.Cert.Raw, other.Regional.Cert.Raw, other.Zonal.Cert.Raw, other.Instance.Cert.Raw},
	} {
		doc := mintWith(t, pki, leaf, nitrotest.Spec{}, func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "cabundle", bundle)
		})
		_, err := v.Verify(ctx, doc, unbound(pki.At))
		requireKind(t, verify.ErrChain, err, name)
		t.Logf("%s: %v", name, err)
	}
	// A leaf that is a CA (the instance CA signing the document itself).
	caLeaf := &nitrotest.Leaf{Cert: pki.Instance.Cert, Key: pki.Instance.Key}
	doc = mintWith(t, pki, caLeaf, nitrotest.Spec{}, func(f []nitrotest.Field) []nitrotest.Field {
		return set(f, "cabundle", [][]byte{pki.Root.Cert.Raw, pki.Regional.Cert.Raw, pki.Zonal.Cert.Raw})
	})
	_, err = v.Verify(ctx, doc, unbound(pki.At))
	requireKind(t, verify.ErrChain, err, "CA as leaf")
}

func TestNITRO07Truncated(t *testing.T) {
	v := newVerifier(t)
	doc := sampleNSM.read(t)
	for n := 0; n < len(doc); n++ {
		_, err := v.Verify(context.Background(), doc[:n], unbound(sampleNSM.at))
		requireKind(t, verify.ErrMalformed, err, "%d of %d bytes", n, len(doc))
	}
}

func TestNITRO08Limits(t *testing.T) {
	ctx := context.Background()
	_, err := newVerifier(t).Verify(ctx, make([]byte, nitro.MaxDocumentBytes+1), unbound(sampleNSM.at))
	requireKind(t, verify.ErrLimit, err, "oversized document")

	pki := newPKI(t)
	v := newVerifier(t, nitro.WithRoot(pki.Root.Cert))
	manyPCRs := map[uint64][]byte{}
	for i := uint64(0); i < 33; i++ {
		manyPCRs[i] = make([]byte, 48)
	}
	bigBundle := pki.Bundle()
	for len(bigBundle) <= nitro.MaxCABundle {
		bigBundle = append(bigBundle, pki.Instance.Cert.Raw)
	}
	for name, edit := range map[string]func([]nitrotest.Field) []nitrotest.Field{
		"user_data":   func(f []nitrotest.Field) []nitrotest.Field { return set(f, "user_data", make([]byte, 1025)) },
		"nonce":       func(f []nitrotest.Field) []nitrotest.Field { return set(f, "nonce", make([]byte, 1025)) },
		"public_key":  func(f []nitrotest.Field) []nitrotest.Field { return set(f, "public_key", make([]byte, 1025)) },
		"certificate": func(f []nitrotest.Field) []nitrotest.Field { return set(f, "certificate", make([]byte, 1025)) },
		"cabundle[1]": func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "cabundle", [][]byte{pki.Root.Cert.Raw, make([]byte, 1025)})
		},
		"cabundle count": func(f []nitrotest.Field) []nitrotest.Field { return set(f, "cabundle", bigBundle) },
		"pcr count":      func(f []nitrotest.Field) []nitrotest.Field { return set(f, "pcrs", manyPCRs) },
		"module_id":      func(f []nitrotest.Field) []nitrotest.Field { return set(f, "module_id", string(make([]byte, 257))) },
	} {
		_, err := v.Verify(ctx, mint(t, pki, edit), unbound(pki.At))
		requireKind(t, verify.ErrLimit, err, name)
	}
	// A deeply nested value in an unknown key is refused by depth first.
	deep := any("x")
	for i := 0; i < 10; i++ {
		deep = []any{deep}
	}
	_, err = v.Verify(ctx, mint(t, pki, func(f []nitrotest.Field) []nitrotest.Field {
		return set(f, "user_data", deep)
	}), unbound(pki.At))
	requireKind(t, verify.ErrLimit, err, "nesting")
}

func TestNITRO09Malformed(t *testing.T) {
	ctx := context.Background()
	real := sampleNSM.read(t)
	v := newVerifier(t)
	for name, b := range map[string][]byte{
		"trailing byte":  append(append([]byte(nil), real...), 0x00),
		"other tag":      append([]byte{0xd8, 0x62}, real...),
		"tag 18 twice":   append([]byte{0xd2, 0xd2}, real...),
		"not an array":   {0xa0},
		"array of three": {0x83, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x40},
	} {
		_, err := v.Verify(ctx, b, unbound(sampleNSM.at))
		requireKind(t, verify.ErrMalformed, err, name)
	}

	pki := newPKI(t)
	mv := newVerifier(t, nitro.WithRoot(pki.Root.Cert))
	drop := func(key string) func([]nitrotest.Field) []nitrotest.Field {
		return func(f []nitrotest.Field) []nitrotest.Field {
			out := f[:0:0]
			for _, x := range f {
				if x.Key != key {
					out = append(out, x)
				}
			}
			return out
		}
	}
	for name, edit := range map[string]func([]nitrotest.Field) []nitrotest.Field{
		"duplicate key": func(f []nitrotest.Field) []nitrotest.Field {
			return append(f, nitrotest.Field{Key: "user_data", Value: []byte("second")})
		},
		"no module_id":         drop("module_id"),
		"no digest":            drop("digest"),
		"no timestamp":         drop("timestamp"),
		"no pcrs":              drop("pcrs"),
		"no certificate":       drop("certificate"),
		"no cabundle":          drop("cabundle"),
		"null module_id":       func(f []nitrotest.Field) []nitrotest.Field { return set(f, "module_id", nil) },
		"text user_data":       func(f []nitrotest.Field) []nitrotest.Field { return set(f, "user_data", "text") },
		"negative timestamp":   func(f []nitrotest.Field) []nitrotest.Field { return set(f, "timestamp", -1) },
		"float timestamp":      func(f []nitrotest.Field) []nitrotest.Field { return set(f, "timestamp", 1.5) },
		"timestamp year 10000": func(f []nitrotest.Field) []nitrotest.Field { return set(f, "timestamp", uint64(253402300800000)) },
		"pcr index 32": func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "pcrs", map[uint64][]byte{32: make([]byte, 48)})
		},
		"pcr of 32 bytes in SHA384": func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "pcrs", map[uint64][]byte{0: make([]byte, 32)})
		},
		"negative pcr index": func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "pcrs", map[int64][]byte{-1: make([]byte, 48)})
		},
		"certificate not DER": func(f []nitrotest.Field) []nitrotest.Field { return set(f, "certificate", []byte{0x30, 0x00}) },
		"module_id bad UTF-8": func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "module_id", cbor.RawMessage{0x62, 0xff, 0xfe})
		},
		"payload tag": func(f []nitrotest.Field) []nitrotest.Field {
			return set(f, "user_data", cbor.Tag{Number: 24, Content: []byte{1}})
		},
	} {
		_, err := mv.Verify(ctx, mint(t, pki, edit), unbound(pki.At))
		requireKind(t, verify.ErrMalformed, err, name)
	}
	// A signature that is not 96 bytes.
	leaf, err := pki.Leaf(pki.At.Add(-3*time.Second), "enc")
	require.NoError(t, err)
	good := mintWith(t, pki, leaf, nitrotest.Spec{}, nil)
	var arr []cbor.RawMessage
	require.NoError(t, cbor.Unmarshal(good, &arr))
	short, err := cbor.Marshal([]any{arr[0], arr[1], arr[2], make([]byte, 95)})
	require.NoError(t, err)
	_, err = mv.Verify(ctx, short, unbound(pki.At))
	requireKind(t, verify.ErrMalformed, err, "95-byte signature")
}

func TestNITRO10Unsupported(t *testing.T) {
	ctx := context.Background()
	pki := newPKI(t)
	v := newVerifier(t, nitro.WithRoot(pki.Root.Cert))
	_, err := v.Verify(ctx, mint(t, pki, func(f []nitrotest.Field) []nitrotest.Field {
		return append(f, nitrotest.Field{Key: "extra", Value: 1})
	}), unbound(pki.At))
	requireKind(t, verify.ErrUnsupported, err, "unknown key")
	_, err = v.Verify(ctx, mint(t, pki, func(f []nitrotest.Field) []nitrotest.Field {
		return set(f, "digest", "MD5")
	}), unbound(pki.At))
	requireKind(t, verify.ErrUnsupported, err, "digest")

	leaf, err := pki.Leaf(pki.At.Add(-3*time.Second), "enc")
	require.NoError(t, err)
	payload, err := nitrotest.EncodePayload(pki.Fields(nitrotest.Spec{}, leaf))
	require.NoError(t, err)
	for name, protected := range map[string][]byte{
		"ES256":        {0xa1, 0x01, 0x26},
		"alg and crit": {0xa2, 0x01, 0x38, 0x22, 0x02, 0x81, 0x01},
		"empty":        {0xa0},
	} {
		doc, err := leaf.Sign1(protected, payload)
		require.NoError(t, err)
		_, err = v.Verify(ctx, doc, unbound(pki.At))
		requireKind(t, verify.ErrUnsupported, err, name)
	}
	// An unprotected header with an entry.
	doc, err := leaf.Sign1(nitrotest.Protected(), payload)
	require.NoError(t, err)
	var arr []cbor.RawMessage
	require.NoError(t, cbor.Unmarshal(doc, &arr))
	withKid, err := cbor.Marshal([]any{arr[0], map[int]any{4: []byte("kid")}, arr[2], arr[3]})
	require.NoError(t, err)
	_, err = v.Verify(ctx, withKid, unbound(pki.At))
	requireKind(t, verify.ErrUnsupported, err, "unprotected kid")
}

func TestNITRO11ReportDataMismatch(t *testing.T) {
	ctx := context.Background()
	v := newVerifier(t)
	doc := sampleDstck.read(t)
	for name, rd := range map[string][]byte{
		"other value":           []byte("challenge"),
		"digest with one more":  append(append([]byte(nil), emptyDigest...), 1),
		"longer than the field": bytes.Repeat([]byte{1}, 65),
	} {
		_, err := v.Verify(ctx, doc, verify.Expectations{Now: sampleDstck.at, ReportData: rd})
		requireKind(t, verify.ErrFreshness, err, name)
	}
	// The real documents have no nonce: binding through it fails.
	_, err := newVerifier(t, nitro.WithReportDataField(nitro.FieldNonce)).Verify(ctx, doc, verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest})
	requireKind(t, verify.ErrFreshness, err, "absent nonce")

	// Minted: the nonce carries the session, user_data something else.
	pki := newPKI(t)
	minted, err := pki.Mint(nitrotest.Spec{Nonce: []byte("session-nonce"), UserData: []byte("app data")})
	require.NoError(t, err)
	nv := newVerifier(t, nitro.WithRoot(pki.Root.Cert), nitro.WithReportDataField(nitro.FieldNonce))
	_, err = nv.Verify(ctx, minted, verify.Expectations{Now: pki.At, ReportData: []byte("app data")})
	requireKind(t, verify.ErrFreshness, err, "user_data value expected in nonce")
	uv := newVerifier(t, nitro.WithRoot(pki.Root.Cert))
	_, err = uv.Verify(ctx, minted, verify.Expectations{Now: pki.At, ReportData: []byte("session-nonce")})
	requireKind(t, verify.ErrFreshness, err, "nonce value expected in user_data")
}

func TestNITRO12Config(t *testing.T) {
	ctx := context.Background()
	v := newVerifier(t)
	_, err := v.Verify(ctx, sampleDstck.read(t), verify.Expectations{Now: sampleDstck.at})
	requireKind(t, verify.ErrConfig, err, "no report data")
	_, err = v.Verify(ctx, sampleNSM.read(t), verify.Expectations{Now: sampleNSM.at, ReportData: make([]byte, 64)})
	requireKind(t, verify.ErrConfig, err, "all-zero report data cannot bind the all-zero user_data")
	_, err = v.Verify(ctx, sampleDstck.read(t), verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest, InitDataDigest: emptyDigest})
	requireKind(t, verify.ErrConfig, err, "init data")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.Verify(cctx, sampleDstck.read(t), verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest})
	requireKind(t, verify.ErrConfig, err, "cancelled context")
}

func TestNITRO13WrongSigner(t *testing.T) {
	pki := newPKI(t)
	leaf, err := pki.Leaf(pki.At.Add(-3*time.Second), "enc")
	require.NoError(t, err)
	impostor, err := pki.Leaf(pki.At.Add(-3*time.Second), "enc")
	require.NoError(t, err)
	// The payload names leaf; impostor's key signs it.
	payload, err := nitrotest.EncodePayload(pki.Fields(nitrotest.Spec{}, leaf))
	require.NoError(t, err)
	doc, err := impostor.Sign1(nitrotest.Protected(), payload)
	require.NoError(t, err)
	_, err = newVerifier(t, nitro.WithRoot(pki.Root.Cert)).Verify(context.Background(), doc, unbound(pki.At))
	requireKind(t, verify.ErrSignature, err)
}

func TestNITRO14Options(t *testing.T) {
	pki := newPKI(t)
	leafAsRoot := pki.Regional.Cert
	for name, opts := range map[string][]nitro.Option{
		"root twice":           {nitro.WithRoot(pki.Root.Cert), nitro.WithRoot(pki.Root.Cert)},
		"nil root":             {nitro.WithRoot(nil)},
		"root not self-signed": {nitro.WithRoot(leafAsRoot)},
		"field twice":          {nitro.WithReportDataField(nitro.FieldNonce), nitro.WithReportDataField(nitro.FieldUserData)},
		"unknown field":        {nitro.WithReportDataField("public_key")},
		"zero max age":         {nitro.WithMaxAge(0)},
		"negative skew":        {nitro.WithClockSkew(-time.Second)},
		"skew above max age":   {nitro.WithMaxAge(time.Minute), nitro.WithClockSkew(time.Minute)},
		"zero cache":           {nitro.WithCacheSize(0)},
		"nil option":           {nil},
	} {
		_, err := nitro.NewVerifier(opts...)
		requireKind(t, verify.ErrConfig, err, name)
	}
	_, err := nitro.ParseRoot([]byte("not pem"), "")
	requireKind(t, verify.ErrConfig, err)
	_, err = nitro.ParseRoot(pemOf(pki.Root.Cert), nitro.AWSRootG1SHA256)
	requireKind(t, verify.ErrConfig, err, "fingerprint mismatch")
}

func newPKI(t testing.TB) *nitrotest.PKI {
	t.Helper()
	pki, err := nitrotest.NewPKI(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	return pki
}

// mint signs the default payload, edited by edit, with a fresh leaf.
func mint(t testing.TB, pki *nitrotest.PKI, edit func([]nitrotest.Field) []nitrotest.Field) []byte {
	t.Helper()
	leaf, err := pki.Leaf(pki.At.Add(-3*time.Second), "i-0123456789abcdef0-enc0123456789abcdef")
	require.NoError(t, err)
	return mintWith(t, pki, leaf, nitrotest.Spec{}, edit)
}

func mintWith(t testing.TB, pki *nitrotest.PKI, leaf *nitrotest.Leaf, s nitrotest.Spec, edit func([]nitrotest.Field) []nitrotest.Field) []byte {
	t.Helper()
	f := pki.Fields(s, leaf)
	if edit != nil {
		f = edit(f)
	}
	payload, err := nitrotest.EncodePayload(f)
	require.NoError(t, err)
	doc, err := leaf.Sign1(nitrotest.Protected(), payload)
	require.NoError(t, err)
	return doc
}

// set replaces the value of key in f.
func set(f []nitrotest.Field, key string, v any) []nitrotest.Field {
	out := append([]nitrotest.Field(nil), f...)
	for i := range out {
		if out[i].Key == key {
			out[i].Value = v
		}
	}
	return out
}

func pemOf(c *x509.Certificate) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + b64(c.Raw) + "\n-----END CERTIFICATE-----\n")
}
