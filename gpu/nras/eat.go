package nras

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Bounds on a detached EAT.
const (
	// MaxEvidenceSize bounds a detached EAT given to Verify (a Split part
	// may be partOverhead bytes longer).
	MaxEvidenceSize = 1 << 20
	// MaxDevices bounds the device tokens of one detached EAT (an HGX board
	// has 8 GPUs and 4 switches). Every Split part carries the whole EAT, so
	// this also bounds how much splitting can multiply the evidence.
	MaxDevices = 16
	// partOverhead is what a Split part adds around the EAT.
	partOverhead = 256
)

// deviceToken is one entry of the device map: a submodule name ("GPU-0",
// "SWITCH-1") and its compact JWS.
type deviceToken struct {
	name string
	jws  string
}

// detachedEAT is NRAS's response, nothing in it verified:
// [["JWT", <overall JWS>], {"GPU-0": <JWS>, …}].
type detachedEAT struct {
	overall string
	devices []deviceToken // in document order, names unique
	// selected is the device a Split part stands for; empty for a whole EAT.
	selected string
}

// partEnvelope is one device's part of a detached EAT as Split returns it:
// the whole EAT (so that its overall token and every digest are still
// checked) and the device whose claims the part yields.
type partEnvelope struct {
	Device string          `json:"nras-device"`
	EAT    json.RawMessage `json:"detached-eat"`
}

func trimSpace(b []byte) []byte { return bytes.TrimLeft(b, " \t\r\n") }

// parseEvidence reads a detached EAT or a Split part.
func parseEvidence(b []byte) (*detachedEAT, error) {
	if len(b) > MaxEvidenceSize+partOverhead {
		return nil, verify.Errorf(verify.ErrLimit, "NRAS evidence: expected at most %d bytes, got %d", MaxEvidenceSize, len(b))
	}
	t := trimSpace(b)
	if len(t) > MaxEvidenceSize && t[0] != '{' {
		return nil, verify.Errorf(verify.ErrLimit, "NRAS evidence: expected at most %d bytes, got %d", MaxEvidenceSize, len(t))
	}
	if len(t) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "NRAS evidence: empty")
	}
	if t[0] == '{' {
		var p partEnvelope
		if err := strictUnmarshal(t, &p); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "NRAS evidence part: %v", err)
		}
		if p.Device == "" || p.EAT == nil {
			return nil, verify.Errorf(verify.ErrMalformed, "NRAS evidence part: expected nras-device and detached-eat")
		}
		if len(p.EAT) > MaxEvidenceSize {
			return nil, verify.Errorf(verify.ErrLimit, "NRAS evidence part: detached EAT of %d bytes, expected at most %d", len(p.EAT), MaxEvidenceSize)
		}
		d, err := parseDetachedEAT(p.EAT)
		if err != nil {
			return nil, err
		}
		if d.find(p.Device) < 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "NRAS evidence part: device %q is not in the detached EAT", p.Device)
		}
		d.selected = p.Device
		return d, nil
	}
	return parseDetachedEAT(t)
}

func (d *detachedEAT) find(name string) int {
	for i, dt := range d.devices {
		if dt.name == name {
			return i
		}
	}
	return -1
}

// strictUnmarshal decodes one JSON value with no unknown fields and nothing after it.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// parseDetachedEAT reads [["JWT", jws], {name: jws, …}] with a streaming
// decoder, so that a repeated device name (which encoding/json would resolve
// silently, last one wins) is refused.
func parseDetachedEAT(b []byte) (*detachedEAT, error) {
	bad := func(format string, args ...any) error {
		return verify.Errorf(verify.ErrMalformed, "NRAS detached EAT: "+format, args...)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	expectDelim := func(want json.Delim, where string) error {
		tk, err := dec.Token()
		if err != nil {
			return bad("%s: %v", where, err)
		}
		if d, ok := tk.(json.Delim); !ok || d != want {
			return bad("%s: expected %q, got %v", where, want, tk)
		}
		return nil
	}
	str := func(where string) (string, error) {
		tk, err := dec.Token()
		if err != nil {
			return "", bad("%s: %v", where, err)
		}
		s, ok := tk.(string)
		if !ok {
			return "", bad("%s: expected a string, got %T", where, tk)
		}
		return s, nil
	}
	if err := expectDelim('[', "top level"); err != nil {
		return nil, err
	}
	if err := expectDelim('[', "element 0"); err != nil {
		return nil, err
	}
	label, err := str("element 0 label")
	if err != nil {
		return nil, err
	}
	if label != "JWT" {
		return nil, verify.Errorf(verify.ErrUnsupported, "NRAS detached EAT: element 0: expected label \"JWT\", got %q", label)
	}
	out := &detachedEAT{}
	if out.overall, err = str("overall token"); err != nil {
		return nil, err
	}
	if err := expectDelim(']', "element 0 end"); err != nil {
		return nil, err
	}
	if err := expectDelim('{', "device tokens"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for dec.More() {
		name, err := str("device name")
		if err != nil {
			return nil, err
		}
		// No device is unnamed (they are GPU-<n> and SWITCH-<n>), and a
		// Split part names its device: one named "" would not read again.
		if name == "" {
			return nil, bad("empty device name")
		}
		if len(out.devices) == MaxDevices {
			return nil, verify.Errorf(verify.ErrLimit, "NRAS detached EAT: expected at most %d device tokens", MaxDevices)
		}
		if seen[name] {
			return nil, bad("device %q appears twice", name)
		}
		seen[name] = true
		jws, err := str("device " + name + " token")
		if err != nil {
			return nil, err
		}
		out.devices = append(out.devices, deviceToken{name: name, jws: jws})
	}
	if err := expectDelim('}', "device tokens end"); err != nil {
		return nil, err
	}
	if err := expectDelim(']', "top level end"); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("data after the detached EAT")
	}
	if len(out.devices) == 0 {
		return nil, bad("no device token")
	}
	return out, nil
}

// deviceKind returns "gpu" or "switch" for a submodule name GPU-<n> or
// SWITCH-<n> (n decimal, at most 3 digits, no leading zero).
func deviceKind(name string) (string, bool) {
	prefix, n, ok := strings.Cut(name, "-")
	if !ok || n == "" || len(n) > 3 || (len(n) > 1 && n[0] == '0') {
		return "", false
	}
	if _, err := strconv.ParseUint(n, 10, 16); err != nil {
		return "", false
	}
	switch prefix {
	case "GPU":
		return "gpu", true
	case "SWITCH":
		return "switch", true
	}
	return "", false
}

// marshalEAT re-serializes d (without selection) for Split parts.
func (d *detachedEAT) marshalEAT() []byte {
	var b bytes.Buffer
	b.WriteString(`[["JWT",`)
	q, _ := json.Marshal(d.overall)
	b.Write(q)
	b.WriteString(`],{`)
	for i, dt := range d.devices {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(dt.name)
		v, _ := json.Marshal(dt.jws)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString(`}]`)
	return b.Bytes()
}
