package kbs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

// Red-team: one body, two requests. encoding/json keeps the last of two
// members and matches member names case-insensitively; Trustee's KBS
// (serde) refuses both. Before the fix attest appraised, and affirmed, a
// body whose first runtime-data named an attacker's key (what a proxy, a
// log or another reader taking the first member sees) and whose last named
// the key the evidence binds.
func TestRedteamRequestMembersOnce(t *testing.T) {
	f := newFixture(t, 1)
	svc := f.service(t)
	ctx := context.Background()
	nonce := base64.StdEncoding.EncodeToString([]byte("redteam-redteam-redteam-redteam!"))
	key, attacker := teeKey(t), teeKey(t)
	body := f.request(t, attester{nonce: nonce, key: key})
	att, err := svc.Attest(ctx, "tdx", nonce, body, offlinetest.Now())
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, att.Outcome.Status(), "the genuine request")

	rd := `"runtime-data":`
	i := bytes.Index(body, []byte(rd))
	require.Positive(t, i)
	decoy := `"runtime-data":{"nonce":"` + nonce + `","tee-pubkey":` + string(attacker) + `},`
	edits := map[string][]byte{
		"runtime-data twice":       append(append(bytes.Clone(body[:i]), decoy...), body[i:]...),
		"runtime-data in capitals": bytes.Replace(body, []byte(rd), []byte(`"Runtime-Data":`), 1),
		"escaped name":             bytes.Replace(body, []byte(rd), []byte(`"runtime\u002ddata":`), 1),
		"nonce twice":              bytes.Replace(body, []byte(`"nonce":"`), []byte(`"nonce":"decoy-nonce-0000","nonce":"`), 1),
		"tee-pubkey in capitals":   bytes.Replace(body, []byte(`"tee-pubkey"`), []byte(`"TEE-PUBKEY"`), 1),
		"primary_evidence twice":   bytes.Replace(body, []byte(`"primary_evidence":`), []byte(`"primary_evidence":{"quote":"AA=="},"primary_evidence":`), 1),
		"additional in other case": bytes.Replace(body, []byte(`"additional_evidence"`), []byte(`"Additional_Evidence"`), 1),
		"init-data twice":          bytes.Replace(body, []byte(`"init-data":null`), []byte(`"init-data":null,"init-data":null`), 1),
	}
	for name, b := range edits {
		require.False(t, bytes.Equal(b, body), name)
		att, err := svc.Attest(ctx, "tdx", nonce, b, offlinetest.Now())
		assert.ErrorIs(t, err, verify.ErrMalformed, name)
		assert.Nil(t, att, name)
		r, err := kbs.ParseRequest(b)
		assert.ErrorIs(t, err, verify.ErrMalformed, name)
		assert.Nil(t, r, name)
	}
	// Members inside the evidence and the key are their readers' business:
	// the key's are canonicalised for the binding, which refuses a member
	// given twice (the token would carry the last, the binding the first).
	dupX := bytes.Replace(key, []byte(`"x":`), []byte(`"x":"AAAA","x":`), 1)
	b := bytes.Replace(body, key, dupX, 1)
	att, err = svc.Attest(ctx, "tdx", nonce, b, offlinetest.Now())
	assert.ErrorIs(t, err, verify.ErrMalformed)
	assert.Nil(t, att)
	// Whitespace and member order are free, as in JSON.
	reordered := strings.Replace(string(body), `{"init-data":null,`, "{\n  \"init-data\" : null ,\n", 1)
	require.NotEqual(t, string(body), reordered)
	att, err = svc.Attest(ctx, "tdx", nonce, []byte(reordered), offlinetest.Now())
	require.NoError(t, err)
	assert.Equal(t, ear.StatusAffirming, att.Outcome.Status())
}

