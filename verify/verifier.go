package verify

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"time"
)

// Format names an evidence format. A Registry holds at most one Verifier per Format.
type Format string

// Formats of the verifiers that ship with attest.
const (
	FormatTDX      Format = "tdx"           // Intel TDX quote (v4, v5)
	FormatSNP      Format = "snp"           // AMD SEV-SNP attestation report
	FormatGPU      Format = "nvidia-gpu"    // NVIDIA GPU SPDM attestation report
	FormatNVSwitch Format = "nvidia-switch" // NVIDIA NVSwitch SPDM attestation report
	FormatTPM      Format = "tpm"           // TPM 2.0 quote
	// FormatAzureSNP is an Azure confidential VM's vTPM quote with the HCL
	// report that binds its AK to an AMD SEV-SNP report (Trustee's az-snp-vtpm).
	FormatAzureSNP Format = "az-snp-vtpm"
	// FormatAzureTDX is an Azure confidential VM's vTPM quote with the HCL
	// report that binds its AK to an Intel TDX TD quote (Trustee's
	// az-tdx-vtpm).
	FormatAzureTDX Format = "az-tdx-vtpm"
	// FormatNitro is an AWS Nitro Enclaves attestation document (COSE_Sign1).
	FormatNitro Format = "aws-nitro"
	// FormatNRASGPU and FormatNRASSwitch are NVIDIA Remote Attestation
	// Service results (detached EATs) for GPUs and NVSwitches: the remote
	// path to the same claims as FormatGPU and FormatNVSwitch.
	FormatNRASGPU    Format = "nvidia-nras-gpu"
	FormatNRASSwitch Format = "nvidia-nras-switch"
	// FormatSGX is an Intel SGX DCAP ECDSA quote (v3) of an enclave.
	FormatSGX Format = "sgx"
)

// Expectations are what the caller requires of one piece of evidence. They are
// per-call inputs; options that do not change per call belong to the verifier.
type Expectations struct {
	// ReportData is the value the evidence's report-data (or nonce) field must
	// carry, binding it to this session. It is required: an empty value is an
	// ErrConfig error unless AllowMissingReportDataUnsafe is set. A value
	// shorter than the field must be followed by zero bytes in the field.
	ReportData []byte

	// InitDataDigest, when set, is the digest the evidence's init-data field
	// (MRCONFIGID, HOST_DATA, PCR 8) must carry. When nil the field is not
	// compared and no init-data claim is produced.
	InitDataDigest []byte

	// Now is the verification time for every validity check (certificates,
	// CRLs, OCSP answers, collateral). The zero value means time.Now().
	Now time.Time

	// AllowMissingReportDataUnsafe accepts evidence without checking its
	// report data. It makes replay possible; use it only for inspection.
	AllowMissingReportDataUnsafe bool
}

// Time returns the verification time: Now, or the current time when Now is zero.
func (e Expectations) Time() time.Time {
	if e.Now.IsZero() {
		return time.Now()
	}
	return e.Now
}

// CheckReportData compares the evidence's report-data field got (named field
// in messages) with e.ReportData. The expected value must not be longer than
// the field; the bytes of the field past it must be zero. It returns ErrConfig
// for a missing expectation (unless AllowMissingReportDataUnsafe) and
// ErrFreshness for a mismatch; when the expected bytes match but the bytes
// after them are not zero (a layout other than the declared one), the error
// is ErrBinding as well as ErrFreshness.
func (e Expectations) CheckReportData(field string, got []byte) error {
	if len(e.ReportData) == 0 {
		if e.AllowMissingReportDataUnsafe {
			return nil
		}
		return Errorf(ErrConfig, "no expected %s given: set Expectations.ReportData (or AllowMissingReportDataUnsafe)", field)
	}
	if allZero(e.ReportData) {
		// Zero report data is what unbound evidence carries; expecting it binds nothing.
		return Errorf(ErrConfig, "expected %s is all zero bytes: it would bind the evidence to no session", field)
	}
	return matchPadded(ErrFreshness, field, e.ReportData, got)
}

