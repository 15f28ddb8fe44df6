package rim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Namespaces of NVIDIA's SWID RIMs; elements and attributes are matched by
// exact namespace URI and local name, never by prefix or substring.
const (
	nsSWID   = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
	nsTCGRIM = "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
	nsSHA384 = "http://www.w3.org/2001/04/xmlenc#sha384"
	// nsOpaqueData is NVIDIA's namespace of opaque-data RIM attributes
	// (numeric reference values such as minimum SVNs).
	nsOpaqueData = "https://docs.nvidia.com/attestation/specs/latest/opaque-data.html"

	maxIndex        = 253 // RIM index i is SPDM block i+1, a byte in 1..254
	maxAlternatives = 16
	hashLen         = 48 // SHA-384, the only hash the RIM namespace names
	maxMeasurements = 256
)

// parseManifest reads a Manifest from the root of d, after verifyEnveloped
// detached the signature from it. It is strict: unknown elements, duplicated Meta or Payload,
// duplicated indices and any attribute value outside NVIDIA's vocabulary are
// ErrMalformed.
func parseManifest(d *xdoc) (*Manifest, error) {
	root := d.el(d.root)
	if root.local != "SoftwareIdentity" || root.space != nsSWID {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: verified root: expected {%s}SoftwareIdentity, got {%s}%s", nsSWID, root.space, root.local)
	}
	m := &Manifest{}
	var err error
	if m.Name, _, err = attr(root, "", "name"); err != nil {
		return nil, err
	}
	if m.TagID, _, err = attr(root, "", "tagId"); err != nil {
		return nil, err
	}
	var meta, payload int32 = -1, -1
	for _, ci := range d.childElements(d.root) {
		c := d.el(ci)
		if c.space != nsSWID {
			return nil, verify.Errorf(verify.ErrMalformed, "rim: unexpected element {%s}%s in SoftwareIdentity", c.space, c.local)
		}
		switch c.local {
		case "Entity":
		case "Meta":
			if meta >= 0 {
				return nil, verify.Errorf(verify.ErrMalformed, "rim: SoftwareIdentity has more than one Meta")
			}
			meta = ci
		case "Payload":
			if payload >= 0 {
				return nil, verify.Errorf(verify.ErrMalformed, "rim: SoftwareIdentity has more than one Payload")
			}
			payload = ci
		default:
			return nil, verify.Errorf(verify.ErrMalformed, "rim: unexpected element %s in SoftwareIdentity", c.local)
		}
	}
	if meta < 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: SoftwareIdentity has no Meta")
	}
	if payload < 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: SoftwareIdentity has no Payload")
	}
	if err := parseMeta(d, meta, m); err != nil {
		return nil, err
	}
	if err := parsePayload(d, payload, m); err != nil {
		return nil, err
	}
	// The strings kept are copies: the values are substrings of the whole
	// document, which a cached manifest must not keep alive.
	m.Name, m.TagID = strings.Clone(m.Name), strings.Clone(m.TagID)
	m.Product, m.Edition = strings.Clone(m.Product), strings.Clone(m.Edition)
	m.FirmwareManufacturerID = strings.Clone(m.FirmwareManufacturerID)
	return m, nil
}

func parseMeta(d *xdoc, mi int32, m *Manifest) error {
	meta := d.el(mi)
	if len(d.childElements(mi)) != 0 {
		return verify.Errorf(verify.ErrMalformed, "rim: Meta has child elements")
	}
	v, ok, err := attr(meta, "", "colloquialVersion")
	if err != nil {
		return err
	}
	if !ok || strings.TrimSpace(v) == "" || v != strings.TrimSpace(v) {
		return verify.Errorf(verify.ErrMalformed, "rim: Meta colloquialVersion %q missing or not trimmed", v)
	}
	m.Version = strings.Clone(v)
	if m.Product, _, err = attr(meta, "", "product"); err != nil {
		return err
	}
	if m.Edition, _, err = attr(meta, "", "edition"); err != nil {
		return err
	}
	if m.FirmwareManufacturerID, _, err = attr(meta, nsTCGRIM, "FirmwareManufacturerId"); err != nil {
		return err
	}
	switch {
	case m.Edition == "SWITCH":
		m.Kind = KindSwitchBIOS
	case isFirmwareVersion(m.Version):
		m.Kind = KindVBIOS
	default:
		m.Kind = KindDriver
	}
	return nil
}

func parsePayload(d *xdoc, payload int32, m *Manifest) error {
	res := d.childElements(payload)
	if len(res) == 0 {
		return verify.Errorf(verify.ErrMalformed, "rim: Payload has no Resource")
	}
	if len(res) > maxMeasurements {
		return verify.Errorf(verify.ErrLimit, "rim: Payload has %d resources, more than %d", len(res), maxMeasurements)
	}
	seen := make(map[int]bool, len(res))
	m.Measurements = make([]Measurement, 0, len(res))
	for i, ri := range res {
		r := d.el(ri)
		if r.local != "Resource" || r.space != nsSWID {
			return verify.Errorf(verify.ErrMalformed, "rim: Payload child %d: expected {%s}Resource, got {%s}%s", i, nsSWID, r.space, r.local)
		}
		if r.first >= 0 && len(d.childElements(ri)) != 0 {
			return fmt.Errorf("rim: Payload Resource %d: %w", i, verify.Errorf(verify.ErrMalformed, "Resource has child elements"))
		}
		ms, err := parseResource(r)
		if err != nil {
			return fmt.Errorf("rim: Payload Resource %d: %w", i, err)
		}
		if seen[ms.Index] {
			return verify.Errorf(verify.ErrMalformed, "rim: Payload: index %d appears twice", ms.Index)
		}
		seen[ms.Index] = true
		m.Measurements = append(m.Measurements, ms)
	}
	return nil
}

