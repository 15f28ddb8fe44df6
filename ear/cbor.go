package ear

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The CBOR claims codec is written by hand for the fixed EAR structure, so
// that issuing and verifying a CWT costs little beyond its signature; free-form
// values (extensions, annotated evidence) go through fxamacker/cbor. Its output
// is RFC 8949 core deterministic, byte for byte what fxamacker's
// CoreDetEncOptions produce (checked by the tests against a reflection-based
// reference codec).

// CBOR limits for decoding claims; a token layer bounds the total size first.
const (
	cborMaxNesting = 32
	cborMaxItems   = 1 << 16
)

var (
	cborEnc = func() cbor.EncMode {
		m, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err) // constant options
		}
		return m
	}()
	cborDec = func() cbor.DecMode {
		m, err := cbor.DecOptions{
			DupMapKey:        cbor.DupMapKeyEnforcedAPF,
			MaxNestedLevels:  cborMaxNesting,
			MaxArrayElements: cborMaxItems,
			MaxMapPairs:      cborMaxItems,
			IndefLength:      cbor.IndefLengthForbidden,
			IntDec:           cbor.IntDecConvertSignedOrFail,
			UTF8:             cbor.UTF8RejectInvalid,
		}.DecMode()
		if err != nil {
			panic(err) // constant options
		}
		return m
	}()
)

// MarshalCBOR encodes r with the built-in extension registry.
func (r *Result) MarshalCBOR() ([]byte, error) { return defaultCodec.EncodeCBOR(r) }

// UnmarshalCBOR decodes r with the built-in extension registry.
func (r *Result) UnmarshalCBOR(b []byte) error {
	res, err := defaultCodec.DecodeCBOR(b)
	if err != nil {
		return err
	}
	*r = *res
	return nil
}

// CBOR major types.
const (
	majUint   = 0
	majNeg    = 1
	majBytes  = 2
	majText   = 3
	majArray  = 4
	majMap    = 5
	majTag    = 6
	majSimple = 7
)

// cborWriter appends CBOR items to a buffer.
type cborWriter struct{ b []byte }

func (w *cborWriter) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		w.b = append(w.b, m|byte(n))
	case n <= math.MaxUint8:
		w.b = append(w.b, m|24, byte(n))
	case n <= math.MaxUint16:
		w.b = append(w.b, m|25)
		w.b = binary.BigEndian.AppendUint16(w.b, uint16(n))
	case n <= math.MaxUint32:
		w.b = append(w.b, m|26)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
	default:
		w.b = append(w.b, m|27)
		w.b = binary.BigEndian.AppendUint64(w.b, n)
	}
}

func (w *cborWriter) int(v int64) {
	if v >= 0 {
		w.head(majUint, uint64(v))
	} else {
		w.head(majNeg, uint64(-(v + 1)))
	}
}

