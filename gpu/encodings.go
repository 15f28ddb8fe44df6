package gpu

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// Two more JSON encodings of GPU evidence, beside Trustee's wrapper and
// NVIDIA's serialized array:
//
//   - the NRAS request body NVIDIA's verifiers send (and tools keep as
//     "gpu_evidence"): {"nonce":hex,"arch":…,"evidence_list":[{"evidence":
//     base64,"certificate":base64 PEM}],"claims_version"?:…};
//   - NVIDIA's CMW collection (tag:nvidia.com,2026:verifier-input/…): one
//     item per device, {"gpu_0":{"evidence":[media type, base64url
//     transcript],"certificate":[media type, base64url PEM],"nonce"?:[…]}},
//     with an optional collection-wide "nonce" record.
//
// Both are objects, read member by member in document order; a member name
// given twice in any object of the document is ErrMalformed, as it is in
// every other JSON encoding (encoding/json would keep the last, a reader in
// front of this one the first).
const (
	// maxObjectDepth and maxObjectValues bound the object encodings before
	// they are decoded: a device takes a handful of values, a CMW item a
	// dozen, and nesting is three levels deep.
	maxObjectDepth   = 8
	maxObjectValues  = 64 * maxDevices
	maxObjectMembers = 64 // per object, in every JSON encoding
	// maxEvidenceDepth caps the nesting checkDuplicateNames follows in any
	// GPU evidence document (CMW collections and NRAS bodies nest a few levels).
	maxEvidenceDepth = 64

	cmwTypeKey          = "__cmwc_t"
	cmwMediaTranscript  = "application/vnd.nvidia.spdm-measurement-transcript"
	cmwMediaPEMChain    = "application/vnd.nvidia.pem-cert-chain"
	cmwMediaOctetStream = "application/octet-stream"
)

