package ear

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// EAT profiles a Result may carry. The profile selects the claim-name
// generation used when the Result is encoded as JSON.
const (
	// ProfileIETF03 is the draft-ietf-rats-ear-03 profile (underscore names).
	ProfileIETF03 = "tag:ietf.org,2026:rats/ear#03"
	// ProfileVeraison is the legacy Veraison profile (dotted names).
	ProfileVeraison = "tag:github.com,2023:veraison/ear"
	// ProfileTrustee is the profile Trustee's attestation service emits (dotted names).
	ProfileTrustee = "tag:github.com,2024:confidential-containers/Trustee"
)

// Generation is a claim-name generation.
type Generation int

// The two claim-name generations.
const (
	// GenerationIETF uses the draft-03 names: ear_status, ear_trustworthiness_vector, ….
	GenerationIETF Generation = iota
	// GenerationLegacy uses the dotted names: ear.status, ear.trustworthiness-vector, ….
	GenerationLegacy
)

// String returns "ietf" or "legacy".
func (g Generation) String() string {
	if g == GenerationLegacy {
		return "legacy"
	}
	return "ietf"
}

// ProfileGeneration returns the name generation of a known profile; ok is
// false for any other profile, which Validate rejects.
func ProfileGeneration(profile string) (g Generation, ok bool) {
	switch profile {
	case ProfileIETF03:
		return GenerationIETF, true
	case ProfileVeraison, ProfileTrustee:
		return GenerationLegacy, true
	}
	return GenerationIETF, false
}

// Nonce size bounds (RFC 9711 eat_nonce), in bytes.
const (
	MinNonceSize = 8
	MaxNonceSize = 64
)

// Errors returned by Validate and the decoders. Package ear/token gives them
// the kinds of package verify.
var (
	// ErrInvalid: the claims violate the EAR rules (missing mandatory claim,
	// inconsistent status, unknown profile, …).
	ErrInvalid = errors.New("invalid EAR claims")
	// ErrNonceSize: a nonce is outside 8..64 bytes.
	ErrNonceSize = errors.New("EAR nonce size out of range")
	// ErrDecode: the bytes are not a well-formed EAR claims set.
	ErrDecode = errors.New("malformed EAR claims encoding")
)

// VerifierID identifies the verifier that produced a Result (ear_verifier_id).
type VerifierID struct {
	Developer string // who built the verifier, e.g. a URL
	Build     string // which build, e.g. "attest 0.1.0"
}

// KeyAttestation is the Veraison key-attestation extension: a public key the
// attester proved it holds.
type KeyAttestation struct {
	AKPub []byte // DER SubjectPublicKeyInfo
}

// Result is an EAR attestation result: the claims of one token.
//
// Time fields are whole seconds; a zero ExpiresAt or NotBefore is absent.
// Extensions hold registered top-level extension claims by their IETF name.
type Result struct {
	Profile     string
	IssuedAt    time.Time
	ExpiresAt   time.Time
	NotBefore   time.Time
	Issuer      string
	ID          string   // jti (JWT) / cti (CWT)
	Audience    []string // aud
	VerifierID  VerifierID
	Nonce       []byte // eat_nonce, 8..64 bytes when present
	RawEvidence []byte
	Submods     map[string]*Appraisal
	Status      *Status // optional overall status (draft-03); see UpdateStatus
	Extensions  map[string]any
}

// Appraisal is the EAR appraisal of one submod (one attester component).
// Extensions hold registered appraisal extension claims by their IETF name.
type Appraisal struct {
	Status            Status
	TrustVector       TrustVector
	PolicyIDs         []string
	Profile           string // optional appraisal profile (draft-03)
	Nonce             []byte // optional appraisal nonce (draft-03)
	AnnotatedEvidence map[string]any
	PolicyClaims      map[string]any
	KeyAttestation    *KeyAttestation
	Extensions        map[string]any
}

// NewResult returns a Result with the draft-03 profile, the given verifier
// identity and issue time, and no submods.
func NewResult(verifier VerifierID, issuedAt time.Time) *Result {
	return &Result{
		Profile:    ProfileIETF03,
		IssuedAt:   issuedAt.Truncate(time.Second),
		VerifierID: verifier,
		Submods:    map[string]*Appraisal{},
	}
}

// Generation returns the name generation the Result's profile selects.
func (r *Result) Generation() Generation {
	g, _ := ProfileGeneration(r.Profile)
	return g
}

