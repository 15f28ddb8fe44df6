// Package tdx verifies Intel TDX quotes (versions 4 and 5, TDX 1.0 and 1.5
// bodies) and appraises them against Intel's collateral.
//
// Verify checks, in order: the quote structure (strict bounds, caps); the
// QE vendor; the PCK certificate chain to a pinned Intel SGX Root CA (the
// embedded one unless WithTrustedRoots); the QE report signature by the PCK
// and its report data, SHA-256(attestation key ‖ QE auth data) ‖ zeros; the
// quote signature by the attestation key; the collateral (TCB info and QE
// identity signatures and chains, IDs, versions, validity windows, the PCK
// CRL and the Root CA CRL; a TCB info or QE identity stored pretty-printed
// verifies with the whitespace between its JSON tokens removed, since Intel
// signed the compact text, and is decoded from those verified bytes); FMSPC and PCE-ID; MRSIGNERSEAM and SEAM
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
// {"quote": base64, "cc_eventlog": base64 | null, "aa_eventlog": text};
// other members, which Trustee ignores, are ignored within the wrapper's
// bounds.
//
// # Attestation-Agent event log (AAEL)
//
// Trustee's attestation agent measures runtime events ("<domain>
// <operation> <content>", e.g. an image pull) into RTMR3. Today it logs
// them in the CC event log as EV_EVENT_TAG events tagged "AAEL" on CC MR 4
// (behind a Spec ID event with an all-zero signature when the firmware left
// no log): they replay with the rest of the log, and an AAEL event whose
// digest is not SHA-384 of its tagged data is refused (ErrBinding). From
// 2024-05-29 to 2025-07-23 Trustee carried them instead as the text field
// "aa_eventlog" (ParseAAEL): "INIT sha384/<hex>" then one event per line,
// replayed as s = SHA-384(s ‖ SHA-384(line)) from the INIT value and
// compared with RTMR3 (ErrBinding). Either way the bound events are
// Claims.AAELEvents and the claim "aael", {"<domain>/<operation>":
// [content, …]}; the CC event log's ones also appear in "uefi_event_logs"
// as Trustee shows them. The policy's aael_allowed reference value pins them.
//
// Collateral comes from a CollateralSource: MemorySource, FSSource (an
// offline bundle in an fs.FS, NewFSSource) or HTTPSource (Intel PCS / PCCS
// v4 through a collateral.Fetcher and collateral.Store, NewHTTPSource). Verified platforms (PCK chain, QE report) and
// verified collateral are cached by a hash of their exact bytes until their
// earliest expiry, and re-checked against the caller's time, so that a warm
// verification costs about one P-256 signature check.
package tdx