func (w *cborWriter) text(s string) {
	w.head(majText, uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *cborWriter) bytes(p []byte) {
	w.head(majBytes, uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *cborWriter) texts(ss []string) {
	w.head(majArray, uint64(len(ss)))
	for _, s := range ss {
		w.text(s)
	}
}

func (w *cborWriter) value(v any) error {
	b, err := cborEnc.Marshal(v)
	if err != nil {
		return fmt.Errorf("ear: encode CBOR: %w", err)
	}
	w.b = append(w.b, b...)
	return nil
}

// cborMapEnc collects map entries and writes them in core deterministic
// order (bytewise order of the encoded keys).
type cborMapEnc struct {
	cborWriter
	ents [][3]int // key start, value start, end
}

func (m *cborMapEnc) key(k int64) {
	m.ents = append(m.ents, [3]int{len(m.b)})
	m.int(k)
	m.ents[len(m.ents)-1][1] = len(m.b)
}

func (m *cborMapEnc) textKey(k string) {
	m.ents = append(m.ents, [3]int{len(m.b)})
	m.text(k)
	m.ents[len(m.ents)-1][1] = len(m.b)
}

// done ends the value of the entry begun by the last key.
func (m *cborMapEnc) done() { m.ents[len(m.ents)-1][2] = len(m.b) }

func (m *cborMapEnc) writeTo(w *cborWriter) {
	slices.SortFunc(m.ents, func(a, b [3]int) int {
		return bytes.Compare(m.b[a[0]:a[1]], m.b[b[0]:b[1]])
	})
	w.head(majMap, uint64(len(m.ents)))
	for _, e := range m.ents {
		w.b = append(w.b, m.b[e[0]:e[2]]...)
	}
}

// EncodeCBOR returns the core deterministic CBOR claims set of r, with
// integer keys. The legacy generation carries a single policy id as text under
// key 1003, as rust-ear does; draft-03 an array.
func (c *Codec) EncodeCBOR(r *Result) ([]byte, error) {
	if r == nil {
		return nil, invalid("nil result")
	}
	g := r.Generation()
	m := &cborMapEnc{cborWriter: cborWriter{b: make([]byte, 0, 512)}, ents: make([][3]int, 0, 16)}
	m.key(keyProfile)
	m.text(r.Profile)
	m.done()
	m.key(keyIAT)
	m.int(r.IssuedAt.Unix())
	m.done()
	if !r.ExpiresAt.IsZero() {
		m.key(keyEXP)
		m.int(r.ExpiresAt.Unix())
		m.done()
	}
	if !r.NotBefore.IsZero() {
		m.key(keyNBF)
		m.int(r.NotBefore.Unix())
		m.done()
	}
	if r.Issuer != "" {
		m.key(keyISS)
		m.text(r.Issuer)
		m.done()
	}
	if r.ID != "" {
		m.key(keyCTI)
		m.bytes([]byte(r.ID))
		m.done()
	}
	switch len(r.Audience) {
	case 0:
	case 1:
		m.key(keyAUD)
		m.text(r.Audience[0])
		m.done()
	default:
		m.key(keyAUD)
		m.texts(r.Audience)
		m.done()
	}
	m.key(keyVerifierID)
	m.head(majMap, 2)
	m.int(0)
	m.text(r.VerifierID.Developer)
	m.int(1)
	m.text(r.VerifierID.Build)
	m.done()
	if r.Nonce != nil {
		m.key(keyNonce)
		m.bytes(r.Nonce)
		m.done()
	}
	if r.RawEvidence != nil {
		m.key(keyRawEvidence)
		m.bytes(r.RawEvidence)
		m.done()
	}
	if r.Status != nil {
		m.key(keyStatus)
		m.int(int64(*r.Status))
		m.done()
	}
	subs := &cborMapEnc{}
	for name, a := range r.Submods {
		if a == nil {
			return nil, invalid("submods[%q]: missing appraisal", name)
		}
		subs.textKey(name)
		if err := c.cborAppraisal(&subs.cborWriter, a, g); err != nil {
			return nil, fmt.Errorf("submods[%q]: %w", name, err)
		}
		subs.done()
	}
	m.key(keySubmods)
	subs.writeTo(&m.cborWriter)
	m.done()
	if err := c.putCBORExtensions(m, r.Extensions, ScopeResult); err != nil {
		return nil, err
	}
	var out cborWriter
	out.b = make([]byte, 0, len(m.b)+8)
	m.writeTo(&out)
	return out.b, nil
}

func (c *Codec) cborAppraisal(w *cborWriter, a *Appraisal, g Generation) error {
	m := &cborMapEnc{ents: make([][3]int, 0, 8)}
	m.key(keyStatus)
	m.int(int64(a.Status))
	m.done()
	if !a.TrustVector.IsZero() {
		m.key(keyVector)
		n := 0
		for _, claim := range a.TrustVector {
			if claim != NoClaim || g == GenerationLegacy {
				n++
			}
		}
		m.head(majMap, uint64(n))
		for i, claim := range a.TrustVector {
			if claim != NoClaim || g == GenerationLegacy {
				m.int(int64(i))
				m.int(int64(claim))
			}
		}
		m.done()
	}
	if len(a.PolicyIDs) > 0 {
		m.key(keyPolicyIDs)
		if g == GenerationLegacy {
			if len(a.PolicyIDs) > 1 {
				return invalid("policy id: the legacy generation carries one policy id, got %d", len(a.PolicyIDs))
			}
			m.text(a.PolicyIDs[0])
		} else {
			m.texts(a.PolicyIDs)
		}
		m.done()
	}
	if a.Profile != "" {
		m.key(keyProfile)
		m.text(a.Profile)
		m.done()
	}
	if a.Nonce != nil {
		m.key(keyNonce)
		m.bytes(a.Nonce)
		m.done()
	}
	if a.AnnotatedEvidence != nil {
		m.key(keyAnnotated)
		if err := m.value(a.AnnotatedEvidence); err != nil {
			return err
		}
		m.done()
	}
	if a.PolicyClaims != nil {
		m.key(keyPolicyClaims)
		if err := m.value(a.PolicyClaims); err != nil {
			return err
		}
		m.done()
	}
	if a.KeyAttestation != nil {
		m.key(keyKeyAttestation)
		m.head(majMap, 1)
		m.text("akpub")
		m.bytes(a.KeyAttestation.AKPub)
		m.done()
	}
	if err := c.putCBORExtensions(m, a.Extensions, ScopeAppraisal); err != nil {
		return err
	}
	m.writeTo(w)
	return nil
}

func (c *Codec) putCBORExtensions(m *cborMapEnc, exts map[string]any, scope Scope) error {
	for name, v := range exts {
		e, err := c.extension(name, scope)
		if err != nil {
			return err
		}
		m.key(e.Key)
		if err := m.value(v); err != nil {
			return err
		}
		m.done()
	}
	return nil
}

// cborReader reads CBOR items from a buffer, checking every length against
// the bytes left before allocating.
type cborReader struct {
	b   []byte
	off int
}

// head reads an item head. Indefinite lengths and reserved values are refused.
func (r *cborReader) head() (major byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, decodeErr("unexpected end of data at offset %d", r.off)
	}
	ib := r.b[r.off]
	r.off++
	major, ai := ib>>5, ib&0x1f
	var n int
	switch {
	case ai < 24:
		return major, uint64(ai), nil
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	default:
		return 0, 0, decodeErr("unsupported additional information %d (indefinite length or reserved) at offset %d", ai, r.off-1)
	}
	if len(r.b)-r.off < n {
		return 0, 0, decodeErr("unexpected end of data at offset %d", r.off)
	}
	for _, c := range r.b[r.off : r.off+n] {
		arg = arg<<8 | uint64(c)
	}
	r.off += n
	return major, arg, nil
}

// count checks a container or string length against the bytes left (each
// element needs at least minSize bytes).
func (r *cborReader) count(n uint64, minSize int, what string) (int, error) {
	if n > uint64(len(r.b)-r.off)/uint64(minSize) {
		return 0, decodeErr("%s length %d exceeds the %d bytes left", what, n, len(r.b)-r.off)
	}
	return int(n), nil
}

func (r *cborReader) int(what string) (int64, error) {
	major, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	switch major {
	case majUint:
		if arg > math.MaxInt64 {
			return 0, decodeErr("%s: integer %d overflows int64", what, arg)
		}
		return int64(arg), nil
	case majNeg:
		if arg > math.MaxInt64 {
			return 0, decodeErr("%s: integer -1-%d overflows int64", what, arg)
		}
		return -1 - int64(arg), nil
	}
	return 0, decodeErr("%s: expected an integer, got major type %d", what, major)
}

func (r *cborReader) str(major byte, what string) ([]byte, error) {
	m, arg, err := r.head()
	if err != nil {
		return nil, err
	}
	if m != major {
		return nil, decodeErr("%s: expected major type %d, got %d", what, major, m)
	}
	n, err := r.count(arg, 1, what)
	if err != nil {
		return nil, err
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	if major == majText && !utf8.Valid(s) {
		return nil, decodeErr("%s: invalid UTF-8", what)
	}
	return s, nil
}

func (r *cborReader) text(what string) (string, error) {
	s, err := r.str(majText, what)
	return string(s), err
}

func (r *cborReader) bytes(what string) ([]byte, error) {
	s, err := r.str(majBytes, what)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(s), nil
}

func (r *cborReader) container(major byte, what string) (int, error) {
	m, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if m != major {
		return 0, decodeErr("%s: expected major type %d, got %d", what, major, m)
	}
	minSize := 1
	if major == majMap {
		minSize = 2
	}
	if arg > cborMaxItems {
		return 0, decodeErr("%s of %d items exceeds the limit of %d", what, arg, cborMaxItems)
	}
	return r.count(arg, minSize, what)
}

// textOrTexts reads a text string or a non-empty array of text strings.
func (r *cborReader) textOrTexts(what string) ([]string, error) {
	if r.off < len(r.b) && r.b[r.off]>>5 == majText {
		s, err := r.text(what)
		return []string{s}, err
	}
	n, err := r.container(majArray, what)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, decodeErr("%s: empty array", what)
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = r.text(what); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// skip passes over one well-formed item.
func (r *cborReader) skip(depth int) error {
	if depth > cborMaxNesting {
		return decodeErr("nesting deeper than %d", cborMaxNesting)
	}
	start := r.off
	major, arg, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case majUint, majNeg:
	case majBytes, majText:
		n, err := r.count(arg, 1, "string")
		if err != nil {
			return err
		}
		if major == majText && !utf8.Valid(r.b[r.off:r.off+n]) {
			return decodeErr("invalid UTF-8 at offset %d", r.off)
		}
		r.off += n
	case majArray, majMap:
		if arg > cborMaxItems {
			return decodeErr("container of %d items exceeds the limit of %d", arg, cborMaxItems)
		}
		items := arg
		if major == majMap {
			items *= 2
		}
		if _, err := r.count(items, 1, "container"); err != nil {
			return err
		}
		for i := uint64(0); i < items; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	case majTag:
		return r.skip(depth + 1)
	case majSimple:
		// RFC 8949 3.3: a one-byte simple value below 32 is not well-formed
		if r.b[start] == 0xf8 && arg < 32 {
			return decodeErr("invalid simple value %d at offset %d", arg, start)
		}
	}
	return nil
}

// raw returns the bytes of the next item, at nesting depth depth, and
// passes over it.
func (r *cborReader) raw(depth int) ([]byte, error) {
	start := r.off
	if err := r.skip(depth); err != nil {
		return nil, err
	}
	return r.b[start:r.off], nil
}

// value decodes a free-form value: maps with only text keys become
// map[string]any, integers int64, floats float64, byte strings []byte.
// Anything tagged is handed to fxamacker/cbor.
func (r *cborReader) value(depth int) (any, error) {
	if depth > cborMaxNesting {
		return nil, decodeErr("nesting deeper than %d", cborMaxNesting)
	}
	if r.off >= len(r.b) {
		return nil, decodeErr("unexpected end of data at offset %d", r.off)
	}
	ib := r.b[r.off]
	switch ib >> 5 {
	case majUint, majNeg:
		return r.int("value")
	case majBytes:
		return r.bytes("value")
	case majText:
		return r.text("value")
	case majArray:
		n, err := r.container(majArray, "array")
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case majMap:
		n, err := r.container(majMap, "map")
		if err != nil {
			return nil, err
		}
		sm := make(map[string]any, n)
		var am map[any]any
		for i := 0; i < n; i++ {
			var k any
			if r.off < len(r.b) && r.b[r.off]>>5 == majText {
				k, err = r.text("map key")
			} else {
				k, err = r.value(depth + 1)
			}
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case string, int64, bool, float64, nil:
			default:
				return nil, decodeErr("map key of type %T", k)
			}
			v, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if ks, ok := k.(string); ok && am == nil {
				if _, dup := sm[ks]; dup {
					return nil, decodeErr("duplicate map key %q", ks)
				}
				sm[ks] = v
				continue
			}
			if am == nil {
				am = make(map[any]any, n)
				for sk, sv := range sm {
					am[sk] = sv
				}
			}
			if _, dup := am[k]; dup {
				return nil, decodeErr("duplicate map key %v", k)
			}
			am[k] = v
		}
		if am != nil {
			return am, nil
		}
		return sm, nil
	case majTag:
		raw, err := r.raw(depth)
		if err != nil {
			return nil, err
		}
		var v any
		if err := cborDec.Unmarshal(raw, &v); err != nil {
			return nil, decodeErr("%v", err)
		}
		return v, nil
	}
	// simple values and floats
	r.off++
	switch {
	case ib == 0xf4:
		return false, nil
	case ib == 0xf5:
		return true, nil
	case ib == 0xf6 || ib == 0xf7:
		return nil, nil
	case ib == 0xf9 && len(r.b)-r.off >= 2:
		h := binary.BigEndian.Uint16(r.b[r.off:])
		r.off += 2
		return halfToFloat(h), nil
	case ib == 0xfa && len(r.b)-r.off >= 4:
		f := math.Float32frombits(binary.BigEndian.Uint32(r.b[r.off:]))
		r.off += 4
		return float64(f), nil
	case ib == 0xfb && len(r.b)-r.off >= 8:
		f := math.Float64frombits(binary.BigEndian.Uint64(r.b[r.off:]))
		r.off += 8
		return f, nil
	}
	return nil, decodeErr("unsupported simple value %#02x at offset %d", ib, r.off-1)
}

// halfToFloat converts an IEEE 754 half-precision float.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		// quiet, keeping sign and payload, through float32 as fxamacker/cbor
		// (x448/float16) decodes it, so that both agree on every platform
		return float64(math.Float32frombits(uint32(h&0x8000)<<16 | 0x7fc00000 | uint32(h&0x3ff)<<13))
	}
	return sign * math.Ldexp(frac+1024, exp-25)
}

