package ear

// Reference implementation of the CBOR claims codec on fxamacker/cbor
// reflection, kept to check the hand-written codec of cbor.go against.

import (
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// refEncodeCBOR is the reflection-based reference encoder the fast encoder
// is checked against. It returns the deterministic (RFC 8949 core deterministic) CBOR
// claims set of r, with integer keys. The legacy generation carries a single
// policy id as text under key 1003, as rust-ear does; draft-03 an array.
func (c *Codec) refEncodeCBOR(r *Result) ([]byte, error) {
	if r == nil {
		return nil, invalid("nil result")
	}
	g := r.Generation()
	m := make(map[int64]any, 12)
	m[keyProfile] = r.Profile
	m[keyIAT] = r.IssuedAt.Unix()
	if !r.ExpiresAt.IsZero() {
		m[keyEXP] = r.ExpiresAt.Unix()
	}
	if !r.NotBefore.IsZero() {
		m[keyNBF] = r.NotBefore.Unix()
	}
	if r.Issuer != "" {
		m[keyISS] = r.Issuer
	}
	if r.ID != "" {
		m[keyCTI] = []byte(r.ID)
	}
	switch len(r.Audience) {
	case 0:
	case 1:
		m[keyAUD] = r.Audience[0]
	default:
		m[keyAUD] = r.Audience
	}
	m[keyVerifierID] = map[int64]string{0: r.VerifierID.Developer, 1: r.VerifierID.Build}
	if r.Nonce != nil {
		m[keyNonce] = r.Nonce
	}
	if r.RawEvidence != nil {
		m[keyRawEvidence] = r.RawEvidence
	}
	if r.Status != nil {
		m[keyStatus] = int64(*r.Status)
	}
	subs := make(map[string]any, len(r.Submods))
	for name, a := range r.Submods {
		if a == nil {
			return nil, invalid("submods[%q]: missing appraisal", name)
		}
		am, err := c.refCborAppraisal(a, g)
		if err != nil {
			return nil, fmt.Errorf("submods[%q]: %w", name, err)
		}
		subs[name] = am
	}
	m[keySubmods] = subs
	if err := c.refPutCBORExtensions(m, r.Extensions, ScopeResult); err != nil {
		return nil, err
	}
	b, err := cborEnc.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ear: encode CBOR: %w", err)
	}
	return b, nil
}

func (c *Codec) refCborAppraisal(a *Appraisal, g Generation) (map[int64]any, error) {
	m := make(map[int64]any, 6)
	m[keyStatus] = int64(a.Status)
	if !a.TrustVector.IsZero() {
		v := make(map[int64]int64, len(a.TrustVector))
		for i, claim := range a.TrustVector {
			if claim != NoClaim || g == GenerationLegacy {
				v[int64(i)] = int64(claim)
			}
		}
		m[keyVector] = v
	}
	if len(a.PolicyIDs) > 0 {
		if g == GenerationLegacy {
			if len(a.PolicyIDs) > 1 {
				return nil, invalid("policy id: the legacy generation carries one policy id, got %d", len(a.PolicyIDs))
			}
			m[keyPolicyIDs] = a.PolicyIDs[0]
		} else {
			m[keyPolicyIDs] = a.PolicyIDs
		}
	}
	if a.Profile != "" {
		m[keyProfile] = a.Profile
	}
	if a.Nonce != nil {
		m[keyNonce] = a.Nonce
	}
	if a.AnnotatedEvidence != nil {
		m[keyAnnotated] = a.AnnotatedEvidence
	}
	if a.PolicyClaims != nil {
		m[keyPolicyClaims] = a.PolicyClaims
	}
	if a.KeyAttestation != nil {
		m[keyKeyAttestation] = map[string][]byte{"akpub": a.KeyAttestation.AKPub}
	}
	if err := c.refPutCBORExtensions(m, a.Extensions, ScopeAppraisal); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *Codec) refPutCBORExtensions(m map[int64]any, exts map[string]any, scope Scope) error {
	for name, v := range exts {
		e, ok := c.reg.Lookup(name)
		if !ok || e.Name != name {
			return invalid("extension %q: not registered", name)
		}
		if e.Scope&scope == 0 {
			return invalid("extension %q: not allowed here", name)
		}
		m[e.Key] = v
	}
	return nil
}

