package binding

import (
	"bytes"
	"cmp"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/trustfactory/attest/verify"
)

// This file holds the RFC 8785 (JCS) canonicaliser behind Canonicalize and
// Digest. A runtime-data document is mostly one long string (the additional
// evidence, megabytes of escaped JSON), so the canonicaliser keeps strings
// as spans of the document and writes their canonical form straight into
// the hash: the document is parsed once into a small tree of values (at most
// maxRuntimeDataValues, checked by jsonbound.Check before parsing), object
// members are sorted by UTF-16 code units, and one pass writes the canonical
// text. Nothing is copied but escaped member names, which sorting needs
// decoded.
//
// It accepts and refuses what github.com/gowebpki/jcs v1.0.2 (which
// Canonicalize used before) accepts and refuses, and writes the same bytes;
// a differential test and fuzz target hold the two together. In particular
// it refuses invalid UTF-8, raw control characters in strings, unknown
// escapes, lone or misordered surrogates in \u escapes, duplicate member
// names (after decoding), numbers outside the RFC 8259 grammar or outside
// the range of a float64, and anything after the value but whitespace.

// jcsKind is the kind of a parsed JSON value.
type jcsKind uint8

const (
	jcsLiteral jcsKind = iota // true, false or null
	jcsNumber
	jcsString
	jcsArray
	jcsObject
)

// jcsValue is one parsed value. Strings and literals stay spans of the
// document: the writer re-reads them rather than keeping decoded copies.
//
// Offsets are int32: a document is at most MaxRuntimeData bytes, and the
// tree costs the number of values times the size of these structures.
type jcsValue struct {
	kind       jcsKind
	start, end int32   // string: between the quotes; literal, number: the token
	first, n   int32   // array: elems[first:first+n]; object: members[first:first+n]
	num        float64 // number: its value, formatted when written
}

// jcsMember is one object member. The name is written from its span of the
// document; it is compared by its decoded text, which is the span itself
// unless the name holds an escape, when it is keyStart:keyEnd of names.
type jcsMember struct {
	start, end       int32 // the name between its quotes
	keyStart, keyEnd int32
	value            int32 // index in values
	decoded          bool  // the key is in names, not in the document
}

// jcsTree is a parsed document.
type jcsTree struct {
	doc     []byte
	what    string // names the document in errors
	pos     int
	values  []jcsValue
	elems   []int32     // elements of every array, each array's contiguous
	members []jcsMember // members of every object, each object's contiguous and sorted
	names   []byte      // decoded text of the escaped member names
	elemBuf []int32     // elements of the arrays being parsed
	membBuf []jcsMember // members of the objects being parsed
}

// parseJCS parses doc, which its caller has bounded (depth and number of
// values: parseRuntimeData, RuntimeData.Digest), into a tree ready to be
// written. what names doc in errors.
func parseJCS(doc []byte, what string) (*jcsTree, error) {
	if len(doc) > MaxRuntimeData { // and so offsets fit in int32
		return nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes, limit %d", what, len(doc), MaxRuntimeData)
	}
	t := &jcsTree{doc: doc, what: what, values: make([]jcsValue, 0, 16)}
	// The root is the first value parsed: writeTo starts at index 0.
	if _, err := t.value(0); err != nil {
		return nil, err
	}
	if t.skipSpace(); t.pos < len(doc) {
		return nil, t.fail("data after the JSON value")
	}
	return t, nil
}

