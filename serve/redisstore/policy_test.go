package redisstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/policy/rego"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/serve/redisstore"
	"github.com/trustfactory/attest/testbed"
)

// Two Rego replicas on one Redis: the second finds the defaults the first
// seeded, and a policy uploaded through one is in force on the other by
// notification (its poll is an hour away).
func TestRegoPolicyReplicas(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "rego-replicas")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	newReplica := func() replica {
		s, err := redisstore.New(r.client(t), "")
		require.NoError(t, err)
		e, err := rego.NewEngine()
		require.NoError(t, err)
		srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: s, PolicyEngine: e,
			AdminToken: admin, Now: func() time.Time { return bed.Now }, PollInterval: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		return replica{srv}
	}
	version := func(rp replica, id string) int64 {
		rec := rp.do(http.MethodGet, "/policy/"+id, nil, "Authorization", "Bearer "+admin)
		if rec.Code != http.StatusOK {
			return 0
		}
		var got struct{ Version int64 }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		return got.Version
	}
	a, b := newReplica(), newReplica()
	require.Equal(t, int64(1), version(b, "default_cpu"))

	c := r.client(t)
	require.Eventually(t, func() bool {
		n := c.PubSubNumSub(context.Background(), redisstore.DefaultPrefix+":changes").Val()
		return n[redisstore.DefaultPrefix+":changes"] >= 2
	}, 10*time.Second, 10*time.Millisecond)
	body, err := json.Marshal(map[string]string{"policy_id": "default_cpu",
		"policy": base64.RawURLEncoding.EncodeToString([]byte("package policy\ntrust_claims := {\"hardware\": 97}\n"))})
	require.NoError(t, err)
	rec := a.do(http.MethodPost, "/policy", body, "Authorization", "Bearer "+admin)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Eventually(t, func() bool { return version(b, "default_cpu") == 2 }, 10*time.Second, 5*time.Millisecond)

	// b appraises with it: the TD is contraindicated.
	rec = b.do(http.MethodPost, "/challenge", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	nonce := rec.Body.String()
	rec = b.do(http.MethodPost, "/attestation", asRequest(t, bed, nonce))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	v, err := token.NewVerifier(signer.KeySet())
	require.NoError(t, err)
	res, err := v.Verify(context.Background(), rec.Body.Bytes(), token.Expectations{Now: bed.Now, Nonce: []byte(nonce)})
	require.NoError(t, err)
	require.Equal(t, "contraindicated", res.Submods["cpu0"].Status.String())
}

// Four Rego replicas on one Redis take 16 uploads of different ids at
// once: every upload answered 200 is in the index (PutDocumentIf's script
// lets no replica overwrite another's addition).
func TestRegoPolicyUploadsRace(t *testing.T) {
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "rego-race")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	var replicas []replica
	for range 4 {
		s, err := redisstore.New(r.client(t), "")
		require.NoError(t, err)
		e, err := rego.NewEngine()
		require.NoError(t, err)
		srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: s, PolicyEngine: e,
			AdminToken: admin, Now: func() time.Time { return bed.Now }, PollInterval: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		replicas = append(replicas, replica{srv})
	}
	codes := make([]int, 16)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"policy_id": fmt.Sprintf("r%02d_cpu", i),
				"policy": base64.RawURLEncoding.EncodeToString([]byte("package policy\ntrust_claims := {\"hardware\": 97}\n"))})
			codes[i] = replicas[i%len(replicas)].do(http.MethodPost, "/policy", body, "Authorization", "Bearer "+admin).Code
		}()
	}
	wg.Wait()
	s, err := redisstore.New(r.client(t), "")
	require.NoError(t, err)
	d, err := s.Document(context.Background(), serve.PolicyIndexDocument)
	require.NoError(t, err)
	var ids []string
	require.NoError(t, json.Unmarshal(d.Body, &ids))
	for i, code := range codes {
		require.Equal(t, http.StatusOK, code, "upload %d", i)
		require.Contains(t, ids, fmt.Sprintf("r%02d_cpu", i), "an upload answered 200 is indexed")
	}
	require.Len(t, ids, 4+len(codes), "Trustee's four defaults and the uploads")
}
