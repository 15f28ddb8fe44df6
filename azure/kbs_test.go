package azure_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/trustfactory/attest/azure/aztest"
	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// A Trustee KBS request from an Azure SEV-SNP VM (TEE "az-snp-vtpm"): the
// quote's extraData is the runtime data's SHA-384 digest; with the
// paravisor's measurement, its TCB and the guest's PCRs pinned the token is
// affirming and carries the TEE key where a KBS looks for it; another
// session's nonce releases nothing.
func TestKBSRequest(t *testing.T) {
	vm, av := minted(t)
	reg, err := verify.NewRegistry(av)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pt, err := k.PublicKey.Bytes() // 0x04 ‖ x ‖ y
	if err != nil {
		t.Fatal(err)
	}
	x, y := pt[1:33], pt[33:]
	teeKey, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256",
		"x": b64(x), "y": b64(y)})
	nonce := "c2Vzc2lvbi1ub25jZQ=="
	// bodyWith is a request for sessionNonce whose evidence was made for
	// evNonce, with init data initData (TOML, or "" for none) and PCR 8 as
	// the VM measured evInitData.
	bodyWith := func(sessionNonce, evNonce, initData, evInitData string) []byte {
		doc, _ := json.Marshal(map[string]any{"nonce": evNonce, "tee-pubkey": json.RawMessage(teeKey), "additional-evidence": ""})
		d, err := binding.Digest(doc, crypto.SHA384)
		if err != nil {
			t.Fatal(err)
		}
		spec := aztest.Spec{ReportData: d}
		if evInitData != "" {
			id, err := binding.ParseInitData([]byte(evInitData))
			if err != nil {
				t.Fatal(err)
			}
			if spec.PCRs[8], err = binding.InitDataField(verify.FormatAzureSNP, id.Digest()); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := vm.Evidence(spec)
		if err != nil {
			t.Fatal(err)
		}
		req := map[string]any{
			"runtime-data": map[string]any{"nonce": sessionNonce, "tee-pubkey": json.RawMessage(teeKey)},
			"tee-evidence": map[string]any{"primary_evidence": json.RawMessage(ev), "additional_evidence": ""},
		}
		if initData != "" {
			req["init-data"] = map[string]any{"format": "toml", "body": initData}
		}
		b, _ := json.Marshal(req)
		return b
	}
	body := func(sessionNonce, evNonce string) []byte { return bodyWith(sessionNonce, evNonce, "", "") }
	var pcrs []policy.Entry
	for i := 0; i < 24; i++ {
		if i == 8 {
			continue // init data's PCR, bound by the request instead
		}
		v := make([]byte, 32)
		for j := range v {
			v[j] = byte(i)
		}
		pcrs = append(pcrs, policy.Entry{Name: "tpm_pcr" + twoDigits(i), Value: hex.EncodeToString(v)})
	}
	rv, err := policy.FromEntries(append(pcrs,
		policy.Entry{Name: "snp_launch_measurement", Value: hex.EncodeToString(make([]byte, 48))},
		policy.Entry{Name: "snp_min_tcb_bootloader", Value: 3}, policy.Entry{Name: "snp_min_tcb_tee", Value: 0}, policy.Entry{Name: "snp_min_tcb_snp", Value: 8},
		policy.Entry{Name: "snp_min_tcb_microcode", Value: 115})...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.New(rv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kbs.NewAppraiser(reg, p)
	if err != nil {
		t.Fatal(err)
	}
	signKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := token.NewSigner(signKey)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kbs.NewService(a, signer)
	if err != nil {
		t.Fatal(err)
	}
	att, err := svc.Attest(context.Background(), "az-snp-vtpm", nonce, body(nonce, nonce), mintedTime)
	if err != nil {
		t.Fatal(err)
	}
	if err := kbs.Decide(att.Outcome.Result); err != nil {
		t.Fatalf("%v (verification: %v, policy: %+v)", err, att.Outcome.Submods[0].Err, att.Outcome.Submods[0].Policy)
	}
	got, err := kbs.TEEPubKey(att.Outcome.Result)
	if err != nil || !jsonEqual(got, teeKey) {
		t.Fatalf("TEE key %s: %v", got, err)
	}
	if att.Outcome.Result.Profile != ear.ProfileTrustee {
		t.Fatalf("profile %s", att.Outcome.Result.Profile)
	}
	// Evidence made for another session, replayed into this one.
	att, err = svc.Attest(context.Background(), "az-snp-vtpm", nonce, body(nonce, "b3RoZXI="), mintedTime)
	if err != nil {
		t.Fatal(err)
	}
	if kbs.Decide(att.Outcome.Result) == nil {
		t.Fatal("released to evidence of another session")
	}
	// Init data: PCR 8 must hold the TOML's digest extended into a zero PCR.
	toml := "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"policy.rego\" = \"package policy\"\n"
	other := strings.Replace(toml, "package policy", "package other", 1)
	att, err = svc.Attest(context.Background(), "az-snp-vtpm", nonce, bodyWith(nonce, nonce, toml, toml), mintedTime)
	if err != nil {
		t.Fatal(err)
	}
	if err := kbs.Decide(att.Outcome.Result); err != nil {
		t.Fatalf("init data: %v (verification: %v)", err, att.Outcome.Submods[0].Err)
	}
	att, err = svc.Attest(context.Background(), "az-snp-vtpm", nonce, bodyWith(nonce, nonce, toml, other), mintedTime)
	if err != nil {
		t.Fatal(err)
	}
	if kbs.Decide(att.Outcome.Result) == nil || !errors.Is(att.Outcome.Submods[0].Err, verify.ErrBinding) {
		t.Fatalf("released with other init data: %v", att.Outcome.Submods[0].Err)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func twoDigits(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
