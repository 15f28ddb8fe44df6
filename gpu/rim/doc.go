// Package rim fetches, verifies and compares NVIDIA reference integrity
// manifests (RIMs): the signed TCG/SWID XML documents that carry the golden
// measurements of a GPU driver, a GPU VBIOS or an NVSwitch BIOS.
//
// A RIM is trusted only after Verifier.Verify has checked, in this order, the
// document size and shape (no DTD, bounded depth and counts), the exact
// XML-DSig profile NVIDIA uses (one enveloped Reference URI="", C14N 1.1,
// ecdsa-sha384, sha384), the embedded certificate chain to the pinned NVIDIA
// CoRIM signing root at the caller's time, and the signature itself (the raw
// P-384 signature over the canonical SignedInfo, then the SHA-384 digest of
// the canonical document without its signature, both canonicalized with
// goxmldsig's C14N 1.1). The golden values of the returned Manifest are read only from the bytes the
// signature covers, never from the document as received.
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
