// Package verify defines the contracts every attest verifier implements:
// evidence formats, the Verifier and Claims interfaces, the per-call
// Expectations, the error kinds, and a Registry that picks a verifier by
// format or detects the format from the evidence bytes.
//
// Where to start: most callers build nothing here by hand. Package setup
// builds, from one setup.Config, the Registry of every verifier attest ships
// and an Appraiser over it (setup.NewAppraiser; its AppraiseRuntimeData binds
// each component to a KBS session); package testbed makes evidence for your
// tests; package ear/token signs and checks the result. Build a Registry
// (NewRegistry) and an Appraiser (NewAppraiser) yourself only to choose the
// verifiers and their options one by one.
//
// A Verifier authenticates evidence (signatures, certificate chains,
// collateral, revocation, freshness) and returns only claims that those checks
// proved. Appraising the claims against reference values is the job of a
// policy; combining several components into one attestation result is the
// job of the composite appraiser.
//
// What differs from one evidence format to the next lives with its verifier
// behind small optional interfaces: SubmodClasser (the submodule class),
// TEENamer (the KBS TEE name), ReportDataPlacer (where the session binding
// goes), ExpiringClaims and UnsafeReporter (what the claims' verification
// relied on and which unsafe switches took effect). A new TEE is its own
// package plus one registration.
//
// The Appraiser appraises per call with the policy it was built with, a
// copy's (WithPolicy) or a PolicyRef's current one, read once per appraisal;
// AppraiseSession carries the session's nonce and TEE key into the result.
//
// Every error a verifier returns carries a kind from this package, so callers
// branch with errors.Is(err, verify.ErrSignature) and never on message text.
// FailureVector maps an error to the AR4SI trust claims an EAR must carry for
// a component that failed verification.
package verify
