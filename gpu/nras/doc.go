// Package nras verifies NVIDIA Remote Attestation Service (NRAS) results: the
// remote path for NVIDIA GPUs and NVSwitches, where NVIDIA verifies the SPDM
// evidence and returns a detached EAT
//
//	[["JWT", <overall JWS>], {"GPU-0": <device JWS>, …}]
//
// (switches: "SWITCH-0", …). A Verifier checks, for the overall token and
// every device token:
//
//   - the JWS signature: ES384 only (raw r‖s), with the key named by the
//     header kid in NVIDIA's JWKS. The JWKS is given offline (WithJWKS, as
//     captured when the tokens were issued) or fetched from the NRAS base URL
//     through the collateral layer (WithFetcher, WithStore), re-fetched at
//     most once a minute for an unknown kid. alg none and HMAC are signature
//     failures; other algorithms are unsupported; keys in the token header
//     (jwk, jku, x5c, x5u) are never read;
//   - iss equal to the configured base URL, exp after the verification time,
//     nbf and iat not after it (plus a small skew, WithClockSkew);
//   - for the overall token: sub "NVIDIA-PLATFORM-ATTESTATION", x-nvidia-ver
//     among the accepted claims versions (2.0, 3.0, 4.0),
//     x-nvidia-overall-att-result true (else ErrPolicy), and submods listing
//     exactly the device tokens present, each with the SHA-256 of that
//     token's compact serialization (else ErrBinding);
//   - eat_nonce equal in every token (ErrBinding) and equal to
//     Expectations.ReportData, the 32-byte nonce sent to NRAS (ErrFreshness),
//     as for local GPU evidence. An empty ReportData is ErrConfig unless
//     AllowMissingReportDataUnsafe, which the claims record.
//
// Each device token becomes one device's claims, under the names the local
// gpu verifier emits (measres, x-nvidia-gpu-driver-version,
// x-nvidia-gpu-vbios-version, …-attestation-report-cert-chain with its OCSP
// status, …-cert-chain-fwid-match, the RIM flags and cert-chain objects), so
// the default GPU policy rules apply to either path unchanged. Claims 2.0
// (NRAS /v3) carry boolean *-cert-chain-validated flags and no OCSP status,
// FWID or RIM version match: they map to cert-chain objects without an OCSP
// status, and the default policy does not affirm what 2.0 does not report.
// Claims 4.0 add x-nvidia-attester-claims and
// x-nvidia-mismatch-opaque-data-records (the opaque-data MIN_SVN records),
// both type-checked; NVIDIA's null list becomes [] as the local verifier
// writes it, and the default policy's gpu.opaque_records reads either.
// NRAS facts about the token are added as x-attest-nras-* claims.
//
// A detached EAT with several devices is split (verify.Splitter) into one
// part per device; a part still carries the whole EAT so that the overall
// token and every digest are checked, and yields one device's claims.
// CheckSet refuses the same device (ueid) twice.
//
// Trust: NRAS results are NVIDIA's appraisal, not evidence. Their authority
// is the JWKS obtained from NVIDIA over TLS (NVIDIA does not publish the CA
// of the x5c chains in it, so the chain is not validated; an x5c leaf must
// hold the JWK's key). The kid of an unknown key is a signature failure
// (ErrSignature): no trusted key made the signature. Archived tokens can be
// verified only with the JWKS captured when they were issued.
package nras
