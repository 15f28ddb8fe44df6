package tdx_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// aaelTime is inside the validity of AAEL_quote_tdx's PCK chain
// (2024-01-05 to 2031-01-05); the sample comes without collateral.
var aaelTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func readTD(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/tdx/" + name)
	require.NoError(t, err)
	return b
}

func legacyEvidence(t testing.TB, quote []byte, aael string, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{"quote": base64.StdEncoding.EncodeToString(quote), "aa_eventlog": aael}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func verifyAAELSample(t *testing.T, ev []byte) (*tdx.Claims, error) {
	t.Helper()
	v, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	// The sample's own report data stands for the nonce it was made for.
	q, err := tdx.ParseQuote(readTD(t, "AAEL_quote_tdx"))
	require.NoError(t, err)
	return v.VerifyQuote(context.Background(), ev, verify.Expectations{Now: aaelTime, ReportData: q.Body.ReportData[:]})
}

// Trustee's real legacy sample: AAEL_data_1 replays to RTMR3 of the real
// quote AAEL_quote_tdx, whose signature and PCK chain verify; its event is
// exposed in Trustee's legacy "aael" shape.
func TestAAELLegacyRealSample(t *testing.T) {
	quote, log := readTD(t, "AAEL_quote_tdx"), readTD(t, "AAEL_data_1")
	c, err := verifyAAELSample(t, legacyEvidence(t, quote, string(log), nil))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(hex.EncodeToString(c.Quote.Body.RTMR[3][:]), "71563a23"))
	require.NotNil(t, c.AAEventLog)
	assert.Equal(t, []tdx.AAELEvent{{Domain: "image-rs", Operation: "CreateContainer", Content: "docker.io/library/alpine"}}, c.AAELEvents())
	assert.Equal(t, map[string]any{"image-rs/CreateContainer": []any{"docker.io/library/alpine"}}, c.Map()["aael"])
}

// The other two legacy samples replay to the values of Trustee's old test.
func TestAAELLegacyReplayValues(t *testing.T) {
	for name, want := range map[string]string{"AAEL_data_2": "31fa1788", "AAEL_data_3": "0de62b45"} {
		l, err := tdx.ParseAAEL(readTD(t, name))
		require.NoError(t, err, name)
		got := l.Replay()
		assert.True(t, strings.HasPrefix(hex.EncodeToString(got[:]), want), "%s replays to %x, want %s…", name, got, want)
	}
	l, err := tdx.ParseAAEL(readTD(t, "AAEL_data_3"))
	require.NoError(t, err)
	assert.Len(t, l.Events, 2)
}

// A changed, added or dropped legacy entry no longer replays to RTMR3.
func TestAAELLegacyTampered(t *testing.T) {
	quote, log := readTD(t, "AAEL_quote_tdx"), string(readTD(t, "AAEL_data_1"))
	for name, l := range map[string]string{
		"changed content": strings.Replace(log, "alpine", "evilpine", 1),
		"added event":     strings.TrimRight(log, "\n") + "\nimage-rs CreateContainer docker.io/library/evil\n",
		"dropped event":   strings.SplitAfterN(log, "\n", 2)[0],
		"changed init":    strings.Replace(log, "sha384/0", "sha384/1", 1),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := verifyAAELSample(t, legacyEvidence(t, quote, l, nil))
			require.ErrorIs(t, err, verify.ErrBinding)
			assert.Nil(t, c)
		})
	}
}

// Malformed legacy logs are refused before any signature work.
func TestAAELLegacyMalformed(t *testing.T) {
	init := "INIT sha384/" + strings.Repeat("00", 48)
	for name, tc := range map[string]struct {
		log  string
		kind error
	}{
		"documented INIT form": {"INIT/sha384 " + strings.Repeat("00", 48), verify.ErrMalformed},
		"no INIT":              {"image-rs CreateContainer x", verify.ErrMalformed},
		"sha256 INIT":          {"INIT sha256/" + strings.Repeat("00", 32), verify.ErrUnsupported},
		"short INIT value":     {"INIT sha384/00", verify.ErrMalformed},
		"not hex":              {"INIT sha384/" + strings.Repeat("zz", 48), verify.ErrMalformed},
		"two fields":           {init + "\ndomain op", verify.ErrMalformed},
		"empty domain":         {init + "\n op content", verify.ErrMalformed},
		"too many lines":       {init + strings.Repeat("\nd o c", 5000), verify.ErrLimit},
		"too big":              {init + "\nd o " + strings.Repeat("c", 1<<20), verify.ErrLimit},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tdx.ParseAAEL([]byte(tc.log))
			require.ErrorIs(t, err, tc.kind)
		})
	}
}

