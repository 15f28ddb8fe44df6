package ear

// claim names of the EAR model, per generation.
type names struct {
	status, vector, policyIDs, verifierID, rawEvidence string
	annotated, policyClaims, keyAttestation            string
}

var (
	ietfNames = names{
		status: "ear_status", vector: "ear_trustworthiness_vector", policyIDs: "ear_appraisal_policy_ids",
		verifierID: "ear_verifier_id", rawEvidence: "ear_raw_evidence",
		annotated: "ear_veraison_annotated_evidence", policyClaims: "ear_veraison_policy_claims",
		keyAttestation: "ear_veraison_key_attestation",
	}
	legacyNames = names{
		status: "ear.status", vector: "ear.trustworthiness-vector", policyIDs: "ear.appraisal-policy-id",
		verifierID: "ear.verifier-id", rawEvidence: "ear.raw-evidence",
		annotated: "ear.veraison.annotated-evidence", policyClaims: "ear.veraison.policy-claims",
		keyAttestation: "ear.veraison.key-attestation",
	}
)

func namesFor(g Generation) *names {
	if g == GenerationLegacy {
		return &legacyNames
	}
	return &ietfNames
}

// Claim names shared by both generations.
const (
	nameProfile = "eat_profile"
	nameIAT     = "iat"
	nameEXP     = "exp"
	nameNBF     = "nbf"
	nameISS     = "iss"
	nameJTI     = "jti"
	nameAUD     = "aud"
	nameNonce   = "eat_nonce"
	nameSubmods = "submods"
	// the draft-03 policy-id claim also exists as a single text under the legacy name
)

// CBOR keys (draft-ietf-rats-ear, RFC 8392, RFC 9711).
const (
	keyISS            = 1
	keyAUD            = 3
	keyEXP            = 4
	keyNBF            = 5
	keyIAT            = 6
	keyCTI            = 7
	keyNonce          = 10
	keyProfile        = 265
	keySubmods        = 266
	keyStatus         = 1000
	keyVector         = 1001
	keyRawEvidence    = 1002
	keyPolicyIDs      = 1003
	keyVerifierID     = 1004
	keyAnnotated      = -70000
	keyPolicyClaims   = -70001
	keyKeyAttestation = -70002
)

func isCoreName(n string) bool {
	switch n {
	case nameProfile, nameIAT, nameEXP, nameNBF, nameISS, nameJTI, nameAUD, nameNonce, nameSubmods, "sub", "cti":
		return true
	}
	for _, ns := range []*names{&ietfNames, &legacyNames} {
		switch n {
		case ns.status, ns.vector, ns.policyIDs, ns.verifierID, ns.rawEvidence, ns.annotated, ns.policyClaims, ns.keyAttestation:
			return true
		}
	}
	return false
}