func (r *cborReader) object(what string) (map[string]any, error) {
	if r.off >= len(r.b) || r.b[r.off]>>5 != majMap {
		return nil, decodeErr("%s: expected a map", what)
	}
	v, err := r.value(1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, decodeErr("%s: expected a map with text keys", what)
	}
	return m, nil
}

func cborTime(r *cborReader, name string) (time.Time, error) {
	n, err := r.int(name)
	if err != nil {
		return time.Time{}, err
	}
	return unixTime(n, name)
}

// claimKeys iterates over the entries of a claims map with integer keys,
// refusing duplicates; entries with other keys are skipped (they are not EAR
// claims).
func (r *cborReader) claimKeys(what string, f func(key int64) error) error {
	return r.intKeys(what, true, f)
}

// encodedKey is a map key compared by its encoding.
type encodedKey string

// otherKey passes over a map key that is not an integer and returns it in a
// comparable form: text, floats, booleans and null by value, as the
// reference decoder compares them (two encodings of one text are one key),
// anything else by its encoding.
func (r *cborReader) otherKey() (any, error) {
	start := r.off
	switch ib := r.b[r.off]; {
	case ib>>5 == majText:
		return r.text("map key")
	case ib >= 0xf4 && ib <= 0xf7, ib >= 0xf9 && ib <= 0xfb:
		return r.value(1)
	}
	if err := r.skip(1); err != nil {
		return nil, err
	}
	return encodedKey(r.b[start:r.off]), nil
}