// Member names inside the evidence and the key are not the request's: a
// nested object that repeats a name of the request is no duplicate.
func TestRedteamMemberScanScope(t *testing.T) {
	good := `{"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC","nonce":1}},"tee-evidence":{"primary_evidence":{"quote":"AA==","runtime-data":{"nonce":1,"nonce":2}},"additional_evidence":"{\"runtime-data\":1,\"runtime-data\":2}"}}`
	_, err := kbs.ParseRequest([]byte(good))
	require.NoError(t, err)
	for _, bad := range []string{"}0\"", `]]"a"`, `{}}"x":1`, `[]`, `{"runtime-data":[{"nonce":"n"}]}`, `{"tee-evidence":{"primary_evidence":{},"primary_evidence":{}}}`} {
		_, err := kbs.ParseRequest([]byte(bad))
		assert.ErrorIs(t, err, verify.ErrMalformed, bad)
	}
}

// Red-team: Decide found the unsafe switches of a result under the name in
// ear.ExtUnsafe(), an exported variable. Code in the process that reassigned
// it (a dependency's init, a test helper) made Decide release results
// produced with unsafe switches; Decide now reads the constant name.
func TestRedteamDecideReadsConstantNames(t *testing.T) {
	a := &ear.Appraisal{}
	a.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
	a.TrustVector[ear.Executables] = ear.ApprovedBoot
	a.StatusFromVector()
	withUnsafe := func(onAppraisal bool) *ear.Result {
		r := ear.NewResult(ear.VerifierID{Developer: "d", Build: "b"}, offlinetest.Now())
		c := *a
		r.Submods["cpu0"] = &c
		if onAppraisal {
			c.Extensions = map[string]any{"attest_unsafe": []any{"tdx.WithoutCollateralUnsafe"}}
		} else {
			r.Extensions = map[string]any{"attest_unsafe": []any{"tdx.WithoutCollateralUnsafe"}}
		}
		r.UpdateStatus()
		return r
	}
	for _, onAppraisal := range []bool{false, true} {
		assert.ErrorIs(t, kbs.Decide(withUnsafe(onAppraisal)), verify.ErrPolicy, "on appraisal %v", onAppraisal)
	}
	clean := withUnsafe(false)
	clean.Extensions = nil
	require.NoError(t, kbs.Decide(clean))
}

// Red-team: a token whose cpu0 failed (here: the TD was launched with other
// init data than the request names, ErrBinding) still carried the request's
// init data as init_data_claims and its key as runtime_data_claims: claims
// from bytes nothing verified, for any reader of the token that looks at
// the claims before the status.
func TestRedteamFailedCPUCarriesNoRequestClaims(t *testing.T) {
	f := newFixture(t, 1)
	svc := f.service(t)
	key := teeKey(t)
	nonce := "aW5pdC1yZWR0ZWFt"
	body, err := f.bed.KBSRequest(nonce, key, offlinetest.KBSEdits{InitData: initTOML})
	require.NoError(t, err)
	att, err := svc.Attest(context.Background(), "tdx", nonce, body, offlinetest.Now())
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, att.Outcome.Status())
	m := claimsOf(t, att.Token)
	for _, p := range []string{"/submods/cpu0/ear.veraison.annotated-evidence/init_data_claims/aa.toml", "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey"} {
		_, ok := pointer(m, p)
		require.True(t, ok, "verified: %s", p)
	}

	other := bytes.Replace(body, []byte(`sha384`), []byte(`sha512`), 1) // the init data the request names
	require.False(t, bytes.Equal(other, body))
	att, err = svc.Attest(context.Background(), "tdx", nonce, other, offlinetest.Now())
	require.NoError(t, err)
	require.ErrorIs(t, att.Outcome.Submods[0].Err, verify.ErrBinding)
	m = claimsOf(t, att.Token)
	for _, p := range []string{"/submods/cpu0/ear.veraison.annotated-evidence/init_data_claims", "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims"} {
		v, ok := pointer(m, p)
		assert.False(t, ok, "%s: %v", p, v)
	}
	assert.ErrorIs(t, kbs.Decide(att.Outcome.Result), verify.ErrPolicy)
	_, err = kbs.TEEPubKey(att.Outcome.Result)
	assert.ErrorIs(t, err, verify.ErrToken)
}
