package nras

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/trustfactory/attest/verify"
)

// payload is a verified token's claims, decoded with numbers kept exact.
type payload map[string]any

func decodeClaims(what string, b []byte) (payload, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s claims: %v", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, verify.Errorf(verify.ErrMalformed, "%s claims: data after the JSON object", what)
	}
	if m == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s claims: null", what)
	}
	return m, nil
}

// str returns claim k as a string; absent and null are "", false; any other
// type is ErrMalformed.
func (p payload) str(what, k string) (string, bool, error) {
	v, ok := p[k]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, verify.Errorf(verify.ErrMalformed, "%s claim %s: expected a string, got %T", what, k, v)
	}
	return s, true, nil
}

func (p payload) requiredStr(what, k string) (string, error) {
	s, ok, err := p.str(what, k)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", verify.Errorf(verify.ErrMalformed, "%s claim %s: missing", what, k)
	}
	return s, nil
}

// boolean returns claim k as a bool (absent and null: false, false).
func (p payload) boolean(what, k string) (bool, bool, error) {
	v, ok := p[k]
	if !ok || v == nil {
		return false, false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, false, verify.Errorf(verify.ErrMalformed, "%s claim %s: expected a boolean, got %T", what, k, v)
	}
	return b, true, nil
}

// numericDate returns the NumericDate claim k (an integer number of seconds).
func (p payload) numericDate(what, k string) (time.Time, bool, error) {
	v, ok := p[k]
	if !ok || v == nil {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, verify.Errorf(verify.ErrMalformed, "%s claim %s: expected a number, got %T", what, k, v)
	}
	s, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || s < 0 || s > 1<<40 {
		return time.Time{}, false, verify.Errorf(verify.ErrMalformed, "%s claim %s: expected integer seconds, got %s", what, k, n)
	}
	return time.Unix(s, 0).UTC(), true, nil
}

// registered are the claims the verifier consumes itself; they are reported
// under x-attest-nras-* names (or, eat_nonce, as checked) instead.
var registered = map[string]bool{
	"iss": true, "nbf": true, "iat": true, "exp": true, "jti": true, "eat_nonce": true,
	"sub": true, "submods": true,
}

// DeviceClaims is what verification proved about one device token.
type DeviceClaims struct {
	// Name is the device's submodule name in the detached EAT ("GPU-0").
	Name string
	// Kind is "gpu" or "switch".
	Kind string
	// Version is the NRAS claims version of the overall token ("3.0").
	Version string
	// UEID is the device's ueid claim (decimal serial of its attestation key certificate).
	UEID string
	// Nonce is the token's eat_nonce.
	Nonce []byte
	// IssuedAt and ExpiresAt are the device token's iat and exp.
	IssuedAt, ExpiresAt time.Time
	// Unsafe lists the unsafe switches that took effect.
	Unsafe []verify.UnsafeSwitch
	claims map[string]any
}

// Map returns the device's claims under the names the local gpu verifier
// uses (a fresh copy each call).
func (d *DeviceClaims) Map() map[string]any { return deepCopy(d.claims).(map[string]any) }

// Claims are the claims of every device of one verified detached EAT, or of
// the one device of a Split part.
type Claims struct {
	format  verify.Format
	Devices []*DeviceClaims
}

// Format returns the evidence format.
func (c *Claims) Format() verify.Format { return c.format }

// Map returns the flat claims of the single device, or for several devices
// {"devices": [...], "x-nvidia-device-count": n}, as the gpu verifier does.
func (c *Claims) Map() map[string]any {
	if len(c.Devices) == 1 {
		return c.Devices[0].Map()
	}
	list := make([]any, 0, len(c.Devices))
	for _, d := range c.Devices {
		list = append(list, d.Map())
	}
	return map[string]any{"devices": list, "x-nvidia-device-count": len(c.Devices)}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	case []string:
		return append([]string(nil), t...)
	}
	return v
}

// plain converts decoded JSON (json.Number, nested objects, nulls) into the
// claim value types the rest of attest uses: int64 or float64 for numbers;
// null members of objects are dropped.
func plain(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return u
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			if x != nil {
				m[k] = plain(x)
			}
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = plain(x)
		}
		return l
	}
	return v
}

// flagSuffixes end the names of NVIDIA's boolean result claims.
var flagSuffixes = []string{
	"-arch-check", "-parsed", "-nonce-match", "-signature-verified", "-fwid-match",
	"-fetched", "-schema-validated", "-cert-validated", "-chain-validated",
	"-measurements-available", "-version-match", "-no-conflict",
}

// certChainFields are the members of a cert-chain object; all strings.
var certChainFields = []string{
	"x-nvidia-cert-status", "x-nvidia-cert-ocsp-status", "x-nvidia-cert-expiration-date", "x-nvidia-cert-revocation-reason",
}

