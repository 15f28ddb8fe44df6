package binding

import (
	"bytes"
	"crypto"
	"encoding/json"
	"unicode/utf8"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// digest is RuntimeData.Digest. It takes the steps Digest(r.JSON(), h)
// takes, in the same order, on the members instead of on the marshalled
// document:
//
//   - r.JSON's checks: an empty nonce or key, a key that is not JSON;
//   - the size of the marshalled document against MaxRuntimeData, counted
//     as json.Marshal writes it (escapes included);
//   - its structure bounds: the key's, plus the outer object's nesting level
//     and its members;
//   - RFC 8785 on the key (the nonce and the additional evidence are Go
//     strings, which json.Marshal makes valid UTF-8: they always
//     canonicalise).
//
// A test holds it to Digest(r.JSON(), h) on the same inputs.
func (r RuntimeData) digest(h crypto.Hash) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if !json.Valid(r.TEEPubKey) {
		return nil, verify.Errorf(verify.ErrMalformed, "runtime data: tee-pubkey is not valid JSON")
	}
	name, err := HashName(h)
	if err != nil {
		return nil, err
	}
	if n := r.marshalledSize(); n > MaxRuntimeData {
		return nil, verify.Errorf(verify.ErrLimit, "runtime data: %d bytes, limit %d", n, MaxRuntimeData)
	}
	members := 2 // nonce, tee-pubkey
	if r.AdditionalEvidence != nil {
		members++
	}
	// The outer object is one level of nesting and counts one value per
	// member; the strings count nothing.
	if err := jsonbound.Check(r.TEEPubKey, "runtime data", maxRuntimeDataDepth-1, maxRuntimeDataValues-members); err != nil {
		return nil, err
	}
	key, err := parseJCS(r.TEEPubKey, "runtime data: tee-pubkey")
	if err != nil {
		return nil, err
	}
	hh, _ := newHash(name)
	w := newJCSWriter(hh)
	// Members in RFC 8785 order: additional-evidence < nonce < tee-pubkey.
	w.putByte('{')
	if r.AdditionalEvidence != nil {
		w.putString(`"additional-evidence":`)
		writeGoString(w, *r.AdditionalEvidence)
		w.putByte(',')
	}
	w.putString(`"nonce":`)
	writeGoString(w, r.Nonce)
	w.putString(`,"tee-pubkey":`)
	key.writeTo(w)
	w.putByte('}')
	if err := w.flush(); err != nil { // a hash never fails to write
		return nil, verify.Errorf(verify.ErrMalformed, "runtime data: hashing: %w", err)
	}
	return hh.Sum(nil), nil
}

// check refuses runtime data without a nonce or a key.
func (r RuntimeData) check() error {
	if r.Nonce == "" {
		return verify.Errorf(verify.ErrConfig, "runtime data: empty nonce")
	}
	if len(bytes.TrimSpace(r.TEEPubKey)) == 0 {
		return verify.Errorf(verify.ErrConfig, "runtime data: empty tee-pubkey")
	}
	return nil
}

// marshalledSize returns len(json.Marshal(r)) for r whose key is valid
// JSON, without marshalling it.
func (r RuntimeData) marshalledSize() int {
	n := len(`{"nonce":,"tee-pubkey":}`) + marshalledStringSize(r.Nonce) + compactedSize(r.TEEPubKey)
	if r.AdditionalEvidence != nil {
		n += len(`,"additional-evidence":`) + marshalledStringSize(*r.AdditionalEvidence)
	}
	return n
}

// marshalledStringSize returns the length of s as json.Marshal writes it:
// quoted; '"', '\\' and \b \f \n \r \t as two bytes; other control
// characters, '<', '>', '&', U+2028, U+2029 and each byte of invalid UTF-8
// (written as \ufffd) as six.
func marshalledStringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// compactedSize returns the length of the valid JSON doc as json.Marshal
// writes a json.RawMessage: without whitespace outside strings, and with
// '<', '>', '&', U+2028 and U+2029 escaped (six bytes each).
func compactedSize(doc []byte) int {
	n := 0
	inString := false
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			n += 6
		case c == 0xE2 && i+2 < len(doc) && doc[i+1] == 0x80 && doc[i+2]&^1 == 0xA8:
			n += 6
			i += 2
		case inString && c == '\\':
			n += 2
			i++
		case c == '"':
			inString = !inString
			n++
		case !inString && isSpace(c):
		default:
			n++
		}
	}
	return n
}

// writeGoString writes the canonical form of the Go string s as
// json.Marshal writes it and RFC 8785 rewrites it: each byte of invalid
// UTF-8 becomes U+FFFD, '"', '\\' and control characters are escaped (the
// short forms where they exist), everything else is written as it is.
func writeGoString(w *jcsWriter, s string) {
	w.putByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		w.putString(s[start:i])
		if c >= utf8.RuneSelf {
			w.putString("\uFFFD")
		} else {
			writeEscaped(w, rune(c))
		}
		i++
		start = i
	}
	w.putString(s[start:])
	w.putByte('"')
}