// fail returns the error for malformed input at the current position.
func (t *jcsTree) fail(why string) error {
	return verify.Errorf(verify.ErrMalformed, "%s: not canonicalisable JSON: %s at byte %d", t.what, why, t.pos)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func (t *jcsTree) skipSpace() {
	for t.pos < len(t.doc) && isSpace(t.doc[t.pos]) {
		t.pos++
	}
}

// value parses the value at t.pos (after whitespace) nested depth deep and
// returns its index in t.values.
func (t *jcsTree) value(depth int) (int32, error) {
	t.skipSpace()
	if t.pos >= len(t.doc) {
		return 0, t.fail("unexpected end")
	}
	idx := int32(len(t.values))
	t.values = appendDoubling(t.values, jcsValue{})
	var v jcsValue
	var err error
	switch t.doc[t.pos] {
	case '{', '[':
		// jsonbound.Check has already bounded the depth; this keeps the
		// recursion bounded on its own.
		if depth >= maxRuntimeDataDepth {
			return 0, verify.Errorf(verify.ErrLimit, "%s: nesting deeper than %d at byte %d", t.what, maxRuntimeDataDepth, t.pos)
		}
		if t.doc[t.pos] == '{' {
			v, err = t.object(depth + 1)
		} else {
			v, err = t.array(depth + 1)
		}
	case '"':
		var start, end int
		start, end, _, err = t.str()
		v = jcsValue{kind: jcsString, start: int32(start), end: int32(end)}
	default:
		v, err = t.scalar()
	}
	if err != nil {
		return 0, err
	}
	t.values[idx] = v
	return idx, nil
}

// array parses the array opening at t.pos.
func (t *jcsTree) array(depth int) (jcsValue, error) {
	t.pos++ // [
	mark := len(t.elemBuf)
	for first := true; ; first = false {
		t.skipSpace()
		if t.pos < len(t.doc) && t.doc[t.pos] == ']' {
			t.pos++
			break
		}
		if !first {
			if t.pos >= len(t.doc) || t.doc[t.pos] != ',' {
				return jcsValue{}, t.fail("expected ',' or ']' in array")
			}
			t.pos++
		}
		i, err := t.value(depth)
		if err != nil {
			return jcsValue{}, err
		}
		t.elemBuf = appendDoubling(t.elemBuf, i)
	}
	v := jcsValue{kind: jcsArray, first: int32(len(t.elems)), n: int32(len(t.elemBuf) - mark)}
	t.elems = appendDoubling(t.elems, t.elemBuf[mark:]...)
	t.elemBuf = t.elemBuf[:mark]
	return v, nil
}

// object parses the object opening at t.pos, sorts its members and refuses
// a name given twice.
func (t *jcsTree) object(depth int) (jcsValue, error) {
	t.pos++ // {
	mark := len(t.membBuf)
	for first := true; ; first = false {
		t.skipSpace()
		if t.pos < len(t.doc) && t.doc[t.pos] == '}' {
			t.pos++
			break
		}
		if !first {
			if t.pos >= len(t.doc) || t.doc[t.pos] != ',' {
				return jcsValue{}, t.fail("expected ',' or '}' in object")
			}
			t.pos++
			t.skipSpace()
		}
		if t.pos >= len(t.doc) || t.doc[t.pos] != '"' {
			return jcsValue{}, t.fail("expected a member name")
		}
		start, end, escaped, err := t.str()
		if err != nil {
			return jcsValue{}, err
		}
		m := jcsMember{start: int32(start), end: int32(end), keyStart: int32(start), keyEnd: int32(end)}
		if escaped {
			m.decoded, m.keyStart = true, int32(len(t.names))
			t.names = appendUnescaped(t.names, t.doc[start:end])
			m.keyEnd = int32(len(t.names))
		}
		if t.skipSpace(); t.pos >= len(t.doc) || t.doc[t.pos] != ':' {
			return jcsValue{}, t.fail("expected ':' after a member name")
		}
		t.pos++
		if m.value, err = t.value(depth); err != nil {
			return jcsValue{}, err
		}
		t.membBuf = appendDoubling(t.membBuf, m)
	}
	ms := t.membBuf[mark:]
	slices.SortFunc(ms, func(a, b jcsMember) int { return compareUTF16(t.key(a), t.key(b)) })
	for i := 1; i < len(ms); i++ {
		if bytes.Equal(t.key(ms[i-1]), t.key(ms[i])) {
			return jcsValue{}, verify.Errorf(verify.ErrMalformed, "%s: not canonicalisable JSON: member name %s given twice", t.what, quoteBounded(t.key(ms[i])))
		}
	}
	v := jcsValue{kind: jcsObject, first: int32(len(t.members)), n: int32(len(ms))}
	t.members = appendDoubling(t.members, ms...)
	t.membBuf = t.membBuf[:mark]
	return v, nil
}

// key returns the decoded name of m.
func (t *jcsTree) key(m jcsMember) []byte {
	if m.decoded {
		return t.names[m.keyStart:m.keyEnd]
	}
	return t.doc[m.keyStart:m.keyEnd]
}

// quoteBounded quotes at most 32 bytes of s for an error message: the
// document is the client's, and logs should not carry megabytes of it.
func quoteBounded(s []byte) string {
	if len(s) > 32 {
		return strconv.Quote(string(s[:32])) + "…"
	}
	return strconv.Quote(string(s))
}

// str validates the string opening at t.pos and returns the span between its
// quotes and whether it holds an escape. It refuses raw control characters,
// invalid UTF-8 and the escapes escape refuses.
func (t *jcsTree) str() (start, end int, escaped bool, err error) {
	t.pos++ // "
	start = t.pos
	for t.pos < len(t.doc) {
		c := t.doc[t.pos]
		switch {
		case c == '"':
			end = t.pos
			t.pos++
			return start, end, escaped, nil
		case c < 0x20:
			return 0, 0, false, t.fail("control character in a string")
		case c == '\\':
			_, next, why := unescape(t.doc, t.pos)
			if why != "" {
				return 0, 0, false, t.fail(why)
			}
			escaped, t.pos = true, next
		case c < utf8.RuneSelf:
			t.pos++
		default:
			r, size := utf8.DecodeRune(t.doc[t.pos:])
			if r == utf8.RuneError && size <= 1 {
				return 0, 0, false, t.fail("invalid UTF-8 in a string")
			}
			t.pos += size
		}
	}
	return 0, 0, false, t.fail("unterminated string")
}

// unescape decodes the escape at s[i] (a backslash): it returns the code
// point, the index after the escape, and why the escape is refused ("" when
// it is not). A \u escape of a surrogate must be a high surrogate followed
// by a \u escape of a low one; a lone or misordered surrogate is refused, as
// RFC 8785 requires, not decoded to U+FFFD.
func unescape(s []byte, i int) (r rune, next int, why string) {
	if i+1 >= len(s) {
		return 0, 0, "unterminated escape"
	}
	switch s[i+1] {
	case '"':
		return '"', i + 2, ""
	case '\\':
		return '\\', i + 2, ""
	case '/':
		return '/', i + 2, ""
	case 'b':
		return '\b', i + 2, ""
	case 'f':
		return '\f', i + 2, ""
	case 'n':
		return '\n', i + 2, ""
	case 'r':
		return '\r', i + 2, ""
	case 't':
		return '\t', i + 2, ""
	case 'u':
	default:
		return 0, 0, "unknown escape"
	}
	hi, ok := hex4(s, i+2)
	if !ok {
		return 0, 0, "malformed \\u escape"
	}
	switch {
	case hi < 0xD800 || hi > 0xDFFF:
		return hi, i + 6, ""
	case hi > 0xDBFF:
		return 0, 0, "lone low surrogate in a \\u escape"
	}
	if i+7 >= len(s) || s[i+6] != '\\' || s[i+7] != 'u' {
		return 0, 0, "high surrogate without a low one"
	}
	lo, ok := hex4(s, i+8)
	if !ok {
		return 0, 0, "malformed \\u escape"
	}
	if lo < 0xDC00 || lo > 0xDFFF {
		return 0, 0, "high surrogate followed by no low surrogate"
	}
	return 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00), i + 12, ""
}

