package kbs_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/trustfactory/attest/ear"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/verify"
)

const initTOML = `version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs]
'''
`

// Init data: its digest must sit in MRCONFIGID; the token carries its claims.
func TestTrusteeRequestInitData(t *testing.T) {
	f := newFixture(t, 1)
	svc := f.service(t)
	key := teeKey(t)
	body, err := f.bed.KBSRequest("aW5pdA==", key, offlinetest.KBSEdits{InitData: initTOML})
	if err != nil {
		t.Fatal(err)
	}
	att, err := svc.Attest(context.Background(), "tdx", "aW5pdA==", body, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	if att.Outcome.Status() != ear.StatusAffirming {
		t.Fatalf("status %s: %v", att.Outcome.Status(), att.Outcome.Submods[0].Err)
	}
	m := claimsOf(t, att.Token)
	if v, _ := pointer(m, "/submods/cpu0/ear.veraison.annotated-evidence/tdx/init_data_checked"); v != true {
		t.Fatalf("init data not checked: %v", v)
	}
	if v, ok := pointer(m, "/submods/cpu0/ear.veraison.annotated-evidence/init_data_claims/aa.toml"); !ok || v == "" {
		t.Fatalf("init_data_claims: %v", v)
	}
	// The TD was launched with other init data than the request names.
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	req["init-data"].(map[string]any)["body"] = strings.Replace(initTOML, "sha384", "sha512", 1)
	b, _ := json.Marshal(req)
	att, err = svc.Attest(context.Background(), "tdx", "aW5pdA==", b, offlinetest.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cpu := att.Outcome.Submods[0]; !errors.Is(cpu.Err, verify.ErrBinding) || att.Outcome.Status() != ear.StatusContraindicated {
		t.Fatalf("init data mismatch: %v %s", cpu.Err, att.Outcome.Status())
	}
	// Malformed init data is refused outright.
	req["init-data"].(map[string]any)["body"] = "version = "
	b, _ = json.Marshal(req)
	if _, err := svc.Attest(context.Background(), "tdx", "aW5pdA==", b, offlinetest.Now()); !errors.Is(err, verify.ErrMalformed) {
		t.Fatal(err)
	}
}
