package tdx

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// VerifyCollateral accepts either TEE's real collateral by its TCB info's
// id, and refuses a TCB info of one with the QE identity of the other.
func TestVerifyCollateralTDXAndSGX(t *testing.T) {
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	info, err := VerifyCollateral(dcapCollateral(t), at)
	require.NoError(t, err)
	assert.Equal(t, "TDX", info.TEE)
	assert.Equal(t, "platform", info.CA)

	var d map[string]string
	b, err := os.ReadFile("../testdata/sgx/dcapqvl_sgx_collateral.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &d))
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	sgxColl := &Collateral{
		TCBInfo:               []byte(`{"tcbInfo":` + d["tcb_info"] + `,"signature":"` + d["tcb_info_signature"] + `"}`),
		TCBInfoIssuerChain:    []byte(d["tcb_info_issuer_chain"]),
		QEIdentity:            []byte(`{"enclaveIdentity":` + d["qe_identity"] + `,"signature":"` + d["qe_identity_signature"] + `"}`),
		QEIdentityIssuerChain: []byte(d["qe_identity_issuer_chain"]),
		PCKCRL:                unhex(d["pck_crl"]),
		PCKCRLIssuerChain:     []byte(d["pck_crl_issuer_chain"]),
		RootCACRL:             unhex(d["root_ca_crl"]),
	}
	info, err = VerifyCollateral(sgxColl, at)
	require.NoError(t, err)
	assert.Equal(t, "SGX", info.TEE)
	assert.Equal(t, [6]byte{0x00, 0xa0, 0x67, 0x11, 0x00, 0x00}, info.FMSPC)
	assert.Equal(t, "processor", info.CA)
	assert.NotEmpty(t, info.LimitedBy)

	tdxColl := dcapCollateral(t)
	mixed := &Collateral{
		TCBInfo: sgxColl.TCBInfo, TCBInfoIssuerChain: sgxColl.TCBInfoIssuerChain,
		QEIdentity: tdxColl.QEIdentity, QEIdentityIssuerChain: tdxColl.QEIdentityIssuerChain,
		PCKCRL: sgxColl.PCKCRL, PCKCRLIssuerChain: sgxColl.PCKCRLIssuerChain, RootCACRL: sgxColl.RootCACRL,
	}
	_, err = VerifyCollateral(mixed, at)
	require.ErrorIs(t, err, verify.ErrCollateral)

	req, err := CollateralNeed(read(t, "dcapqvl_tdx_quote.dat"))
	require.NoError(t, err)
	assert.Equal(t, "platform", req.CA)
	_, err = VerifyCollateral(nil, at)
	require.ErrorIs(t, err, verify.ErrCollateral)
	_, err = VerifyCollateral(tdxColl, time.Time{})
	require.ErrorIs(t, err, verify.ErrConfig)
}
