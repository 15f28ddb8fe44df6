package redisstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
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

// loadFigures are the counts the load test reports.
type loadFigures struct {
	mu                                  sync.Mutex
	answered, tokens, clearErrors       int
	neither, replaysAccepted, failovers int
	latencies                           []time.Duration
	nonceTokens                         map[string]int
}

// A bounded load test on loopback: two replicas sharing one Redis, N
// clients × M attestations (TDX + GPU minted per session), each nonce
// fetched from one replica and used at the other, then replayed at both;
// reference values uploaded through alternate replicas meanwhile; one
// replica stopped (gracefully) mid-run and Redis restarted once. Every
// request must get a token or a clear error; no replay and no nonce may
// be accepted twice; the last acknowledged upload is in force at the end.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	const clients, perClient = 4, 8
	r := startRedis(t)
	bed, err := testbed.New(testbed.Options{GPUs: 1})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	priv, _, err := token.GenerateKey(token.ES256, "load")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	verifier, err := token.NewVerifier(signer.KeySet())
	require.NoError(t, err)
	rvDoc := func(gen int) []byte {
		rv, err := bed.ReferenceValues()
		require.NoError(t, err)
		doc := policy.Document{Version: policy.DocumentVersion}
		for _, n := range rv.Names() {
			doc.ReferenceValues = append(doc.ReferenceValues, policy.Entry{Name: n, Value: rv.Lookup(n, bed.Now)})
		}
		// A benign entry that differs per generation.
		doc.ReferenceValues = append(doc.ReferenceValues, policy.Entry{Name: "tdx_forbidden_advisory_ids", Value: []string{fmt.Sprintf("INTEL-SA-9%04d", gen)}})
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		return b
	}

	type node struct {
		srv    *serve.Server
		url    string
		cancel context.CancelFunc
		done   chan error
	}
	start := func() *node {
		s, err := redisstore.New(r.client(t), "")
		require.NoError(t, err)
		srv, err := serve.New(context.Background(), serve.Config{Registry: reg, Signer: signer, Store: s, ReferenceValues: rvDoc(0),
			AdminToken: admin, Now: func() time.Time { return bed.Now }, PollInterval: 200 * time.Millisecond, MaxInFlight: 8})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		n := &node{srv: srv, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
		go func() { n.done <- srv.Serve(ctx, ln) }()
		return n
	}
	nodes := []*node{start(), start()}
	var stopped atomic.Bool // nodes[1] stopped
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	// post returns the status and body, or ok=false when the node is gone.
	post := func(n *node, path string, body []byte, hdr ...string) (int, []byte, bool) {
		req, err := http.NewRequest(http.MethodPost, n.url+path, bytes.NewReader(body))
		require.NoError(t, err)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, true
	}
	pick := func(i int) *node {
		if stopped.Load() {
			return nodes[0]
		}
		return nodes[i%2]
	}
	clear := func(code int, body []byte) bool {
		return code >= 400 && code < 600 && code != 500 && json.Valid(body) && bytes.Contains(body, []byte(`"detail"`))
	}

	f := &loadFigures{nonceTokens: map[string]int{}}
	var done atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range perClient {
				i := c*perClient + m
				code, nonce, ok := post(pick(i), "/challenge", nil)
				for !ok { // a stopped replica: the balancer sends the client to the other
					f.mu.Lock()
					f.failovers++
					f.mu.Unlock()
					code, nonce, ok = post(pick(i+1), "/challenge", nil)
				}
				f.mu.Lock()
				f.answered++
				if code != http.StatusOK {
					if clear(code, nonce) {
						f.clearErrors++
					} else {
						f.neither++
					}
					f.mu.Unlock()
					continue
				}
				f.mu.Unlock()
				body := asRequest(t, bed, string(nonce))
				t0 := time.Now()
				code, tok, ok := post(pick(i+1), "/attestation", body)
				for !ok {
					f.mu.Lock()
					f.failovers++
					f.mu.Unlock()
					code, tok, ok = post(pick(i), "/attestation", body)
				}
				lat := time.Since(t0)
				f.mu.Lock()
				f.answered++
				f.latencies = append(f.latencies, lat)
				switch {
				case code == http.StatusOK:
					res, err := verifier.Verify(context.Background(), tok, token.Expectations{Now: bed.Now, Nonce: nonce})
					if err != nil || kbs.Decide(res) != nil {
						f.neither++
					} else {
						f.tokens++
						f.nonceTokens[string(nonce)]++
					}
				case clear(code, tok):
					f.clearErrors++
				default:
					f.neither++
				}
				f.mu.Unlock()
				// Replays at both replicas: never a token.
				for _, n := range []*node{pick(i), pick(i + 1)} {
					code, b, ok := post(n, "/attestation", body)
					if !ok {
						continue
					}
					f.mu.Lock()
					f.answered++
					switch {
					case code == http.StatusOK:
						f.replaysAccepted++
					case clear(code, b):
						f.clearErrors++
					default:
						f.neither++
					}
					f.mu.Unlock()
				}
				done.Add(1)
			}
		}()
	}

	// Meanwhile: uploads through alternate replicas, one replica stopped
	// and Redis restarted, each at a point of the run.
	total := int64(clients * perClient)
	var lastAcked []byte
	// laterSent: documents sent after the last acknowledged one without an
	// acknowledgement (a request cut by the restart may still have been
	// stored): the store may hold one of them, never an older one.
	laterSent := map[[32]byte]bool{}
	uploads, restarted := 0, false
	for gen := 1; done.Load() < total; gen++ {
		doc := rvDoc(gen)
		if code, _, ok := post(pick(gen), "/reference-value", doc, "Authorization", "Bearer "+admin); ok && code == http.StatusOK {
			lastAcked = doc
			laterSent = map[[32]byte]bool{}
			uploads++
		} else {
			laterSent[sha256.Sum256(doc)] = true
		}
		if !stopped.Load() && done.Load() >= total/3 {
			stopped.Store(true)
			nodes[1].cancel()
			require.NoError(t, <-nodes[1].done)
		}
		if !restarted && done.Load() >= total/2 {
			restarted = true
			r.restart(t)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()

	// The last acknowledged upload is in force on the live replica (after
	// a restart the store may hold none: then nothing newer replaced it).
	// Checked while the replica still runs: stopped, it would follow no
	// notification that was still on its way.
	if lastAcked != nil {
		want := sha256.Sum256(lastAcked)
		require.Eventually(t, func() bool {
			d, err := redisstoreDocument(t, r)
			if errors.Is(err, serve.ErrNotFound) {
				// Redis restarted without persistence and no upload came
				// after: nothing newer replaced what the replica holds.
				return nodes[0].srv.ReferenceValuesVersion() > 0
			}
			sum := sha256.Sum256(d.Body)
			return err == nil && (sum == want || laterSent[sum]) && nodes[0].srv.ReferenceValuesVersion() == d.Version
		}, 30*time.Second, 20*time.Millisecond)
	}
	for _, n := range nodes {
		n.cancel()
	}
	require.NoError(t, <-nodes[0].done)
	twice := 0
	for _, n := range f.nonceTokens {
		if n > 1 {
			twice++
		}
	}
	slices.Sort(f.latencies)
	p := func(q float64) time.Duration { return f.latencies[int(q*float64(len(f.latencies)-1))] }
	t.Logf("load: %d clients × %d attestations, 2 replicas (one stopped mid-run), Redis restarted once, %d uploads", clients, perClient, uploads)
	t.Logf("answered %d, tokens %d, clear errors %d, neither %d, replays accepted %d, nonces consumed twice %d, failovers %d, attestation p50 %v p99 %v",
		f.answered, f.tokens, f.clearErrors, f.neither, f.replaysAccepted, twice, f.failovers, p(0.5), p(0.99))
	require.Zero(t, f.neither, "requests with neither a token nor a clear error")
	require.Zero(t, f.replaysAccepted, "replays accepted")
	require.Zero(t, twice, "nonces consumed twice")
	require.Positive(t, f.tokens)
	require.True(t, restarted && stopped.Load())
}

// redisstoreDocument reads the stored reference values directly.
func redisstoreDocument(t *testing.T, r *redisServer) (serve.Document, error) {
	s, err := redisstore.New(r.client(t), "")
	if err != nil {
		return serve.Document{}, err
	}
	return s.Document(context.Background(), serve.ReferenceValuesDocument)
}