// parseResource reads one <Resource type="Measurement" index active
// alternatives size name ns2:Hash0…/>.
func parseResource(r *node) (Measurement, error) {
	var ms Measurement
	// An opaque-data attribute is a numeric floor this parser cannot read
	// yet (its encoding is unpublished): refuse it before any other check
	// can call the record merely malformed, and never drop it.
	for _, a := range r.attrs {
		if a.space == nsOpaqueData {
			return ms, verify.Errorf(verify.ErrUnsupported, "opaque-data attribute %s (namespace %q): not supported, refused rather than ignored", a.fullName(), nsOpaqueData)
		}
	}
	typ, _, err := attr(r, "", "type")
	if err != nil {
		return ms, err
	}
	if typ != "Measurement" {
		return ms, verify.Errorf(verify.ErrUnsupported, "Resource type %q (only \"Measurement\" is known)", typ)
	}
	if ms.Index, err = intAttr(r, "index", 0, maxIndex); err != nil {
		return ms, err
	}
	active, ok, err := attr(r, "", "active")
	if err != nil {
		return ms, err
	}
	switch {
	case !ok:
		return ms, verify.Errorf(verify.ErrMalformed, "index %d: no active attribute", ms.Index)
	case active == "True":
		ms.Active = true
	case active == "False":
	default:
		return ms, verify.Errorf(verify.ErrMalformed, "index %d: active=%q, expected \"True\" or \"False\"", ms.Index, active)
	}
	nAlt, err := intAttr(r, "alternatives", 1, maxAlternatives)
	if err != nil {
		return ms, fmt.Errorf("index %d: %w", ms.Index, err)
	}
	if ms.Size, err = intAttr(r, "size", hashLen, hashLen); err != nil {
		return ms, fmt.Errorf("index %d: %w", ms.Index, err)
	}
	if ms.Name, _, err = attr(r, "", "name"); err != nil {
		return ms, err
	}
	ms.Name = strings.Clone(ms.Name) // not the whole document's string
	ms.Alternatives = make([][]byte, nAlt)
	for _, a := range r.attrs {
		uri := a.space
		if uri == "" {
			switch a.local {
			case "type", "index", "active", "alternatives", "size", "name":
				continue
			}
			if strings.HasPrefix(a.local, "Hash") {
				return ms, verify.Errorf(verify.ErrMalformed, "index %d: %s is not in the SHA-384 namespace", ms.Index, a.local)
			}
			continue // other unqualified SWID attributes carry no golden value
		}
		if uri != nsSHA384 {
			if strings.HasPrefix(a.local, "Hash") {
				return ms, verify.Errorf(verify.ErrMalformed, "index %d: %s is in namespace %q, not the SHA-384 namespace", ms.Index, a.fullName(), uri)
			}
			return ms, verify.Errorf(verify.ErrUnsupported, "index %d: unknown attribute %s (namespace %q)", ms.Index, a.fullName(), uri)
		}
		n, ok := hashNumber(a.local)
		if !ok || n >= nAlt {
			return ms, verify.Errorf(verify.ErrMalformed, "index %d: attribute %s outside Hash0..Hash%d", ms.Index, a.fullName(), nAlt-1)
		}
		if ms.Alternatives[n] != nil {
			return ms, verify.Errorf(verify.ErrMalformed, "index %d: Hash%d appears twice", ms.Index, n)
		}
		if len(a.value) != 2*ms.Size {
			return ms, verify.Errorf(verify.ErrMalformed, "index %d: Hash%d has %d hex digits, expected %d", ms.Index, n, len(a.value), 2*ms.Size)
		}
		b, err := hex.DecodeString(a.value)
		if err != nil {
			return ms, verify.Errorf(verify.ErrMalformed, "index %d: Hash%d: %w", ms.Index, n, err)
		}
		ms.Alternatives[n] = b
	}
	for n, b := range ms.Alternatives {
		if b == nil {
			return ms, verify.Errorf(verify.ErrMalformed, "index %d: alternatives=%d but Hash%d is missing", ms.Index, nAlt, n)
		}
	}
	return ms, nil
}

// hashNumber parses "Hash<n>" with a canonical decimal n.
func hashNumber(key string) (int, bool) {
	d, ok := strings.CutPrefix(key, "Hash")
	if !ok || d == "" || len(d) > 2 || d[0] == '0' && len(d) > 1 {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	return n, err == nil
}

// attr returns the value of the attribute with namespace URI ns ("" for an
// unqualified attribute) and local name key, failing if it appears twice
// (possible under two prefixes bound to one URI).
func attr(e *node, ns, key string) (string, bool, error) {
	var val string
	found := false
	for _, a := range e.attrs {
		if a.local != key || a.space != ns {
			continue
		}
		if found {
			return "", false, verify.Errorf(verify.ErrMalformed, "rim: %s has attribute %s twice", e.local, key)
		}
		val, found = a.value, true
	}
	return val, found, nil
}

// intAttr reads a required canonical decimal attribute in [min, max].
func intAttr(e *node, key string, min, max int) (int, error) {
	s, ok, err := attr(e, "", key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, verify.Errorf(verify.ErrMalformed, "no %s attribute", key)
	}
	if s == "" || len(s) > 4 || s[0] == '0' && len(s) > 1 {
		return 0, verify.Errorf(verify.ErrMalformed, "%s=%q is not a canonical decimal", key, s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, verify.Errorf(verify.ErrMalformed, "%s=%q is not a canonical decimal", key, s)
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < min || n > max {
		return 0, verify.Errorf(verify.ErrMalformed, "%s=%d outside %d..%d", key, n, min, max)
	}
	return n, nil
}
