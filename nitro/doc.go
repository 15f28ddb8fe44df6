// Package nitro verifies AWS Nitro Enclaves attestation documents: the
// COSE_Sign1 that an enclave's Nitro Security Module (NSM) signs over its
// PCRs and the enclave's optional public_key, user_data and nonce.
//
// Verify checks, in order, that
//
//   - the document is a COSE_Sign1 (untagged, as NSM returns it, or tag 18)
//     of at most MaxDocumentBytes with protected header {1: -35} (ES384) and
//     an empty unprotected header, and its payload a CBOR map of exactly the
//     fields AWS documents — module_id, digest, timestamp, pcrs (indices
//     0–31, values of the digest's size), certificate, cabundle, and the
//     optional public_key, user_data and nonce (CBOR null or an empty
//     byte string meaning absent) — with every size and count bounded
//     before it is decoded (ErrLimit), no duplicate or unknown keys
//     (ErrMalformed, ErrUnsupported) and nothing after the document;
//   - certificate chains through cabundle[N] … cabundle[1], in that exact
//     order, to the pinned root: AWS Nitro Enclaves Root-G1, embedded and
//     checked against its published SHA-256, or the root given by WithRoot.
//     cabundle[0] must carry the pinned root's key and is otherwise ignored:
//     nothing in the document is trusted as a root (ErrChain). Every
//     certificate must be valid at Expectations.Time() (ErrExpired). The
//     verified chain is cached by the hash of its DER bytes and the pin, so
//     a warm verification costs little more than the document's signature;
//   - the ES384 signature over the Sig_structure verifies under the leaf's
//     P-384 key (ErrSignature);
//   - the signed timestamp lies inside the leaf's validity, at most
//     WithClockSkew (5 minutes) after the verification time and at most
//     WithMaxAge (1 hour) before it (ErrExpired). To verify an archived
//     document, set Expectations.Now to its timestamp;
//   - Expectations.ReportData is the start of user_data (or of nonce, with
//     WithReportDataField(FieldNonce)), the rest of the field zero; an
//     absent field or another value is ErrFreshness, an empty or all-zero
//     expectation ErrConfig unless AllowMissingReportDataUnsafe. NSM has no
//     init-data field: a set InitDataDigest is ErrConfig.
//
// The claims (see Claims.Map) carry the PCRs as pcr00..pcr31 and a debug
// flag: NSM reports PCR0–PCR3 as zero for an enclave started in debug mode,
// which such a document still verifies with, and which package policy's
// default rules refuse. Package nitrotest mints documents under a test
// hierarchy shaped like AWS's.
package nitro