// intKeys iterates over the entries of a map with integer keys, refusing
// duplicates. Entries with other keys are skipped when skipOthers is set and
// refused otherwise (a trust vector or verifier id has only integer keys).
func (r *cborReader) intKeys(what string, skipOthers bool, f func(key int64) error) error {
	n, err := r.container(majMap, what)
	if err != nil {
		return err
	}
	seen := make(map[int64]struct{}, min(n, 32))
	var others map[any]struct{} // skipped keys
	for i := 0; i < n; i++ {
		if r.off < len(r.b) && r.b[r.off]>>5 > majNeg {
			if !skipOthers {
				return decodeErr("%s: key of major type %d, expected an integer", what, r.b[r.off]>>5)
			}
			start := r.off
			k, err := r.otherKey()
			if err != nil {
				return err
			}
			if others == nil {
				others = map[any]struct{}{}
			}
			if _, dup := others[k]; dup {
				return decodeErr("%s: duplicate key %x", what, r.b[start:r.off])
			}
			others[k] = struct{}{}
			if err := r.skip(1); err != nil {
				return err
			}
			continue
		}
		k, err := r.int(what + " key")
		if err != nil {
			return err
		}
		if _, dup := seen[k]; dup {
			return decodeErr("%s: duplicate key %d", what, k)
		}
		seen[k] = struct{}{}
		if err := f(k); err != nil {
			return err
		}
	}
	return nil
}

