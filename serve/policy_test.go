package serve_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/policy/rego"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

func regoEngine(t testing.TB) *rego.Engine {
	e, err := rego.NewEngine()
	require.NoError(t, err)
	return e
}

func withRego(t testing.TB) func(*serve.Config) {
	return func(c *serve.Config) { c.PolicyEngine = regoEngine(t) }
}

// upload is a Trustee POST /policy body.
func upload(id, text string) []byte {
	b, _ := json.Marshal(map[string]string{"type": "rego", "policy_id": id, "policy": base64.RawURLEncoding.EncodeToString([]byte(text))})
	return b
}

// policyVersion reads GET /policy/{id}'s version (0: not in force).
func (w *world) policyVersion(t testing.TB, id string) int64 {
	rec := w.do(t, http.MethodGet, "/policy/"+id, nil, "Authorization", "Bearer "+adminToken)
	if rec.Code == http.StatusNotFound {
		return 0
	}
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got struct {
		Version int64 `json:"version"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	return got.Version
}

// attestWith attests the bed's TD and two GPUs under policy id and returns
// the token's submodule statuses.
func (w *world) attestWith(t testing.TB, id string) map[string]ear.Status {
	nonce := w.challenge(t)
	body := w.asRequest(t, nonce, testbed.KBSEdits{})
	body = []byte(strings.Replace(string(body), `"policy_ids":["default"]`, `"policy_ids":["`+id+`"]`, 1))
	rec := w.do(t, http.MethodPost, "/attestation", body)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	r := w.verifyToken(t, rec.Body.Bytes(), nonce)
	out := map[string]ear.Status{}
	for name, s := range r.Submods {
		out[name] = s.Status
	}
	return out
}

// lowGPU is a gpu policy that never vouches for hardware.
const lowGPU = `package policy
trust_claims := {"hardware": 97}
`

// With the Rego engine the service starts with Trustee's four defaults,
// which affirm the bed's TD and GPUs; an uploaded policy is the next
// version of its id and is in force at once; another policy id is chosen
// by the request's policy_ids.
func TestRegoEngine(t *testing.T) {
	w := newWorld(t, withRego(t))
	auth := []string{"Authorization", "Bearer " + adminToken}
	rec := w.do(t, http.MethodGet, "/policy", nil, auth...)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `[{"policy-id":"default_cpu"},{"policy-id":"default_gpu"},{"policy-id":"default_ppcie"},{"policy-id":"default_switch"}]`, rec.Body.String())

	rec = w.do(t, http.MethodGet, "/policy/default_cpu", nil, auth...)
	require.Equal(t, http.StatusOK, rec.Code)
	var got map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, "rego", got["engine"])
	assert.EqualValues(t, 1, got["version"])
	text, err := base64.RawURLEncoding.DecodeString(got["policy"].(string))
	require.NoError(t, err)
	assert.Equal(t, rego.DefaultPolicies()["default_cpu"], string(text))

	assert.Equal(t, map[string]ear.Status{"cpu0": ear.StatusAffirming, "gpu0": ear.StatusAffirming, "gpu1": ear.StatusAffirming}, w.attestWith(t, "default"))

	rec = w.do(t, http.MethodPost, "/policy", upload("default_gpu", lowGPU), auth...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"policy-id":"default_gpu","version":2}`, rec.Body.String())
	assert.Equal(t, int64(2), w.policyVersion(t, "default_gpu"))
	assert.Equal(t, map[string]ear.Status{"cpu0": ear.StatusAffirming, "gpu0": ear.StatusContraindicated, "gpu1": ear.StatusContraindicated}, w.attestWith(t, "default"))

	// A new id: "strict" has a cpu and a gpu policy.
	for _, id := range []string{"strict_cpu", "strict_gpu"} {
		rec = w.do(t, http.MethodPost, "/policy", upload(id, "package policy\ntrust_claims := {\"hardware\": 2, \"configuration\": 32}\n"), auth...)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	assert.Equal(t, map[string]ear.Status{"cpu0": ear.StatusWarning, "gpu0": ear.StatusWarning, "gpu1": ear.StatusWarning}, w.attestWith(t, "strict"))
	// Unchanged for "default".
	assert.Equal(t, ear.StatusContraindicated, w.attestWith(t, "default")["gpu0"])

	// A policy set without a gpu policy fails its GPUs closed.
	rec = w.do(t, http.MethodPost, "/policy", upload("cpuonly_cpu", rego.DefaultPolicies()["default_cpu"]), auth...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, map[string]ear.Status{"cpu0": ear.StatusAffirming, "gpu0": ear.StatusContraindicated, "gpu1": ear.StatusContraindicated}, w.attestWith(t, "cpuonly"))
}

// Bad policy requests each get a clear 4xx and change nothing.
func TestRegoBadRequests(t *testing.T) {
	w := newWorld(t, withRego(t))
	auth := []string{"Authorization", "Bearer " + adminToken}
	good := upload("default_cpu", lowGPU)
	cases := []struct {
		name string
		body []byte
		hdr  []string
		code int
		want string
	}{
		{"no token", good, nil, 401, "bearer token"},
		{"wrong token", good, []string{"Authorization", "Bearer wrong-token-000000"}, 401, "not the admin token"},
		{"does not compile", upload("default_cpu", "package policy\ntrust_claims := {\"hardware\": no_such_function(1)}\n"), auth, 400, "undefined function no_such_function"},
		{"does not parse", upload("default_cpu", "package policy\ntrust_claims := {\n"), auth, 400, "rego_parse_error"},
		{"other package", upload("default_cpu", "package other\ntrust_claims := {}\n"), auth, 400, "want package policy"},
		{"no trust_claims", upload("default_cpu", "package policy\nx := 1\n"), auth, 400, "no trust_claims"},
		{"network builtin", upload("default_cpu", "package policy\ntrust_claims := {\"hardware\": http.send({})}\n"), auth, 400, "http.send"},
		{"wrong type", []byte(`{"type":"opa-wasm","policy_id":"default_cpu","policy":"cGFja2FnZSBwb2xpY3k"}`), auth, 400, "opa-wasm"},
		{"bad id", upload("../etc", lowGPU), auth, 400, "policy_id"},
		{"id too long", upload(strings.Repeat("a", serve.MaxPolicyIDSize+1), lowGPU), auth, 400, "limit"},
		{"padded base64", []byte(`{"policy_id":"default_cpu","policy":"cGFja2FnZSBwb2xpY3k="}`), auth, 400, "base64url"},
		{"empty policy", []byte(`{"policy_id":"default_cpu","policy":""}`), auth, 400, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := w.do(t, http.MethodPost, "/policy", c.body, c.hdr...)
			require.Equal(t, c.code, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Body.String(), c.want)
			if c.code == 400 && strings.Contains(c.name, "compile") {
				assert.Contains(t, rec.Body.String(), "version 1 of default_cpu stays in force")
			}
			assert.Equal(t, int64(1), w.policyVersion(t, "default_cpu"))
		})
	}
	// Still Trustee's default in force.
	assert.Equal(t, ear.StatusAffirming, w.attestWith(t, "default")["cpu0"])

	// An unknown policy id in an attestation is refused before its nonce
	// is consumed.
	nonce := w.challenge(t)
	body := []byte(strings.Replace(string(w.asRequest(t, nonce, testbed.KBSEdits{})), `"policy_ids":["default"]`, `"policy_ids":["nope"]`, 1))
	rec := w.do(t, http.MethodPost, "/attestation", body)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `nope\" is not in force`)
	// "default_cpu" is a stored id, not a request's policy id.
	body = []byte(strings.Replace(string(w.asRequest(t, nonce, testbed.KBSEdits{})), `"policy_ids":["default"]`, `"policy_ids":["default_cpu"]`, 1))
	require.Equal(t, http.StatusBadRequest, w.do(t, http.MethodPost, "/attestation", body).Code)
	body = []byte(strings.Replace(string(w.asRequest(t, nonce, testbed.KBSEdits{})), `"policy_ids":["default"]`, `"policy_ids":["default","x"]`, 1))
	require.Equal(t, http.StatusBadRequest, w.do(t, http.MethodPost, "/attestation", body).Code)
	rec = w.do(t, http.MethodGet, "/policy/nope", nil, auth...)
	require.Equal(t, http.StatusNotFound, rec.Code)

	// No admin token: writes refused.
	ro := newWorld(t, func(c *serve.Config) { c.PolicyEngine = regoEngine(t); c.AdminToken = "" })
	rec = ro.do(t, http.MethodPost, "/policy", good, auth...)
	require.Equal(t, http.StatusForbidden, rec.Code)
}

