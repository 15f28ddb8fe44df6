// Command composite shows a composite CPU + GPU appraisal end to end: a TDX
// TD with n GPUs (minted by the test attesters, so it runs anywhere) binds
// one session's runtime data into every piece of evidence; an appraiser
// built by package setup from a collateral bundle and reference values
// binds every component to the session, verifies all of them in parallel,
// appraises each against the reference values and combines them into one
// EAR, which is then signed.
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
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/verify"
)

func main() {
	gpus := flag.Int("gpus", 8, "number of GPUs")
	bad := flag.Int("bad-gpu", -1, "index of a GPU that answers another session's nonce")
	flag.Parse()
	out, tok, err := run(*gpus, *bad)
	if err != nil {
		fmt.Fprintln(os.Stderr, "composite:", err)
		os.Exit(1)
	}
	for _, s := range out.Submods {
		line := fmt.Sprintf("%-6s %-16s %s", s.Name, s.Appraisal.Status, s.Appraisal.TrustVector.Status())
		if s.Err != nil {
			line += "  " + s.Err.Error()
		}
		fmt.Println(line)
	}
	fmt.Println("overall:", out.Status())
	fmt.Printf("EAR: %d bytes, %d submodules\n", len(tok), len(out.Result.Submods))
}

// run mints a TD with gpus GPUs (GPU bad, if any, answering another
// session), appraises its evidence as the verifier of a KBS would and signs
// the result.
func run(gpus, bad int) (*verify.Outcome, []byte, error) {
	bed, err := offlinetest.New(gpus)
	if err != nil {
		return nil, nil, err
	}

	// The verifier's side, built once: a collateral bundle as an operator
	// ships it (here written by the bed, with the bed's test roots, which a
	// real bundle never carries) and the reference values.
	dir, err := os.MkdirTemp("", "composite-bundle-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	if err := bed.WriteCollateral(dir); err != nil {
		return nil, nil, err
	}
	bundle, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer bundle.Close()
	roots, err := setup.ReadTestRoots(bundle.FS())
	if err != nil {
		return nil, nil, err
	}
	rv, err := bed.ReferenceValues()
	if err != nil {
		return nil, nil, err
	}
	appraiser, err := setup.NewAppraiser(setup.Config{
		Bundle:          bundle.FS(),
		Roots:           roots,
		ReferenceValues: rv,
		AppraiserOptions: []verify.AppraiserOption{
			verify.WithRequired(verify.FormatGPU, gpus),
			verify.WithAnnotatedEvidence(false),
		},
	})
	if err != nil {
		return nil, nil, err
	}

	// The attester's side: the session's runtime data, as a KBS client sends
	// it, bound into the quote and into every GPU's SPDM nonce.
	empty := ""
	rd := binding.RuntimeData{Nonce: "ZXhhbXBsZS1ub25jZQ==", TEEPubKey: json.RawMessage(`{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}`), AdditionalEvidence: &empty}
	cpuExp, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		return nil, nil, err
	}
	gpuExp, err := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	if err != nil {
		return nil, nil, err
	}
	quote := bed.Quote(cpuExp.ReportData, nil)
	gpuEvidence, err := bed.GPUEvidence(gpuExp.ReportData, func(i int, r *gputest.Report) {
		if i == bad {
			r.Nonce[0] ^= 0xff
		}
	})
	if err != nil {
		return nil, nil, err
	}

	// The verifier's side, per request: the evidence answers the session of
	// rd; the verification time is the bed's.
	at := verify.Expectations{Now: offlinetest.Now()}
	out, err := appraiser.AppraiseRuntimeData(context.Background(), rd,
		verify.Component{Format: verify.FormatTDX, Evidence: quote, Expect: at},
		verify.Component{Format: verify.FormatGPU, Evidence: gpuEvidence, Expect: at},
	)
	if err != nil {
		return nil, nil, err
	}

	priv, _, err := token.GenerateKey(token.ES256, "example")
	if err != nil {
		return nil, nil, err
	}
	signer, err := token.NewSignerFromJWK(priv)
	if err != nil {
		return nil, nil, err
	}
	tok, err := signer.SignJWT(out.Result)
	if err != nil {
		return nil, nil, err
	}
	return out, tok, nil
}