// Members Trustee ignores are ignored; the bounds on the wrapper still hold.
func TestTrusteeEvidenceUnknownMembers(t *testing.T) {
	quote, log := readTD(t, "AAEL_quote_tdx"), string(readTD(t, "AAEL_data_1"))
	ev := legacyEvidence(t, quote, log, map[string]any{"extra": 1, "cc_eventlog": nil, "vendor": map[string]any{"note": "x"}})
	_, err := verifyAAELSample(t, ev)
	require.NoError(t, err)
	deep := legacyEvidence(t, quote, log, map[string]any{"extra": []any{[]any{[]any{[]any{[]any{1}}}}}})
	_, err = verifyAAELSample(t, deep)
	require.Error(t, err)
}

// aaelTagged returns an AAEL tagged event: id ‖ size ‖ "<domain> <op> <content>".
func aaelTagged(domain, op, content string) []byte {
	data := domain + " " + op + " " + content
	b := binary.LittleEndian.AppendUint32(nil, 0x4141454c)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// The current format: AAEL events in the CC event log on CC MR 4 replay
// into RTMR3 and are exposed both as Trustee's uefi_event_logs details and
// in the "aael" claim; an entry whose data no longer hashes to its digest
// is refused.
func TestAAELInCCEL(t *testing.T) {
	f := newFixture(t)
	pull := aaelTagged("github.com/confidential-containers", "PullImage", `{"image": "docker.io/library/busybox", "digest": "sha256:0"}`)
	ccel, rtmr := buildCCEL(ccelEvent{1, []byte("firmware")}, ccelEvent{4, pull})
	s := f.pki.DefaultQuote(nonce)
	s.Body.RTMR = rtmr
	q := f.pki.Quote(s)

	c, err := verifyQuote(t, f.verifier(t), trusteeEvidence(q, ccel), exp())
	require.NoError(t, err)
	want := map[string]any{"github.com/confidential-containers/PullImage": []any{`{"image": "docker.io/library/busybox", "digest": "sha256:0"}`}}
	assert.Equal(t, want, c.Map()["aael"])
	evs := c.Map()["uefi_event_logs"].([]any)
	data := evs[1].(map[string]any)["details"].(map[string]any)["data"].(map[string]any)
	assert.Equal(t, map[string]any{"image": "docker.io/library/busybox", "digest": "sha256:0"}, data["content"])

	tampered := []byte(strings.Replace(string(ccel), "busybox", "evilbox", 1))
	c, err = verifyQuote(t, f.verifier(t), trusteeEvidence(q, tampered), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
	assert.Nil(t, c)

	// An extra AAEL event whose digest matches but that RTMR3 never saw.
	ccel2, _ := buildCCEL(ccelEvent{1, []byte("firmware")}, ccelEvent{4, pull}, ccelEvent{4, aaelTagged("d", "op", "x")})
	_, err = verifyQuote(t, f.verifier(t), trusteeEvidence(q, ccel2), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
}

// The real current-format sample (no quote replays it): each AAEL event's
// digest is SHA-384 of its tagged event, and both are exposed.
func TestAAELRealCCELSample(t *testing.T) {
	log, err := tdx.ParseCCEL(readTD(t, "CCEL_AAEL_alibabacloud"))
	require.NoError(t, err)
	require.NoError(t, log.CheckAAEL())
	n := 0
	for _, e := range log.Events {
		if e.AAEL == nil {
			continue
		}
		n++
		sum := sha512.Sum384(e.Data)
		assert.Equal(t, sum[:], e.Digest)
		assert.Equal(t, uint32(4), e.MRIndex)
	}
	assert.Equal(t, 2, n)
}

// agentOnlyCCEL returns what Trustee's agent sends when the firmware left
// no CC event log: the fixed 69-byte header (EV_NO_ACTION, a Spec ID event
// with an all-zero signature declaring SHA-384 and SM3), its AAEL events on
// CC MR 4 with their SHA-384 digest only, and 8 bytes of 0xFF; and RTMR3.
func agentOnlyCCEL(events ...[]byte) ([]byte, [48]byte) {
	spec := make([]byte, 16) // all-zero signature
	spec = append(spec, 0, 0, 0, 0, 0, 2, 0, 2)
	spec = binary.LittleEndian.AppendUint32(spec, 2)
	spec = binary.LittleEndian.AppendUint16(spec, 0x000c)
	spec = binary.LittleEndian.AppendUint16(spec, 48)
	spec = binary.LittleEndian.AppendUint16(spec, 0x0012)
	spec = binary.LittleEndian.AppendUint16(spec, 32)
	spec = append(spec, 0)
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = append(b, make([]byte, 20)...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(spec)))
	b = append(b, spec...)
	var rtmr3 [48]byte
	for _, e := range events {
		d := sha512.Sum384(e)
		b = binary.LittleEndian.AppendUint32(b, 4)
		b = binary.LittleEndian.AppendUint32(b, 6)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0x000c)
		b = append(b, d[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
		h := sha512.New384()
		h.Write(rtmr3[:])
		h.Write(d[:])
		h.Sum(rtmr3[:0])
	}
	return append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), rtmr3
}

// A log of AAEL events behind the agent's 69-byte header (no firmware log)
// replays into RTMR3; RTMR0-2, with no events, must then be zero.
func TestAAELAgentOnlyLog(t *testing.T) {
	f := newFixture(t)
	ccel, rtmr3 := agentOnlyCCEL(aaelTagged("github.com/confidential-containers", "PullImage", `{"image":"a","digest":"b"}`))
	require.Equal(t, uint32(69), binary.LittleEndian.Uint32(ccel[28:])+32, "header size")
	s := f.pki.DefaultQuote(nonce)
	s.Body.RTMR = [4][48]byte{3: rtmr3}
	c, err := verifyQuote(t, f.verifier(t), trusteeEvidence(f.pki.Quote(s), ccel), exp())
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"github.com/confidential-containers/PullImage": []any{`{"image":"a","digest":"b"}`}}, c.Map()["aael"])

	s.Body.RTMR[3][0] ^= 1
	_, err = verifyQuote(t, f.verifier(t), trusteeEvidence(f.pki.Quote(s), ccel), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
}

// Legacy evidence carried the firmware's CC event log beside aa_eventlog:
// the CC event log replays RTMR0-2, the AA log RTMR3, and no unsafe switch
// is reported; a changed AA line is still refused.
func TestAAELLegacyWithFirmwareLog(t *testing.T) {
	f := newFixture(t)
	ccel, rtmr := buildCCEL(ccelEvent{1, []byte("firmware")}, ccelEvent{2, []byte("loader")}, ccelEvent{3, []byte("kernel")})
	log := "INIT sha384/" + strings.Repeat("00", 48) + "\ngithub.com/confidential-containers CreateContainer docker.io/library/busybox\n"
	l, err := tdx.ParseAAEL([]byte(log))
	require.NoError(t, err)
	s := f.pki.DefaultQuote(nonce)
	s.Body.RTMR = rtmr
	s.Body.RTMR[3] = l.Replay()
	q := f.pki.Quote(s)
	ev := func(aa string) []byte {
		b, err := json.Marshal(map[string]string{"quote": base64.StdEncoding.EncodeToString(q), "cc_eventlog": base64.StdEncoding.EncodeToString(ccel), "aa_eventlog": aa})
		require.NoError(t, err)
		return b
	}
	c, err := verifyQuote(t, f.verifier(t), ev(log), exp())
	require.NoError(t, err)
	assert.Empty(t, c.Unsafe)
	assert.Equal(t, false, c.Map()["rtmr3_unlogged"])
	assert.Equal(t, map[string]any{"github.com/confidential-containers/CreateContainer": []any{"docker.io/library/busybox"}}, c.Map()["aael"])

	_, err = verifyQuote(t, f.verifier(t), ev(strings.Replace(log, "busybox", "evilbox", 1)), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
	// Without the AA log, RTMR3 has no log entries: refused unless unsafe.
	_, err = verifyQuote(t, f.verifier(t), trusteeEvidence(q, ccel), exp())
	require.ErrorIs(t, err, verify.ErrBinding)
}

// A legacy log with no event yet (only its INIT line) still vouches for
// RTMR3: the claim "aael" is there, empty, so that a policy pinning
// aael_allowed can tell it from evidence that carried no log at all.
func TestAAELLegacyWithoutEvents(t *testing.T) {
	q, err := tdx.ParseQuote(readTD(t, "AAEL_quote_tdx"))
	require.NoError(t, err)
	l, err := tdx.ParseAAEL([]byte("INIT sha384/" + strings.Repeat("00", 48) + "\n"))
	require.NoError(t, err)
	require.Empty(t, l.Events)
	c := &tdx.Claims{Quote: q, AAEventLog: l}
	assert.Equal(t, map[string]any{}, c.Map()["aael"])
	c.AAEventLog = nil
	assert.NotContains(t, c.Map(), "aael")
}
