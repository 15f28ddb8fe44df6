package tpm

import (
	"bytes"
	"crypto"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReplayedLogMatchesReplay: for real event logs, the cached form of a
// replayed log answers every quote exactly as Replay and unexplainedPCRs
// do: the same error text (first uncovered event, mismatching PCRs) and the
// same unexplained PCRs. Its PCR values are checked by Replay itself.
func TestReplayedLogMatchesReplay(t *testing.T) {
	files, err := filepath.Glob("../testdata/tpm/eventlog-*.bin")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		log, err := ParseEventLog(raw, Limits{})
		require.NoError(t, err, f)
		for _, bank := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
			if !bytes.Contains([]byte(bankList(log)), []byte(bank.String())) {
				continue
			}
			t.Run(filepath.Base(f)+"/"+bank.String(), func(t *testing.T) {
				r := newReplayedLog(log, bank, nil)
				honest := map[int][]byte{}
				for i := range maxPCRs {
					if r.touched[i] {
						honest[i] = bytes.Clone(r.pcrs[i])
					}
				}
				require.NoError(t, Replay(log, bank, honest), "the cached PCR values are what Replay computes")
				same := func(quoted map[int][]byte) {
					t.Helper()
					want, got := Replay(log, bank, quoted), r.check(bank, quoted)
					if want == nil {
						require.NoError(t, got)
					} else {
						require.Error(t, got)
						require.Equal(t, want.Error(), got.Error())
					}
					require.Equal(t, unexplainedPCRs(log, quoted), r.unexplained(quoted))
				}
				same(honest)
				for pcr := range honest {
					q := maps.Clone(honest)
					delete(q, pcr)
					same(q)
					q = maps.Clone(honest)
					q[pcr] = bytes.Clone(q[pcr])
					q[pcr][0] ^= 1
					same(q)
				}
				q := maps.Clone(honest)
				for i := range maxPCRs {
					if _, ok := q[i]; !ok {
						q[i] = bytes.Repeat([]byte{byte(i * 37)}, bank.Size()) // zero, 0xff-free and other values
					}
				}
				q[23] = bytes.Repeat([]byte{0xff}, bank.Size())
				same(q)
				q = maps.Clone(honest)
				for pcr := range q {
					if pcr%2 == 0 {
						delete(q, pcr)
					}
				}
				same(q)
			})
		}
	}
}

func bankList(log *EventLog) string {
	var b bytes.Buffer
	for _, a := range log.Algs {
		b.WriteString(a.String() + " ")
	}
	return b.String()
}
