package binding_test

import (
	"crypto"
	"fmt"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/verify"
)

// A KBS binds the session nonce and the TEE key into the CPU evidence's report
// data and the device evidence's SPDM nonce.
func ExampleExpect() {
	additional := ""
	rd := binding.RuntimeData{
		Nonce:              "c2Vzc2lvbi1ub25jZQ==",
		TEEPubKey:          []byte(`{"kty":"EC","crv":"P-256","alg":"ES256","x":"…","y":"…"}`),
		AdditionalEvidence: &additional,
	}
	cpu, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		panic(err)
	}
	gpu, _ := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	fmt.Println(len(cpu.ReportData), len(gpu.ReportData))
	// Output: 64 32
}
