package policy

import (
	"fmt"
	"strings"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// nitroRequiredPCRs are the AWS Nitro Enclaves PCRs that must be pinned to
// affirm the boot: 0 the enclave image file, 1 the kernel and bootstrap,
// 2 the application.
var nitroRequiredPCRs = []int{0, 1, 2}

// nitroOptionalPCRs are compared only when pinned: 3 the parent's IAM role,
// 4 the parent instance's ID, 8 the certificate that signed the image.
var nitroOptionalPCRs = []int{3, 4, 8}

// nitro: executables from PCR0–2 pinned as nitro_pcr0..nitro_pcr2 (and
// PCR3, 4, 8 when pinned as nitro_pcrN); configuration from debug mode
// (PCR0–3 all zero), which is refused, and otherwise vouched for only by the
// executables' pins (the configuration lives in the measured image); hardware from the verified NSM
// signature chain. Nitro enclaves are isolated by the hypervisor, not
// memory-encrypted, so no runtime-opaque claim is made.
func (e *eval) nitro() {
	debugOff := e.flagOff("nitro.debug", "not a debug-mode enclave (PCR0–3 not all zero)", "debug-mode enclave (PCR0–3 all zero)", []string{"debug"},
		ear.Configuration, ear.UnsupportableConfig)
	// An all-zero PCR0 measures no image, whatever the debug claim says.
	_, pcr0, present := e.claim("pcr00")
	zero0 := verify.Check{ID: "nitro.pcr0_set", Title: "PCR0 measures an enclave image (not all zero)", Claim: "pcr00",
		Actual: pcr0, Expected: "not all zero", Category: ear.Executables}
	switch {
	case !present || strings.Trim(pcr0, "0") == "":
		zero0.Value, zero0.Reason = ear.ContraindicatedRuntime, "PCR0 is absent or all zero: no enclave image was measured (debug mode)"
	default:
		zero0.OK = true
	}
	e.add(zero0)

	allOK := zero0.OK
	for _, i := range nitroRequiredPCRs {
		ok := e.pin(fmt.Sprintf("nitro.pcr%d", i), nitroPCRTitle(i), fmt.Sprintf("nitro_pcr%d", i), []string{fmt.Sprintf("pcr%02d", i)},
			ear.Executables, ear.NoClaim, ear.UnrecognizedRuntime, ear.ContraindicatedRuntime)
		allOK = allOK && ok
	}
	optional := 0
	for _, i := range nitroOptionalPCRs {
		checked, ok := e.optionalPin(fmt.Sprintf("nitro.pcr%d", i), nitroPCRTitle(i), fmt.Sprintf("nitro_pcr%d", i), []string{fmt.Sprintf("pcr%02d", i)},
			ear.Executables, ear.ContraindicatedRuntime)
		if checked {
			optional++
		}
		allOK = allOK && ok
	}
	if allOK && debugOff {
		e.add(verify.Check{ID: "nitro.executables", Title: "approved enclave image", Category: ear.Executables, OK: true,
			Value: ear.ApprovedBoot, Reason: fmt.Sprintf("PCR0–2 and %d more pinned PCRs match", optional)})
	}

	// The verifier returns claims only for a document whose certificate
	// chains to its pinned root, and names the signing certificate.
	k, signer, ok := e.claim("signer")
	hw := verify.Check{ID: "nitro.hardware", Title: "document signed by a Nitro Security Module certificate chained to the pinned root",
		Claim: k, Actual: signer, Category: ear.Hardware}
	if ok && signer != "" {
		hw.OK, hw.Value = true, ear.GenuineHardware
	} else {
		hw.Value, hw.Reason = ear.UnrecognizedHardware, "no signing certificate named by the verifier"
	}
	e.add(hw)

	// The document states no configuration of its own: the enclave's boot
	// configuration (kernel command line, init, the application's
	// environment) is inside the image PCR0–2 measure, and production mode
	// is what makes those PCRs non-zero. So only matching PCR0–2 pins vouch
	// for it; a non-debug enclave whose image no reference value names runs
	// a configuration nobody approved.
	conf := verify.Check{ID: "nitro.configuration", Title: "configuration without known vulnerabilities", Category: ear.Configuration,
		Expected: "not a debug-mode enclave, PCR0–2 pinned and matching"}
	switch {
	case !debugOff:
		// nitro.debug set configuration 96.
	case allOK:
		conf.OK, conf.Value = true, ear.NoConfigVulns
		conf.Reason = "not a debug-mode enclave, and the image that holds its configuration (PCR0–2) matches the reference values"
		e.add(conf)
	default:
		conf.Reason = "not a debug-mode enclave, but no reference value vouches for its configuration: PCR0–2 are not all pinned and matching"
		e.add(conf)
	}
	e.add(verify.Check{ID: "nitro.memory", Title: "enclave memory", Category: ear.RuntimeOpaque, OK: true,
		Reason: "isolated by the Nitro hypervisor, not encrypted: no runtime-opaque claim"})
}

func nitroPCRTitle(i int) string {
	switch i {
	case 0:
		return "PCR0: enclave image file"
	case 1:
		return "PCR1: kernel and bootstrap"
	case 2:
		return "PCR2: application"
	case 3:
		return "PCR3: parent instance's IAM role"
	case 4:
		return "PCR4: parent instance ID"
	case 8:
		return "PCR8: enclave image signing certificate"
	}
	return fmt.Sprintf("PCR%d", i)
}
