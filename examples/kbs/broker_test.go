package broker_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/trustfactory/attest/ear/token"
	broker "github.com/trustfactory/attest/examples/kbs"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx/tdxtest"
)

var secret = []byte("model-weights-decryption-key")

type env struct {
	bed    *offlinetest.Bed
	srv    *httptest.Server
	now    time.Time
	broker *broker.Broker
	svcFor func(*policy.ReferenceValues) (*kbs.Service, error)
}

func newEnv(t *testing.T, gpus int) *env {
	t.Helper()
	b, err := offlinetest.New(gpus)
	if err != nil {
		t.Fatal(err)
	}
	// The broker's verifiers, as a deployment builds them: from a collateral
	// bundle (written by the bed, with its test roots) through package setup.
	dir := t.TempDir()
	if err := b.WriteCollateral(dir); err != nil {
		t.Fatal(err)
	}
	bundle, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bundle.Close() })
	roots, err := setup.ReadTestRoots(bundle.FS())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := setup.NewRegistry(setup.Config{Bundle: bundle.FS(), Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	rv, err := b.ReferenceValues()
	if err != nil {
		t.Fatal(err)
	}
	priv, _, err := token.GenerateKey(token.ES256, "broker")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSignerFromJWK(priv)
	if err != nil {
		t.Fatal(err)
	}
	svcFor := func(rv *policy.ReferenceValues) (*kbs.Service, error) {
		p, err := policy.New(rv)
		if err != nil {
			return nil, err
		}
		a, err := kbs.NewAppraiser(reg, p)
		if err != nil {
			return nil, err
		}
		return kbs.NewService(a, signer, kbs.WithVerbose(false))
	}
	svc, err := svcFor(rv)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{bed: b, now: offlinetest.Now(), svcFor: svcFor}
	br, err := broker.New(svc, signer.KeySet(), map[string][]byte{"default/model/key": secret}, func() time.Time { return e.now })
	if err != nil {
		t.Fatal(err)
	}
	e.broker = br
	e.srv = httptest.NewServer(br)
	t.Cleanup(e.srv.Close)
	return e
}

// tee is an attester: it holds the private half of the key it binds.
type tee struct {
	priv   *ecdsa.PrivateKey
	pubJWK json.RawMessage
	client *http.Client
}

func newTEE(t *testing.T) *tee {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pk, err := jwk.FromRaw(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = pk.Set(jwk.AlgorithmKey, jwa.ECDH_ES_A256KW)
	b, _ := json.Marshal(pk)
	jar, _ := cookiejar.New(nil)
	return &tee{priv: k, pubJWK: b, client: &http.Client{Jar: jar}}
}

func (c *tee) post(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := c.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *tee) get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := c.client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *tee) auth(t *testing.T, e *env) string {
	t.Helper()
	code, body := c.post(t, e.srv.URL+"/kbs/v0/auth", []byte(`{"version":"0.4.0","tee":"tdx","extra-params":{}}`))
	if code != http.StatusOK {
		t.Fatalf("auth: %d %s", code, body)
	}
	var r struct{ Nonce string }
	if err := json.Unmarshal(body, &r); err != nil || r.Nonce == "" {
		t.Fatalf("auth response %s", body)
	}
	return r.Nonce
}

func (c *tee) attest(t *testing.T, e *env, nonce string, edits offlinetest.KBSEdits) (int, []byte) {
	t.Helper()
	req, err := e.bed.KBSRequest(nonce, c.pubJWK, edits)
	if err != nil {
		t.Fatal(err)
	}
	return c.post(t, e.srv.URL+"/kbs/v0/attest", req)
}

// The whole flow: a TD with eight GPUs gets the secret, wrapped to its key.
func TestBrokerReleasesToAffirmingTEE(t *testing.T) {
	e := newEnv(t, 8)
	c := newTEE(t)
	nonce := c.auth(t, e)
	code, body := c.attest(t, e, nonce, offlinetest.KBSEdits{})
	if code != http.StatusOK || !strings.Contains(string(body), `"token"`) {
		t.Fatalf("attest: %d %s", code, body)
	}
	code, wrapped := c.get(t, e.srv.URL+"/kbs/v0/resource/default/model/key")
	if code != http.StatusOK {
		t.Fatalf("resource: %d %s", code, wrapped)
	}
	if bytes.Contains(wrapped, secret) {
		t.Fatal("secret sent in clear")
	}
	got, err := jwe.Decrypt(wrapped, jwe.WithKey(jwa.ECDH_ES_A256KW, c.priv))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secret) {
		t.Fatalf("secret %q", got)
	}
	// Only the TEE's key opens it.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := jwe.Decrypt(wrapped, jwe.WithKey(jwa.ECDH_ES_A256KW, other)); err == nil {
		t.Fatal("another key decrypted the secret")
	}
	if code, _ := c.get(t, e.srv.URL+"/kbs/v0/resource/default/other"); code != http.StatusNotFound {
		t.Fatalf("unknown resource: %d", code)
	}
}

