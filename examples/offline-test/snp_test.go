package offlinetest

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// An SNP guest with two GPUs, bound to one session: the SNP report data is
// D ‖ 0¹⁶, the GPU nonces D'[0:32]; debug-allowed guest policy is
// contraindicated.
func TestCompositeSNPAndGPUs(t *testing.T) {
	b, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := snptest.NewPKI(snp.Genoa)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := pki.CRL(b.Now.Add(-time.Hour), b.Now.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	kds := snptest.NewKDS(pki)
	defer kds.Close()
	kds.SetCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	src, err := snp.NewHTTPSource(kds.URL(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := snp.NewVerifier(snp.WithTrustedRoots(pki.Roots()), snp.WithKDS(src))
	if err != nil {
		t.Fatal(err)
	}
	gv, err := b.GPUVerifier()
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := verify.NewRegistry(sv, gv)

	empty := ""
	rd := binding.RuntimeData{Nonce: "c25wLW5vbmNl", TEEPubKey: json.RawMessage(`{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}`), AdditionalEvidence: &empty}
	cpu, _ := binding.Expect(verify.FormatSNP, rd, crypto.SHA384)
	gpu, _ := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	cpu.Now, gpu.Now = b.Now, b.Now
	measurement := [48]byte{1, 2, 3}
	tcb := snp.TCB{Bootloader: 3, TEE: 0, SNP: 8, Microcode: 115}
	mint := func(policyBits uint64) []byte {
		r := snptest.Report{Policy: policyBits, Measurement: measurement, ReportedTCB: &tcb, CurrentTCB: &tcb}
		copy(r.ReportData[:], cpu.ReportData)
		rep, err := pki.Sign(r)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	gpus, err := b.GPUEvidence(gpu.ReportData, nil)
	if err != nil {
		t.Fatal(err)
	}
	rv, _ := policy.FromEntries(
		policy.Entry{Name: "snp_launch_measurement", Value: hex.EncodeToString(measurement[:])},
		policy.Entry{Name: "snp_min_tcb_bootloader", Value: 0}, policy.Entry{Name: "snp_min_tcb_tee", Value: 0},
		policy.Entry{Name: "snp_min_tcb_snp", Value: 8}, policy.Entry{Name: "snp_min_tcb_microcode", Value: 115},
		policy.Entry{Name: "allowed_driver_versions", Value: DriverVersion},
	)
	p, _ := policy.New(rv)
	a, _ := verify.NewAppraiser(reg, p)
	appraise := func(report []byte) *verify.Outcome {
		o, err := a.AppraiseOutcome(context.Background(), []verify.Component{
			{Evidence: report, Expect: cpu},
			{Evidence: gpus, Expect: gpu},
		})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	o := appraise(mint(snp.PolicyReservedMustBe1))
	if o.Status() != ear.StatusAffirming {
		dump(t, o)
		t.Fatalf("status %s", o.Status())
	}
	if o.Submods[0].Name != "cpu0" || o.Submods[0].Format != verify.FormatSNP {
		t.Fatalf("%s %s", o.Submods[0].Name, o.Submods[0].Format)
	}
	o = appraise(mint(snp.PolicyReservedMustBe1 | snp.PolicyDebug))
	if c := sub(t, o, "cpu0"); c.Appraisal.TrustVector[ear.Configuration] != ear.UnsupportableConfig || o.Status() != ear.StatusContraindicated {
		t.Fatalf("debug-allowed guest: %v %s", c.Appraisal.TrustVector, o.Status())
	}
}