// DecodeCBOR decodes a CBOR claims set. It ignores unknown claims, keeps
// registered extensions, and does not validate: call Validate.
func (c *Codec) DecodeCBOR(data []byte) (*Result, error) {
	rd := &cborReader{b: data}
	res := &Result{}
	err := rd.claimKeys("claims set", func(k int64) error {
		var err error
		switch k {
		case keyProfile:
			res.Profile, err = rd.text(nameProfile)
		case keyIAT:
			res.IssuedAt, err = cborTime(rd, nameIAT)
		case keyEXP:
			res.ExpiresAt, err = cborTime(rd, nameEXP)
		case keyNBF:
			res.NotBefore, err = cborTime(rd, nameNBF)
		case keyISS:
			res.Issuer, err = rd.text(nameISS)
		case keyCTI:
			var b []byte
			b, err = rd.str(majBytes, "cti")
			res.ID = string(b)
		case keyAUD:
			res.Audience, err = rd.textOrTexts(nameAUD)
		case keyVerifierID:
			err = rd.intKeys("ear_verifier_id", false, func(k int64) error {
				var err error
				switch k {
				case 0:
					res.VerifierID.Developer, err = rd.text("ear_verifier_id.developer")
				case 1:
					res.VerifierID.Build, err = rd.text("ear_verifier_id.build")
				default:
					err = rd.skip(2)
				}
				return err
			})
		case keyNonce:
			res.Nonce, err = rd.bytes(nameNonce)
		case keyRawEvidence:
			res.RawEvidence, err = rd.bytes("ear_raw_evidence")
		case keyStatus:
			var s Status
			s, err = cborStatus(rd)
			res.Status = &s
		case keySubmods:
			err = c.decodeCBORSubmods(rd, res)
		default:
			res.Extensions, err = c.cborExtension(rd, res.Extensions, k, ScopeResult)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if rd.off != len(data) {
		return nil, decodeErr("%d bytes of trailing data", len(data)-rd.off)
	}
	return res, nil
}

func (c *Codec) decodeCBORSubmods(rd *cborReader, res *Result) error {
	n, err := rd.container(majMap, "submods")
	if err != nil {
		return err
	}
	res.Submods = make(map[string]*Appraisal, n)
	for i := 0; i < n; i++ {
		name, err := rd.text("submods key")
		if err != nil {
			return err
		}
		if _, dup := res.Submods[name]; dup {
			return decodeErr("submods: duplicate submod %q", name)
		}
		a, err := c.decodeCBORAppraisal(rd)
		if err != nil {
			return fmt.Errorf("submods[%q]: %w", name, err)
		}
		res.Submods[name] = a
	}
	return nil
}

func (c *Codec) decodeCBORAppraisal(rd *cborReader) (*Appraisal, error) {
	a := &Appraisal{}
	hasStatus := false
	err := rd.claimKeys("appraisal", func(k int64) error {
		var err error
		switch k {
		case keyStatus:
			a.Status, err = cborStatus(rd)
			hasStatus = true
		case keyVector:
			err = rd.intKeys("ear_trustworthiness_vector", false, func(cat int64) error {
				if cat < 0 || cat >= int64(numCategories) {
					return decodeErr("ear_trustworthiness_vector: unknown category %d", cat)
				}
				claim, err := rd.int("ear_trustworthiness_vector claim")
				if err != nil {
					return err
				}
				if claim < math.MinInt8 || claim > math.MaxInt8 {
					return decodeErr("ear_trustworthiness_vector[%d]: expected -128..127, got %d", cat, claim)
				}
				a.TrustVector[cat] = TrustClaim(claim)
				return nil
			})
		case keyPolicyIDs:
			a.PolicyIDs, err = rd.textOrTexts("ear_appraisal_policy_ids")
		case keyProfile:
			a.Profile, err = rd.text(nameProfile)
		case keyNonce:
			a.Nonce, err = rd.bytes(nameNonce)
		case keyAnnotated:
			a.AnnotatedEvidence, err = rd.object("ear_veraison_annotated_evidence")
		case keyPolicyClaims:
			a.PolicyClaims, err = rd.object("ear_veraison_policy_claims")
		case keyKeyAttestation:
			var m map[string]any
			if m, err = rd.object("ear_veraison_key_attestation"); err != nil {
				return err
			}
			a.KeyAttestation = &KeyAttestation{}
			if v, ok := m["akpub"]; ok {
				b, ok := v.([]byte)
				if !ok {
					return decodeErr("ear_veraison_key_attestation.akpub: expected a byte string, got %T", v)
				}
				a.KeyAttestation.AKPub = b
			}
		default:
			a.Extensions, err = c.cborExtension(rd, a.Extensions, k, ScopeAppraisal)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !hasStatus {
		return nil, decodeErr("ear_status: missing")
	}
	return a, nil
}

// cborExtension decodes the value of key k into exts if k is a registered
// extension of this scope, and skips it otherwise.
func (c *Codec) cborExtension(rd *cborReader, exts map[string]any, k int64, scope Scope) (map[string]any, error) {
	e, ok := c.reg.LookupKey(k)
	if !ok || e.Scope&scope == 0 {
		return exts, rd.skip(1) // unknown claims are ignored
	}
	v, err := rd.value(1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	if exts == nil {
		exts = map[string]any{}
	}
	exts[e.Name] = v
	return exts, nil
}

func cborStatus(rd *cborReader) (Status, error) {
	n, err := rd.int("ear_status")
	if err != nil {
		return 0, err
	}
	s := Status(n)
	if n < math.MinInt8 || n > math.MaxInt8 || !s.Valid() {
		return 0, decodeErr("ear_status: unknown status %d", n)
	}
	return s, nil
}
