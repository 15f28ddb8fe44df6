// Package ear is the EAT Attestation Result (EAR) claim model of attest: the
// Result issued for one appraisal and its per-component Appraisals, the AR4SI
// trust vector and tiers, status derivation, validation, an extension registry,
// and the JSON and CBOR encodings of the claims in both name generations
// (draft-ietf-rats-ear-03 "ear_status" names by default, and the legacy dotted
// "ear.status" names of Veraison and Trustee, selected by the profile).
//
// Signing and verifying tokens (JWT and COSE_Sign1/CWT), key generation and
// JWKS publication live in the subpackage ear/token, which attaches the error
// kinds of package verify; package verify itself builds on this package, so
// this package imports nothing of attest.
//
// A Result is valid only if every status is no more trustworthy than the trust
// claims it summarises: see Validate, Appraisal.UpdateStatus and
// Result.UpdateStatus.
package ear