// The policy an attestation is checked against is the one it is
// appraised with: an empty policy id, which the appraisal would take for
// "default" (policyIDFrom), is refused even when stored ids "_cpu" and
// "_gpu" would make it a policy set.
func TestRegoEmptyPolicyIDRefused(t *testing.T) {
	w := newWorld(t, withRego(t))
	auth := []string{"Authorization", "Bearer " + adminToken}
	for _, id := range []string{"_cpu", "_gpu"} {
		rec := w.do(t, http.MethodPost, "/policy", upload(id, lowGPU), auth...)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	nonce := w.challenge(t)
	body := []byte(strings.Replace(string(w.asRequest(t, nonce, testbed.KBSEdits{})), `"policy_ids":["default"]`, `"policy_ids":[""]`, 1))
	rec := w.do(t, http.MethodPost, "/attestation", body)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "policy_ids")
}

// An upload through one replica is in force on another sharing the store.
func TestRegoReplicasFollowUploads(t *testing.T) {
	a := newWorld(t, withRego(t))
	b := newWorld(t, func(c *serve.Config) {
		c.PolicyEngine = regoEngine(t)
		c.Store = a.store
		c.PollInterval = 20 * time.Millisecond
	})
	require.Equal(t, int64(1), b.policyVersion(t, "default_gpu"), "b re-seeded what a stored")
	rec := a.do(t, http.MethodPost, "/policy", upload("default_gpu", lowGPU), "Authorization", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Eventually(t, func() bool { return b.policyVersion(t, "default_gpu") == 2 }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, ear.StatusContraindicated, b.attestWith(t, "default")["gpu0"])
	// A new id reaches b too.
	rec = a.do(t, http.MethodPost, "/policy", upload("other_cpu", lowGPU), "Authorization", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Eventually(t, func() bool { return b.policyVersion(t, "other_cpu") == 1 }, 10*time.Second, 5*time.Millisecond)
}

// Reference-value uploads recompile the Rego policies: without mr_td
// pinned, Trustee's default cpu policy leaves hardware at 97.
func TestRegoFollowsReferenceValues(t *testing.T) {
	w := newWorld(t, withRego(t))
	assert.Equal(t, ear.StatusAffirming, w.attestWith(t, "default")["cpu0"])
	rec := w.do(t, http.MethodPost, "/reference-value", []byte(`{"version":"1","reference_values":[]}`), "Authorization", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, ear.StatusContraindicated, w.attestWith(t, "default")["cpu0"])
}

// Config.Policies replaces the defaults; a policy that does not compile
// stops New; contradictions are ErrConfig.
func TestRegoConfig(t *testing.T) {
	w := newWorld(t, func(c *serve.Config) {
		c.PolicyEngine = regoEngine(t)
		c.Policies = map[string][]byte{"mine_cpu": []byte(rego.DefaultPolicies()["default_cpu"])}
	})
	rec := w.do(t, http.MethodGet, "/policy", nil, "Authorization", "Bearer "+adminToken)
	assert.JSONEq(t, `[{"policy-id":"mine_cpu"}]`, rec.Body.String())

	bed := sharedBed(t)
	reg, err := bed.Registry()
	require.NoError(t, err)
	base := serve.Config{Registry: reg, Signer: w.signer, Store: serve.NewMemoryStore(nil)}
	for name, edit := range map[string]func(*serve.Config){
		"engine and NewPolicy": func(c *serve.Config) {
			c.PolicyEngine = regoEngine(t)
			c.NewPolicy = func(*policy.ReferenceValues) (verify.Policy, error) { return nil, nil }
		},
		"engine and PolicyOptions": func(c *serve.Config) {
			c.PolicyEngine = regoEngine(t)
			c.PolicyOptions = []policy.Option{nil}
		},
		"policies without engine": func(c *serve.Config) { c.Policies = map[string][]byte{"a_cpu": []byte("x")} },
		"bad initial policy": func(c *serve.Config) {
			c.PolicyEngine = regoEngine(t)
			c.Policies = map[string][]byte{"a_cpu": []byte("package policy\ntrust_claims := {")}
		},
		"bad initial id": func(c *serve.Config) {
			c.PolicyEngine = regoEngine(t)
			c.Policies = map[string][]byte{"a/cpu": []byte(rego.DefaultPolicies()["default_cpu"])}
		},
	} {
		cfg := base
		edit(&cfg)
		_, err := serve.New(context.Background(), cfg)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, verify.ErrConfig, name)
	}
}

// Uploads of different ids through eight replicas at once, which share a
// store: every upload answered 200 is in the index, none lost to another
// replica's write of it.
func TestPolicyIndexConcurrentReplicas(t *testing.T) {
	a := newWorld(t, withRego(t))
	replicas := []*world{a}
	for range 7 {
		replicas = append(replicas, newWorld(t, func(c *serve.Config) { c.PolicyEngine = regoEngine(t); c.Store = a.store }))
	}
	auth := []string{"Authorization", "Bearer " + adminToken}
	codes := make([]int, 2*len(replicas))
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := replicas[i%len(replicas)].do(t, http.MethodPost, "/policy", upload(fmt.Sprintf("p%02d_cpu", i), lowGPU), auth...)
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	d, err := a.store.Document(context.Background(), serve.PolicyIndexDocument)
	require.NoError(t, err)
	var ids []string
	require.NoError(t, json.Unmarshal(d.Body, &ids))
	for i, code := range codes {
		require.Equal(t, http.StatusOK, code, "upload %d", i)
		assert.Contains(t, ids, fmt.Sprintf("p%02d_cpu", i), "an upload answered 200 is indexed")
	}
	assert.Len(t, ids, 4+len(codes))
}

// An index over MaxPolicies ids (an older build's racing uploads pushed it
// there) loads its first MaxPolicies ids and the reference values; it
// refuses only uploads of new ids, with a 400.
func TestPolicyIndexOverBound(t *testing.T) {
	ctx := context.Background()
	st := serve.NewMemoryStore(nil)
	ids := []string{"default_cpu"}
	for i := range serve.MaxPolicies + 1 {
		ids = append(ids, fmt.Sprintf("x%03d_cpu", i))
	}
	b, err := json.Marshal(ids)
	require.NoError(t, err)
	_, err = st.PutDocument(ctx, serve.PolicyIndexDocument, b)
	require.NoError(t, err)
	for _, id := range []string{"default_cpu", "x000_cpu", "x256_cpu"} {
		_, err = st.PutDocument(ctx, serve.PolicyDocumentPrefix+id, []byte(rego.DefaultPolicies()["default_cpu"]))
		require.NoError(t, err)
	}
	w := newWorld(t, func(c *serve.Config) {
		c.PolicyEngine = regoEngine(t)
		c.Store = st
		c.Policies = map[string][]byte{"default_cpu": []byte(rego.DefaultPolicies()["default_cpu"])}
	})
	assert.Equal(t, int64(1), w.srv.ReferenceValuesVersion(), "the reference values load")
	assert.Equal(t, int64(1), w.policyVersion(t, "default_cpu"))
	assert.Equal(t, int64(1), w.policyVersion(t, "x000_cpu"))
	assert.Equal(t, int64(0), w.policyVersion(t, "x256_cpu"), "past the bound (sorted ids)")

	auth := []string{"Authorization", "Bearer " + adminToken}
	rec := w.do(t, http.MethodPost, "/policy", upload("new_cpu", lowGPU), auth...)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "too many policies")
	rec = w.do(t, http.MethodPost, "/policy", upload("x000_cpu", lowGPU), auth...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, int64(2), w.policyVersion(t, "x000_cpu"))
}

