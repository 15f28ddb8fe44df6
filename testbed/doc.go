// Package testbed is a complete attestation world in memory, for testing a
// service that relies on attest without hardware, network or vendor
// services, at the real clock or at any time chosen.
//
// A Bed holds, all minted when it is made:
//
//   - an Intel TDX platform (tdx/tdxtest): a test Intel PKI, a Quoting
//     Enclave, and TCB info, QE identity and CRLs valid at the bed's time;
//   - any number of NVIDIA GPUs (gpu/gputest), each from its own device PKI
//     (root included) unless Options.SharedGPURoot is set (or
//     Options.SharedGPUCAs, under which every GPU shares the identity CA
//     and provisioner ICA too, as real boards of one product do), with OCSP
//     answers for every device and RIM certificate and signed driver and
//     VBIOS RIMs (gpu/rim/rimtest) whose golden values the GPUs report;
//   - any number of NVIDIA NVSwitches (LS10, Options.Switches), each from
//     its own device PKI, with OCSP answers and a signed switch BIOS RIM
//     (SwitchEvidence, SwitchVerifier);
//   - an AMD SEV-SNP chip (snp/snptest) with its VCEK and CRL;
//   - a TPM (tpm/tpmtest) with an attestation key and a measured boot log;
//   - reference values pinning everything the evidence measures, so that
//     the default policy affirms it.
//
// Sessions (NewSession) are KBS-style: a nonce and a fresh TEE key, bound
// into every piece of evidence as binding.Expect derives it. The bed's
// verifiers (TDXVerifier, GPUVerifier, SwitchVerifier, SNPVerifier, TPMVerifier, Registry,
// Appraiser) trust only the bed's test roots, so nothing a bed mints is
// accepted by a verifier configured for real hardware, and nothing real by
// a bed's verifiers.
//
// Every key is generated in memory: use a bed in tests and demonstrations
// only. Once made, a Bed mints evidence and builds verifiers concurrently;
// RevokeGPU and changes to its exported fields (which negative tests may
// make) must happen before that, not alongside it.
package testbed
