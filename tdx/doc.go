// Package tdx verifies Intel TDX quotes (versions 4 and 5, TDX 1.0 and 1.5
// bodies) and appraises them against Intel's collateral.
//
// Verify checks, in order: the quote structure (strict bounds, caps); the
// QE vendor; the PCK certificate chain to a pinned Intel SGX Root CA (the
// embedded one unless WithTrustedRoots); the QE report signature by the PCK
// and its report data, SHA-256(attestation key ‖ QE auth data) ‖ zeros; the
// quote signature by the attestation key; the collateral (TCB info and QE
// identity signatures and chains, IDs, versions, validity windows, the PCK
// CRL and the Root CA CRL); FMSPC and PCE-ID; MRSIGNERSEAM and SEAM
// attributes; the TCB level (SGX components, PCESVN, TDX components, the TDX
// module identity when TEE_TCB_SVN[1] > 0); the QE identity (MRSIGNER,
// ISVPRODID, masked MISCSELECT and attributes, QE TCB level); the report
// data and init data of verify.Expectations; and, when the evidence carries
// a CC event log, its replay into RTMR0–3.
//
// TCB statuses other than Revoked are claims (Claims.TCB, "tcb_status",
// "tcb_date", "advisory_ids"), judged by a policy; cryptographic failures,
// revocation and unusable collateral are errors of the kinds of package
// verify. Evidence is a raw quote or Trustee's JSON
// {"quote": base64, "cc_eventlog": base64 | null}.
//
// Collateral comes from a CollateralSource: MemorySource, FSSource (an
// offline bundle in an fs.FS, NewFSSource) or HTTPSource (Intel PCS / PCCS
// v4 through a collateral.Fetcher and collateral.Store, NewHTTPSource). Verified platforms (PCK chain, QE report) and
// verified collateral are cached by a hash of their exact bytes until their
// earliest expiry, and re-checked against the caller's time, so that a warm
// verification costs about one P-256 signature check.
package tdx
