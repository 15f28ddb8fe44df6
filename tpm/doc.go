// Package tpm verifies TPM 2.0 quotes: the attestation key (pinned, or
// certified by a chain to configured roots), the quote's signature (RSASSA,
// RSAPSS, ECDSA), its TPM_GENERATED magic and quote type, its extraData
// against the expected report data, the PCR selection and digest, and the
// TCG PC Client crypto-agile event log replayed against the quoted PCRs.
//
// Evidence arrives as a go-tpm-tools attest.Attestation protobuf, as
// Trustee's TPM JSON, or as raw parts (Evidence). Claims come only from bytes
// a verified signature covers: PCR values the quote selected, and event-log
// facts whose digests replayed into those PCRs. Event types are not measured;
// the verifier trusts them only where the PC Client profile leaves no room for
// a retyped event (PCRs 4 and 7 admit a fixed set of types) and takes event
// data only where the data must hash to the measured digest.
//
// extraData is compared with Expectations.ReportData by
// verify.Expectations.CheckReportData: an expected value shorter than
// extraData must be followed by zeros there. Trustee's TPM attester puts the
// first 32 bytes of its 48-byte runtime-data digest into extraData, so pass
// those 32 bytes as ReportData. With Expectations.InitDataDigest set, PCR 8
// must equal it: for Trustee's init-data binding that is the init-data
// digest extended once into a zero PCR, which binding.InitDataField computes.
//
// An Attestation-Agent event log (Evidence.AAEventLog; "aa_eventlog", base64,
// beside Trustee's TPM JSON) holds the agent's runtime events, EV_EVENT_TAG
// events tagged "AAEL" on the PCR the agent extends (17 by default, 23 on
// Azure, whose vTPM refuses locality-0 extends of PCRs 17 to 22). Each event's
// digest must be the digest of its tagged data, and each PCR it names must
// replay from its reset value (all ones for PCRs 17 to 22) to the quoted
// value (ErrBinding otherwise). Its events are Claims.AAEL and the claim
// "aael", {"<domain>/<operation>": [content, …]}.
//
// Judging the claims (which PCR values, whether Secure Boot is required) is a
// policy's job; the verifier exposes everything such a policy needs.
package tpm
