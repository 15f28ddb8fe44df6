package catalogue

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// mutations returns bad variants of a real sample: truncations and bytes
// flipped across its whole length.
func mutations(sample []byte) [][]byte {
	var out [][]byte
	for _, n := range []int{0, 1, len(sample) / 3, len(sample) / 2, len(sample) - 1} {
		if n >= 0 && n < len(sample) {
			out = append(out, sample[:n])
		}
	}
	step := max(1, len(sample)/48)
	for i := 0; i < len(sample); i += step {
		b := bytes.Clone(sample)
		b[i] ^= 0x5a
		out = append(out, b)
	}
	return out
}

func readSample(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "testdata", rel))
	require.NoError(t, err)
	return b
}

// GEN-02: every rejection by every verifier carries an error kind and
// returns no claims (not even partially filled ones); what a verifier
// accepts comes with claims. Inputs: nothing, empty JSON, garbage, and
// truncated or bit-flipped real samples.
func TestGEN02RejectionsAreTypedAndClaimless(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xa5, 0x00, 0x7b}, 1400)
	common := [][]byte{nil, {}, []byte("{}"), []byte("[]"), []byte(`{"quote":""}`), garbage}

	tdxV, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	snpV, err := snp.NewVerifier(snp.WithoutRevocationUnsafe())
	require.NoError(t, err)
	azV, err := azure.NewVerifier(azure.WithSNP(snpV))
	require.NoError(t, err)
	ak, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpmV, err := tpm.NewVerifier(tpm.WithTrustedAKs(&ak.PublicKey))
	require.NoError(t, err)
	pki := gputest.NewPKI(gputest.PKIOptions{})
	gpuV, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(pki.Root()), gpu.WithoutRevocationUnsafe(), gpu.WithoutRIMsUnsafe())
	require.NoError(t, err)
	var gpuNonce [32]byte
	copy(gpuNonce[:], "gen-02 session nonce")

	cases := []struct {
		name   string
		v      verify.Verifier
		sample []byte
		exp    verify.Expectations
	}{
		{"tdx", tdxV, readSample(t, "tdx/tdx_prod_quote_SPR_E4.dat"),
			verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)}},
		{"snp", snpV, readSample(t, "snp/trustee-e2e-evidence.json"),
			verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{"azure", azV, readSample(t, "azure/trustee-evidence-v1.json"),
			verify.Expectations{ReportData: []byte("challenge"), Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{"tpm", tpmV, readSample(t, "tpm/gce-cos-85-no-nonce.pb"),
			verify.Expectations{AllowMissingReportDataUnsafe: true, Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{"gpu", gpuV, pki.Evidence(pki.Sign(gputest.Report{Nonce: gpuNonce}), gpuNonce),
			verify.Expectations{ReportData: gpuNonce[:], Now: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rejected := 0
			for i, in := range append(append([][]byte(nil), common...), mutations(c.sample)...) {
				cl, err := c.v.Verify(context.Background(), in, c.exp)
				if err == nil {
					assert.NotNil(t, cl, "input %d: accepted without claims", i)
					continue
				}
				rejected++
				assert.NotNil(t, verify.KindOf(err), "input %d: error without a kind: %v", i, err)
				assert.Nil(t, cl, "input %d: claims returned with %v", i, err)
			}
			assert.Greater(t, rejected, len(common), "the bad inputs were rejected")
		})
	}
}
