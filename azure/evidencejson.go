package azure

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// The evidence JSON is decoded by a scanner made for its one shape instead
// of encoding/json, which spent about as long decoding the base64 and hex
// strings of a 6 KB document (scan, unquote into a string, decode the
// string) as the TD quote's signature takes to verify. The scanner walks
// the input once, notes where each member's value lies (no copy), and
// decodes base64 and hex straight from the input into the destination once
// the document is known to be complete and within bounds; the bytes of a
// string it decodes are checked by that decoding (see optString). The
// differential test and fuzz target hold it to encoding/json's answers on
// the real samples and on whatever the fuzzer makes of them. It is stricter
// than encoding/json where a lax reading could be abused: a member the
// verifier reads may appear once, with its exact name (encoding/json would
// take the last duplicate, and "VERSION" for "version"), members it skips
// may nest at most maxEvidenceDepth deep, and nothing may follow the
// document. Members it does not read are skipped, as Trustee skips them.

// maxEvidenceDepth bounds the nesting of the members the decoder skips.
const maxEvidenceDepth = 32

// maxQuotePCRs is the most PCR values a vTPM quote carries (one bank).
const maxQuotePCRs = 24

// rawString is a JSON string value as it appears in the input, without its
// quotes: a slice of the input, escapes not yet resolved.
type rawString struct {
	b       []byte
	escaped bool // holds a backslash escape: resolve before use
	set     bool // present and not null
	// unchecked: taken up to its closing quote without looking at each
	// byte; the base64 or hex decoding of it must check them (readText).
	unchecked bool
}

