package kbs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/trustfactory/attest/ear"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

// AttestRequest on the parsed request appraises as Attest on the body
// (the same submodules and statuses, a token that carries the TEE key),
// leaves the request as it was, and refuses what ParseRequest refuses.
func TestAttestRequest(t *testing.T) {
	f := newFixture(t, 2)
	svc := f.service(t)
	nonce := "bm9uY2Utbm9uY2Utbm9uY2UtMDAwMQ=="
	key := teeKey(t)
	body := f.request(t, attester{nonce: nonce, key: key})
	ctx := context.Background()
	fromBody, err := svc.Attest(ctx, "tdx", nonce, body, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, err := kbs.ParseRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(req)
	fromReq, err := svc.AttestRequest(ctx, "tdx", nonce, req, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(req); string(after) != string(before) {
		t.Fatal("AttestRequest modified the request")
	}
	if fromReq.Outcome.Status() != ear.StatusAffirming || len(fromReq.Outcome.Submods) != len(fromBody.Outcome.Submods) {
		t.Fatalf("from the request: %s with %d submodules; from the body: %s with %d",
			fromReq.Outcome.Status(), len(fromReq.Outcome.Submods), fromBody.Outcome.Status(), len(fromBody.Outcome.Submods))
	}
	for _, so := range fromBody.Outcome.Submods {
		var got *verify.SubmodOutcome
		for i := range fromReq.Outcome.Submods {
			if fromReq.Outcome.Submods[i].Name == so.Name {
				got = fromReq.Outcome.Submods[i]
			}
		}
		if got == nil || got.Appraisal.Status != so.Appraisal.Status {
			t.Fatalf("submodule %s: %+v from the request, %s from the body", so.Name, got, so.Appraisal.Status)
		}
	}
	v, ok := pointer(claimsOf(t, fromReq.Token), kbs.TEEPubKeyPointer)
	vb, _ := json.Marshal(v)
	if !ok || !jsonEqual(t, vb, key) {
		t.Fatalf("token from the request lost the TEE key: %v", v)
	}

	for name, c := range map[string]struct {
		edit func(r *kbs.Request) *kbs.Request
		kind error
		want string
	}{
		"nil request":   {func(*kbs.Request) *kbs.Request { return nil }, verify.ErrConfig, "nil request"},
		"no key":        {func(r *kbs.Request) *kbs.Request { r.RuntimeData.TEEPubKey = nil; return r }, verify.ErrMalformed, "tee-pubkey missing"},
		"key not a JWK": {func(r *kbs.Request) *kbs.Request { r.RuntimeData.TEEPubKey = []byte(`{"x":1}`); return r }, verify.ErrMalformed, "not a JWK"},
		"no evidence":   {func(r *kbs.Request) *kbs.Request { r.TEEEvidence.Primary = nil; return r }, verify.ErrMalformed, "primary_evidence"},
		// ParseRequest takes primary_evidence as a JSON value: a request
		// handed over decoded must hold one too, not bytes a verifier
		// might read some other way.
		"evidence not JSON": {func(r *kbs.Request) *kbs.Request {
			r.TEEEvidence.Primary = append(append([]byte(nil), r.TEEEvidence.Primary...), "]"...)
			return r
		}, verify.ErrMalformed, "primary_evidence is not JSON"},
		"evidence with trailing value": {func(r *kbs.Request) *kbs.Request {
			r.TEEEvidence.Primary = append(append([]byte(nil), r.TEEEvidence.Primary...), " {}"...)
			return r
		}, verify.ErrMalformed, "primary_evidence is not JSON"},
		"init data format": {func(r *kbs.Request) *kbs.Request { r.InitData = &kbs.InitData{Format: "json"}; return r }, verify.ErrUnsupported, "init-data format"},
		"oversized": {func(r *kbs.Request) *kbs.Request {
			r.TEEEvidence.Additional = strings.Repeat(" ", kbs.MaxRequestSize)
			return r
		}, verify.ErrLimit, "limit"},
		"other nonce": {func(r *kbs.Request) *kbs.Request { r.RuntimeData.Nonce = "b3RoZXItbm9uY2U="; return r }, verify.ErrFreshness, "expected the session's"},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := kbs.ParseRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.AttestRequest(ctx, "tdx", nonce, c.edit(r), offlinetest.Now())
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, expected %v naming %q", err, c.kind, c.want)
			}
		})
	}
}

// additional_evidence holds at most MaxAdditionalDevices entries: one of
// two hundred thousand is refused before they are decoded into a map
// (which costs about ten times the text). The allocation is compared with
// that of one member of the same length, which the binding digest costs
// either way.
func TestAdditionalEvidenceMembersBoundedBeforeDecoding(t *testing.T) {
	f := newFixture(t, 0)
	svc := f.service(t)
	nonce := "bm9uY2Utbm9uY2Utbm9uY2UtMDAwMQ=="
	body := f.request(t, attester{nonce: nonce, key: teeKey(t)})
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 200000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"k%d":0`, i)
	}
	sb.WriteString("}")
	many := sb.String()
	one := `{"k":"` + strings.Repeat("a", len(many)-8) + `"}`
	allocated := func(additional string) (uint64, error) {
		req, err := kbs.ParseRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		req.TEEEvidence.Additional = additional
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err = svc.AttestRequest(context.Background(), "tdx", nonce, req, offlinetest.Now())
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, err
	}
	base, _ := allocated(one)
	got, err := allocated(many)
	if !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("%v, expected %v", err, verify.ErrLimit)
	}
	if budget := base + uint64(2*len(many)); got > budget {
		t.Fatalf("%d bytes allocated for %d members in %d bytes (%d for one member of that length), budget %d", got, 200000, len(many), base, budget)
	}
}
