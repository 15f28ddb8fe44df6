//go:build cgo

package tpm_test

import (
	"context"
	"crypto"
	"testing"

	"github.com/google/go-tpm-tools/client"
	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/legacy/tpm2"
	"github.com/google/go-tpm/tpmutil"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// TestSimulatorQuote has the Microsoft reference TPM (go-tpm-tools
// simulator, cgo) extend a test event log and quote it with RSA and ECC AKs
// through go-tpm-tools client.Attest; our verifier must accept the genuine
// TPM output and reject it with another nonce.
func TestSimulatorQuote(t *testing.T) {
	sim, err := simulator.Get()
	if err != nil {
		t.Skipf("TPM simulator unavailable: %v", err)
	}
	defer sim.Close()
	log := tpmtest.StandardBoot(crypto.SHA256)
	for _, ev := range log.Events {
		if err := tpm2.PCRExtend(sim, tpmutil.Handle(ev.PCR), tpm2.AlgSHA256, ev.Digests[crypto.SHA256], ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		key  func() (*client.Key, error)
	}{
		{"RSA AK", func() (*client.Key, error) { return client.AttestationKeyRSA(sim) }},
		{"ECC AK", func() (*client.Key, error) { return client.AttestationKeyECC(sim) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ak, err := tc.key()
			if err != nil {
				t.Fatal(err)
			}
			defer ak.Close()
			att, err := ak.Attest(client.AttestOpts{Nonce: testNonce, TCGEventLog: log.Bytes()})
			if err != nil {
				t.Fatal(err)
			}
			var ev tpm.Evidence
			ev.AKPublicArea = att.GetAkPub()
			ev.EventLog = att.GetEventLog()
			for _, q := range att.GetQuotes() {
				pcrs := map[int][]byte{}
				for i, v := range q.GetPcrs().GetPcrs() {
					pcrs[int(i)] = v
				}
				bank := map[uint32]crypto.Hash{4: crypto.SHA1, 11: crypto.SHA256, 12: crypto.SHA384, 13: crypto.SHA512}[uint32(q.GetPcrs().GetHash())]
				ev.Quotes = append(ev.Quotes, tpm.Quote{Attest: q.GetQuote(), Signature: q.GetRawSig(), Bank: bank, PCRs: pcrs})
			}
			v, err := tpm.NewVerifier(tpm.WithTrustedAKs(ak.PublicKey()), tpm.WithHashAlgs(crypto.SHA256), tpm.WithRequireEventLog())
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.VerifyEvidence(context.Background(), &ev, expect(testNonce))
			if err != nil {
				t.Fatal(err)
			}
			if !c.AK.AttributesChecked || c.Log == nil || c.Log.SecureBoot == nil || !c.Log.SecureBoot.Enabled || len(c.PCRs) != 24 {
				t.Fatalf("claims %+v", c)
			}
			c, err = v.VerifyEvidence(context.Background(), &ev, expect([]byte("another nonce")))
			mustFail(t, c, err, verify.ErrFreshness)
		})
	}
}
