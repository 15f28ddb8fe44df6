// Package gpu verifies NVIDIA confidential-computing attestation evidence from
// Hopper and Blackwell GPUs and LS10 NVSwitches, locally and offline-capable.
//
// Evidence is the 37-byte SPDM 1.1 GET_MEASUREMENTS request followed by the
// signed MEASUREMENTS response, plus the device's PEM certificate chain.
// Verify checks, in order: the request nonce against the caller's nonce, the
// chain to the NVIDIA Device Identity CA pinned by public key, the ECDSA
// P-384 signature over request ‖ response-without-signature, the FWID binding
// of the attestation key certificate to the report, OCSP for the device chain,
// and — when a RIM source is configured — the driver and VBIOS (or switch BIOS)
// reference integrity manifests, their signer chains and OCSP, and every
// active measurement.
//
// Claims come only from evidence whose signature verified; any failure returns
// nil claims and an error carrying a verify error kind. They use NVIDIA's
// claims 4.0 names (ClaimsVersion), the names package gpu/nras maps NRAS
// results onto, so one policy reads either path.
//
// Opaque data comes in the legacy TLV format or the versioned NVDAOD format
// (drivers with CUDA 13.5 and later), whose entries carry a value type.
// WithOpaqueRecords floors MIN_SVN entries (FSP_UCODE_SVN and later ones) as
// the opaque-data records of NVIDIA's RIMs do: numerically, equal passes, a
// record not met refuses the evidence; the records' runtime values are
// claimed in x-nvidia-attester-claims. The RIMs' own opaque-data attributes
// are not read yet: their XML encoding is not published in what this package
// was written from, so package gpu/rim refuses a RIM carrying them
// (ErrUnsupported) rather than ignoring a floor.
//
// Collateral comes from sources fixed at construction: WithOCSP (package
// gpu/ocsp: live HTTP with or without a shared collateral.Store, recorded
// answers in an fs.FS, memory) and WithRIMs (NewRIMProvider over a gpu/rim
// source: NVIDIA's RIM service, an fs.FS of RIMs, memory). Both are required unless the matching ...Unsafe option
// is given, which then shows in the claims. Verified chains, OCSP answers and
// RIMs are cached, bounded, and re-checked against the caller's time, so a
// warm verification costs about one P-384 signature check (a chain is also
// remembered by the base64 text of the certificate field it came from, which
// is then not decoded again). A cold one checks
// each certificate link once per verifier (the CAs every board and every RIM
// signer shares are remembered link by link), verifies a device's two RIMs
// side by side, and lets concurrent verifications of the same RIM, or of the
// same RIM signer chain's revocation, share one check.
//
// Evidence encodings: Trustee's {"device_evidence_list": [...]}, NVIDIA's
// serialized array [{"arch","nonce","evidence","certificate"}], the NRAS
// request body {"nonce","arch","evidence_list":[...]}, NVIDIA's CMW
// collection (an item per device: SPDM transcript and PEM chain records),
// and the raw report followed by its PEM chain. A member name twice in any
// object of the JSON encodings is ErrMalformed.
//
// A GPU transcript without opaque data (a Blackwell FSP responder's, which
// NVIDIA appraises against CoRIM reference values) and Rubin (GR100)
// devices are ErrUnsupported, whatever the unsafe options: nothing here
// could vouch for them. A measurement manifest (SPDM index 0xFD) is parsed
// into Response.Manifest and compared with nothing.
//
// Split gives one blob per device; VerifyPPCIe checks an 8-GPU, 4-switch protected-PCIe system and its
// topology, bound to the devices' BROM certificate serials.
package gpu