// deviceClaimsMap maps a verified device token's claims onto the names the
// local gpu verifier emits. NRAS claims 3.0 and 4.0 already use them; 2.0's
// boolean *-cert-chain-validated / *-rim-cert-validated become cert-chain
// objects with a status and no OCSP status (2.0 does not report one, so the
// default policy treats revocation as unchecked). Claims NRAS leaves null are
// absent. Types of the claims a policy reads are checked.
func deviceClaimsMap(what, kind, version string, p payload, nonceChecked bool) (map[string]any, error) {
	pre := "x-nvidia-" + kind + "-"
	out := make(map[string]any, len(p)+8)
	for k, v := range p {
		if v == nil || registered[k] || strings.HasPrefix(k, "x-attest-") {
			continue
		}
		out[k] = plain(v)
	}
	for _, k := range []string{"measres", "dbgstat", "hwmodel", "oemid", "ueid", pre + "driver-version", pre + "vbios-version", pre + "bios-version"} {
		if _, _, err := p.str(what, k); err != nil {
			return nil, err
		}
	}
	if _, _, err := p.boolean(what, "secboot"); err != nil {
		return nil, err
	}
	for k, v := range p {
		if v == nil {
			continue
		}
		for _, s := range flagSuffixes {
			if strings.HasSuffix(k, s) {
				if _, ok := v.(bool); !ok {
					return nil, verify.Errorf(verify.ErrMalformed, "%s claim %s: expected a boolean, got %T", what, k, v)
				}
			}
		}
		if strings.HasSuffix(k, "-cert-chain") {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, verify.Errorf(verify.ErrMalformed, "%s claim %s: expected an object, got %T", what, k, v)
			}
			for _, f := range certChainFields {
				if x, ok := obj[f]; ok && x != nil {
					if _, ok := x.(string); !ok {
						return nil, verify.Errorf(verify.ErrMalformed, "%s claim %s/%s: expected a string, got %T", what, k, f, x)
					}
				}
			}
		}
	}
	// Claims 2.0: flat booleans instead of cert-chain objects.
	for _, pair := range [][2]string{
		{pre + "attestation-report-cert-chain-validated", pre + "attestation-report-cert-chain"},
		{pre + "driver-rim-cert-validated", pre + "driver-rim-cert-chain"},
		{pre + "vbios-rim-cert-validated", pre + "vbios-rim-cert-chain"},
		{pre + "bios-rim-cert-validated", pre + "bios-rim-cert-chain"},
	} {
		ok, present, _ := p.boolean(what, pair[0])
		if _, has := out[pair[1]]; !present || has {
			continue
		}
		status := "invalid"
		if ok {
			status = "valid"
		}
		out[pair[1]] = map[string]any{"x-nvidia-cert-status": status}
	}
	if err := opaqueRecordClaims(what, version, p, out); err != nil {
		return nil, err
	}
	nk := pre + "attestation-report-nonce-match"
	nm, _, _ := p.boolean(what, nk)
	out[nk] = nm && nonceChecked
	out["x-nvidia-device-type"] = kind
	out[pre+"claims-version"] = version
	if kind == "switch" {
		// The local verifier names the switch BIOS both ways; NRAS uses bios.
		if v, ok := out["x-nvidia-switch-bios-version"]; ok {
			if _, has := out["x-nvidia-switch-vbios-version"]; !has {
				out["x-nvidia-switch-vbios-version"] = v
			}
		}
	}
	return out, nil
}

// Claims 4.0 names of the opaque-data records, as the local gpu verifier
// emits them.
const (
	claimAttester        = "x-nvidia-attester-claims"
	claimOpaqueMismatch  = "x-nvidia-mismatch-opaque-data-records"
	maxOpaqueRecordItems = 256
)

// opaqueRecordClaims checks and normalizes the claims 4.0 opaque-record
// claims: x-nvidia-attester-claims is an object of non-negative integers,
// x-nvidia-mismatch-opaque-data-records a list of objects, each with an
// integer id, a name, a goldenType and an integer goldenValue. NVIDIA writes
// null for "no mismatches", the fact the local verifier states as an empty
// list, so a 4.0 token's null (or absent) list becomes [] and its null
// attester claims {}: one policy reads both paths the same way.
func opaqueRecordClaims(what, version string, p payload, out map[string]any) error {
	if version != "4.0" {
		return nil
	}
	switch a := p[claimAttester].(type) {
	case nil:
		out[claimAttester] = map[string]any{}
	case map[string]any:
		for k, v := range a {
			if n, ok := plain(v).(int64); !ok || n < 0 {
				return verify.Errorf(verify.ErrMalformed, "%s claim %s/%s: expected a non-negative integer, got %v", what, claimAttester, k, v)
			}
		}
	default:
		return verify.Errorf(verify.ErrMalformed, "%s claim %s: expected an object, got %T", what, claimAttester, a)
	}
	switch l := p[claimOpaqueMismatch].(type) {
	case nil:
		out[claimOpaqueMismatch] = []any{}
	case []any:
		if len(l) > maxOpaqueRecordItems {
			return verify.Errorf(verify.ErrLimit, "%s claim %s: %d records, at most %d", what, claimOpaqueMismatch, len(l), maxOpaqueRecordItems)
		}
		for i, x := range l {
			r, ok := x.(map[string]any)
			if !ok {
				return verify.Errorf(verify.ErrMalformed, "%s claim %s[%d]: expected an object, got %T", what, claimOpaqueMismatch, i, x)
			}
			for _, f := range []string{"id", "goldenValue"} {
				if _, ok := plain(r[f]).(int64); !ok {
					return verify.Errorf(verify.ErrMalformed, "%s claim %s[%d].%s: expected an integer, got %v", what, claimOpaqueMismatch, i, f, r[f])
				}
			}
			for _, f := range []string{"name", "goldenType"} {
				if _, ok := r[f].(string); !ok {
					return verify.Errorf(verify.ErrMalformed, "%s claim %s[%d].%s: expected a string, got %T", what, claimOpaqueMismatch, i, f, r[f])
				}
			}
		}
	default:
		return verify.Errorf(verify.ErrMalformed, "%s claim %s: expected a list, got %T", what, claimOpaqueMismatch, l)
	}
	return nil
}
