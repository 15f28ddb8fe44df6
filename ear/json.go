package ear

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Codec encodes and decodes Results with a given extension registry.
type Codec struct {
	reg *Registry
}

// NewCodec returns a codec that carries the extensions of reg (the built-in
// registry if reg is nil).
func NewCodec(reg *Registry) *Codec {
	if reg == nil {
		reg = builtin
	}
	return &Codec{reg: reg}
}

var defaultCodec = NewCodec(nil)

// MarshalJSON encodes r with the built-in extension registry.
func (r *Result) MarshalJSON() ([]byte, error) { return defaultCodec.EncodeJSON(r) }

// UnmarshalJSON decodes r with the built-in extension registry.
func (r *Result) UnmarshalJSON(b []byte) error {
	res, err := defaultCodec.DecodeJSON(b)
	if err != nil {
		return err
	}
	*r = *res
	return nil
}

func decodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
}

var b64 = base64.RawURLEncoding

// EncodeJSON returns the JSON claims set of r, with the claim names of its
// profile's generation and map keys in sorted order.
func (c *Codec) EncodeJSON(r *Result) ([]byte, error) {
	m, err := c.jsonClaims(r)
	if err != nil {
		return nil, err
	}
	b, err := appendJSON(make([]byte, 0, 1024), m, 0)
	if err != nil {
		return nil, fmt.Errorf("ear: encode JSON: %w", err)
	}
	return b, nil
}

func (c *Codec) jsonClaims(r *Result) (map[string]any, error) {
	if r == nil {
		return nil, invalid("nil result")
	}
	g := r.Generation()
	n := namesFor(g)
	m := make(map[string]any, 12)
	m[nameProfile] = r.Profile
	m[nameIAT] = r.IssuedAt.Unix()
	if !r.ExpiresAt.IsZero() {
		m[nameEXP] = r.ExpiresAt.Unix()
	}
	if !r.NotBefore.IsZero() {
		m[nameNBF] = r.NotBefore.Unix()
	}
	if r.Issuer != "" {
		m[nameISS] = r.Issuer
	}
	if r.ID != "" {
		m[nameJTI] = r.ID
	}
	switch len(r.Audience) {
	case 0:
	case 1:
		m[nameAUD] = r.Audience[0]
	default:
		m[nameAUD] = r.Audience
	}
	m[n.verifierID] = map[string]string{"developer": r.VerifierID.Developer, "build": r.VerifierID.Build}
	if r.Nonce != nil {
		m[nameNonce] = b64.EncodeToString(r.Nonce)
	}
	if r.RawEvidence != nil {
		m[n.rawEvidence] = b64.EncodeToString(r.RawEvidence)
	}
	if r.Status != nil {
		m[n.status] = r.Status.String()
	}
	subs := make(map[string]any, len(r.Submods))
	for name, a := range r.Submods {
		if a == nil {
			return nil, invalid("submods[%q]: missing appraisal", name)
		}
		am, err := c.jsonAppraisal(a, g, n)
		if err != nil {
			return nil, fmt.Errorf("submods[%q]: %w", name, err)
		}
		subs[name] = am
	}
	m[nameSubmods] = subs
	if err := c.putJSONExtensions(m, r.Extensions, ScopeResult, g); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *Codec) jsonAppraisal(a *Appraisal, g Generation, n *names) (map[string]any, error) {
	m := make(map[string]any, 6)
	m[n.status] = a.Status.String()
	if !a.TrustVector.IsZero() {
		m[n.vector] = vectorJSON(a.TrustVector, g)
	}
	if len(a.PolicyIDs) > 0 {
		if g == GenerationLegacy {
			if len(a.PolicyIDs) > 1 {
				return nil, invalid("%s: the legacy generation carries one policy id, got %d", n.policyIDs, len(a.PolicyIDs))
			}
			m[n.policyIDs] = a.PolicyIDs[0]
		} else {
			m[n.policyIDs] = a.PolicyIDs
		}
	}
	if a.Profile != "" {
		m[nameProfile] = a.Profile
	}
	if a.Nonce != nil {
		m[nameNonce] = b64.EncodeToString(a.Nonce)
	}
	if a.AnnotatedEvidence != nil {
		m[n.annotated] = a.AnnotatedEvidence
	}
	if a.PolicyClaims != nil {
		m[n.policyClaims] = a.PolicyClaims
	}
	if a.KeyAttestation != nil {
		m[n.keyAttestation] = map[string]string{"akpub": b64.EncodeToString(a.KeyAttestation.AKPub)}
	}
	if err := c.putJSONExtensions(m, a.Extensions, ScopeAppraisal, g); err != nil {
		return nil, err
	}
	return m, nil
}

