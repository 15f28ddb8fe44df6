package tdx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// Collateral requests name their TEE: SGX TCB info and QE identity come from
// /sgx/ paths (HTTP), the bundle's sgx/ directory (files) or AddSGX
// (memory), and never answer a TDX request; an unknown TEE is refused.
func TestSourcesServeSGXCollateral(t *testing.T) {
	p := tdxtest.NewPKI()
	fmspc := p.Platform.FMSPC
	tdxColl := p.DefaultCollateral()
	sgxColl := &tdx.Collateral{
		TCBInfo: []byte(`{"tcbInfo":{"id":"SGX"},"signature":"00"}`), TCBInfoIssuerChain: tdxColl.TCBInfoIssuerChain,
		QEIdentity: []byte(`{"enclaveIdentity":{"id":"QE"},"signature":"00"}`), QEIdentityIssuerChain: tdxColl.QEIdentityIssuerChain,
		PCKCRL: tdxColl.PCKCRL, PCKCRLIssuerChain: tdxColl.PCKCRLIssuerChain, RootCACRL: tdxColl.RootCACRL,
	}
	sgxReq := tdx.CollateralRequest{FMSPC: fmspc, CA: "platform", TEE: "sgx", Now: tdxtest.VerifyTime()}
	tdxReq := tdx.CollateralRequest{FMSPC: fmspc, CA: "platform", Now: tdxtest.VerifyTime()}
	ctx := context.Background()

	mem := tdx.NewMemorySource()
	mem.AddSGX(fmspc, "platform", sgxColl)
	got, err := mem.Collateral(ctx, sgxReq)
	require.NoError(t, err)
	assert.Equal(t, sgxColl.TCBInfo, got.TCBInfo)
	_, err = mem.Collateral(ctx, tdxReq)
	require.ErrorIs(t, err, verify.ErrCollateral)

	dir := t.TempDir()
	require.NoError(t, tdx.WriteBundle(dir, fmspc, "platform", tdxColl))
	require.NoError(t, tdx.WriteSGXBundle(dir, fmspc, "platform", sgxColl))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	fsSrc, err := tdx.NewFSSource(root.FS())
	require.NoError(t, err)
	got, err = fsSrc.Collateral(ctx, sgxReq)
	require.NoError(t, err)
	assert.Equal(t, sgxColl.TCBInfo, got.TCBInfo)
	assert.Equal(t, sgxColl.QEIdentity, got.QEIdentity)
	assert.Equal(t, tdxColl.PCKCRL, got.PCKCRL, "the CRLs are shared")
	got, err = fsSrc.Collateral(ctx, tdxReq)
	require.NoError(t, err)
	assert.Equal(t, tdxColl.TCBInfo, got.TCBInfo)
	_, err = fsSrc.Collateral(ctx, tdx.CollateralRequest{FMSPC: fmspc, CA: "platform", TEE: "sev"})
	require.ErrorIs(t, err, verify.ErrConfig)

	var mu sync.Mutex
	var paths []string
	tcbInfo := p.SignTCBInfo(p.DefaultTCBInfo("UpToDate"))
	qe := p.SignQEIdentity(p.DefaultQEIdentity())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		chain := url.QueryEscape(string(tdxtest.PEM(p.TCBSigner.Cert, p.Root.Cert)))
		switch {
		case strings.HasSuffix(r.URL.Path, "/tcb"):
			w.Header().Set("TCB-Info-Issuer-Chain", chain)
			_, _ = w.Write(tcbInfo)
		case strings.HasSuffix(r.URL.Path, "/qe/identity"):
			w.Header().Set("SGX-Enclave-Identity-Issuer-Chain", chain)
			_, _ = w.Write(qe)
		case strings.HasSuffix(r.URL.Path, "/pckcrl"):
			w.Header().Set("SGX-PCK-CRL-Issuer-Chain", url.QueryEscape(string(tdxtest.PEM(p.PCKCA.Cert, p.Root.Cert))))
			_, _ = w.Write(tdxColl.PCKCRL)
		default:
			_, _ = w.Write(tdxColl.RootCACRL)
		}
	}))
	defer srv.Close()
	h, err := tdx.NewHTTPSource(srv.URL, nil, nil, tdx.WithPCCS())
	require.NoError(t, err)
	_, err = h.Collateral(ctx, sgxReq)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"/sgx/certification/v4/tcb", "/sgx/certification/v4/qe/identity", "/sgx/certification/v4/pckcrl", "/sgx/certification/v4/rootcacrl"}, paths)
	_, err = h.Collateral(ctx, tdx.CollateralRequest{FMSPC: fmspc, CA: "platform", TEE: "sev"})
	require.ErrorIs(t, err, verify.ErrConfig)
}
