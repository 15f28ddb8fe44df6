// Command composite shows a composite CPU + GPU appraisal end to end: a TDX
// TD with n GPUs (minted by the test attesters, so it runs anywhere) binds
// one session's runtime data into every piece of evidence; the appraiser
// verifies all of them in parallel, appraises each against the reference
// values and combines them into one EAR, which is then signed.
//
//	go run ./examples/composite -gpus 8
//	go run ./examples/composite -gpus 8 -bad-gpu 3   # one GPU answers another session
package main

import (
	"context"
	"crypto"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear/token"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

func main() {
	gpus := flag.Int("gpus", 8, "number of GPUs")
	bad := flag.Int("bad-gpu", -1, "index of a GPU that answers another session's nonce")
	flag.Parse()
	if err := run(*gpus, *bad); err != nil {
		fmt.Fprintln(os.Stderr, "composite:", err)
		os.Exit(1)
	}
}

func run(gpus, bad int) error {
	bed, err := offlinetest.New(gpus)
	if err != nil {
		return err
	}
	// The session: what a KBS would have sent and received.
	empty := ""
	rd := binding.RuntimeData{Nonce: "ZXhhbXBsZS1ub25jZQ==", TEEPubKey: json.RawMessage(`{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}`), AdditionalEvidence: &empty}
	cpuExp, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		return err
	}
	gpuExp, err := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	if err != nil {
		return err
	}
	cpuExp.Now, gpuExp.Now = offlinetest.Now, offlinetest.Now

	quote := bed.Quote(cpuExp.ReportData, nil)
	gpuEvidence, err := bed.GPUEvidence(gpuExp.ReportData, func(i int, r *gputest.Report) {
		if i == bad {
			r.Nonce[0] ^= 0xff
		}
	})
	if err != nil {
		return err
	}

	reg, err := bed.Registry()
	if err != nil {
		return err
	}
	rv, err := bed.ReferenceValues()
	if err != nil {
		return err
	}
	p, err := policy.New(rv)
	if err != nil {
		return err
	}
	a, err := verify.NewAppraiser(reg, p, verify.WithRequired(verify.FormatGPU, gpus), verify.WithAnnotatedEvidence(false))
	if err != nil {
		return err
	}
	out, err := a.AppraiseOutcome(context.Background(), []verify.Component{
		{Format: verify.FormatTDX, Evidence: quote, Expect: cpuExp},
		{Format: verify.FormatGPU, Evidence: gpuEvidence, Expect: gpuExp},
	})
	if err != nil {
		return err
	}
	for _, s := range out.Submods {
		line := fmt.Sprintf("%-6s %-16s %s", s.Name, s.Appraisal.Status, s.Appraisal.TrustVector.Status())
		if s.Err != nil {
			line += "  " + s.Err.Error()
		}
		fmt.Println(line)
	}
	fmt.Println("overall:", out.Status())

	priv, _, err := token.GenerateKey(token.ES256, "example")
	if err != nil {
		return err
	}
	signer, err := token.NewSignerFromJWK(priv)
	if err != nil {
		return err
	}
	tok, err := signer.SignJWT(out.Result)
	if err != nil {
		return err
	}
	fmt.Printf("EAR: %d bytes, %d submodules\n", len(tok), len(out.Result.Submods))
	return nil
}