func TestBrokerRefuses(t *testing.T) {
	e := newEnv(t, 2)
	cases := []struct {
		name  string
		edits offlinetest.KBSEdits
		why   string
	}{
		{"debug TD", offlinetest.KBSEdits{Quote: func(q *tdxtest.QuoteSpec) { q.Body.TDAttributes[0] |= 1 }}, "cpu0"},
		{"unknown TD firmware", offlinetest.KBSEdits{Quote: func(q *tdxtest.QuoteSpec) { q.Body.MRTD[0] ^= 1 }}, "cpu0"},
		{"GPU on another session", offlinetest.KBSEdits{GPU: func(i int, r *gputest.Report) {
			if i == 1 {
				r.Nonce[0] ^= 1
			}
		}}, "gpu1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTEE(t)
			nonce := c.auth(t, e)
			code, body := c.attest(t, e, nonce, tc.edits)
			if code != http.StatusUnauthorized || !strings.Contains(string(body), tc.why) {
				t.Fatalf("attest: %d %s", code, body)
			}
			if code, _ := c.get(t, e.srv.URL+"/kbs/v0/resource/default/model/key"); code != http.StatusUnauthorized {
				t.Fatalf("resource after refused attestation: %d", code)
			}
		})
	}

	// No attestation, no secret.
	c := newTEE(t)
	c.auth(t, e)
	if code, _ := c.get(t, e.srv.URL+"/kbs/v0/resource/default/model/key"); code != http.StatusUnauthorized {
		t.Fatalf("resource without attestation: %d", code)
	}
	// No session at all.
	if code, _ := newTEE(t).get(t, e.srv.URL+"/kbs/v0/resource/default/model/key"); code != http.StatusUnauthorized {
		t.Fatal("resource without session")
	}

	// Evidence made for session A presented in session B (POL-12).
	a, b := newTEE(t), newTEE(t)
	na := a.auth(t, e)
	b.auth(t, e)
	req, _ := e.bed.KBSRequest(na, b.pubJWK, offlinetest.KBSEdits{})
	if code, body := b.post(t, e.srv.URL+"/kbs/v0/attest", req); code != http.StatusUnauthorized || !strings.Contains(string(body), "freshness") {
		t.Fatalf("relayed evidence: %d %s", code, body)
	}

	// A nonce serves one attestation.
	c = newTEE(t)
	n := c.auth(t, e)
	if code, body := c.attest(t, e, n, offlinetest.KBSEdits{}); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := c.attest(t, e, n, offlinetest.KBSEdits{}); code != http.StatusUnauthorized {
		t.Fatalf("nonce reused: %d", code)
	}

	// Sessions expire.
	c = newTEE(t)
	n = c.auth(t, e)
	e.now = e.now.Add(10 * time.Minute)
	if code, _ := c.attest(t, e, n, offlinetest.KBSEdits{}); code != http.StatusUnauthorized {
		t.Fatalf("expired session: %d", code)
	}
	e.now = offlinetest.Now()

	// Bad auth requests.
	for _, body := range []string{`{"version":"0.3.0","tee":"tdx"}`, `{"version":"0.4.0","tee":"sample"}`, `{`, `{"version":"0.4.0","tee":"tdx","x":1}`} {
		if code, _ := newTEE(t).post(t, e.srv.URL+"/kbs/v0/auth", []byte(body)); code != http.StatusBadRequest {
			t.Fatalf("auth %s: %d", body, code)
		}
	}
}

func TestWrapRefusesPrivateAndSymmetricKeys(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv, _ := jwk.FromRaw(k)
	pb, _ := json.Marshal(priv)
	if _, err := broker.Wrap(secret, pb); err == nil {
		t.Fatal("wrapped to a private key")
	}
	if _, err := broker.Wrap(secret, []byte(`{"kty":"oct","k":"AAAA"}`)); err == nil {
		t.Fatal("wrapped to a symmetric key")
	}
	if _, err := broker.Wrap(secret, []byte(`nope`)); err == nil {
		t.Fatal("wrapped to garbage")
	}
}

// POL-03, POL-04: reference values change only with the admin token, and a
// document that does not parse is refused and changes nothing.
func TestPOL03_POL04BrokerAdmin(t *testing.T) {
	e := newEnv(t, 1)
	const admin = "0123456789abcdef-admin"
	if err := e.broker.EnableAdmin("short", e.svcFor); err == nil {
		t.Fatal("short admin token accepted")
	}
	if err := e.broker.EnableAdmin(admin, e.svcFor); err != nil {
		t.Fatal(err)
	}
	put := func(auth, doc string) int {
		req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/kbs/v0/reference-values", strings.NewReader(doc))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	empty := "version: \"1\"\nreference_values: []\n"
	if code := put("", empty); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code := put("Bearer wrong-token-0000000000", empty); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if code := put("Bearer "+admin, "version: \"1\"\nreference_values: [{name: mr_td, value: {x: 1}}]\n"); code != http.StatusBadRequest {
		t.Fatalf("invalid document: %d", code)
	}
	// Still the old reference values: the TD attests.
	c := newTEE(t)
	if code, body := c.attest(t, e, c.auth(t, e), offlinetest.KBSEdits{}); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	// With no reference values the TD is no longer recognized: no release.
	if code := put("Bearer "+admin, empty); code != http.StatusNoContent {
		t.Fatalf("valid update: %d", code)
	}
	c = newTEE(t)
	if code, body := c.attest(t, e, c.auth(t, e), offlinetest.KBSEdits{}); code != http.StatusUnauthorized || !strings.Contains(string(body), "warning") {
		t.Fatalf("%d %s", code, body)
	}
}