// SubmodNames returns the submod names in sorted order.
func (r *Result) SubmodNames() []string {
	names := make([]string, 0, len(r.Submods))
	for n := range r.Submods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UpdateStatus lowers the appraisal status to the tier of its worst trust
// claim: the status never conveys more trust than the vector supports. An
// all-zero vector supports no more than none.
func (a *Appraisal) UpdateStatus() Status {
	a.Status = LeastTrusted(a.Status, a.TrustVector.Status())
	return a.Status
}

// StatusFromVector sets the appraisal status to exactly the tier of the worst
// trust claim and returns it.
func (a *Appraisal) StatusFromVector() Status {
	a.Status = a.TrustVector.Status()
	return a.Status
}

// WorstSubmodStatus returns the least trusted status across all submods
// (contraindicated when there are none).
func (r *Result) WorstSubmodStatus() Status {
	if len(r.Submods) == 0 {
		return StatusContraindicated
	}
	s := StatusAffirming
	for _, a := range r.Submods {
		if a == nil {
			return StatusContraindicated
		}
		s = LeastTrusted(s, a.Status)
	}
	return s
}

// UpdateStatus updates every submod's status from its vector, then sets the
// overall status to the least trusted submod status (or lower, if the overall
// status was already lower) and returns it.
func (r *Result) UpdateStatus() Status {
	for _, a := range r.Submods {
		if a != nil {
			a.UpdateStatus()
		}
	}
	s := r.WorstSubmodStatus()
	if r.Status != nil {
		s = LeastTrusted(*r.Status, s)
	}
	r.Status = &s
	return s
}

// OverallStatus returns the overall status if set, else the worst submod status.
// Relying parties should decide on this value.
func (r *Result) OverallStatus() Status {
	w := r.WorstSubmodStatus()
	if r.Status != nil {
		return LeastTrusted(*r.Status, w)
	}
	return w
}

// CapExpiry lowers ExpiresAt to limit (for example the earliest expiry of the
// collateral the appraisal relied on); a zero ExpiresAt becomes limit. A zero
// limit (no known limit) changes nothing.
func (r *Result) CapExpiry(limit time.Time) {
	if limit.IsZero() {
		return
	}
	limit = limit.Truncate(time.Second)
	if r.ExpiresAt.IsZero() || limit.Before(r.ExpiresAt) {
		r.ExpiresAt = limit
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// CheckNonce checks a nonce's size; claim names the claim for the error.
func CheckNonce(claim string, n []byte) error {
	if len(n) < MinNonceSize || len(n) > MaxNonceSize {
		return fmt.Errorf("%w: %s: expected %d..%d bytes, got %d", ErrNonceSize, claim, MinNonceSize, MaxNonceSize, len(n))
	}
	return nil
}

// Validate checks the EAR rules: a known profile, the mandatory claims (iat,
// verifier id, at least one submod with a status), nonce sizes, expiry after
// issue, every appraisal status no more trusted than its trust vector (an
// affirming status needs a vector whose claims are all affirming), and the
// overall status no more trusted than any submod. It errors with ErrInvalid
// or ErrNonceSize.
func (r *Result) Validate() error {
	if r == nil {
		return invalid("nil result")
	}
	if _, ok := ProfileGeneration(r.Profile); !ok {
		return invalid("eat_profile: expected one of %q, %q, %q, got %q", ProfileIETF03, ProfileVeraison, ProfileTrustee, r.Profile)
	}
	if r.IssuedAt.IsZero() {
		return invalid("iat: missing")
	}
	if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(r.IssuedAt) {
		return invalid("exp: expected after iat %d, got %d", r.IssuedAt.Unix(), r.ExpiresAt.Unix())
	}
	if r.VerifierID.Developer == "" || r.VerifierID.Build == "" {
		return invalid("ear_verifier_id: developer and build are mandatory, got %q, %q", r.VerifierID.Developer, r.VerifierID.Build)
	}
	if r.Nonce != nil {
		if err := CheckNonce("eat_nonce", r.Nonce); err != nil {
			return err
		}
	}
	if len(r.Submods) == 0 {
		return invalid("submods: expected at least one, got 0")
	}
	for _, name := range r.SubmodNames() {
		if err := r.Submods[name].validate(name); err != nil {
			return err
		}
	}
	if r.Status != nil {
		if !r.Status.Valid() {
			return invalid("ear_status: unknown status %d", int(*r.Status))
		}
		if w := r.WorstSubmodStatus(); !r.Status.NoMoreTrustedThan(w) {
			return invalid("ear_status: overall status %s is more trusted than the worst submod status %s", *r.Status, w)
		}
	}
	return nil
}

func (a *Appraisal) validate(name string) error {
	if name == "" {
		return invalid("submods: empty submod name")
	}
	if a == nil {
		return invalid("submods[%q]: missing appraisal", name)
	}
	if !a.Status.Valid() {
		return invalid("submods[%q].ear_status: unknown status %d", name, int(a.Status))
	}
	vs := a.TrustVector.Status()
	if !a.Status.NoMoreTrustedThan(vs) {
		if a.TrustVector.IsZero() {
			return invalid("submods[%q].ear_status: %s with an all-zero trust vector", name, a.Status)
		}
		return invalid("submods[%q].ear_status: %s is more trusted than the worst trust claim (tier %s)", name, a.Status, vs)
	}
	if a.Nonce != nil {
		if err := CheckNonce(fmt.Sprintf("submods[%q].eat_nonce", name), a.Nonce); err != nil {
			return err
		}
	}
	for i, p := range a.PolicyIDs {
		if p == "" {
			return invalid("submods[%q].ear_appraisal_policy_ids[%d]: empty", name, i)
		}
	}
	if a.KeyAttestation != nil && len(a.KeyAttestation.AKPub) == 0 {
		return invalid("submods[%q].ear_veraison_key_attestation: akpub missing", name)
	}
	return nil
}
