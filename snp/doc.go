// Package snp verifies AMD SEV-SNP attestation reports (versions 2–5) from
// Milan, Genoa and Turin, signed by a VCEK or a VLEK.
//
// A Verifier accepts the raw 1184-byte report, the report followed by the
// extended-report certificate table, or Trustee's JSON evidence, and
// certificates delivered separately through VerifyReport. It checks, failing
// closed at each step:
//
//   - the report structure: size, version, signature algorithm, signer info,
//     guest policy and platform info bits, every reserved field;
//   - the product line, from the report's CPUID (v3+), else WithProduct, else
//     the endorsement certificate, with disagreements rejected;
//   - the endorsement key named by SIGNER_INFO (never whatever is present):
//     VCEK ← ASK ← ARK or VLEK ← ASVK ← ARK, RSA-PSS, against the AMD roots
//     embedded per product (replaceable with WithTrustedRoots; nothing in
//     the evidence is a root);
//   - the ARK-signed CRL of the product (signature, validity, the ASK/ASVK
//     serial not revoked), unless WithoutRevocationUnsafe;
//   - the report's P-384 signature, then the VCEK/VLEK TCB extensions
//     against REPORTED_TCB and the VCEK hwID against CHIP_ID;
//   - REPORT_DATA (Expectations.ReportData) and HOST_DATA
//     (Expectations.InitDataDigest).
//
// A report's bytes do not identify it. ECDSA signatures are malleable:
// with (r, s) valid, (r, n−s) is valid too, and AMD's firmware does not
// normalise s (most real reports have s > n/2, so a low-s rule would refuse
// genuine evidence). Both forms verify and yield identical claims; freshness
// comes from REPORT_DATA, and nothing should key replay or de-duplication
// state on a digest of the evidence.
//
// Appraisal (debug allowed, minimum TCB, measurements) is left to a policy:
// every report field is a claim, with Trustee's flat names where they exist.
//
// Verified chains and CRLs are cached by the hash of their exact bytes in
// bounded LRU caches and re-checked against the caller's time, so a warm
// verification costs little more than the report's own signature check.
// The embedded AMD roots are parsed and checked once per process, so a
// verifier is cheap to construct. Roots given with WithTrustedRoots are
// checked (and copied from their DER) by every verifier built with them,
// unless the verifiers share a RootCache (WithRootCache), which remembers
// the root sets that passed by the hash of their exact bytes: a caller that
// builds a verifier per request with pinned roots should make one and pass
// it to each.
// Collateral comes only from a Source the caller gives: an HTTPSource (AMD
// KDS through a collateral.Fetcher and collateral.Store, NewHTTPSource), an
// FSSource (Trustee's offline store layout in an fs.FS, NewFSSource), or a
// MemorySource.
package snp
