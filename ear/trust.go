package ear

import (
	"fmt"
	"strconv"
)

// Status is an EAR appraisal status: a trust tier. Its numeric value is the
// tier's code point (none 0, affirming 2, warning 32, contraindicated 96), so a
// larger value is always a worse status.
type Status int8

// The four trust tiers of draft-ietf-rats-ear.
const (
	StatusNone            Status = 0
	StatusAffirming       Status = 2
	StatusWarning         Status = 32
	StatusContraindicated Status = 96
)

// String returns the status name used in JSON ("none", "affirming", …).
func (s Status) String() string {
	switch s {
	case StatusNone:
		return "none"
	case StatusAffirming:
		return "affirming"
	case StatusWarning:
		return "warning"
	case StatusContraindicated:
		return "contraindicated"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the four tiers.
func (s Status) Valid() bool {
	switch s {
	case StatusNone, StatusAffirming, StatusWarning, StatusContraindicated:
		return true
	}
	return false
}

// ParseStatus parses a status name as it appears in JSON.
func ParseStatus(name string) (Status, error) {
	switch name {
	case "none":
		return StatusNone, nil
	case "affirming":
		return StatusAffirming, nil
	case "warning":
		return StatusWarning, nil
	case "contraindicated":
		return StatusContraindicated, nil
	}
	return StatusNone, fmt.Errorf("unknown EAR status %q", name)
}

// higherTier returns the larger tier code point of s and o. It is the rule the
// draft gives for deriving a status from trust claims; to combine statuses
// of submodules use LeastTrusted, which ranks "none" below "affirming".
func (s Status) higherTier(o Status) Status {
	if o > s {
		return o
	}
	return s
}

// TrustClaim is one AR4SI trustworthiness claim value, −128..127.
type TrustClaim int8

// Claim values shared by every category (draft-ietf-rats-ar4si).
const (
	VerifierMalfunction    TrustClaim = -1
	NoClaim                TrustClaim = 0
	UnexpectedEvidence     TrustClaim = 1
	CryptoValidationFailed TrustClaim = 99
)

// Category-specific claim values used by attest's policies.
const (
	TrustworthyInstance   TrustClaim = 2  // instance-identity: recognized instance
	UntrustworthyInstance TrustClaim = 96 // instance-identity
	UnrecognizedInstance  TrustClaim = 97 // instance-identity

	ApprovedConfig          TrustClaim = 2  // configuration
	NoConfigVulns           TrustClaim = 3  // configuration
	UnsafeConfig            TrustClaim = 32 // configuration
	UnavailableConfig       TrustClaim = 36 // configuration: security-relevant elements unavailable (Trustee)
	UnsupportableConfig     TrustClaim = 96 // configuration
	ApprovedRuntime         TrustClaim = 2  // executables: approved boot and runtime
	ApprovedBoot            TrustClaim = 3  // executables: approved boot only
	UnsafeRuntime           TrustClaim = 32 // executables
	UnrecognizedRuntime     TrustClaim = 33 // executables
	ContraindicatedRuntime  TrustClaim = 96 // executables
	ApprovedFiles           TrustClaim = 2  // file-system
	UnrecognizedFiles       TrustClaim = 32 // file-system
	ContraindicatedFiles    TrustClaim = 96 // file-system
	GenuineHardware         TrustClaim = 2  // hardware
	UnsafeHardware          TrustClaim = 32 // hardware
	ContraindicatedHardware TrustClaim = 96 // hardware
	UnrecognizedHardware    TrustClaim = 97 // hardware
	EncryptedMemory         TrustClaim = 2  // runtime-opaque
	IsolatedMemory          TrustClaim = 32 // runtime-opaque
	VisibleMemory           TrustClaim = 96 // runtime-opaque
	HwKeysEncryptedSecrets  TrustClaim = 2  // storage-opaque
	SwKeysEncryptedSecrets  TrustClaim = 32 // storage-opaque
	UnencryptedSecrets      TrustClaim = 96 // storage-opaque
	TrustedSources          TrustClaim = 2  // sourced-data
	UntrustedSources        TrustClaim = 32 // sourced-data
	ContraindicatedSources  TrustClaim = 96 // sourced-data
)

// Tier returns the trust tier a claim value falls in.
func (c TrustClaim) Tier() Status {
	switch {
	case c >= -1 && c <= 1:
		return StatusNone
	case (c >= -32 && c <= -2) || (c >= 2 && c <= 31):
		return StatusAffirming
	case (c >= -96 && c <= -33) || (c >= 32 && c <= 95):
		return StatusWarning
	}
	return StatusContraindicated
}

// Category is one of the eight AR4SI trustworthiness categories. Its value is
// the category's CBOR key.
type Category int

// The AR4SI categories, in CBOR-key order.
const (
	InstanceIdentity Category = iota
	Configuration
	Executables
	FileSystem
	Hardware
	RuntimeOpaque
	StorageOpaque
	SourcedData
	numCategories
)

// Categories returns every category in CBOR-key order, a new slice on every
// call.
func Categories() []Category {
	return []Category{InstanceIdentity, Configuration, Executables, FileSystem,
		Hardware, RuntimeOpaque, StorageOpaque, SourcedData}
}

var categoryNames = [...]string{"instance-identity", "configuration", "executables",
	"file-system", "hardware", "runtime-opaque", "storage-opaque", "sourced-data"}

// String returns the category's JSON name (hyphenated in every EAR generation).
func (c Category) String() string {
	if c < 0 || c >= numCategories {
		return "category(" + strconv.Itoa(int(c)) + ")"
	}
	return categoryNames[c]
}

// ParseCategory maps a JSON category name to its Category.
func ParseCategory(name string) (Category, bool) {
	for i, n := range categoryNames {
		if n == name {
			return Category(i), true
		}
	}
	return 0, false
}

// TrustVector is an AR4SI trustworthiness vector indexed by Category.
// The zero value has no claims.
type TrustVector [numCategories]TrustClaim

// Status returns the tier of the worst claim in the vector; an all-zero vector
// is StatusNone.
func (v TrustVector) Status() Status {
	s := StatusNone
	for _, c := range v {
		s = s.higherTier(c.Tier())
	}
	return s
}

// IsZero reports whether no category carries a claim.
func (v TrustVector) IsZero() bool {
	return v == TrustVector{}
}

// SetAll sets every category to c.
func (v *TrustVector) SetAll(c TrustClaim) {
	for i := range v {
		v[i] = c
	}
}
