package kbs_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

type fixture struct {
	bed    *offlinetest.Bed
	signer *token.Signer
	jwks   []byte
}

func newFixture(t testing.TB, gpus int) *fixture {
	t.Helper()
	b, err := offlinetest.New(gpus)
	if err != nil {
		t.Fatal(err)
	}
	priv, _, err := token.GenerateKey(token.ES256, "attest-kbs-test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSignerFromJWK(priv)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := s.KeySet().JWKS()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{bed: b, signer: s, jwks: jwks}
}

func (f *fixture) service(t testing.TB, opts ...kbs.Option) *kbs.Service {
	t.Helper()
	reg, err := f.bed.Registry()
	if err != nil {
		t.Fatal(err)
	}
	rv, err := f.bed.ReferenceValues()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := policy.New(rv)
	a, err := kbs.NewAppraiser(reg, p)
	if err != nil {
		t.Fatal(err)
	}
	s, err := kbs.NewService(a, f.signer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// teeKey is a P-256 JWK as the attestation agent sends it.
func teeKey(t testing.TB) json.RawMessage {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	j, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "x": b64(x), "y": b64(y)})
	return j
}

// digest is the KBS runtime-data digest computed independently of package
// binding: JCS by hand through gowebpki/jcs, SHA-384.
func digest(t testing.TB, obj map[string]any) []byte {
	t.Helper()
	b, _ := json.Marshal(obj)
	c, err := jcs.Transform(b)
	if err != nil {
		t.Fatal(err)
	}
	d := sha512.Sum384(c)
	return d[:]
}

type attester struct {
	nonce   string
	key     json.RawMessage
	quote   func(*tdxtest.QuoteSpec)
	gpuEdit func(int, *gputest.Report)
	// bindGPUToPrimary binds the GPUs to the primary runtime data (a
	// mistake an attester could make, or a relay across composites).
	bindGPUToPrimary bool
}

// request builds a Trustee KBS attest body from test-attester evidence.
func (f *fixture) request(t testing.TB, a attester) []byte {
	t.Helper()
	device := digest(t, map[string]any{"nonce": a.nonce, "tee-pubkey": json.RawMessage(a.key)})
	var additional string
	if len(f.bed.GPUs) > 0 {
		nonce := device[:32]
		ev, err := f.bed.GPUEvidence(nonce, a.gpuEdit)
		if err != nil {
			t.Fatal(err)
		}
		devs, err := gpu.ParseEvidence(ev)
		if err != nil {
			t.Fatal(err)
		}
		var list []map[string]string
		for i, d := range devs {
			list = append(list, map[string]string{"arch": "HOPPER", "uuid": "GPU-" + string(rune('a'+i)),
				"evidence": base64.StdEncoding.EncodeToString(d.Report), "certificate": base64.StdEncoding.EncodeToString(d.Certificate)})
		}
		b, _ := json.Marshal(map[string]any{"nvidia": map[string]any{"device_evidence_list": list}})
		additional = string(b)
	}
	primary := digest(t, map[string]any{"nonce": a.nonce, "tee-pubkey": json.RawMessage(a.key), "additional-evidence": additional})
	if a.bindGPUToPrimary && additional != "" {
		ev, _ := f.bed.GPUEvidence(primary[:32], a.gpuEdit)
		devs, _ := gpu.ParseEvidence(ev)
		var list []map[string]string
		for _, d := range devs {
			list = append(list, map[string]string{"arch": "HOPPER", "evidence": base64.StdEncoding.EncodeToString(d.Report),
				"certificate": base64.StdEncoding.EncodeToString(d.Certificate)})
		}
		b, _ := json.Marshal(map[string]any{"nvidia": map[string]any{"device_evidence_list": list}})
		additional = string(b)
		primary = digest(t, map[string]any{"nonce": a.nonce, "tee-pubkey": json.RawMessage(a.key), "additional-evidence": additional})
	}
	rd := append(bytes.Clone(primary), make([]byte, 16)...)
	quote := f.bed.Quote(rd, a.quote)
	body, _ := json.Marshal(map[string]any{
		"init-data":    nil,
		"runtime-data": map[string]any{"nonce": a.nonce, "tee-pubkey": json.RawMessage(a.key)},
		"tee-evidence": map[string]any{
			"primary_evidence":    map[string]any{"quote": base64.StdEncoding.EncodeToString(quote), "cc_eventlog": nil},
			"additional_evidence": additional,
		},
	})
	return body
}

// claimsOf decodes a JWT's payload without verification, to inspect its JSON.
func claimsOf(t testing.TB, tok []byte) map[string]any {
	t.Helper()
	parts := strings.Split(string(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token")
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// pointer resolves an RFC 6901 JSON pointer.
func pointer(v any, p string) (any, bool) {
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestTrusteeRequestTDXAnd8GPUs(t *testing.T) {
	f := newFixture(t, 8)
	svc := f.service(t)
	nonce := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	key := teeKey(t)
	att, err := svc.Attest(context.Background(), "tdx", nonce, f.request(t, attester{nonce: nonce, key: key}), offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	if att.Outcome.Status() != ear.StatusAffirming {
		for _, s := range att.Outcome.Submods {
			t.Logf("%s %s %v", s.Name, s.Appraisal.Status, s.Err)
		}
		t.Fatalf("status %s", att.Outcome.Status())
	}

	// A relying party holding only the published JWKS verifies the token.
	ks, err := token.ParseJWKS(f.jwks)
	if err != nil {
		t.Fatal(err)
	}
	tv, err := token.NewVerifier(ks)
	if err != nil {
		t.Fatal(err)
	}
	// The session nonce is the token's eat_nonce (verify.SessionNonce: the
	// 44-character string's bytes), so the freshness check needs nothing else.
	res, err := tv.Verify(context.Background(), att.Token, token.Expectations{Now: offlinetest.Now(), Nonce: []byte(nonce)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tv.Verify(context.Background(), att.Token, token.Expectations{Now: offlinetest.Now(), Nonce: []byte("some other session")}); !errors.Is(err, verify.ErrFreshness) {
		t.Fatalf("another session's nonce: %v", err)
	}
	if res.Profile != ear.ProfileTrustee || len(res.Submods) != 9 {
		t.Fatalf("profile %s, %d submods", res.Profile, len(res.Submods))
	}
	if err := kbs.Decide(res); err != nil {
		t.Fatalf("release denied: %v", err)
	}
	got, err := kbs.TEEPubKey(res)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, got, key) {
		t.Fatalf("tee-pubkey %s, want %s", got, key)
	}

	// The key sits at the JSON pointer Trustee's KBS reads, with Trustee's
	// dotted claim names.
	m := claimsOf(t, att.Token)
	v, ok := pointer(m, kbs.TEEPubKeyPointer)
	if !ok {
		t.Fatalf("no %s in %v", kbs.TEEPubKeyPointer, m["submods"])
	}
	vb, _ := json.Marshal(v)
	if !jsonEqual(t, vb, key) {
		t.Fatalf("pointer value %s", vb)
	}
	for _, p := range []string{"/eat_profile", "/iat", "/exp", "/ear.verifier-id/developer", "/submods/cpu0/ear.status",
		"/submods/cpu0/ear.trustworthiness-vector/executables", "/submods/gpu7/ear.status",
		"/submods/cpu0/ear.veraison.annotated-evidence/tdx/quote/body/mr_td", "/submods/cpu0/ear.veraison.annotated-evidence/tdx/td_attributes/debug",
		"/submods/gpu0/ear.veraison.annotated-evidence/nvidia/measres",
		"/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/additional-evidence"} {
		if _, ok := pointer(m, p); !ok {
			t.Errorf("token lacks %s", p)
		}
	}
	if st, _ := pointer(m, "/submods/gpu3/ear.status"); st != "affirming" {
		t.Fatalf("gpu3 status %v", st)
	}
	// Only the claims Trustee's tokens carry.
	// eat_nonce is the one addition: a standard EAR claim (Trustee's ear
	// crate parses it) that lets a relying party check the session.
	allowedTop := map[string]bool{"eat_profile": true, "iat": true, "exp": true, "ear.verifier-id": true, "submods": true, "eat_nonce": true}
	for k := range m {
		if !allowedTop[k] {
			t.Errorf("top-level claim %q is not in Trustee's tokens", k)
		}
	}
	allowed := map[string]bool{"ear.status": true, "ear.trustworthiness-vector": true, "ear.appraisal-policy-id": true, "ear.veraison.annotated-evidence": true}
	for name, sm := range m["submods"].(map[string]any) {
		for k := range sm.(map[string]any) {
			if !allowed[k] {
				t.Errorf("submod %s: claim %q is not in Trustee's tokens", name, k)
			}
		}
	}
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	ca, err1 := jcs.Transform(a)
	cb, err2 := jcs.Transform(b)
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

// A non-verbose token for eight GPUs stays small but keeps the TEE key.
func TestNonVerboseTokenSize(t *testing.T) {
	f := newFixture(t, 8)
	nonce := "bm9uY2U="
	key := teeKey(t)
	body := f.request(t, attester{nonce: nonce, key: key})
	verbose, err := f.service(t).Attest(context.Background(), "tdx", nonce, body, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	small, err := f.service(t, kbs.WithVerbose(false)).Attest(context.Background(), "tdx", nonce, body, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("token: verbose %d bytes, non-verbose %d bytes", len(verbose.Token), len(small.Token))
	if len(small.Token) > 8<<10 || len(small.Token)*4 > len(verbose.Token) {
		t.Fatalf("non-verbose token of %d bytes (verbose %d)", len(small.Token), len(verbose.Token))
	}
	if small.Outcome.Status() != ear.StatusAffirming {
		t.Fatal(small.Outcome.Status())
	}
	v, ok := pointer(claimsOf(t, small.Token), kbs.TEEPubKeyPointer)
	vb, _ := json.Marshal(v)
	if !ok || !jsonEqual(t, vb, key) {
		t.Fatalf("non-verbose token lost the TEE key: %v", v)
	}
}

// POL-12 and KBS binding cases.
func TestPOL12TrusteeRequestBindingFailures(t *testing.T) {
	f := newFixture(t, 2)
	svc := f.service(t)
	ctx := context.Background()
	nonce := "c2Vzc2lvbi1h"
	key := teeKey(t)

	// Evidence from session A relayed into session B: the nonce differs.
	body := f.request(t, attester{nonce: nonce, key: key})
	if att, err := svc.Attest(ctx, "tdx", "c2Vzc2lvbi1i", body, offlinetest.Now()); !errors.Is(err, verify.ErrFreshness) || att != nil {
		t.Fatalf("relayed request: %v", err)
	}

	// The runtime data names another key than the one bound in the evidence.
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	req["runtime-data"].(map[string]any)["tee-pubkey"] = json.RawMessage(teeKey(t))
	swapped, _ := json.Marshal(req)
	att, err := svc.Attest(ctx, "tdx", nonce, swapped, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	if att.Outcome.Status() != ear.StatusContraindicated {
		t.Fatalf("swapped key: %s", att.Outcome.Status())
	}
	for _, s := range att.Outcome.Submods {
		if !errors.Is(s.Err, verify.ErrFreshness) {
			t.Fatalf("%s: %v", s.Name, s.Err)
		}
	}
	if err := kbs.Decide(att.Outcome.Result); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("released on a swapped key: %v", err)
	}

	// The additional evidence is bound through the CPU's report data: a
	// relay that swaps or edits it breaks cpu0, even when the GPUs still verify.
	_ = json.Unmarshal(body, &req)
	req["runtime-data"].(map[string]any)["tee-pubkey"] = json.RawMessage(key)
	te := req["tee-evidence"].(map[string]any)
	te["additional_evidence"] = " " + te["additional_evidence"].(string)
	edited, _ := json.Marshal(req)
	att, err = svc.Attest(ctx, "tdx", nonce, edited, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range att.Outcome.Submods {
		if got, want := errors.Is(s.Err, verify.ErrFreshness), s.Name == "cpu0"; got != want {
			t.Fatalf("edited additional evidence: %s: %v", s.Name, s.Err)
		}
	}

	// GPUs bound to the primary runtime data instead of the device runtime data.
	att, err = svc.Attest(ctx, "tdx", nonce, f.request(t, attester{nonce: nonce, key: key, bindGPUToPrimary: true}), offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range att.Outcome.Submods {
		want := s.Name != "cpu0"
		if got := errors.Is(s.Err, verify.ErrFreshness); got != want {
			t.Fatalf("%s: %v", s.Name, s.Err)
		}
	}

	// A debug TD gets a token, but no release.
	att, err = svc.Attest(ctx, "tdx", nonce, f.request(t, attester{nonce: nonce, key: key, quote: func(q *tdxtest.QuoteSpec) { q.Body.TDAttributes[0] |= 1 }}), offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := kbs.Decide(att.Outcome.Result); !errors.Is(err, verify.ErrPolicy) || !strings.Contains(err.Error(), "cpu0") || !strings.Contains(err.Error(), "tdx.debug") {
		t.Fatalf("debug TD released: %v", err)
	}
	// The reason travels in the token, inside the annotated evidence.
	if r, _ := pointer(claimsOf(t, att.Token), "/submods/cpu0/ear.veraison.annotated-evidence/attest/reason"); !strings.Contains(fmt.Sprint(r), "tdx.debug") {
		t.Fatalf("reason in token: %v", r)
	}
}

func TestParseRequestErrors(t *testing.T) {
	good := `{"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC"}},"tee-evidence":{"primary_evidence":{"quote":"AA=="},"additional_evidence":""}}`
	if _, err := kbs.ParseRequest([]byte(good)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		kind       error
	}{
		{"empty", ``, verify.ErrMalformed},
		{"not json", `nope`, verify.ErrMalformed},
		{"unknown field", strings.Replace(good, `"runtime-data"`, `"extra":1,"runtime-data"`, 1), verify.ErrMalformed},
		{"trailing", good + `{}`, verify.ErrMalformed},
		// json.Decoder.More reports false before a stray ']' or '}'.
		{"trailing bracket", good + `]`, verify.ErrMalformed},
		{"trailing brace", good + ` }`, verify.ErrMalformed},
		{"no nonce", strings.Replace(good, `"nonce":"n"`, `"nonce":""`, 1), verify.ErrMalformed},
		{"no key", strings.Replace(good, `"tee-pubkey":{"kty":"EC"}`, `"tee-pubkey":null`, 1), verify.ErrMalformed},
		{"key not a JWK", strings.Replace(good, `{"kty":"EC"}`, `"abc"`, 1), verify.ErrMalformed},
		{"no evidence", strings.Replace(good, `"primary_evidence":{"quote":"AA=="}`, `"primary_evidence":null`, 1), verify.ErrMalformed},
		{"init data format", strings.Replace(good, `{"runtime-data"`, `{"init-data":{"format":"json","body":""},"runtime-data"`, 1), verify.ErrUnsupported},
		{"too big", `{"x":"` + strings.Repeat("a", kbs.MaxRequestSize) + `"}`, verify.ErrLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := kbs.ParseRequest([]byte(c.body))
			if !errors.Is(err, c.kind) || r != nil {
				t.Fatalf("%v, %v", r, err)
			}
		})
	}
}

// POL-05: test TEEs and unknown TEEs are refused; so is a GPU as primary.
func TestTEENames(t *testing.T) {
	f := newFixture(t, 0)
	svc := f.service(t)
	body := f.request(t, attester{nonce: "bm9uY2Utb2YtdGhpcy1zZXNzaW9u", key: teeKey(t)})
	// Unknown TEEs, and az-snp-vtpm, which attest knows but this service's
	// registry has no verifier for, are refused before any appraisal.
	for _, tee := range []string{"sample", "sampledevice", "az-tdx-vtpm", "az-snp-vtpm", "nvidia", ""} {
		if _, err := svc.Attest(context.Background(), tee, "bm9uY2Utb2YtdGhpcy1zZXNzaW9u", body, offlinetest.Now()); !errors.Is(err, verify.ErrUnsupported) {
			t.Fatalf("%q: %v", tee, err)
		}
	}
	// Components, which the CLI calls directly, refuses a device as primary
	// evidence too.
	parsed, err := kbs.ParseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch} {
		if _, err := kbs.Components(parsed, f, crypto.SHA384, offlinetest.Now()); !errors.Is(err, verify.ErrUnsupported) {
			t.Errorf("Components with primary %s: %v", f, err)
		}
	}
	// Additional evidence of a sample device is refused too.
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	req["tee-evidence"].(map[string]any)["additional_evidence"] = `{"sampledevice":{"svn":"1"}}`
	b, _ := json.Marshal(req)
	if _, err := svc.Attest(context.Background(), "tdx", "bm9uY2Utb2YtdGhpcy1zZXNzaW9u", b, offlinetest.Now()); !errors.Is(err, verify.ErrUnsupported) {
		t.Fatal(err)
	}
	req["tee-evidence"].(map[string]any)["additional_evidence"] = `[1,2]`
	b, _ = json.Marshal(req)
	if _, err := svc.Attest(context.Background(), "tdx", "bm9uY2Utb2YtdGhpcy1zZXNzaW9u", b, offlinetest.Now()); !errors.Is(err, verify.ErrMalformed) {
		t.Fatal(err)
	}
	if _, err := svc.Attest(context.Background(), "tdx", "", body, offlinetest.Now()); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
	// CPU alone, no additional evidence: affirming.
	att, err := svc.Attest(context.Background(), "tdx", "bm9uY2Utb2YtdGhpcy1zZXNzaW9u", body, offlinetest.Now())
	if err != nil || att.Outcome.Status() != ear.StatusAffirming {
		t.Fatalf("%v %v", att, err)
	}
}

// POL-01, POL-02, POL-06: the release rule.
func TestPOL01_POL02_POL06Decide(t *testing.T) {
	affirm := func() *ear.Appraisal {
		a := &ear.Appraisal{TrustVector: ear.TrustVector{2, 2, 2, 0, 2, 2, 0, 0}}
		a.StatusFromVector()
		return a
	}
	r := ear.NewResult(ear.VerifierID{Developer: "d", Build: "b"}, offlinetest.Now())
	if err := kbs.Decide(r); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("empty submods: %v", err)
	}
	if err := kbs.Decide(nil); !errors.Is(err, verify.ErrPolicy) {
		t.Fatal(err)
	}
	r.Submods["cpu0"] = affirm()
	if err := kbs.Decide(r); err != nil {
		t.Fatal(err)
	}
	bad := affirm()
	bad.TrustVector[ear.Hardware] = ear.ContraindicatedHardware
	bad.StatusFromVector()
	r.Submods["gpu0"] = bad
	if err := kbs.Decide(r); !errors.Is(err, verify.ErrPolicy) || !strings.Contains(err.Error(), "gpu0") {
		t.Fatalf("cpu0 affirming, gpu0 contraindicated: %v", err)
	}
	// A status that claims more than its vector supports is not trusted.
	liar := affirm()
	liar.TrustVector[ear.Executables] = ear.UnrecognizedRuntime
	r.Submods["gpu0"] = liar
	if err := kbs.Decide(r); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("affirming status over a warning vector: %v", err)
	}
	r.Submods["gpu0"] = affirm()
	r.Submods["gpu0"].Extensions = map[string]any{ear.ExtUnsafe().Name: []string{"WithoutRevocationUnsafe"}}
	if err := kbs.Decide(r); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("unsafe switch released: %v", err)
	}
	delete(r.Submods["gpu0"].Extensions, ear.ExtUnsafe().Name)
	w := ear.StatusWarning
	r.Status = &w
	if err := kbs.Decide(r); !errors.Is(err, verify.ErrPolicy) {
		t.Fatalf("overall warning released: %v", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC"}},"tee-evidence":{"primary_evidence":{"quote":"AA=="},"additional_evidence":""}}`))
	f.Add([]byte(`{"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC"}},"Runtime-Data":{"nonce":"m","tee-pubkey":{"kty":"EC"}},"tee-evidence":{"primary_evidence":{"quote":"AA=="},"additional_evidence":""}}`))
	f.Add([]byte(`{"runtime-data":{"nonce":"n","nonce":"m","tee-pubkey":{"kty":"EC"}},"tee-evidence":{"primary_evidence":{"quote":"AA=="},"additional_evidence":"","primary_evidence":{}}}`))
	f.Add([]byte(`{"init-data":{"format":"toml","body":"version = '0.1.0'"},"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"RSA","n":"AQ","e":"AQAB"}},"tee-evidence":{"primary_evidence":{},"additional_evidence":"{\"nvidia\":{}}"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := kbs.ParseRequest(body)
		if err != nil {
			if r != nil || verify.KindOf(err) == nil {
				t.Fatalf("%v %v", r, err)
			}
			return
		}
		if r.RuntimeData.Nonce == "" || len(r.TEEEvidence.Primary) == 0 {
			t.Fatal("accepted a request without nonce or evidence")
		}
		// An accepted body is one request for every reader: its own
		// objects name each member once, exactly as the protocol spells it.
		checkMembers(t, body, "", []string{"init-data", "runtime-data", "tee-evidence"}, map[string][]string{
			"init-data": {"format", "body"}, "runtime-data": {"nonce", "tee-pubkey"}, "tee-evidence": {"primary_evidence", "additional_evidence"}})
	})
}

// checkMembers fails t unless the JSON object doc names only allowed
// members, each once and unescaped, and so do its members' objects (nested).
func checkMembers(t *testing.T, doc []byte, what string, allowed []string, nested map[string][]string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if what != "" && string(bytes.TrimSpace(doc)) == "null" {
			return
		}
		t.Fatalf("%s: not an object: %v %v", what, tok, err)
	}
	var seen []string
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		name := tok.(string)
		if raw := doc[start:dec.InputOffset()]; bytes.Contains(raw, []byte{'\\'}) {
			t.Fatalf("%s: escaped member name %q accepted", what, raw)
		}
		if !slices.Contains(allowed, name) || slices.Contains(seen, name) {
			t.Fatalf("%s: member %q accepted (allowed %q, seen %q)", what, name, allowed, seen)
		}
		seen = append(seen, name)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if sub, ok := nested[name]; ok {
			checkMembers(t, v, name, sub, nil)
		}
	}
}

// The notes come from the extensions, or from the annotated evidence of a
// Trustee-profile token; Decide names them from either place.
func TestAppraisalNotes(t *testing.T) {
	if r, u := kbs.AppraisalNotes(nil); r != "" || u != nil {
		t.Fatalf("nil: %q %v", r, u)
	}
	ext := &ear.Appraisal{Extensions: map[string]any{ear.ExtReason().Name: "ext reason", ear.ExtUnsafe().Name: []string{"A"}}}
	ann := &ear.Appraisal{AnnotatedEvidence: map[string]any{"attest": map[string]any{"reason": "ann reason", "unsafe": []any{"B"}}}}
	if r, u := kbs.AppraisalNotes(ext); r != "ext reason" || fmt.Sprint(u) != "[A]" {
		t.Errorf("extensions: %q %v", r, u)
	}
	if r, u := kbs.AppraisalNotes(ann); r != "ann reason" || fmt.Sprint(u) != "[B]" {
		t.Errorf("annotated evidence: %q %v", r, u)
	}
	res := ear.NewResult(ear.VerifierID{Developer: "d", Build: "b"}, offlinetest.Now())
	ann.TrustVector[ear.Executables] = ear.ContraindicatedRuntime
	ann.StatusFromVector()
	res.Submods["cpu0"] = ann
	if err := kbs.Decide(res); !errors.Is(err, verify.ErrPolicy) || !strings.Contains(err.Error(), "ann reason") {
		t.Errorf("Decide: %v", err)
	}
}
