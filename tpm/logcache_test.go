package tpm_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tpm"
)

// TestLogCacheFollowsTheBytes: the verifier remembers a replayed event log,
// but a log changed afterwards — even in the very buffer verified before —
// is judged as a fresh verifier judges it, never by the remembered one.
func TestLogCacheFollowsTheBytes(t *testing.T) {
	raw := readFile(t, "gce-cos-85-nonce9009.pb")
	v := gceVerifier(t)
	ctx := context.Background()
	first, err := v.Verify(ctx, raw, gceExpect())
	require.NoError(t, err)

	ev, _, err := tpm.Decode(raw)
	require.NoError(t, err)
	log := ev.EventLog
	at := bytes.Index(raw, log)
	require.Positive(t, at)
	for _, off := range []int{len(log) - 1, len(log) / 2, 200} {
		raw[at+off] ^= 0x20 // in place: the buffer verified before
		got, gotErr := v.Verify(ctx, raw, gceExpect())
		want, wantErr := gceVerifier(t).Verify(ctx, raw, gceExpect())
		if wantErr != nil {
			require.Error(t, gotErr, "offset %d", off)
			require.Equal(t, wantErr.Error(), gotErr.Error())
		} else {
			require.NoError(t, gotErr, "offset %d", off)
			require.Equal(t, want, got)
		}
		raw[at+off] ^= 0x20
	}
	again, err := v.Verify(ctx, raw, gceExpect())
	require.NoError(t, err)
	require.Equal(t, first, again)
}
