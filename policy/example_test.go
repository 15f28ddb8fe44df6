package policy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// Pin a GPU driver version and appraise a GPU's verified claims.
func ExamplePolicy_Appraise() {
	rv, err := policy.ParseReferenceValues([]byte(`
version: "1"
reference_values:
  - name: allowed_driver_versions
    value: ["550.90.07"]
    expiration: 2027-01-01T00:00:00Z
`))
	if err != nil {
		panic(err)
	}
	p, _ := policy.New(rv)
	res, err := p.Appraise(context.Background(), verify.PolicyInput{
		Submod: "gpu0",
		Format: verify.FormatGPU,
		Claims: map[string]any{
			"measres":                     "success",
			"x-nvidia-gpu-driver-version": "550.90.07",
			"x-nvidia-gpu-vbios-version":  "96.00.9F.00.01",
			"x-nvidia-gpu-attestation-report-cert-chain-fwid-match": true,
			"x-nvidia-gpu-attestation-report-cert-chain":            map[string]any{"x-nvidia-cert-ocsp-status": "good"},
			"x-nvidia-gpu-driver-rim-signature-verified":            true,
			"x-nvidia-gpu-driver-rim-version-match":                 true,
			"x-nvidia-gpu-driver-rim-cert-chain":                    map[string]any{"x-nvidia-cert-ocsp-status": "good"},
			"x-nvidia-gpu-vbios-rim-signature-verified":             true,
			"x-nvidia-gpu-vbios-rim-version-match":                  true,
			"x-nvidia-gpu-vbios-rim-cert-chain":                     map[string]any{"x-nvidia-cert-ocsp-status": "good"},
		},
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status())
	for _, c := range res.Checks {
		if c.ID == "gpu.measurements" || c.ID == "gpu.driver_version" {
			fmt.Println(c.ID, c.OK, c.Category, c.Value, c.Expected)
		}
	}
	// Output:
	// affirming
	// gpu.measurements true executables 2 success
	// gpu.driver_version true configuration 0 550.90.07
}
