package tdx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// TestGEN05TrusteeEvidenceStructureRefused: the Trustee JSON wrapper holds
// two strings; megabytes of repeated or nested members are refused by the
// scan before decoding, within a small bytes budget (8 MB of object keys
// allocated 131 MB before the scan). The wrapper of real evidence passes the
// scan (TestTDX28DuplicateSeparator, TestBadJSONEvidence).
func TestGEN05TrusteeEvidenceStructureRefused(t *testing.T) {
	v, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	const size = 8 << 20
	fill := func(head, unit, tail string) []byte {
		return []byte(head + strings.Repeat(unit, (size-len(head)-len(tail))/len(unit)) + tail)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"repeated quote members", fill("{", `"quote":"",`, `"quote":""}`)},
		{"object keys", fill("{", `"a":0,`, `"b":0}`)},
		{"nested arrays", fill(`{"quote":`, "[", "")},
		{"long array", fill(`{"quote":[`, "0,", "0]}")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocbudget.Bytes(func() {
				_, err = v.Verify(context.Background(), tc.doc, verify.Expectations{AllowMissingReportDataUnsafe: true})
			})
			require.ErrorIs(t, err, verify.ErrLimit)
			assert.Less(t, n, uint64(64<<10), "bytes allocated refusing %d bytes", len(tc.doc))
		})
	}
}