// text returns the string's bytes, escapes resolved (the rare path, left
// to encoding/json so that the two agree on every escape).
func (r rawString) text() ([]byte, error) {
	if !r.escaped {
		return r.b, nil
	}
	quoted := make([]byte, 0, len(r.b)+2)
	quoted = append(append(append(quoted, '"'), r.b...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// readText is text for base64, whose decoders skip line breaks: a raw line
// break, which JSON does not allow in a string, is refused here.
func (r rawString) readText() ([]byte, error) {
	if r.unchecked && (bytes.IndexByte(r.b, '\n') >= 0 || bytes.IndexByte(r.b, '\r') >= 0) {
		return nil, errors.New("a raw line break in a JSON string")
	}
	return r.text()
}

// empty reports whether the value is absent, null or "": what encoding/json
// would leave as the zero string.
func (r rawString) empty() bool { return !r.set || len(r.b) == 0 }

// evidenceDoc is where the members of az-snp-vtpm and az-tdx-vtpm evidence
// lie in the input.
type evidenceDoc struct {
	version    []byte // the number's text; nil when absent or null
	hcl        rawString
	vcek       rawString
	tdQuote    rawString
	aaEventLog rawString
	quote      bool // tpm_quote present and not null
	signature  rawString
	message    rawString
	pcrs       [maxQuotePCRs]rawString
	nPCRs      int
	// v0Quote and v0Report are the raw values of az-snp-vtpm version 0's
	// "quote" and "report" (byte arrays), nil when absent or null; read
	// only when the document has no version.
	v0Quote  []byte
	v0Report []byte
	// The raw byte-array values of az-tdx-vtpm version 0, which names its
	// members as version 1 does: hcl_report, td_quote and tpm_quote's
	// signature, message and pcrs (an array of arrays). Nil unless the
	// member's value is an array.
	v0HCL, v0TD, v0Sig, v0Msg, v0PCRs []byte
}

// hasArrays reports whether any az-tdx-vtpm version 0 byte array is set.
func (d *evidenceDoc) hasArrays() bool {
	return d.v0HCL != nil || d.v0TD != nil || d.v0Sig != nil || d.v0Msg != nil || d.v0PCRs != nil
}

// evidenceScanner reads one JSON document.
type evidenceScanner struct {
	b []byte
	i int
}

func (s *evidenceScanner) errorf(format string, args ...any) error {
	return verify.Errorf(verify.ErrMalformed, "evidence JSON at byte %d: "+format, append([]any{s.i}, args...)...)
}

// ws skips JSON whitespace.
func (s *evidenceScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next returns the next non-whitespace byte without consuming it; 0 at
// the end of the input.
func (s *evidenceScanner) next() byte {
	s.ws()
	if s.i == len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *evidenceScanner) expect(c byte) error {
	if s.next() != c {
		if s.i == len(s.b) {
			return s.errorf("unexpected end, expected %q", c)
		}
		return s.errorf("%q, expected %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

// literal consumes the literal lit (true, false, null).
func (s *evidenceScanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errorf("invalid literal, expected %s", lit)
	}
	s.i += len(lit)
	return nil
}

// null consumes a null when one comes next.
func (s *evidenceScanner) null() (bool, error) {
	if s.next() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// str reads a string: the opening quote comes next. Control characters and
// invalid escapes are refused, as JSON requires; the bytes are not checked
// for UTF-8 (encoding/json replaces invalid sequences, which no base64 or
// hex text contains, so both refuse such a value where it is read).
func (s *evidenceScanner) str() (rawString, error) {
	if err := s.expect('"'); err != nil {
		return rawString{}, err
	}
	start := s.i
	r := rawString{set: true}
	for s.i < len(s.b) {
		// The bytes of base64 and hex text, in a tight loop over locals.
		b, i := s.b, s.i
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if s.i = i; i == len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			r.b = s.b[start:s.i]
			s.i++
			return r, nil
		case c < 0x20:
			return rawString{}, s.errorf("control character %#x in a string", c)
		case c == '\\':
			r.escaped = true
			if s.i+1 == len(s.b) {
				return rawString{}, s.errorf("unterminated escape")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(s.b)-s.i < 6 {
					return rawString{}, s.errorf("short \\u escape")
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHexDigit(h) {
						return rawString{}, s.errorf("invalid \\u escape")
					}
				}
				s.i += 6
			default:
				return rawString{}, s.errorf("invalid escape \\%c", s.b[s.i+1])
			}
		}
	}
	return rawString{}, s.errorf("unterminated string")
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads a JSON number and returns its text.
func (s *evidenceScanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	default:
		return nil, s.errorf("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i == len(s.b) || !isDigit(s.b[s.i]) {
			return nil, s.errorf("invalid number")
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i == len(s.b) || !isDigit(s.b[s.i]) {
			return nil, s.errorf("invalid number")
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	return s.b[start:s.i], nil
}

// object reads an object, calling member with each key (escapes resolved)
// once the scanner stands before the member's value, which member must
// consume.
func (s *evidenceScanner) object(member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.next() == '}' {
		s.i++
		return nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return err
		}
		key, err := k.text()
		if err != nil {
			return s.errorf("member name: %v", err)
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.next() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or '}' after a member")
		}
	}
}

// skip reads and discards any JSON value, nested at most depth more levels.
func (s *evidenceScanner) skip(depth int) error {
	switch c := s.next(); {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{' || c == '[':
		if depth == 0 {
			return verify.Errorf(verify.ErrLimit, "evidence JSON at byte %d: nested deeper than %d levels", s.i, maxEvidenceDepth)
		}
		if c == '{' {
			return s.object(func([]byte) error { return s.skip(depth - 1) })
		}
		s.i++
		if s.next() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth - 1); err != nil {
				return err
			}
			switch s.next() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.errorf("expected ',' or ']' in an array")
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		_, err := s.number()
		return err
	case c == 0:
		return s.errorf("unexpected end of the document")
	default:
		return s.errorf("unexpected %q", c)
	}
}

// fieldSet records which members the decoder keeps it has seen, by their
// index in the names given to claim: a member may appear once, and a name
// that differs from a kept one only in case is refused rather than skipped
// (encoding/json would take it for the member).
type fieldSet uint16

// claim returns which of names key is ("" for a member to skip).
func (f *fieldSet) claim(s *evidenceScanner, key []byte, names ...string) (string, error) {
	for i, n := range names {
		if string(key) == n {
			if *f&(1<<i) != 0 {
				return "", s.errorf("member %q appears twice", n)
			}
			*f |= 1 << i
			return n, nil
		}
	}
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return "", s.errorf("member %q: only %q is accepted", key, n)
		}
	}
	return "", nil
}

// optString reads a string or null: the value of a member the decoder
// decodes as base64 or hex. A string without escapes is taken up to its
// closing quote with one fast search, not checked byte by byte: its
// decoding refuses every byte JSON refuses in a string (control
// characters; base64 would skip raw line breaks, so readText refuses
// those), and a string the decoder reads but does not decode is refused
// unless it is empty.
func (s *evidenceScanner) optString() (rawString, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return rawString{}, err
	}
	if s.next() == '"' {
		rest := s.b[s.i+1:]
		if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			s.i += end + 2
			return rawString{b: rest[:end], set: true, unchecked: true}, nil
		}
	}
	return s.str()
}

// scanEvidence finds the members of Azure vTPM evidence in b. Nothing is
// allocated in proportion to the input.
func scanEvidence(b []byte) (*evidenceDoc, error) {
	s := &evidenceScanner{b: b}
	d := &evidenceDoc{}
	var top fieldSet
	err := s.object(func(key []byte) error {
		name, err := top.claim(s, key, "version", "hcl_report", "tpm_quote", "vcek", "td_quote", "aa_eventlog", "quote", "report")
		if err != nil {
			return err
		}
		switch name {
		case "version":
			if isNull, err := s.null(); isNull || err != nil {
				return err
			}
			d.version, err = s.number()
			return err
		case "hcl_report":
			if s.next() == '[' {
				d.v0HCL, err = s.rawValue(maxEvidenceDepth)
				return err
			}
			d.hcl, err = s.optString()
		case "vcek":
			d.vcek, err = s.optString()
		case "td_quote":
			if s.next() == '[' {
				d.v0TD, err = s.rawValue(maxEvidenceDepth)
				return err
			}
			d.tdQuote, err = s.optString()
		case "aa_eventlog":
			d.aaEventLog, err = s.optString()
		case "tpm_quote":
			err = s.quote(d)
		case "quote":
			d.v0Quote, err = s.rawValue(maxEvidenceDepth)
		case "report":
			d.v0Report, err = s.rawValue(maxEvidenceDepth)
		default:
			err = s.skip(maxEvidenceDepth)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.next() != 0 {
		return nil, s.errorf("trailing data after the JSON document")
	}
	return d, nil
}

// rawValue reads any value, nested at most depth levels, and returns its
// text; nil for null.
func (s *evidenceScanner) rawValue(depth int) ([]byte, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return nil, err
	}
	start := s.i
	if err := s.skip(depth); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// quote reads tpm_quote: null or {"signature", "message", "pcrs": [...]}.
func (s *evidenceScanner) quote(d *evidenceDoc) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	d.quote = true
	var seen fieldSet
	return s.object(func(key []byte) error {
		name, err := seen.claim(s, key, "signature", "message", "pcrs")
		if err != nil {
			return err
		}
		switch name {
		case "signature":
			if s.next() == '[' {
				d.v0Sig, err = s.rawValue(maxEvidenceDepth - 1)
				return err
			}
			d.signature, err = s.optString()
		case "message":
			if s.next() == '[' {
				d.v0Msg, err = s.rawValue(maxEvidenceDepth - 1)
				return err
			}
			d.message, err = s.optString()
		case "pcrs":
			if s.arrayOfArrays() {
				d.v0PCRs, err = s.rawValue(maxEvidenceDepth - 1)
				return err
			}
			err = s.pcrList(d)
		default:
			err = s.skip(maxEvidenceDepth - 1)
		}
		return err
	})
}

// arrayOfArrays reports, without consuming anything, whether an array
// whose first element is an array comes next.
func (s *evidenceScanner) arrayOfArrays() bool {
	if s.next() != '[' {
		return false
	}
	at := s.i
	s.i++
	c := s.next()
	s.i = at
	return c == '['
}

// pcrList reads the PCR values: null or an array of at most maxQuotePCRs
// strings, refused at the first value too many.
func (s *evidenceScanner) pcrList(d *evidenceDoc) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if err := s.expect('['); err != nil {
		return err
	}
	if s.next() == ']' {
		s.i++
		return nil
	}
	for {
		if d.nPCRs == maxQuotePCRs {
			return s.errorf("more than %d PCR values", maxQuotePCRs)
		}
		v, err := s.optString()
		if err != nil {
			return err
		}
		d.pcrs[d.nPCRs] = v
		d.nPCRs++
		switch s.next() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or ']' in pcrs")
		}
	}
}

// parseEvidence scans b and decodes what both formats share, in the order
// of its checks: size, syntax, version, presence of the HCL report and the
// quote, then the decoding of each. name names the format in errors.
//
// A document without a version is version 0, Trustee's legacy shapes of
// byte arrays (still accepted by Trustee): for az-snp-vtpm (tdx false)
// "report" and "quote" instead of version 1's members; for az-tdx-vtpm
// (tdx) version 1's members with byte-array values. Byte arrays anywhere
// else are refused, as is a mix of the shapes.
func parseEvidence(name string, b []byte, tdx bool) (*evidenceDoc, int, error) {
	if len(b) > MaxEvidenceSize {
		return nil, 0, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceeds %d", name, len(b), MaxEvidenceSize)
	}
	d, err := scanEvidence(b)
	if err != nil {
		return nil, 0, verify.Errorf(verify.KindOf(err), "%s: %w", name, err)
	}
	if d.hasArrays() {
		if !tdx || d.version != nil {
			return nil, 0, verify.Errorf(verify.ErrMalformed, "%s: byte arrays where strings are expected (only version 0 az-tdx-vtpm evidence has them)", name)
		}
		if d.v0HCL == nil || d.v0TD == nil || d.v0Sig == nil || d.v0Msg == nil || d.v0PCRs == nil ||
			!d.hcl.empty() || !d.tdQuote.empty() || !d.signature.empty() || !d.message.empty() || d.nPCRs != 0 {
			return nil, 0, verify.Errorf(verify.ErrMalformed, "%s: version 0 needs hcl_report, td_quote and tpm_quote's signature, message and pcrs, all byte arrays", name)
		}
		return d, 0, nil
	}
	if d.version == nil && !tdx && (d.v0Quote != nil || d.v0Report != nil) {
		if d.v0Quote == nil || d.v0Report == nil || d.quote || !d.hcl.empty() {
			return nil, 0, verify.Errorf(verify.ErrMalformed, "%s: version 0 needs report and quote, and no hcl_report or tpm_quote", name)
		}
		return d, 0, nil
	}
	if d.version == nil {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "%s: no version", name)
	}
	version, err := strconv.Atoi(string(d.version))
	if err != nil {
		// A fraction, an exponent or an int overflow: not a version.
		return nil, 0, verify.Errorf(verify.ErrMalformed, "%s: version %s is not an integer", name, d.version)
	}
	if version != 1 && version != 2 {
		return nil, 0, verify.Errorf(verify.ErrUnsupported, "%s: version %d, expected 1 or 2", name, version)
	}
	if !d.quote || d.hcl.empty() {
		return nil, 0, verify.Errorf(verify.ErrMalformed, "%s: hcl_report and tpm_quote are required", name)
	}
	return d, version, nil
}

// vtpm decodes the HCL report, the vTPM quote and the AA event log.
func (d *evidenceDoc) vtpm(name string) (hcl []byte, q Quote, aael []byte, err error) {
	if hcl, err = b64urlField(name, "hcl_report", d.hcl); err != nil {
		return nil, Quote{}, nil, err
	}
	if q.Message, err = hexField(name, "tpm_quote.message", d.message); err != nil {
		return nil, Quote{}, nil, err
	}
	if q.Signature, err = hexField(name, "tpm_quote.signature", d.signature); err != nil {
		return nil, Quote{}, nil, err
	}
	if d.nPCRs == 0 {
		return nil, Quote{}, nil, verify.Errorf(verify.ErrMalformed, "%s: 0 PCR values, expected 1..%d", name, maxQuotePCRs)
	}
	// One backing array for the values, each checked to be 32 bytes of hex
	// before it is decoded into its place.
	backing := make([]byte, 32*d.nPCRs)
	q.PCRs = make([][]byte, d.nPCRs)
	for i := range d.nPCRs {
		src, err := d.pcrs[i].text()
		if err != nil || len(src) == 0 {
			return nil, Quote{}, nil, verify.Errorf(verify.ErrMalformed, "%s: tpm_quote.pcrs is not non-empty hex", name)
		}
		if len(src) != 64 {
			if _, err := hex.DecodeString(string(src)); err != nil {
				return nil, Quote{}, nil, verify.Errorf(verify.ErrMalformed, "%s: tpm_quote.pcrs is not non-empty hex", name)
			}
			return nil, Quote{}, nil, verify.Errorf(verify.ErrMalformed, "%s: PCR %d is %d bytes, expected 32 (SHA-256)", name, i, len(src)/2)
		}
		q.PCRs[i] = backing[32*i : 32*i+32 : 32*i+32]
		if _, err := hex.Decode(q.PCRs[i], src); err != nil {
			return nil, Quote{}, nil, verify.Errorf(verify.ErrMalformed, "%s: tpm_quote.pcrs is not non-empty hex", name)
		}
	}
	if aael, err = aaelField(name, d.aaEventLog); err != nil {
		return nil, Quote{}, nil, err
	}
	return hcl, q, aael, nil
}

// aaelField decodes the optional aa_eventlog (standard base64); nil when
// absent, null or empty.
func aaelField(name string, r rawString) ([]byte, error) {
	if r.empty() {
		return nil, nil
	}
	src, err := r.readText()
	if err == nil {
		aael := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		var n int
		if n, err = base64.StdEncoding.Decode(aael, src); err == nil {
			return aael[:n], nil
		}
	}
	return nil, verify.Errorf(verify.ErrMalformed, "%s: aa_eventlog is not base64: %v", name, err)
}

// vtpmV0 decodes version 0's HCL report and vTPM quote, byte arrays:
// {"report": [u8], "quote": {"signature": [u8], "message": [u8],
// "pcrs": [[u8; 32], …]}}, and its AA event log as vtpm does.
func (d *evidenceDoc) vtpmV0(name string) (hcl []byte, q Quote, aael []byte, err error) {
	if hcl, err = byteArray(name, "report", d.v0Report, -1); err != nil {
		return nil, Quote{}, nil, err
	}
	s := &evidenceScanner{b: d.v0Quote}
	var seen fieldSet
	var pcrs []byte
	err = s.object(func(key []byte) error {
		name, err := seen.claim(s, key, "signature", "message", "pcrs")
		if err != nil {
			return err
		}
		switch name {
		case "signature":
			q.Signature, err = s.rawValue(maxEvidenceDepth)
		case "message":
			q.Message, err = s.rawValue(maxEvidenceDepth)
		case "pcrs":
			pcrs, err = s.rawValue(maxEvidenceDepth)
		default:
			err = s.skip(maxEvidenceDepth)
		}
		return err
	})
	if err != nil {
		return nil, Quote{}, nil, verify.Errorf(verify.KindOf(err), "%s: quote: %w", name, err)
	}
	if q.Signature, err = byteArray(name, "quote.signature", q.Signature, -1); err != nil {
		return nil, Quote{}, nil, err
	}
	if q.Message, err = byteArray(name, "quote.message", q.Message, -1); err != nil {
		return nil, Quote{}, nil, err
	}
	if q.PCRs, err = pcrArrays(name, pcrs); err != nil {
		return nil, Quote{}, nil, err
	}
	if aael, err = aaelField(name, d.aaEventLog); err != nil {
		return nil, Quote{}, nil, err
	}
	return hcl, q, aael, nil
}

// tdxV0 decodes az-tdx-vtpm version 0's byte arrays: the HCL report, the
// vTPM quote and the TD quote, and its AA event log as vtpm does.
func (d *evidenceDoc) tdxV0(name string) (hcl []byte, q Quote, td []byte, aael []byte, err error) {
	if hcl, err = byteArray(name, "hcl_report", d.v0HCL, -1); err != nil {
		return nil, Quote{}, nil, nil, err
	}
	if td, err = byteArray(name, "td_quote", d.v0TD, -1); err != nil {
		return nil, Quote{}, nil, nil, err
	}
	if q.Signature, err = byteArray(name, "tpm_quote.signature", d.v0Sig, -1); err != nil {
		return nil, Quote{}, nil, nil, err
	}
	if q.Message, err = byteArray(name, "tpm_quote.message", d.v0Msg, -1); err != nil {
		return nil, Quote{}, nil, nil, err
	}
	if q.PCRs, err = pcrArrays(name, d.v0PCRs); err != nil {
		return nil, Quote{}, nil, nil, err
	}
	if aael, err = aaelField(name, d.aaEventLog); err != nil {
		return nil, Quote{}, nil, nil, err
	}
	return hcl, q, td, aael, nil
}

// byteArray decodes a JSON array of integers 0..255 (raw, as the scanner
// found it, already valid JSON) into bytes; want, when not -1, is the
// exact length. Its length is bounded by the input's.
func byteArray(name, field string, raw []byte, want int) ([]byte, error) {
	bad := func(why string) error {
		return verify.Errorf(verify.ErrMalformed, "%s: %s is not a byte array: %s", name, field, why)
	}
	s := &evidenceScanner{b: raw}
	if len(raw) == 0 || s.expect('[') != nil {
		return nil, bad("missing or not an array")
	}
	out := make([]byte, 0, min(len(raw)/2+1, MaxEvidenceSize))
	if s.next() == ']' {
		s.i++
	} else {
		for {
			c := s.next()
			if !isDigit(c) {
				return nil, bad(fmt.Sprintf("element %d is not an integer 0..255", len(out)))
			}
			num, err := s.number()
			if err != nil {
				return nil, bad(err.Error())
			}
			n, err := strconv.Atoi(string(num))
			if err != nil || n > 255 || len(num) > 1 && num[0] == '0' {
				return nil, bad(fmt.Sprintf("element %d (%s) is not an integer 0..255", len(out), num))
			}
			out = append(out, byte(n))
			if c := s.next(); c == ',' {
				s.i++
				continue
			} else if c == ']' {
				s.i++
				break
			}
			return nil, bad("expected ',' or ']'")
		}
	}
	if s.next() != 0 {
		return nil, bad("trailing data")
	}
	switch {
	case want >= 0 && len(out) != want:
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is %d bytes, expected %d", name, field, len(out), want)
	case want < 0 && len(out) == 0:
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is empty", name, field)
	}
	return out, nil
}

// pcrArrays decodes version 0's PCR values: an array of 1..maxQuotePCRs
// arrays of 32 bytes (SHA-256).
func pcrArrays(name string, raw []byte) ([][]byte, error) {
	s := &evidenceScanner{b: raw}
	if len(raw) == 0 || s.expect('[') != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: quote.pcrs is missing or not an array", name)
	}
	var out [][]byte
	if s.next() == ']' {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: 0 PCR values, expected 1..%d", name, maxQuotePCRs)
	}
	for {
		if len(out) == maxQuotePCRs {
			return nil, verify.Errorf(verify.ErrMalformed, "%s: more than %d PCR values", name, maxQuotePCRs)
		}
		v, err := s.rawValue(maxEvidenceDepth)
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "%s: quote.pcrs: %v", name, err)
		}
		p, err := byteArray(name, fmt.Sprintf("PCR %d", len(out)), v, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		switch s.next() {
		case ',':
			s.i++
		case ']':
			return out, nil
		default:
			return nil, verify.Errorf(verify.ErrMalformed, "%s: quote.pcrs: expected ',' or ']'", name)
		}
	}
}

// b64urlField decodes base64url with or without padding (Trustee pads)
// straight into the result.
func b64urlField(name, field string, r rawString) ([]byte, error) {
	src, err := r.readText()
	if err == nil {
		for len(src) > 0 && src[len(src)-1] == '=' {
			src = src[:len(src)-1]
		}
		out := make([]byte, base64.RawURLEncoding.DecodedLen(len(src)))
		var n int
		if n, err = base64.RawURLEncoding.Decode(out, src); err == nil {
			return out[:n], nil
		}
	}
	return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is not base64url: %v", name, field, err)
}

// hexField decodes non-empty hex straight into the result.
func hexField(name, field string, r rawString) ([]byte, error) {
	src, err := r.text()
	if err == nil && len(src) > 0 {
		out := make([]byte, hex.DecodedLen(len(src)))
		if _, err = hex.Decode(out, src); err == nil {
			return out, nil
		}
	}
	return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is not non-empty hex", name, field)
}