// PolicyOverrides (attest serve --policy) are put in force at start when
// the stored text differs, as a new version, replacing an upload; the
// same text again makes no version; the built-in defaults never replace
// an upload. The log says which happened.
func TestPolicyOverrides(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	first := newWorld(t, func(c *serve.Config) {
		c.PolicyEngine = regoEngine(t)
		c.PolicyOverrides = map[string][]byte{"mine_cpu": []byte(lowGPU)}
	})
	st := first.store
	auth := []string{"Authorization", "Bearer " + adminToken}
	for _, id := range []string{"mine_cpu", "default_gpu"} {
		rec := first.do(t, http.MethodPost, "/policy", upload(id, rego.DefaultPolicies()["default_cpu"]), auth...)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	require.Equal(t, int64(2), first.policyVersion(t, "mine_cpu"))

	restart := func(text string) *world {
		return newWorld(t, func(c *serve.Config) {
			c.PolicyEngine = regoEngine(t)
			c.Store = st
			c.Logger = logger
			c.PolicyOverrides = map[string][]byte{"mine_cpu": []byte(text)}
		})
	}
	second := restart(lowGPU)
	assert.Equal(t, int64(3), second.policyVersion(t, "mine_cpu"), "the file replaces the upload")
	assert.Equal(t, int64(2), second.policyVersion(t, "default_gpu"), "the default does not")
	d, err := st.Document(context.Background(), serve.PolicyDocumentPrefix+"mine_cpu")
	require.NoError(t, err)
	assert.Equal(t, lowGPU, string(d.Body))
	assert.Contains(t, logs.String(), `"msg":"policy from the configuration stored: it differs from the stored version","policy_id":"mine_cpu","version":3,"replaced_version":2`)
	assert.Contains(t, logs.String(), `"msg":"stored policy kept: the built-in or configured initial text does not replace it","policy_id":"default_gpu","version":2`)

	third := restart(lowGPU)
	assert.Equal(t, int64(3), third.policyVersion(t, "mine_cpu"), "an unchanged file makes no version")
	assert.Contains(t, logs.String(), `"msg":"initial policy already stored","policy_id":"mine_cpu","version":3`)

	reg, err := sharedBed(t).Registry()
	require.NoError(t, err)
	_, err = serve.New(context.Background(), serve.Config{Registry: reg, Signer: first.signer, Store: serve.NewMemoryStore(nil),
		PolicyOverrides: map[string][]byte{"a_cpu": []byte(lowGPU)}})
	assert.ErrorIs(t, err, verify.ErrConfig, "overrides without an engine")
}

// slowEngine is the Rego engine whose compile of "slow_cpu" lasts until
// its context ends (or 10 s pass: then the request had no deadline).
type slowEngine struct{ *rego.Engine }

func (e slowEngine) Compile(ctx context.Context, id string, text []byte, rv *policy.ReferenceValues) (verify.Policy, error) {
	if id != "slow_cpu" {
		return e.Engine.Compile(ctx, id, text, rv)
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(10 * time.Second):
		return nil, errors.New("compile ran 10 s: the request has no deadline")
	}
}

// A policy upload runs within the per-request Timeout: a compile that
// does not end is cut there (503 timeout) and nothing is stored.
func TestPolicyUploadTimeout(t *testing.T) {
	w := newWorld(t, func(c *serve.Config) {
		c.PolicyEngine = slowEngine{regoEngine(t)}
		c.Timeout = 200 * time.Millisecond
	})
	rec := w.do(t, http.MethodPost, "/policy", upload("slow_cpu", lowGPU), "Authorization", "Bearer "+adminToken)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "timeout")
	assert.Equal(t, int64(0), w.policyVersion(t, "slow_cpu"))
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