// hex4 decodes the four hex digits at s[i:].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnescaped appends the decoded text of raw, a validated string body.
func appendUnescaped(dst, raw []byte) []byte {
	for len(raw) > 0 {
		k := bytes.IndexByte(raw, '\\')
		if k < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:k]...)
		r, next, _ := unescape(raw, k)
		dst = utf8.AppendRune(dst, r)
		raw = raw[next:]
	}
	return dst
}

// compareUTF16 orders two valid UTF-8 texts by their UTF-16 code units, as
// RFC 8785 sorts member names. Byte order is code point order; the two
// differ only where a code point above U+FFFF (a surrogate pair, units
// D800-DBFF first) meets one in U+E000-U+FFFF.
func compareUTF16(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	for i > 0 && i < len(a) && !utf8.RuneStart(a[i]) {
		i-- // back to the start of the rune that differs
	}
	if i == len(a) || i == len(b) {
		return cmp.Compare(len(a), len(b))
	}
	ra, _ := utf8.DecodeRune(a[i:])
	rb, _ := utf8.DecodeRune(b[i:])
	return cmp.Or(cmp.Compare(firstUTF16(ra), firstUTF16(rb)), cmp.Compare(ra, rb))
}

// firstUTF16 returns the first UTF-16 code unit of r.
func firstUTF16(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

// scalar parses the literal or number at t.pos: the token runs to the next
// ',', ']', '}', whitespace or the end, and must be true, false, null or an
// RFC 8259 number that a float64 holds.
func (t *jcsTree) scalar() (jcsValue, error) {
	start := t.pos
	for t.pos < len(t.doc) {
		c := t.doc[t.pos]
		if c == ',' || c == ']' || c == '}' || isSpace(c) {
			break
		}
		t.pos++
	}
	tok := t.doc[start:t.pos]
	switch string(tok) {
	case "true", "false", "null":
		return jcsValue{kind: jcsLiteral, start: int32(start), end: int32(t.pos)}, nil
	case "":
		return jcsValue{}, t.fail("expected a value")
	}
	if !isNumber(tok) {
		return jcsValue{}, verify.Errorf(verify.ErrMalformed, "%s: not canonicalisable JSON: %s at byte %d is not a literal or number", t.what, quoteBounded(tok), start)
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return jcsValue{}, verify.Errorf(verify.ErrMalformed, "%s: not canonicalisable JSON: number %s at byte %d is out of range", t.what, quoteBounded(tok), start)
	}
	return jcsValue{kind: jcsNumber, start: int32(start), end: int32(t.pos), num: f}, nil
}

// isNumber reports whether s is an RFC 8259 number:
// -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?
// (strconv.ParseFloat alone would take hex, '+', '_', "Inf" and more).
func isNumber(s []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// appendES6Number appends f as ECMAScript's Number.prototype.toString writes
// it (RFC 8785 §3.2.2.3): the shortest digits that read back as f, in fixed
// notation from 1e-6 up to 1e21 and in exponent notation otherwise, with no
// leading zero in the exponent, and 0 for -0. f is finite.
func appendES6Number(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	if f < 0 {
		dst, f = append(dst, '-'), -f
	}
	if 1e-6 <= f && f < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// Go writes at least two exponent digits (1e+07); ECMAScript as many
	// as needed (1e+7).
	if e := bytes.IndexByte(dst[start:], 'e') + start; dst[e+2] == '0' {
		dst = append(dst[:e+2], dst[e+3:]...)
	}
	return dst
}

// write writes the canonical text of value i to w.
func (t *jcsTree) write(w *jcsWriter, i int32) {
	v := t.values[i]
	switch v.kind {
	case jcsLiteral:
		w.put(t.doc[v.start:v.end])
	case jcsNumber:
		w.putNumber(v.num)
	case jcsString:
		writeJCSString(w, t.doc[v.start:v.end])
	case jcsArray:
		w.putByte('[')
		for k, e := range t.elems[v.first : v.first+v.n] {
			if k > 0 {
				w.putByte(',')
			}
			t.write(w, e)
		}
		w.putByte(']')
	case jcsObject:
		w.putByte('{')
		for k, m := range t.members[v.first : v.first+v.n] {
			if k > 0 {
				w.putByte(',')
			}
			writeJCSString(w, t.doc[m.start:m.end])
			w.putByte(':')
			t.write(w, m.value)
		}
		w.putByte('}')
	}
}

// writeJCSString writes the canonical form of raw, a validated string body:
// quoted, with every escape decoded and only '"', '\\' and control
// characters escaped again (the short forms \b \f \n \r \t where they exist,
// \u00xx otherwise). Runs without an escape are written as they are: the
// body holds no raw control character or quote and is valid UTF-8.
func writeJCSString(w *jcsWriter, raw []byte) {
	w.putByte('"')
	for len(raw) > 0 {
		k := bytes.IndexByte(raw, '\\')
		if k < 0 {
			w.put(raw)
			break
		}
		w.put(raw[:k])
		r, next, _ := unescape(raw, k)
		raw = raw[next:]
		writeEscaped(w, r)
	}
	w.putByte('"')
}

// writeEscaped writes the code point r of a string as RFC 8785 does:
// '"', '\\' and control characters escaped (\b \f \n \r \t, \u00xx for the
// others), every other code point as UTF-8.
func writeEscaped(w *jcsWriter, r rune) {
	switch r {
	case '"':
		w.putString(`\"`)
	case '\\':
		w.putString(`\\`)
	case '\b':
		w.putString(`\b`)
	case '\f':
		w.putString(`\f`)
	case '\n':
		w.putString(`\n`)
	case '\r':
		w.putString(`\r`)
	case '\t':
		w.putString(`\t`)
	default:
		if r < 0x20 {
			const hex = "0123456789abcdef"
			w.putString(`\u00`)
			w.putByte(hex[r>>4])
			w.putByte(hex[r&0xF])
			return
		}
		w.putRune(r)
	}
}

// writeTo writes the canonical text of the whole document to w.
func (t *jcsTree) writeTo(w *jcsWriter) { t.write(w, 0) }

// jcsWriter buffers the canonical text on its way to a hash or a buffer:
// the text is written in many small pieces (punctuation, escapes), and a
// hash's Write costs a call each. Long pieces go through in buffer-sized
// chunks, copied once.
type jcsWriter struct {
	w   io.Writer
	err error // the first write error (a hash and a bytes.Buffer have none)
	n   int
	buf [512]byte
}

func newJCSWriter(w io.Writer) *jcsWriter { return &jcsWriter{w: w} }

// flush writes out what is buffered and returns the first write error.
func (b *jcsWriter) flush() error {
	if b.n > 0 && b.err == nil {
		_, b.err = b.w.Write(b.buf[:b.n])
	}
	b.n = 0
	return b.err
}

func (b *jcsWriter) put(p []byte) {
	if len(p) >= len(b.buf) { // a long run of a string: not copied
		if b.flush() == nil {
			_, b.err = b.w.Write(p)
		}
		return
	}
	for len(p) > 0 {
		if b.n == len(b.buf) {
			b.flush()
		}
		k := copy(b.buf[b.n:], p)
		b.n += k
		p = p[k:]
	}
}

func (b *jcsWriter) putString(s string) {
	for len(s) > 0 {
		if b.n == len(b.buf) {
			b.flush()
		}
		k := copy(b.buf[b.n:], s)
		b.n += k
		s = s[k:]
	}
}

// putNumber writes f in the RFC 8785 form, formatted in place in the
// buffer (at most 24 bytes: -1.7976931348623157e+308).
func (b *jcsWriter) putNumber(f float64) {
	if len(b.buf)-b.n < 32 {
		b.flush()
	}
	b.n += len(appendES6Number(b.buf[b.n:b.n], f))
}

// putRune writes r as UTF-8, encoded in place in the buffer.
func (b *jcsWriter) putRune(r rune) {
	if len(b.buf)-b.n < utf8.UTFMax {
		b.flush()
	}
	b.n += len(utf8.AppendRune(b.buf[b.n:b.n], r))
}

func (b *jcsWriter) putByte(c byte) {
	if b.n == len(b.buf) {
		b.flush()
	}
	b.buf[b.n] = c
	b.n++
}

// appendDoubling appends vs to s, doubling its capacity when it is full.
// The runtime grows a large slice by about a quarter at a time, which costs
// about five times the final size in allocation; doubling costs at most
// twice, and the number of values is the client's to choose.
func appendDoubling[T any](s []T, vs ...T) []T {
	if need := len(s) + len(vs); need > cap(s) {
		s = slices.Grow(s, max(need, 2*cap(s), 16)-len(s))
	}
	return append(s, vs...)
}