// member is one member of a JSON object, in document order.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers decodes doc, a JSON object, into its members in document
// order. A repeated name is ErrMalformed; so is anything but one object.
func objectMembers(doc []byte, what string) ([]member, error) {
	malformed := func(err error) error {
		return verify.Errorf(verify.ErrMalformed, "%s: expected a JSON object: %w", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil {
		return nil, malformed(err)
	} else if tok != json.Delim('{') {
		return nil, malformed(fmt.Errorf("got %v", tok))
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, verify.Errorf(verify.ErrMalformed, "%s: member %q given twice", what, key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(err)
		}
		out = append(out, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed(errors.New("data after the object"))
	}
	return out, nil
}

// checkDuplicateNames refuses a JSON document in which any object names a
// member twice (ErrMalformed) or more than maxObjectMembers members
// (ErrLimit). It scans the bytes without decoding them, allocating only for
// names with escapes, and does not validate otherwise: the decoder that
// follows does. Each object is judged alone, so an array's elements are
// judged the same in the array and apart, as Split hands them out.
func checkDuplicateNames(doc []byte, what string) error {
	type level struct {
		object, expectName bool
	}
	var (
		stack []level
		names [][][]byte // names seen per open object, by depth; buffers reused
	)
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '{', '[':
			// Real evidence nests a handful of levels; the cap keeps the
			// per-level bookkeeping bounded whatever the input's depth.
			if len(stack) == maxEvidenceDepth {
				return verify.Errorf(verify.ErrLimit, "%s: nested deeper than %d levels", what, maxEvidenceDepth)
			}
			stack = append(stack, level{object: doc[i] == '{', expectName: doc[i] == '{'})
			if len(names) < len(stack) {
				names = append(names, nil)
			}
			names[len(stack)-1] = names[len(stack)-1][:0]
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectName = true
			}
		case '"':
			end, ok := stringEnd(doc, i+1)
			if !ok {
				return nil // malformed: the decoder says so
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectName {
				name := doc[i+1 : end]
				if bytes.IndexByte(name, '\\') >= 0 {
					var s string
					if json.Unmarshal(doc[i:end+1], &s) == nil {
						name = []byte(s)
					}
				}
				seen := names[n-1]
				for _, prev := range seen {
					if bytes.Equal(prev, name) {
						return verify.Errorf(verify.ErrMalformed, "%s: member %q given twice in one object", what, name)
					}
				}
				if len(seen) == maxObjectMembers {
					return verify.Errorf(verify.ErrLimit, "%s: an object of more than %d members", what, maxObjectMembers)
				}
				names[n-1] = append(seen, name)
				stack[n-1].expectName = false
			}
			i = end
		}
	}
	return nil
}

// isCMW reports whether the object doc is a CMW collection (it names a
// collection type), a cheap test for choosing a parser; DetectEncoding also
// wants an SPDM transcript record in it.
func isCMW(doc []byte) bool {
	return bytes.Contains(doc, []byte(`"`+cmwTypeKey+`"`))
}

// parseObjectEncoding parses the object encodings: the CMW collection, the
// NRAS request body, or (ok=false) neither, for Trustee's wrapper.
func parseObjectEncoding(doc []byte) (devs []DeviceEvidence, ok bool, err error) {
	if err := jsonbound.Check(doc, "GPU evidence", maxObjectDepth, maxObjectValues); err != nil {
		return nil, true, err
	}
	if err := checkDuplicateNames(doc, "GPU evidence"); err != nil {
		return nil, true, err
	}
	if !isCMW(doc) && !bytes.Contains(doc, []byte(`"evidence_list"`)) {
		return nil, false, nil // Trustee's wrapper: decoded whole, as before
	}
	members, err := objectMembers(doc, "GPU evidence")
	if err != nil {
		return nil, true, err
	}
	for _, m := range members {
		switch m.key {
		case cmwTypeKey:
			devs, err := parseCMW(members)
			return devs, true, err
		case "evidence_list":
			devs, err := parseNRASRequest(members)
			return devs, true, err
		}
	}
	return nil, false, nil
}

// parseNRASRequest reads the NRAS request body: one architecture and one
// nonce for every device of evidence_list.
func parseNRASRequest(members []member) ([]DeviceEvidence, error) {
	var arch, nonce string
	var list []json.RawMessage
	for _, m := range members {
		var err error
		switch m.key {
		case "arch":
			err = json.Unmarshal(m.value, &arch)
		case "nonce":
			err = json.Unmarshal(m.value, &nonce)
		case "evidence_list":
			err = json.Unmarshal(m.value, &list)
		}
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (NRAS request) %q: %w", m.key, err)
		}
	}
	if len(list) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (NRAS request): evidence_list holds no device")
	}
	if len(list) > maxDevices {
		return nil, verify.Errorf(verify.ErrLimit, "GPU evidence (NRAS request): %d devices exceeds the cap of %d", len(list), maxDevices)
	}
	out := make([]DeviceEvidence, 0, len(list))
	for i, raw := range list {
		var d struct {
			Evidence    *string `json:"evidence"`
			Certificate *string `json:"certificate"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (NRAS request) device %d: %w", i, err)
		}
		if d.Evidence == nil || d.Certificate == nil {
			return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (NRAS request) device %d: expected evidence and certificate", i)
		}
		de, err := decodeDevice(arch, "", nonce, []byte(*d.Evidence), []byte(*d.Certificate), nil)
		if err != nil {
			return nil, fmt.Errorf("GPU evidence (NRAS request) device %d: %w", i, err)
		}
		out = append(out, de)
	}
	return out, nil
}

// parseCMW reads NVIDIA's CMW collection. Every item must be an SPDM
// transcript with a PEM chain: an item of another media type (a CPU's EAT,
// say) is ErrUnsupported rather than skipped, so that no device of the
// collection goes unverified. The architecture comes from the chain, as in
// the raw encoding.
func parseCMW(members []member) ([]DeviceEvidence, error) {
	var (
		out       []DeviceEvidence
		collNonce []byte
	)
	for _, m := range members {
		switch {
		case m.key == cmwTypeKey:
			var t string
			if err := json.Unmarshal(m.value, &t); err != nil {
				return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (CMW) %s: %w", cmwTypeKey, err)
			}
		case m.key == "nonce":
			n, err := cmwNonce(m.value, "collection nonce")
			if err != nil {
				return nil, err
			}
			collNonce = n
		case bytes.HasPrefix(bytes.TrimLeft(m.value, " \t\r\n"), []byte("{")):
			if len(out) == maxDevices {
				return nil, verify.Errorf(verify.ErrLimit, "GPU evidence (CMW): more than %d items", maxDevices)
			}
			d, err := parseCMWItem(m.key, m.value)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		// Other records of the collection carry nothing this verifier reads.
	}
	if len(out) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (CMW): no evidence item")
	}
	for i := range out {
		switch {
		case out[i].Nonce == nil:
			out[i].Nonce = collNonce
		case collNonce != nil && !bytes.Equal(out[i].Nonce, collNonce):
			return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (CMW) item %d: nonce %x differs from the collection nonce %x", i, out[i].Nonce, collNonce)
		}
	}
	return out, nil
}

func parseCMWItem(name string, doc []byte) (DeviceEvidence, error) {
	var de DeviceEvidence
	what := fmt.Sprintf("GPU evidence (CMW) item %q", name)
	members, err := objectMembers(doc, what)
	if err != nil {
		return de, err
	}
	for _, m := range members {
		switch m.key {
		case "evidence":
			if de.Report, err = cmwRecord(m.value, what+" evidence", cmwMediaTranscript); err != nil {
				return de, err
			}
		case "certificate":
			if de.Certificate, err = cmwRecord(m.value, what+" certificate", cmwMediaPEMChain); err != nil {
				return de, err
			}
		case "nonce":
			if de.Nonce, err = cmwNonce(m.value, what+" nonce"); err != nil {
				return de, err
			}
		}
	}
	if de.Report == nil || de.Certificate == nil {
		return de, verify.Errorf(verify.ErrMalformed, "%s: expected an evidence and a certificate record", what)
	}
	return de, nil
}

// cmwRecord decodes a CMW record [media type, base64url value] whose media
// type must be want.
func cmwRecord(raw json.RawMessage, what, want string) ([]byte, error) {
	var rec []string
	if err := json.Unmarshal(raw, &rec); err != nil || len(rec) != 2 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: expected a record [media type, base64url value]", what)
	}
	if rec[0] != want {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s: media type expected %q, got %q", what, want, rec[0])
	}
	b, err := base64.RawURLEncoding.DecodeString(rec[1])
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(rec[1])
	}
	if err != nil || len(b) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: expected base64url: %v", what, err)
	}
	return b, nil
}

func cmwNonce(raw json.RawMessage, what string) ([]byte, error) {
	n, err := cmwRecord(raw, what, cmwMediaOctetStream)
	if err != nil {
		return nil, err
	}
	if len(n) != NonceSize {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: expected %d bytes, got %d (%s)", what, NonceSize, len(n), hex.EncodeToString(n[:min(len(n), 64)]))
	}
	return n, nil
}
