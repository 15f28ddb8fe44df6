package tdx_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// TDX-28: the go-eventlog log with a duplicated separator is never
// accepted. The catalogue asks for ErrMalformed by default; attest refuses it
// by default with ErrBinding instead, and with ErrMalformed under
// WithStrictEventLog, because:
//
//   - genuine OVMF logs carry two separators on CC MR index 1 (RTMR0: the
//     firmware's PCR 1 and PCR 7 separators both map there) and none on
//     index 2 — the very shape of the "duplicate" log (CCEL_data_ovmf below),
//     so a default refusal by count would refuse real evidence;
//   - the attack the log stands for, an event moved to another RTMR, is
//     caught by the replay against the quote's RTMRs, which is always done.
func TestTDX28DuplicateSeparator(t *testing.T) {
	quote := mustRead(t, "../testdata/tdx/cos-113-tdx-quote.dat")
	dupe := mustRead(t, "../testdata/tdx/cos-113-intel-tdx-dupe-separator.bin")
	good := mustRead(t, "../testdata/tdx/ccel_data.dat")
	ev := func(log []byte) []byte {
		b, err := json.Marshal(map[string]any{"quote": base64.StdEncoding.EncodeToString(quote), "cc_eventlog": base64.StdEncoding.EncodeToString(log)})
		require.NoError(t, err)
		return b
	}
	// The COS-113 quote binds no session (all-zero report data).
	e := verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	lenient, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	strict, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe(), tdx.WithStrictEventLog())
	require.NoError(t, err)

	for name, v := range map[string]*tdx.Verifier{"default": lenient, "strict": strict} {
		_, err := verifyQuote(t, v, ev(good), e)
		require.NoError(t, err, "%s: the genuine COS-113 log", name)
	}
	cl, err := verifyQuote(t, lenient, ev(dupe), e)
	assert.Nil(t, cl)
	require.ErrorIs(t, err, verify.ErrBinding, "default: the replay refuses the log")
	cl, err = verifyQuote(t, strict, ev(dupe), e)
	assert.Nil(t, cl)
	require.ErrorIs(t, err, verify.ErrMalformed, "strict: the separator count refuses the log")

	// The genuine OVMF log has the same separator layout: only the strict
	// check refuses it.
	ovmf, err := tdx.ParseCCEL(mustRead(t, "../testdata/tdx/CCEL_data_ovmf"))
	require.NoError(t, err)
	require.ErrorIs(t, ovmf.CheckSeparators(), verify.ErrMalformed)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
