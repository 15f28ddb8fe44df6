package offlinetest

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// A TPM quote bound to KBS runtime data (extraData = D[0:32]) through the
// composite appraiser and the default TPM rules.
func TestCompositeTPM(t *testing.T) {
	ak, err := tpmtest.NewRSAAK(2048)
	if err != nil {
		t.Fatal(err)
	}
	rd := binding.RuntimeData{Nonce: "dHBtLW5vbmNl", TEEPubKey: json.RawMessage(`{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}`)}
	exp, err := binding.Expect(verify.FormatTPM, rd, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	exp.Now = Now()
	log := tpmtest.StandardBoot()
	pcrs := log.PCRs(crypto.SHA256)
	q, err := ak.Quote(crypto.SHA256, pcrs, exp.ReportData)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tpmtest.MarshalProto(&tpm.Evidence{AKPublicArea: ak.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: log.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := tpm.NewVerifier(tpm.WithTrustedAKs(ak.Public()))
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := verify.NewRegistry(v)
	appraise := func(rv *policy.ReferenceValues, e verify.Expectations) *verify.Outcome {
		p, _ := policy.New(rv)
		a, _ := verify.NewAppraiser(reg, p)
		o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Evidence: ev, Expect: e}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	// pin pins the boot PCRs approved boot needs (0, 4, and GRUB's 8 and 9),
	// PCR 4 to v.
	pin := func(v string) *policy.ReferenceValues {
		rv, _ := policy.FromEntries(policy.Entry{Name: "tpm_pcr04", Value: v},
			policy.Entry{Name: "tpm_pcr00", Value: hex.EncodeToString(pcrs[0])},
			policy.Entry{Name: "tpm_pcr08", Value: hex.EncodeToString(pcrs[8])},
			policy.Entry{Name: "tpm_pcr09", Value: hex.EncodeToString(pcrs[9])})
		return rv
	}
	o := appraise(pin(hex.EncodeToString(pcrs[4])), exp)
	if o.Status() != ear.StatusAffirming || o.Submods[0].Name != "cpu0" || o.Submods[0].Format != verify.FormatTPM {
		dump(t, o)
		t.Fatalf("status %s", o.Status())
	}
	// Unpinned: executables unrecognized; a different boot: contraindicated.
	if o := appraise(nil, exp); o.Status() != ear.StatusWarning {
		t.Fatalf("no reference values: %s", o.Status())
	}
	if o := appraise(pin(hex.EncodeToString(make([]byte, 32))), exp); o.Status() != ear.StatusContraindicated {
		t.Fatalf("other PCR 4: %s", o.Status())
	}
	// Another session's runtime data.
	other, _ := binding.Expect(verify.FormatTPM, binding.RuntimeData{Nonce: "b3RoZXI=", TEEPubKey: rd.TEEPubKey}, crypto.SHA384)
	other.Now = Now()
	if o := appraise(pin(hex.EncodeToString(pcrs[4])), other); o.Status() != ear.StatusContraindicated || o.Submods[0].Err == nil {
		t.Fatalf("relayed quote: %s", o.Status())
	}
}
