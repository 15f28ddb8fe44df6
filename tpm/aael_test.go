package tpm_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

type aaelEvent struct {
	pcr  uint32
	data []byte
}

func tagged(domain, op, content string) []byte {
	text := domain + " " + op + " " + content
	b := binary.LittleEndian.AppendUint32(nil, 0x4141454c)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(text)))
	return append(b, text...)
}

// aaLog returns an AA event log as the agent writes it: its Spec ID event
// with an all-zero signature declaring SHA-256, EV_EVENT_TAG events with
// their SHA-256 digest, 8 bytes of 0xFF; and the PCRs it replays to.
func aaLog(events ...aaelEvent) ([]byte, map[int][]byte) {
	spec := make([]byte, 16)
	spec = append(spec, 0, 0, 0, 0, 0, 2, 0, 2)
	spec = binary.LittleEndian.AppendUint32(spec, 1)
	spec = binary.LittleEndian.AppendUint16(spec, 0x000b)
	spec = binary.LittleEndian.AppendUint16(spec, 32)
	spec = append(spec, 0)
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = append(b, make([]byte, 20)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(spec)))
	b = append(b, spec...)
	pcrs := map[int][]byte{}
	for _, e := range events {
		d := sha256.Sum256(e.data)
		b = binary.LittleEndian.AppendUint32(b, e.pcr)
		b = binary.LittleEndian.AppendUint32(b, 6)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0x000b)
		b = append(b, d[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.data)))
		b = append(b, e.data...)
		cur, ok := pcrs[int(e.pcr)]
		if !ok {
			cur = make([]byte, 32)
			if e.pcr >= 17 && e.pcr <= 22 {
				for i := range cur {
					cur[i] = 0xff
				}
			}
		}
		s := sha256.Sum256(append(cur, d[:]...))
		pcrs[int(e.pcr)] = s[:]
	}
	return append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), pcrs
}

// mintAAEL quotes a StandardBoot log's PCRs plus those of the AA log.
func mintAAEL(t *testing.T, ak *tpmtest.AK, aael []byte, aaPCRs map[int][]byte) *tpm.Evidence {
	t.Helper()
	log := tpmtest.StandardBoot()
	pcrs := log.PCRs(crypto.SHA256)
	for i, v := range aaPCRs {
		pcrs[i] = v
	}
	q, err := ak.Quote(crypto.SHA256, pcrs, testNonce)
	require.NoError(t, err)
	return &tpm.Evidence{AKPublicArea: ak.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: log.Bytes(), AAEventLog: aael}
}

// The AA event log replays into the PCRs it names (23 from zero, 17 from
// all ones), its events are exposed in the "aael" claim, and its PCRs are no
// longer reported unexplained; a changed entry, a digest that does not
// cover its event, or a PCR the log does not explain is refused.
func TestAAEventLog(t *testing.T) {
	ak, _, _ := keys(t)
	v := pinned(t, ak)
	pull := tagged("github.com/confidential-containers", "PullImage", `{"image":"busybox","digest":"sha256:0"}`)
	aael, aaPCRs := aaLog(aaelEvent{23, pull}, aaelEvent{23, tagged("d", "op", "two words")}, aaelEvent{17, tagged("d", "op", "x")})
	c, err := verifyEv(t, v, mintAAEL(t, ak, aael, aaPCRs), expect(testNonce))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"github.com/confidential-containers/PullImage": []any{`{"image":"busybox","digest":"sha256:0"}`},
		"d/op": []any{"two words", "x"},
	}, c.Map()["aael"])
	assert.NotContains(t, c.Log.UnexplainedPCRs, 23)

	// A changed entry (digest kept): the digest no longer covers it.
	tampered := []byte(strings.Replace(string(aael), "busybox", "evilbox", 1))
	_, err = verifyEv(t, v, mintAAEL(t, ak, tampered, aaPCRs), expect(testNonce))
	require.ErrorIs(t, err, verify.ErrBinding)

	// An entry the quoted PCR never saw.
	extra, _ := aaLog(aaelEvent{23, pull}, aaelEvent{23, tagged("d", "op", "two words")}, aaelEvent{17, tagged("d", "op", "x")}, aaelEvent{23, tagged("d", "op", "forged")})
	_, err = verifyEv(t, v, mintAAEL(t, ak, extra, aaPCRs), expect(testNonce))
	require.ErrorIs(t, err, verify.ErrBinding)

	// A PCR the quote does not cover.
	far, _ := aaLog(aaelEvent{23, pull}, aaelEvent{22, pull})
	_, err = verifyEv(t, v, mintAAEL(t, ak, far, nil), expect(testNonce))
	require.ErrorIs(t, err, verify.ErrBinding)
}

// Trustee's TPM evidence carries the log as base64 in "aa_eventlog"; members
// Trustee ignores are ignored.
func TestAAEventLogTrusteeJSON(t *testing.T) {
	ak, _, _ := keys(t)
	aael, aaPCRs := aaLog(aaelEvent{23, tagged("d", "op", "c")})
	// Trustee's JSON carries all 24 PCRs: the quote covers them all.
	for i := 10; i < 23; i++ {
		aaPCRs[i] = make([]byte, 32)
	}
	ev := mintAAEL(t, ak, aael, aaPCRs)
	q := ev.Quotes[0]
	pcrs := make([]string, 24)
	for i := range pcrs {
		v := q.PCRs[i]
		if v == nil {
			v = make([]byte, 32)
		}
		pcrs[i] = hex.EncodeToString(v)
	}
	js, err := json.Marshal(map[string]any{
		"ak_public":   base64.StdEncoding.EncodeToString(ak.SPKI()),
		"tpm_quote":   map[string]any{"message": base64.StdEncoding.EncodeToString(q.Attest), "signature": base64.StdEncoding.EncodeToString(q.Signature), "pcrs": pcrs},
		"aa_eventlog": base64.StdEncoding.EncodeToString(aael),
		"eventlog":    nil,
		"extra":       1,
	})
	require.NoError(t, err)
	got, enc, err := tpm.Decode(js)
	require.NoError(t, err)
	assert.Equal(t, tpm.EncodingTrustee, enc)
	assert.Equal(t, aael, got.AAEventLog)
	vc, err := pinned(t, ak).Verify(context.Background(), js, expect(testNonce))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"d/op": []any{"c"}}, vc.Map()["aael"])
}

// Malformed AA event logs are refused with their kind.
func TestParseAAEventLogRejects(t *testing.T) {
	good, _ := aaLog(aaelEvent{23, tagged("d", "op", "c")})
	_, err := tpm.ParseAAEventLog(good)
	require.NoError(t, err)
	notTagged, _ := aaLog(aaelEvent{23, []byte("plain event")})
	noOp, _ := aaLog(aaelEvent{23, tagged("d", "", "c")})
	badPCR, _ := aaLog(aaelEvent{24, tagged("d", "op", "c")})
	for name, tc := range map[string]struct {
		b    []byte
		kind error
	}{
		"not tagged":   {notTagged, verify.ErrMalformed},
		"no operation": {noOp, verify.ErrMalformed},
		"PCR 24":       {badPCR, verify.ErrMalformed},
		"truncated":    {good[:len(good)-20], verify.ErrMalformed},
		"too big":      {append(good, make([]byte, 1<<20)...), verify.ErrLimit},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tpm.ParseAAEventLog(tc.b)
			require.ErrorIs(t, err, tc.kind)
		})
	}
}