func vectorJSON(v TrustVector, g Generation) map[string]int {
	m := make(map[string]int, len(v))
	for i, claim := range v {
		// The legacy generation lists every category, as Veraison and Trustee do.
		if claim != NoClaim || g == GenerationLegacy {
			m[Category(i).String()] = int(claim)
		}
	}
	return m
}

// extension returns the registered extension an Extensions map key names
// (its IETF name), refusing one that is unknown or not allowed in scope.
func (c *Codec) extension(name string, scope Scope) (Extension, error) {
	e, ok := c.reg.Lookup(name)
	if !ok || e.Name != name {
		return e, invalid("extension %q: not registered", name)
	}
	if e.Scope&scope == 0 {
		return e, invalid("extension %q: not allowed here", name)
	}
	return e, nil
}

func (c *Codec) putJSONExtensions(m map[string]any, exts map[string]any, scope Scope, g Generation) error {
	for name, v := range exts {
		e, err := c.extension(name, scope)
		if err != nil {
			return err
		}
		if g == GenerationLegacy {
			m[e.LegacyName] = v
		} else {
			m[e.Name] = v
		}
	}
	return nil
}

// DecodeJSON decodes a JSON claims set. It accepts the claim names of both
// generations (whatever the profile), ignores unknown claims, keeps registered
// extensions, and does not validate: call Validate.
func (c *Codec) DecodeJSON(data []byte) (*Result, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, decodeErr("claims set: %v", err)
	}
	if top == nil {
		return nil, decodeErr("claims set: not a JSON object")
	}
	if err := noDuplicates(data, len(top), "claims set"); err != nil {
		return nil, err
	}
	r := &Result{}
	var err error
	if raw, ok := top[nameProfile]; ok {
		if err = jsonString(raw, nameProfile, &r.Profile); err != nil {
			return nil, err
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{nameIAT, &r.IssuedAt}, {nameEXP, &r.ExpiresAt}, {nameNBF, &r.NotBefore}} {
		if raw, ok := top[t.name]; ok {
			if *t.dst, err = jsonTime(raw, t.name); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := top[nameISS]; ok {
		if err = jsonString(raw, nameISS, &r.Issuer); err != nil {
			return nil, err
		}
	}
	if raw, ok := top[nameJTI]; ok {
		if err = jsonString(raw, nameJTI, &r.ID); err != nil {
			return nil, err
		}
	}
	if raw, ok := top[nameAUD]; ok {
		if r.Audience, err = jsonAudience(raw); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(top, func(n *names) string { return n.verifierID }); err != nil {
		return nil, err
	} else if raw != nil {
		var vid struct {
			Developer *string `json:"developer"`
			Build     *string `json:"build"`
		}
		if err := json.Unmarshal(raw, &vid); err != nil {
			return nil, decodeErr("%s: %v", name, err)
		}
		if vid.Developer != nil {
			r.VerifierID.Developer = *vid.Developer
		}
		if vid.Build != nil {
			r.VerifierID.Build = *vid.Build
		}
	}
	if raw, ok := top[nameNonce]; ok {
		if r.Nonce, err = jsonBytes(raw, nameNonce); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(top, func(n *names) string { return n.rawEvidence }); err != nil {
		return nil, err
	} else if raw != nil {
		if r.RawEvidence, err = jsonBytes(raw, name); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(top, func(n *names) string { return n.status }); err != nil {
		return nil, err
	} else if raw != nil {
		s, err := jsonStatus(raw, name)
		if err != nil {
			return nil, err
		}
		r.Status = &s
	}
	if raw, ok := top[nameSubmods]; ok {
		var subs map[string]json.RawMessage
		if err := json.Unmarshal(raw, &subs); err != nil || subs == nil {
			return nil, decodeErr("submods: expected an object")
		}
		if err := noDuplicates(raw, len(subs), "submods"); err != nil {
			return nil, err
		}
		r.Submods = make(map[string]*Appraisal, len(subs))
		for name, raw := range subs {
			a, err := c.decodeJSONAppraisal(raw)
			if err != nil {
				return nil, fmt.Errorf("submods[%q]: %w", name, err)
			}
			r.Submods[name] = a
		}
	}
	if r.Extensions, err = c.jsonExtensions(top, ScopeResult); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *Codec) decodeJSONAppraisal(data []byte) (*Appraisal, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, decodeErr("appraisal: expected an object")
	}
	if err := noDuplicates(data, len(m), "appraisal"); err != nil {
		return nil, err
	}
	a := &Appraisal{}
	raw, name, err := pick(m, func(n *names) string { return n.status })
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, decodeErr("ear_status: missing")
	}
	if a.Status, err = jsonStatus(raw, name); err != nil {
		return nil, err
	}
	if raw, name, err := pick(m, func(n *names) string { return n.vector }); err != nil {
		return nil, err
	} else if raw != nil {
		if a.TrustVector, err = jsonVector(raw, name); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(m, func(n *names) string { return n.policyIDs }); err != nil {
		return nil, err
	} else if raw != nil {
		if a.PolicyIDs, err = jsonPolicyIDs(raw, name); err != nil {
			return nil, err
		}
	}
	if raw, ok := m[nameProfile]; ok {
		if err := jsonString(raw, nameProfile, &a.Profile); err != nil {
			return nil, err
		}
	}
	if raw, ok := m[nameNonce]; ok {
		if a.Nonce, err = jsonBytes(raw, nameNonce); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(m, func(n *names) string { return n.annotated }); err != nil {
		return nil, err
	} else if raw != nil {
		if a.AnnotatedEvidence, err = jsonObject(raw, name); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(m, func(n *names) string { return n.policyClaims }); err != nil {
		return nil, err
	} else if raw != nil {
		if a.PolicyClaims, err = jsonObject(raw, name); err != nil {
			return nil, err
		}
	}
	if raw, name, err := pick(m, func(n *names) string { return n.keyAttestation }); err != nil {
		return nil, err
	} else if raw != nil {
		var ka map[string]json.RawMessage
		if err := json.Unmarshal(raw, &ka); err != nil || ka == nil {
			return nil, decodeErr("%s: expected an object", name)
		}
		a.KeyAttestation = &KeyAttestation{}
		if akpub, ok := ka["akpub"]; ok {
			if a.KeyAttestation.AKPub, err = jsonBytes(akpub, name+".akpub"); err != nil {
				return nil, err
			}
		}
	}
	if a.Extensions, err = c.jsonExtensions(m, ScopeAppraisal); err != nil {
		return nil, err
	}
	return a, nil
}

func (c *Codec) jsonExtensions(m map[string]json.RawMessage, scope Scope) (map[string]any, error) {
	var exts map[string]any
	for name, raw := range m {
		e, ok := c.reg.Lookup(name)
		if !ok || e.Scope&scope == 0 {
			continue // unknown claims are ignored
		}
		v, err := jsonAny(raw)
		if err != nil {
			return nil, decodeErr("%s: %v", name, err)
		}
		if exts == nil {
			exts = map[string]any{}
		}
		if _, dup := exts[e.Name]; dup {
			return nil, decodeErr("%s: present under both names %q and %q", e.Name, e.Name, e.LegacyName)
		}
		exts[e.Name] = v
	}
	return exts, nil
}

// pick returns the claim present under either generation's name, and an
// error if both are present.
func pick(m map[string]json.RawMessage, f func(*names) string) (json.RawMessage, string, error) {
	in, ln := f(&ietfNames), f(&legacyNames)
	ri, okI := m[in]
	rl, okL := m[ln]
	switch {
	case okI && okL:
		return nil, in, decodeErr("claim present under both names %q and %q", in, ln)
	case okI:
		return ri, in, nil
	case okL:
		return rl, ln, nil
	}
	return nil, in, nil
}

func jsonString(raw json.RawMessage, name string, dst *string) error {
	if err := json.Unmarshal(raw, dst); err != nil || (len(raw) > 0 && raw[0] != '"') {
		return decodeErr("%s: expected a string, got %.40s", name, raw)
	}
	return nil
}

func jsonTime(raw json.RawMessage, name string) (time.Time, error) {
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, decodeErr("%s: expected integer seconds, got %.40s", name, s)
	}
	return unixTime(n, name)
}

// unixTime converts a NumericDate claim, refusing times before the epoch
// or after 9999-12-31.
func unixTime(n int64, name string) (time.Time, error) {
	if n <= 0 || n > 253402300799 {
		return time.Time{}, decodeErr("%s: time %d out of range", name, n)
	}
	return time.Unix(n, 0).UTC(), nil
}

func jsonBytes(raw json.RawMessage, name string) ([]byte, error) {
	var s string
	if err := jsonString(raw, name, &s); err != nil {
		return nil, err
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, decodeErr("%s: %v", name, err)
	}
	return b, nil
}

// decodeBase64 accepts base64url (RFC 9711 binary data) and, for interop, the
// standard alphabet, each with or without padding.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64: %.40q", s)
}

func jsonStatus(raw json.RawMessage, name string) (Status, error) {
	var s string
	if err := jsonString(raw, name, &s); err != nil {
		return 0, err
	}
	st, err := ParseStatus(s)
	if err != nil {
		return 0, decodeErr("%s: %v", name, err)
	}
	return st, nil
}

func jsonVector(raw json.RawMessage, name string) (TrustVector, error) {
	var v TrustVector
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return v, decodeErr("%s: expected an object", name)
	}
	if err := noDuplicates(raw, len(m), name); err != nil {
		return v, err
	}
	for k, cv := range m {
		cat, ok := ParseCategory(k)
		if !ok {
			return v, decodeErr("%s: unknown category %q", name, k)
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(cv)), 10, 64)
		if err != nil || n < math.MinInt8 || n > math.MaxInt8 {
			return v, decodeErr("%s.%s: expected an integer in -128..127, got %.20s", name, k, cv)
		}
		v[cat] = TrustClaim(n)
	}
	return v, nil
}

func jsonPolicyIDs(raw json.RawMessage, name string) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := jsonString(raw, name, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 {
		return nil, decodeErr("%s: expected a string or a non-empty array of strings", name)
	}
	return ids, nil
}

func jsonAudience(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := jsonString(raw, nameAUD, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var aud []string
	if err := json.Unmarshal(raw, &aud); err != nil {
		return nil, decodeErr("aud: expected a string or an array of strings")
	}
	return aud, nil
}

func jsonObject(raw json.RawMessage, name string) (map[string]any, error) {
	v, err := jsonAny(raw)
	if err != nil {
		return nil, decodeErr("%s: %v", name, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, decodeErr("%s: expected an object", name)
	}
	return m, nil
}

// jsonAny decodes a JSON value with integers as int64 and other numbers as
// float64, so integers survive a round trip through either encoding.
func jsonAny(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return normalizeNumbers(v)
}

func normalizeNumbers(v any) (any, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, fmt.Errorf("number %.40s out of range", t)
		}
		return f, nil
	case map[string]any:
		for k, e := range t {
			n, err := normalizeNumbers(e)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
	case []any:
		for i, e := range t {
			n, err := normalizeNumbers(e)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
	}
	return v, nil
}

// noDuplicates refuses a JSON object whose member count differs from the
// number of distinct keys decoded from it: encoding/json keeps the last of
// duplicate members, and two parsers must never read different claims from
// the same signed bytes. It counts the colons outside strings at depth one.
func noDuplicates(obj []byte, distinct int, what string) error {
	depth, members, inString, escaped := 0, 0, false, false
	for _, c := range obj {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ':' && depth == 1:
			members++
		}
	}
	if members != distinct {
		return decodeErr("%s: duplicate member names (%d members, %d distinct)", what, members, distinct)
	}
	return nil
}
