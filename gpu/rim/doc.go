// Package rim fetches, verifies and compares NVIDIA reference integrity
// manifests (RIMs): the signed TCG/SWID XML documents that carry the golden
// measurements of a GPU driver, a GPU VBIOS or an NVSwitch BIOS.
//
// A RIM is trusted only after Verifier.Verify has checked, in this order, the
// document size and shape (well-formed XML with namespaces, no DTD or
// processing instruction, bounded depth and counts), the exact XML-DSig
// profile NVIDIA uses (one enveloped Reference URI="", C14N 1.1,
// ecdsa-sha384, sha384), the embedded certificate chain to the pinned NVIDIA
// CoRIM signing root at the caller's time, and the signature itself (the raw
// P-384 signature over the canonical SignedInfo, then the SHA-384 digest of
// the canonical document without its signature).
//
// The document is read once, by this package's own strict parser, into one
// tree; both canonical forms (Canonical XML 1.1 without comments) are
// written from that tree, and the Manifest's golden values are read from the
// same tree once the signature is detached, so a value is claimed only if it
// is in the bytes the signature covers, with the namespace it has there.
// Whatever the canonicaliser does not cover (attribute values XML would
// normalise, relative namespace URIs, xml:* attributes on the root) is
// refused as ErrUnsupported rather than guessed. Tests check the canonical
// forms byte for byte against goxmldsig's on every RIM in the test data and
// under fuzzing.
//
// Compare then applies NVIDIA's matching rule to the measurement blocks of a
// signed SPDM report: RIM index i is SPDM block i+1, every active entry must
// equal one of its alternatives and have its size, and an index active in both
// the driver and the VBIOS RIM is an error.
//
// IDs are derived from the signed report with DriverID, VBIOSID and
// SwitchBIOSID and fetched from a Source: NVIDIA's RIM service over HTTP, a
// directory, or memory.
package rim
