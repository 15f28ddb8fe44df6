package gpu_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// Offline verification of a real H100 report: RIMs from a directory, OCSP
// answers recorded earlier for the RIM signer chains (the device chain's are
// not recorded for this time, which the checker is told to accept with a
// warning claim).
func Example() {
	rims, _ := rim.NewFSSource(os.DirFS("../testdata/gpu/v1"))
	provider, _ := gpu.NewRIMProvider(nil, rims, 0)
	answers, _ := ocsp.NewFSSource(os.DirFS("../testdata/gpu/ocsp/rim"))
	checker, _ := ocsp.NewChecker(answers, ocsp.WithMissingAnswersUnsafe())
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithRIMs(provider), gpu.WithOCSP(checker))
	if err != nil {
		fmt.Println(err)
		return
	}
	report, _ := os.ReadFile("../testdata/gpu/v1/hopperAttestationReport.txt")
	chain, _ := os.ReadFile("../testdata/gpu/v1/hopperCertChain.txt")
	raw := make([]byte, len(report)/2)
	fmt.Sscanf(string(report), "%x", &raw)
	nonce := make([]byte, 32)
	fmt.Sscanf("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", "%x", &nonce)

	claims, err := v.Verify(context.Background(), append(raw, chain...), verify.Expectations{
		ReportData: nonce,
		Now:        time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := claims.Map()
	fmt.Println(m["hwmodel"], m["x-nvidia-gpu-driver-version"], m["x-nvidia-gpu-vbios-version"], m["measres"])
	// Output: GH100 A01 GSP BROM 550.90.07 96.00.9F.00.01 success
}
