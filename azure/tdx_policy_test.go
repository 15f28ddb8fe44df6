package azure_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure/aztest"
	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// tdxPins pins the TD quote's MRTD and RTMR0..2 (the paravisor) and every
// PCR (the guest) to the claims' own values, skipping PCR 8 when skip8.
func tdxPins(m map[string]any, skip8 bool, extra ...policy.Entry) []policy.Entry {
	rvs := []policy.Entry{{Name: "mr_td", Value: m["quote.body.mr_td"]}}
	for i := 0; i < 3; i++ {
		rvs = append(rvs, policy.Entry{Name: fmt.Sprintf("rtmr_%d", i), Value: m[fmt.Sprintf("quote.body.rtmr_%d", i)]})
	}
	for i := 0; i < 24; i++ {
		if i == 8 && skip8 {
			continue
		}
		rvs = append(rvs, policy.Entry{Name: fmt.Sprintf("tpm_pcr%02d", i), Value: m[fmt.Sprintf("pcr%02d", i)]})
	}
	return append(rvs, extra...)
}

// The real Azure TDX parts through the default policy, every reference
// value pinned to the sample's own: the TD rules pass on the real
// paravisor TDREPORT once its TD attributes (no SEPT_VE_DISABLE: the
// paravisor is an L1 VMM, not a plain TD) are pinned; what fails is what
// the sample is: an OutOfDate TDX module under the minted TCB info, and
// version 1 evidence, whose TD quote is not bound to the session.
func TestAzureTDXRealPartsDefaultPolicy(t *testing.T) {
	pki := tdxtest.NewPKI()
	c, err := tdxVerifier(t, pki).Verify(context.Background(), realTDX(t, pki, realTDXDir+"hcl-report.bin"), realTDXExp())
	require.NoError(t, err)
	m := c.Map()
	appraise := func(extra ...policy.Entry) *verify.PolicyResult {
		rv, err := policy.FromEntries(tdxPins(m, false, extra...)...)
		require.NoError(t, err)
		p, err := policy.New(rv)
		require.NoError(t, err)
		r, err := p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatAzureTDX, Claims: m, Now: tdxtest.VerifyTime()})
		require.NoError(t, err)
		return r
	}
	failed := func(r *verify.PolicyResult) (ids []string) {
		for _, ch := range r.Checks {
			if !ch.OK {
				ids = append(ids, ch.ID)
			}
		}
		return ids
	}
	r := appraise()
	assert.ElementsMatch(t, []string{"tdx.td_attributes", "tdx.tcb_status", "az.report_fresh"}, failed(r), r.Checks)
	r = appraise(policy.Entry{Name: "tdx_td_attributes", Value: m["quote.body.td_attributes"]})
	assert.ElementsMatch(t, []string{"tdx.tcb_status", "az.report_fresh"}, failed(r), r.Checks)
	assert.Equal(t, ear.ApprovedBoot, r.TrustVector[ear.Executables])
	assert.NotEqual(t, ear.StatusAffirming, r.Status())
}

// A Trustee KBS request from an Azure TDX VM (TEE "az-tdx-vtpm"): with the
// paravisor's MRTD and RTMRs and the guest's PCRs pinned, the token is
// affirming and carries the TEE key; another session's nonce releases
// nothing; init data is PCR 8's, and other init data is a binding error.
func TestAzureTDXKBSRequest(t *testing.T) {
	vm, av := mintedTDX(t)
	reg, err := verify.NewRegistry(av)
	require.NoError(t, err)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pt, err := k.PublicKey.Bytes()
	require.NoError(t, err)
	teeKey, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "x": b64(pt[1:33]), "y": b64(pt[33:])})
	nonce := "c2Vzc2lvbi1ub25jZQ=="
	bodyWith := func(sessionNonce, evNonce, initData, evInitData string) []byte {
		doc, _ := json.Marshal(map[string]any{"nonce": evNonce, "tee-pubkey": json.RawMessage(teeKey), "additional-evidence": ""})
		d, err := binding.Digest(doc, crypto.SHA384)
		require.NoError(t, err)
		spec := aztest.TDXSpec{ReportData: d}
		if evInitData != "" {
			id, err := binding.ParseInitData([]byte(evInitData))
			require.NoError(t, err)
			spec.PCRs[8], err = binding.InitDataField(verify.FormatAzureTDX, id.Digest())
			require.NoError(t, err)
		}
		ev, err := vm.Evidence(spec)
		require.NoError(t, err)
		req := map[string]any{
			"runtime-data": map[string]any{"nonce": sessionNonce, "tee-pubkey": json.RawMessage(teeKey)},
			"tee-evidence": map[string]any{"primary_evidence": json.RawMessage(ev), "additional_evidence": ""},
		}
		if initData != "" {
			req["init-data"] = map[string]any{"format": "toml", "body": initData}
		}
		b, _ := json.Marshal(req)
		return b
	}
	// The claims to pin: those of evidence minted the same way.
	ev, err := vm.Evidence(aztest.TDXSpec{ReportData: []byte("pins")})
	require.NoError(t, err)
	c, err := av.Verify(context.Background(), ev, verify.Expectations{ReportData: []byte("pins"), Now: tdxtest.VerifyTime()})
	require.NoError(t, err)
	rv, err := policy.FromEntries(tdxPins(c.Map(), true)...)
	require.NoError(t, err)
	p, err := policy.New(rv)
	require.NoError(t, err)
	a, err := kbs.NewAppraiser(reg, p)
	require.NoError(t, err)
	signKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := token.NewSigner(signKey)
	require.NoError(t, err)
	svc, err := kbs.NewService(a, signer)
	require.NoError(t, err)
	ctx := context.Background()

	att, err := svc.Attest(ctx, "az-tdx-vtpm", nonce, bodyWith(nonce, nonce, "", ""), tdxtest.VerifyTime())
	require.NoError(t, err)
	require.NoError(t, kbs.Decide(att.Outcome.Result), "verification: %v, policy: %+v", att.Outcome.Submods[0].Err, att.Outcome.Submods[0].Policy)
	got, err := kbs.TEEPubKey(att.Outcome.Result)
	require.NoError(t, err)
	assert.True(t, jsonEqual(got, teeKey), string(got))
	assert.Equal(t, ear.ProfileTrustee, att.Outcome.Result.Profile)

	att, err = svc.Attest(ctx, "az-tdx-vtpm", nonce, bodyWith(nonce, "b3RoZXI=", "", ""), tdxtest.VerifyTime())
	require.NoError(t, err)
	assert.Error(t, kbs.Decide(att.Outcome.Result), "released to evidence of another session")

	toml := "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"policy.rego\" = \"package policy\"\n"
	other := strings.Replace(toml, "package policy", "package other", 1)
	att, err = svc.Attest(ctx, "az-tdx-vtpm", nonce, bodyWith(nonce, nonce, toml, toml), tdxtest.VerifyTime())
	require.NoError(t, err)
	require.NoError(t, kbs.Decide(att.Outcome.Result), "init data: verification %v", att.Outcome.Submods[0].Err)
	assert.Equal(t, true, att.Outcome.Submods[0].Claims.Map()["init_data_checked"])
	att, err = svc.Attest(ctx, "az-tdx-vtpm", nonce, bodyWith(nonce, nonce, toml, other), tdxtest.VerifyTime())
	require.NoError(t, err)
	assert.Error(t, kbs.Decide(att.Outcome.Result))
	assert.ErrorIs(t, att.Outcome.Submods[0].Err, verify.ErrBinding)
}
