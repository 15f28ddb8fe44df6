package setup_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// The real dcap-qvl SGX quote is detected by the registry setup builds and
// verified with its collateral read from the bundle's tdx/sgx/ directory at
// the sample's pinned time.
func TestOfflineBundleSGX(t *testing.T) {
	var d map[string]string
	b, err := os.ReadFile("../testdata/sgx/dcapqvl_sgx_collateral.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &d))
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	c := &tdx.Collateral{
		TCBInfo:               []byte(`{"tcbInfo":` + d["tcb_info"] + `,"signature":"` + d["tcb_info_signature"] + `"}`),
		TCBInfoIssuerChain:    []byte(d["tcb_info_issuer_chain"]),
		QEIdentity:            []byte(`{"enclaveIdentity":` + d["qe_identity"] + `,"signature":"` + d["qe_identity_signature"] + `"}`),
		QEIdentityIssuerChain: []byte(d["qe_identity_issuer_chain"]),
		PCKCRL:                unhex(d["pck_crl"]),
		PCKCRLIssuerChain:     []byte(d["pck_crl_issuer_chain"]),
		RootCACRL:             unhex(d["root_ca_crl"]),
	}
	dir := t.TempDir()
	require.NoError(t, tdx.WriteSGXBundle(dir+"/tdx", [6]byte{0x00, 0xa0, 0x67, 0x11, 0x00, 0x00}, "processor", c))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	reg, err := setup.NewRegistry(setup.Config{Bundle: root.FS()})
	require.NoError(t, err)

	quote, err := os.ReadFile("../testdata/sgx/dcapqvl_sgx_quote.dat")
	require.NoError(t, err)
	f, err := reg.Detect(quote)
	require.NoError(t, err)
	require.Equal(t, verify.FormatSGX, f)
	rd := make([]byte, 64)
	copy(rd, "Hello, world!")
	cl, err := reg.Verify(context.Background(), f, quote, verify.Expectations{ReportData: rd, Now: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Equal(t, "ConfigurationAndSWHardeningNeeded", cl.Map()["tcb_status"])
	require.Equal(t, "sgx", reg.TEEName(f))
}