// cborMap decodes a CBOR map whose keys are integers or text; text keys are
// returned separately (they are not EAR claims and are ignored by callers).
func refCborMap(data []byte, what string) (map[int64]cbor.RawMessage, error) {
	var raw map[any]cbor.RawMessage
	if err := cborDec.Unmarshal(data, &raw); err != nil {
		return nil, decodeErr("%s: %v", what, err)
	}
	if raw == nil {
		return nil, decodeErr("%s: expected a map", what)
	}
	m := make(map[int64]cbor.RawMessage, len(raw))
	for k, v := range raw {
		if i, ok := k.(int64); ok {
			m[i] = v
		}
	}
	return m, nil
}

// refDecodeCBOR is the reflection-based reference decoder the fast decoder
// is checked against. It decodes a CBOR claims set. It ignores unknown claims, keeps
// registered extensions, and does not validate: call Validate.
func (c *Codec) refDecodeCBOR(data []byte) (*Result, error) {
	top, err := refCborMap(data, "claims set")
	if err != nil {
		return nil, err
	}
	r := &Result{}
	if raw, ok := top[keyProfile]; ok {
		if err := refCborValue(raw, "eat_profile", &r.Profile); err != nil {
			return nil, err
		}
	}
	for _, t := range []struct {
		key  int64
		name string
		dst  *time.Time
	}{{keyIAT, nameIAT, &r.IssuedAt}, {keyEXP, nameEXP, &r.ExpiresAt}, {keyNBF, nameNBF, &r.NotBefore}} {
		if raw, ok := top[t.key]; ok {
			var n int64
			if err := refCborValue(raw, t.name, &n); err != nil {
				return nil, err
			}
			if n <= 0 || n > 253402300799 {
				return nil, decodeErr("%s: time %d out of range", t.name, n)
			}
			*t.dst = time.Unix(n, 0).UTC()
		}
	}
	if raw, ok := top[keyISS]; ok {
		if err := refCborValue(raw, nameISS, &r.Issuer); err != nil {
			return nil, err
		}
	}
	if raw, ok := top[keyCTI]; ok {
		var b []byte
		if err := refCborValue(raw, "cti", &b); err != nil {
			return nil, err
		}
		r.ID = string(b)
	}
	if raw, ok := top[keyAUD]; ok {
		var s string
		if err := cborDec.Unmarshal(raw, &s); err == nil {
			r.Audience = []string{s}
		} else if err := refCborValue(raw, nameAUD, &r.Audience); err != nil {
			return nil, err
		}
	}
	if raw, ok := top[keyVerifierID]; ok {
		var vid map[int64]string
		if err := refCborValue(raw, "ear_verifier_id", &vid); err != nil {
			return nil, err
		}
		r.VerifierID = VerifierID{Developer: vid[0], Build: vid[1]}
	}
	if raw, ok := top[keyNonce]; ok {
		if err := refCborValue(raw, nameNonce, &r.Nonce); err != nil {
			return nil, err
		}
	}
	if raw, ok := top[keyRawEvidence]; ok {
		if err := refCborValue(raw, "ear_raw_evidence", &r.RawEvidence); err != nil {
			return nil, err
		}
	}
	if raw, ok := top[keyStatus]; ok {
		s, err := refCborStatus(raw)
		if err != nil {
			return nil, err
		}
		r.Status = &s
	}
	if raw, ok := top[keySubmods]; ok {
		var subs map[string]cbor.RawMessage
		if err := refCborValue(raw, "submods", &subs); err != nil {
			return nil, err
		}
		r.Submods = make(map[string]*Appraisal, len(subs))
		for name, raw := range subs {
			a, err := c.refDecodeCBORAppraisal(raw)
			if err != nil {
				return nil, fmt.Errorf("submods[%q]: %w", name, err)
			}
			r.Submods[name] = a
		}
	}
	if r.Extensions, err = c.refCborExtensions(top, ScopeResult); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *Codec) refDecodeCBORAppraisal(data []byte) (*Appraisal, error) {
	m, err := refCborMap(data, "appraisal")
	if err != nil {
		return nil, err
	}
	a := &Appraisal{}
	raw, ok := m[keyStatus]
	if !ok {
		return nil, decodeErr("ear_status: missing")
	}
	if a.Status, err = refCborStatus(raw); err != nil {
		return nil, err
	}
	if raw, ok := m[keyVector]; ok {
		var v map[int64]int64
		if err := refCborValue(raw, "ear_trustworthiness_vector", &v); err != nil {
			return nil, err
		}
		for k, claim := range v {
			if k < 0 || k >= int64(numCategories) {
				return nil, decodeErr("ear_trustworthiness_vector: unknown category %d", k)
			}
			if claim < math.MinInt8 || claim > math.MaxInt8 {
				return nil, decodeErr("ear_trustworthiness_vector[%d]: expected -128..127, got %d", k, claim)
			}
			a.TrustVector[k] = TrustClaim(claim)
		}
	}
	if raw, ok := m[keyPolicyIDs]; ok {
		var s string
		if err := cborDec.Unmarshal(raw, &s); err == nil {
			a.PolicyIDs = []string{s}
		} else if err := refCborValue(raw, "ear_appraisal_policy_ids", &a.PolicyIDs); err != nil {
			return nil, err
		} else if len(a.PolicyIDs) == 0 {
			return nil, decodeErr("ear_appraisal_policy_ids: empty array")
		}
	}
	if raw, ok := m[keyProfile]; ok {
		if err := refCborValue(raw, "eat_profile", &a.Profile); err != nil {
			return nil, err
		}
	}
	if raw, ok := m[keyNonce]; ok {
		if err := refCborValue(raw, nameNonce, &a.Nonce); err != nil {
			return nil, err
		}
	}
	if raw, ok := m[keyAnnotated]; ok {
		if a.AnnotatedEvidence, err = refCborObject(raw, "ear_veraison_annotated_evidence"); err != nil {
			return nil, err
		}
	}
	if raw, ok := m[keyPolicyClaims]; ok {
		if a.PolicyClaims, err = refCborObject(raw, "ear_veraison_policy_claims"); err != nil {
			return nil, err
		}
	}
	if raw, ok := m[keyKeyAttestation]; ok {
		var ka map[string]cbor.RawMessage
		if err := refCborValue(raw, "ear_veraison_key_attestation", &ka); err != nil {
			return nil, err
		}
		a.KeyAttestation = &KeyAttestation{}
		if akpub, ok := ka["akpub"]; ok {
			if err := refCborValue(akpub, "ear_veraison_key_attestation.akpub", &a.KeyAttestation.AKPub); err != nil {
				return nil, err
			}
		}
	}
	if a.Extensions, err = c.refCborExtensions(m, ScopeAppraisal); err != nil {
		return nil, err
	}
	return a, nil
}

