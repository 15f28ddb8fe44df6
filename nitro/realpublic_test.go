package nitro_test

import (
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/verify"
)

// publicDoc is a bare COSE_Sign1 NSM document from testdata/nitro
// (provenance in its README) with the time to pin: its signed timestamp.
type publicDoc struct {
	file string
	at   time.Time
}

var (
	// Brave's 2022 unit-test document: us-west-2, debug enclave, a definite-
	// length payload map, a 20-byte nonce and public_key = h'' (empty).
	publicBrave = publicDoc{"brave-core_cose_unittest.cose", time.Date(2022, 7, 26, 18, 39, 12, 0, time.UTC)}
	// Epsilon Data's 2026 production document: ap-southeast-2, an
	// indefinite-length payload map, JSON user_data and a 32-byte nonce.
	publicEpsilon = publicDoc{"epsilon-nitro-verify_test.cose", time.Date(2026, 2, 6, 8, 24, 18, 0, time.UTC)}
	// Cape Privacy's 2022 document: us-east-1, a 32-byte public_key (the
	// enclave's X25519 key), PCR8 set (a signed enclave image), a 12-byte
	// nonce and JSON user_data.
	publicCape = publicDoc{"cape-js_Cape.spec.cose", time.Date(2022, 9, 15, 17, 43, 28, 0, time.UTC)}
)

func (d publicDoc) read(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("../testdata/nitro/" + d.file)
	require.NoError(tb, err)
	return b
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(tb, err)
	return b
}

// TestRealPublicNitroDocuments verifies two real NSM documents from other
// regions, years and producers than the Dstack samples, bound to the
// session value each carries, and checks the claims read from them.
func TestRealPublicNitroDocuments(t *testing.T) {
	ctx := context.Background()
	byNonce := newVerifier(t, nitro.WithReportDataField(nitro.FieldNonce))

	t.Run("brave 2022 us-west-2 debug", func(t *testing.T) {
		doc := publicBrave.read(t)
		assert.Equal(t, byte(0xa9), doc[10], "payload is a definite-length map of 9")
		nonce := mustHex(t, "831493346b44132e2ffb7988bce351f593eeb8dd")
		c, err := byNonce.VerifyDocument(ctx, doc, verify.Expectations{Now: publicBrave.at, ReportData: nonce})
		require.NoError(t, err)
		m := c.Map()
		assert.Equal(t, "i-0936512d5ae6ee91a-enc01823bcde8eb8a8a", c.ModuleID)
		assert.Equal(t, "2022-07-26T18:39:12.566Z", m["timestamp"])
		assert.Equal(t, "i-0936512d5ae6ee91a-enc01823bcde8eb8a8a.us-west-2.aws", m["signer"])
		assert.Equal(t, "2022-07-26T21:39:12Z", m["chain_not_after"])
		assert.Equal(t, true, m["debug"], "PCR0-3 are zero: a debug enclave")
		assert.Equal(t, "5a3e54bd0a5f50b1b5ec641e063a1f1e7e5aadc139f49fd8784afca90a83767ec13dd70b3f2e3f43b8e23355baaa9053", m["pcr04"])
		assert.Equal(t, hex.EncodeToString(nonce), m["report_data"])
		assert.Equal(t, strings.Repeat("00", 32), m["user_data"])
		// public_key is h'' in the document: it vouches for nothing and is
		// absent from the claims (before, it was the claim "").
		assert.Nil(t, c.PublicKey)
		assert.NotContains(t, m, "public_key")
		assert.Len(t, c.PCRs, 16)
	})

	t.Run("cape 2022 us-east-1 public key", func(t *testing.T) {
		doc := publicCape.read(t)
		nonce := mustHex(t, "47b5fba6979cbf7e567e2629")
		c, err := byNonce.VerifyDocument(ctx, doc, verify.Expectations{Now: publicCape.at, ReportData: nonce})
		require.NoError(t, err)
		m := c.Map()
		assert.Equal(t, "i-0697c9729fa547b20-enc0183422ede9a5dc8", c.ModuleID)
		assert.Equal(t, "2022-09-15T17:43:28.848Z", m["timestamp"])
		assert.Equal(t, "i-0697c9729fa547b20-enc0183422ede9a5dc8.us-east-1.aws", m["signer"])
		assert.Equal(t, "15db1c67adc9fce91f7da323c708b6e639f0585af8a4a091127f2dfdcfeaf808", m["public_key"])
		assert.Equal(t, "6f1ff0f2a7a0b1c4e02a3a544eb0ff2dffb8b2922b8908d46365c0f0120934092149ec35814c8d944ef1b8fb564b46c7", m["pcr08"])
		assert.Equal(t, "ea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f460996624c", m["pcr00"])
		assert.Equal(t, false, m["debug"])
		assert.Equal(t, hex.EncodeToString(nonce), m["report_data"])
		assert.Contains(t, string(c.UserData), `"func_checksum":"ZnMeXM8iZoDdXJih0a1St6TJhphAQtBnLY8xUxMLNKg="`)
	})

	t.Run("epsilon 2026 ap-southeast-2", func(t *testing.T) {
		doc := publicEpsilon.read(t)
		assert.Equal(t, byte(0xbf), doc[10], "payload is an indefinite-length map")
		nonce := mustHex(t, "800863bf597055e1ab86eadef54fa5c9a906adefb68782db8e4fead2bed9a8df")
		c, err := byNonce.VerifyDocument(ctx, doc, verify.Expectations{Now: publicEpsilon.at, ReportData: nonce})
		require.NoError(t, err)
		m := c.Map()
		assert.Equal(t, "i-0761a4cbcc7632aef-enc019c320cb32f6b7a", c.ModuleID)
		assert.Equal(t, "2026-02-06T08:24:18.452Z", m["timestamp"])
		assert.Equal(t, "i-0761a4cbcc7632aef-enc019c320cb32f6b7a.ap-southeast-2.aws", m["signer"])
		assert.Equal(t, false, m["debug"])
		// The PCRs its publisher lists from nitro-cli describe-enclaves.
		assert.Equal(t, "6165855369654a587bdad59fa532f430d7defa38ecf57eeac6d29c7e87a32b621891862d04fb64423f6bb1e1626fc026", m["pcr00"])
		assert.Equal(t, "4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493", m["pcr01"])
		assert.Equal(t, "a50f214952d1cc168b04da54db1b163a86e5ffefec223b7b640df88b665c3db745e9a6865a7db265374239fd264a5522", m["pcr02"])
		assert.Contains(t, string(c.UserData), `"output_hash": "890da9e8ca507c2fbbb4fbc50b882358d96b8efc3ef23bb8c05eca965513c775"`)
		assert.NotContains(t, m, "public_key", "CBOR null")

		// The same document by user_data: its JSON is the bound value.
		byUser := newVerifier(t)
		c2, err := byUser.VerifyDocument(ctx, doc, verify.Expectations{Now: publicEpsilon.at, ReportData: c.UserData})
		require.NoError(t, err)
		assert.Equal(t, nitro.FieldUserData, c2.ReportDataField)
	})
}

