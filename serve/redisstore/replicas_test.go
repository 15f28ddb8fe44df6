package redisstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/serve/redisstore"
	"github.com/trustfactory/attest/testbed"
)

const admin = "replica-admin-token-0123"

// replica is one serve.Server on the shared Redis.
type replica struct{ srv *serve.Server }

func (r replica) do(method, path string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	r.srv.ServeHTTP(rec, req)
	return rec
}

// asRequest is a Trustee AS request from the bed bound to nonce.
func asRequest(t *testing.T, bed *testbed.Bed, nonce string) []byte {
	s, err := testbed.NewSession()
	require.NoError(t, err)
	kb, err := bed.KBSRequest(nonce, s.RuntimeData.TEEPubKey, testbed.KBSEdits{})
	require.NoError(t, err)
	req, err := kbs.ParseRequest(kb)
	require.NoError(t, err)
	rd := map[string]any{"nonce": nonce, "tee-pubkey": req.RuntimeData.TEEPubKey, "additional-evidence": req.TEEEvidence.Additional}
	b, err := json.Marshal(map[string]any{"policy_ids": []string{}, "verification_requests": []any{map[string]any{
		"tee": "tdx", "evidence": base64.RawURLEncoding.EncodeToString(req.TEEEvidence.Primary),
		"runtime_data": map[string]any{"structured": rd}}}})
	require.NoError(t, err)
	return b
}

// Two replicas on one Redis: a nonce issued by one is consumed by the
// other and refused on replay by either; an upload through one reaches the
// other by notification (its poll is an hour away); after a Redis restart
// outstanding nonces fail closed, fresh ones work, and the next upload is
// in force on both although its version number restarted.
func TestReplicas(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{GPUs: 1})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "replicas")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	rv, err := bed.ReferenceValues()
	require.NoError(t, err)
	doc := policy.Document{Version: policy.DocumentVersion}
	for _, n := range rv.Names() {
		doc.ReferenceValues = append(doc.ReferenceValues, policy.Entry{Name: n, Value: rv.Lookup(n, bed.Now)})
	}
	rvDoc, err := json.Marshal(doc)
	require.NoError(t, err)

	newReplica := func() replica {
		s, err := redisstore.New(r.client(t), "")
		require.NoError(t, err)
		srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: s, ReferenceValues: rvDoc,
			AdminToken: admin, Now: func() time.Time { return bed.Now }, PollInterval: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		return replica{srv}
	}
	a, b := newReplica(), newReplica()
	verifier, err := token.NewVerifier(signer.KeySet())
	require.NoError(t, err)

	attest := func(issuer, consumer replica) (string, []byte) {
		rec := issuer.do(http.MethodPost, "/challenge", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		nonce := rec.Body.String()
		body := asRequest(t, bed, nonce)
		rec = consumer.do(http.MethodPost, "/attestation", body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		res, err := verifier.Verify(context.Background(), rec.Body.Bytes(), token.Expectations{Now: bed.Now, Nonce: []byte(nonce)})
		require.NoError(t, err)
		require.NoError(t, kbs.Decide(res))
		return nonce, body
	}
	_, body := attest(a, b)
	require.Equal(t, http.StatusConflict, a.do(http.MethodPost, "/attestation", body).Code)
	require.Equal(t, http.StatusConflict, b.do(http.MethodPost, "/attestation", body).Code)

	// Both replicas subscribed: the upload reaches b by notification.
	c := r.client(t)
	require.Eventually(t, func() bool {
		n := c.PubSubNumSub(context.Background(), redisstore.DefaultPrefix+":changes").Val()
		return n[redisstore.DefaultPrefix+":changes"] >= 2
	}, 10*time.Second, 10*time.Millisecond)
	rec := a.do(http.MethodPost, "/reference-value", []byte(`{"version":"1","reference_values":[]}`), "Authorization", "Bearer "+admin)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Eventually(t, func() bool { return b.srv.ReferenceValuesVersion() == 2 }, 10*time.Second, 5*time.Millisecond)

	// Restart: the outstanding nonce is gone (fail closed).
	rec = a.do(http.MethodPost, "/challenge", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	outstanding := asRequest(t, bed, rec.Body.String())
	r.restart(t)
	require.Eventually(t, func() bool { return a.do(http.MethodGet, "/readyz", nil).Code == http.StatusOK }, 30*time.Second, 20*time.Millisecond)
	rec = b.do(http.MethodPost, "/attestation", outstanding)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "not issued")
	// The first upload after the restart is version 1 again, and wins.
	require.Eventually(t, func() bool {
		n := c.PubSubNumSub(context.Background(), redisstore.DefaultPrefix+":changes").Val()
		return n[redisstore.DefaultPrefix+":changes"] >= 2
	}, 30*time.Second, 20*time.Millisecond)
	rec = b.do(http.MethodPost, "/reference-value", rvDoc, "Authorization", "Bearer "+admin)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{"version":1}`, rec.Body.String())
	require.Eventually(t, func() bool { return a.srv.ReferenceValuesVersion() == 1 }, 10*time.Second, 5*time.Millisecond)
	attest(b, a)
}

// Issuing nonces writes nothing to Redis: DBSIZE is the same before and
// after a flood of challenges, and a nonce from the flood still works once.
func TestChallengeFloodDBSize(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "flood")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	s, err := redisstore.New(r.client(t), "")
	require.NoError(t, err)
	srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: s,
		Now: func() time.Time { return bed.Now }, PollInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	rep := replica{srv}
	c := r.client(t)
	ctx := context.Background()
	before, err := c.DBSize(ctx).Result()
	require.NoError(t, err)
	require.Positive(t, before) // the nonce secret, created by New
	var first string
	for i := range 2000 {
		rec := rep.do(http.MethodPost, "/challenge", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		if i == 0 {
			first = rec.Body.String()
		}
	}
	after, err := c.DBSize(ctx).Result()
	require.NoError(t, err)
	require.Equal(t, before, after, "keys written by 2000 challenges")
	body := asRequest(t, bed, first)
	require.Equal(t, http.StatusOK, rep.do(http.MethodPost, "/attestation", body).Code)
	require.Equal(t, http.StatusConflict, rep.do(http.MethodPost, "/attestation", body).Code)
	require.Equal(t, before+1, c.DBSize(ctx).Val())
}