func (c *Codec) refCborExtensions(m map[int64]cbor.RawMessage, scope Scope) (map[string]any, error) {
	var exts map[string]any
	for k, raw := range m {
		e, ok := c.reg.LookupKey(k)
		if !ok || e.Scope&scope == 0 {
			continue // unknown claims are ignored
		}
		var v any
		if err := refCborValue(raw, e.Name, &v); err != nil {
			return nil, err
		}
		if exts == nil {
			exts = map[string]any{}
		}
		exts[e.Name] = refNormalizeCBOR(v)
	}
	return exts, nil
}

func refCborValue(raw cbor.RawMessage, name string, dst any) error {
	if err := cborDec.Unmarshal(raw, dst); err != nil {
		return decodeErr("%s: %v", name, err)
	}
	return nil
}

func refCborStatus(raw cbor.RawMessage) (Status, error) {
	var n int64
	if err := refCborValue(raw, "ear_status", &n); err != nil {
		return 0, err
	}
	s := Status(n)
	if n < math.MinInt8 || n > math.MaxInt8 || !s.Valid() {
		return 0, decodeErr("ear_status: unknown status %d", n)
	}
	return s, nil
}

func refCborObject(raw cbor.RawMessage, name string) (map[string]any, error) {
	var v any
	if err := refCborValue(raw, name, &v); err != nil {
		return nil, err
	}
	m, ok := refNormalizeCBOR(v).(map[string]any)
	if !ok {
		return nil, decodeErr("%s: expected a map with text keys", name)
	}
	return m, nil
}

// normalizeCBOR turns maps whose keys are all text into map[string]any, so
// decoded values look like their JSON counterparts.
func refNormalizeCBOR(v any) any {
	switch t := v.(type) {
	case map[any]any:
		sm := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				// a new map: assigning to t's own NaN keys would add keys
				m := make(map[any]any, len(t))
				for k2, e2 := range t {
					m[k2] = refNormalizeCBOR(e2)
				}
				return m
			}
			sm[ks] = refNormalizeCBOR(e)
		}
		return sm
	case []any:
		for i, e := range t {
			t[i] = refNormalizeCBOR(e)
		}
	}
	return v
}