// TestRealPublicNitroNegatives: the real documents refused at other times,
// for another session, and as a reviewer would tamper with them.
func TestRealPublicNitroNegatives(t *testing.T) {
	ctx := context.Background()
	v := newVerifier(t, nitro.WithReportDataField(nitro.FieldNonce))
	doc := publicEpsilon.read(t)
	nonce := mustHex(t, "800863bf597055e1ab86eadef54fa5c9a906adefb68782db8e4fead2bed9a8df")
	at := func(ts time.Time) verify.Expectations { return verify.Expectations{Now: ts, ReportData: nonce} }

	_, err := v.Verify(ctx, doc, at(publicEpsilon.at.Add(2*time.Hour)))
	requireKind(t, verify.ErrExpired, err, "two hours later (max age one hour)")
	_, err = v.Verify(ctx, doc, at(publicEpsilon.at.Add(4*time.Hour)))
	requireKind(t, verify.ErrExpired, err, "after the leaf's validity")
	_, err = v.Verify(ctx, doc, at(publicEpsilon.at.Add(-10*time.Minute)))
	requireKind(t, verify.ErrExpired, err, "before the signed timestamp")
	_, err = v.Verify(ctx, publicBrave.read(t), at(publicEpsilon.at))
	requireKind(t, verify.ErrExpired, err, "a 2022 document in 2026")

	other := append([]byte(nil), nonce...)
	other[31] ^= 1
	_, err = v.Verify(ctx, doc, verify.Expectations{Now: publicEpsilon.at, ReportData: other})
	requireKind(t, verify.ErrFreshness, err, "another session's nonce")
	_, err = v.Verify(ctx, doc, verify.Expectations{Now: publicEpsilon.at, ReportData: []byte("x")})
	requireKind(t, verify.ErrFreshness, err, "nonce prefix mismatch")

	var arr []cbor.RawMessage
	require.NoError(t, cbor.Unmarshal(doc, &arr))
	require.Len(t, arr, 4)

	// The algorithm repeated in the unprotected header: the signature still
	// verifies (the protected bucket is unchanged), the header is refused.
	unprot, err := cbor.Marshal([]any{arr[0], map[int]int{1: -35}, arr[2], arr[3]})
	require.NoError(t, err)
	_, err = v.Verify(ctx, unprot, at(publicEpsilon.at))
	requireKind(t, verify.ErrUnsupported, err, "unprotected alg")

	// The payload re-encoded with a cabundle of 100 real certificates.
	var payload []byte
	require.NoError(t, cbor.Unmarshal(arr[2], &payload))
	var fields map[string]any
	require.NoError(t, cbor.Unmarshal(payload, &fields))
	bundle := fields["cabundle"].([]any)
	var big []any
	for len(big) < 100 {
		big = append(big, bundle...)
	}
	fields["cabundle"] = big[:100]
	for _, size := range []int{100, nitro.MaxCABundle + 1} {
		fields["cabundle"] = big[:size]
		p, err := cbor.Marshal(fields)
		require.NoError(t, err)
		forged, err := cbor.Marshal([]any{cbor.RawMessage(arr[0]), cbor.RawMessage(arr[1]), p, cbor.RawMessage(arr[3])})
		require.NoError(t, err)
		_, err = v.Verify(ctx, forged, at(publicEpsilon.at))
		requireKind(t, verify.ErrLimit, err, "cabundle of %d", size)
	}

	// One byte of the signed PCR0 flipped.
	i := strings.Index(string(doc), string(mustHex(t, "6165855369654a587bdad59f")))
	require.Positive(t, i)
	flipped := append([]byte(nil), doc...)
	flipped[i] ^= 0x01
	_, err = v.Verify(ctx, flipped, at(publicEpsilon.at))
	requireKind(t, verify.ErrSignature, err, "PCR0 flipped")
}
