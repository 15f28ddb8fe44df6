// Package azure verifies the evidence of an Azure confidential VM on AMD
// SEV-SNP (Trustee's "az-snp-vtpm", Verifier) or Intel TDX ("az-tdx-vtpm",
// TDXVerifier). On SEV-SNP the guest cannot ask the processor for
// a report itself; Azure's paravisor (the HCL, at VMPL 0) puts an SEV-SNP
// report into the vTPM, bound to a runtime-data JSON that carries the vTPM's
// attestation key (AK). The guest proves freshness with a vTPM quote over its
// PCRs signed by that AK.
//
// Verify checks, in order, that
//
//   - the HCL report is well formed and its runtime data hashes (with the
//     algorithm the report names) to the SEV-SNP report's REPORT_DATA, the
//     rest of which is zero (badinputs SNP-31);
//   - the SEV-SNP report verifies (package snp: VCEK carried in the evidence,
//     AMD roots, revocation, TCB) and was made at VMPL 0, by the paravisor;
//   - the quote is signed by the AK of the runtime data, carries the expected
//     report data as extraData and covers the PCR values given (package tpm;
//     a quote from another VM is refused, badinputs TPM-22);
//   - an Attestation-Agent event log, when the evidence carries one
//     ("aa_eventlog", base64, as Trustee derivatives send it beside a TPM
//     quote), replays into the quoted PCRs it extends (PCR 23 on Azure,
//     whose vTPM refuses the agent's extends of 17..22; package tpm's
//     AAEventLog), and its events become the claim "aael";
//   - in version 2 evidence, the runtime data's user-data is the expected
//     report data, zero padded; version 1 evidence (and version 0,
//     Trustee's legacy shape of byte arrays and a PEM VCEK) binds only the
//     quote to the session, so its SEV-SNP report may be from an earlier
//     boot of the same vTPM (the claim "hcl_report_session_bound" says
//     which, and the default policy does not affirm versions 0 and 1).
//
// The claims join the SEV-SNP claims (measurement of the paravisor, TCB,
// guest policy), the quoted PCRs (the guest's boot) and the VM configuration
// Azure states in the runtime data.
//
// # Azure TDX
//
// On TDX the paravisor (an L1 VMM in a TD) puts the TDREPORT into the vTPM
// and Azure's IMDS turns it into a TD quote; the guest has no
// /dev/tdx_guest. TDXVerifier checks, in order, that
//
//   - the HCL report is well formed, holds a TDREPORT (type 0x81, zero
//     padded) and its runtime data hashes to the TDREPORT's REPORTDATA, the
//     rest of which is zero;
//   - the TD quote repeats the TDREPORT field by field (TCB SVNs, MRSEAM,
//     attributes, XFAM, MRTD, MRCONFIGID, MROWNER*, RTMRs, REPORTDATA), a
//     check Trustee omits that ties the quote to this very report, and
//     verifies as in package tdx (given by WithTDX: Intel roots,
//     collateral, TCB) with the runtime data's digest as report data;
//   - the vTPM quote and, in version 2, the user-data, as for az-snp-vtpm.
//
// The TD quote's MRTD and RTMRs measure the paravisor, not the guest image:
// the guest's boot is in the PCRs. PCR 8 carries the init data
// (Expectations.InitDataDigest), never MRCONFIGID.
package azure