// CheckInitData compares the evidence's init-data field got with
// e.InitDataDigest when one is expected; it returns ErrBinding on mismatch.
func (e Expectations) CheckInitData(field string, got []byte) error {
	if e.InitDataDigest == nil {
		return nil
	}
	if len(e.InitDataDigest) == 0 {
		return Errorf(ErrConfig, "empty expected init-data digest for %s", field)
	}
	return matchPadded(ErrBinding, field, e.InitDataDigest, got)
}

func matchPadded(kind error, field string, want, got []byte) error {
	if len(want) > len(got) {
		return Errorf(kind, "%s: expected %d bytes %s, field holds only %d bytes %s",
			field, len(want), hex.EncodeToString(want), len(got), hex.EncodeToString(got))
	}
	head, tail := got[:len(want)], got[len(want):]
	if subtle.ConstantTimeCompare(head, want) != 1 {
		return Errorf(kind, "%s: expected %s, got %s", field,
			hex.EncodeToString(want), hex.EncodeToString(got))
	}
	if !allZero(tail) {
		// The expected bytes are there but the field carries more: the
		// evidence's layout is not the declared one (a 32-byte digest
		// followed by bytes nobody vouched for, a SHA-384 digest in a
		// SHA-512 slot). That is a binding failure (TDX-26), and it also
		// fails the field's own check (for report data ErrFreshness, TPM-04:
		// the session is not proven either), so the error carries both.
		// Different expected bytes are the field's own failure alone (a
		// wrong nonce is ErrFreshness, TDX-24): nothing tells them from
		// another session's evidence.
		return Errorf(ErrBinding, "%s: the expected %d bytes %s match, but bytes %d..%d are %s, expected zero (the evidence's layout differs from the declared one): %w",
			field, len(want), hex.EncodeToString(want), len(want), len(got)-1, hex.EncodeToString(tail), kind)
	}
	return nil
}

func allZero(b []byte) bool {
	return len(bytes.Trim(b, "\x00")) == 0
}

// Claims are the facts a successful verification established.
type Claims interface {
	// Format is the evidence format the claims came from.
	Format() Format
	// Map is a flat, JSON-friendly view: the shape a policy and a token see.
	// The caller may modify the returned map.
	Map() map[string]any
}

// Verifier authenticates one evidence format. Implementations are immutable
// after construction and safe for concurrent use.
type Verifier interface {
	// Format is the evidence format this verifier handles.
	Format() Format
	// Verify checks signatures, chains, collateral and freshness, and returns
	// the claims those checks proved. On error the claims are nil: nothing
	// from evidence that failed verification is ever returned as a claim.
	Verify(ctx context.Context, evidence []byte, exp Expectations) (Claims, error)
}

// Detector is implemented by verifiers that can recognise their evidence
// encodings from the bytes alone. Detect must be cheap and must not panic on
// any input.
type Detector interface {
	Detect(evidence []byte) bool
}

// Splitter is implemented by verifiers whose evidence can carry several
// devices (for example a list of GPUs). Split returns one evidence blob per
// device, each acceptable to Verify, in the order they appear. A verifier
// whose devices must also be judged as a set (the same device twice) must
// implement SetChecker too: the parts are verified one by one.
type Splitter interface {
	Split(evidence []byte) ([][]byte, error)
}

// SetChecker is implemented by verifiers whose devices must also be judged
// together, such as the same GPU submitted twice or GPUs in modes that cannot
// form one system. The composite appraiser calls CheckSet once per format
// with the claims of every submodule of that format that verified, across
// all components, and fails all of them when it returns an error.
type SetChecker interface {
	CheckSet(claims []Claims) error
}

// Component is one piece of evidence in a composite appraisal: a CPU TEE, a GPU
// or a switch. Name is its submodule name in the result ("cpu0", "gpu0", …).
type Component struct {
	Name     string
	Format   Format // empty means: detect from Evidence
	Evidence []byte
	Expect   Expectations
}
