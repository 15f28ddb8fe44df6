package kbs_test

import (
	"context"
	"testing"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/verify"
)

// FuzzAttest drives whole requests, seeded with a valid body from the test
// attesters: no panic, every error has a kind, and every token verifies and
// is affirming only when its evidence is.
func FuzzAttest(f *testing.F) {
	fx := newFixture(f, 1)
	svc := fx.service(f)
	key := teeKey(f)
	good, err := fx.bed.KBSRequest("ZnV6eg==", key, offlinetest.KBSEdits{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"runtime-data":{"nonce":"ZnV6eg==","tee-pubkey":{"kty":"EC"}},"tee-evidence":{"primary_evidence":{"quote":"AAAA"},"additional_evidence":"{\"nvidia\":{\"device_evidence_list\":[]}}"}}`))
	tv, err := token.NewVerifier(fx.signer.KeySet())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		att, err := svc.Attest(context.Background(), "tdx", "ZnV6eg==", body, offlinetest.Now())
		if err != nil {
			if att != nil || verify.KindOf(err) == nil {
				t.Fatalf("%v %v", att, err)
			}
			return
		}
		res, err := tv.Verify(context.Background(), att.Token, token.Expectations{Now: offlinetest.Now()})
		if err != nil {
			t.Fatalf("issued token does not verify: %v", err)
		}
		for _, s := range att.Outcome.Submods {
			if s.Err != nil && res.Submods[s.Name].Status != ear.StatusContraindicated {
				t.Fatalf("%s failed (%v) but is %s", s.Name, s.Err, res.Submods[s.Name].Status)
			}
		}
	})
}
