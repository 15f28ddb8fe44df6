package binding

import (
	"bytes"
	"crypto"
	"crypto/sha512"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// jcsReference is Canonicalize as it was before the streaming canonicaliser:
// the same bounds, then github.com/gowebpki/jcs. The differential tests hold
// the two together.
func jcsReference(doc []byte) ([]byte, error) {
	if len(doc) > MaxRuntimeData {
		return nil, verify.Errorf(verify.ErrLimit, "runtime data: %d bytes, limit %d", len(doc), MaxRuntimeData)
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "runtime data: empty document")
	}
	if err := jsonbound.Check(doc, "runtime data", maxRuntimeDataDepth, maxRuntimeDataValues); err != nil {
		return nil, err
	}
	out, err := jcs.Transform(doc)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "runtime data: not canonicalisable JSON: %w", err)
	}
	return out, nil
}

// sameAsJCS asserts that Canonicalize and Digest agree with the jcs-based
// reference on doc: the same canonical bytes and digest, or both refuse it
// with the same kind of error.
func sameAsJCS(t testing.TB, doc []byte) {
	t.Helper()
	want, wantErr := jcsReference(doc)
	got, err := Canonicalize(doc)
	d, derr := Digest(doc, crypto.SHA384)
	if wantErr != nil {
		if err == nil || verify.KindOf(err) != verify.KindOf(wantErr) || derr == nil || d != nil {
			t.Fatalf("%.200q: jcs refuses (%v), ours: %v / digest %x, %v", doc, wantErr, err, d, derr)
		}
		return
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%.200q: jcs %.200q, ours %.200q, %v", doc, want, got, err)
	}
	sum := sha512.Sum384(want)
	if derr != nil || !bytes.Equal(d, sum[:]) {
		t.Fatalf("%.200q: digest %x, %v; want %x", doc, d, derr, sum)
	}
}

// realRuntimeData returns the runtime-data documents in the repository: the
// composite sample's (a Trustee KBS session), an Azure CVM's, Trustee's
// unit vector, and the composite sample's runtime data carrying its eight
// GPUs' evidence as additional evidence, as a KBS binds the CPU evidence.
func realRuntimeData(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{
		"trustee vector": []byte(`{"b":1,"a":"test","c":{"d":"e"}}`),
	}
	for name, path := range map[string]string{
		"composite": "../cmd/attest/samples/composite/runtime-data.json",
		"azure":     "../testdata/binding/azure-var-data.json",
	} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		out[name] = b
	}
	out["composite with gpu evidence"] = withEvidence(t, 0)
	return out
}

// withEvidence returns the composite sample's runtime data whose additional
// evidence is {"nvgpu":[…]} holding the sample's GPU evidence repeated
// until it is at least size bytes (once when size is 0).
func withEvidence(t testing.TB, size int) []byte {
	t.Helper()
	raw, err := os.ReadFile("../cmd/attest/samples/composite/runtime-data.json")
	require.NoError(t, err)
	var r RuntimeData
	require.NoError(t, json.Unmarshal(raw, &r))
	gpus, err := os.ReadFile("../cmd/attest/samples/composite/gpu-evidence.json")
	require.NoError(t, err)
	var ae strings.Builder
	ae.WriteString(`{"nvgpu":[`)
	for i := 0; i == 0 || ae.Len() < size; i++ {
		if i > 0 {
			ae.WriteByte(',')
		}
		ae.Write(bytes.TrimSpace(gpus))
	}
	ae.WriteString("]}")
	s := ae.String()
	r.AdditionalEvidence = &s
	doc, err := r.JSON()
	require.NoError(t, err)
	return doc
}

// jcsEdgeCases are documents at the edges of RFC 8785 and JSON: escapes,
// surrogates, UTF-8, number forms and syntax errors. Each is checked
// against jcs, accepted or refused.
var jcsEdgeCases = []string{
	// RFC 8785 §3.2.3: sorting by UTF-16 code units.
	`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
	"{\"\U0001F600\":1,\"\uFFFF\":2,\"\uE000\":3,\"\U00010000\":4,\"\uD7FF\":5}",
	// RFC 8785 §3.2.4.
	`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
	`"\u0000\u0001\u001f\u007f\u0080\u2028\u2029\ud800\udc00\udbff\udfff"`,
	`"\b\f\n\r\t\"\\\/ <>&"`,
	"\"\x7f raw DEL, \u00e9, \u2028, \U0010FFFF\"",
	`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800x"`, `"\ud800\"`, `"\ud800\ud800"`, `"\udbff\ue000"`,
	`"\x"`, `"\u12"`, `"\u12g4"`, `"\U0041"`, `"\u+041"`, `"\u 041"`, "\"\\u00\xc3\xa9\"", `"\`, `"\u`,
	"\"\x01\"", "\"a\nb\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"",
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"\u00e9":1,"` + "\u00e9" + `":2}`, `{"a":{"b":1,"b":1}}`, `[{"a":1},{"a":1}]`,
	`[1e20,1e21,1e-6,1e-7,0.1,100,1.5e300,-0.0,5e-324,1.7976931348623157e308,9007199254740993,123456789012345678901234567890]`,
	`[0,-0,0.0,-0e0,1E+2,1e-2,2.5E-1,1e-400,0.0000001,123.456e5]`,
	`01`, `1.`, `.5`, `+1`, `1e`, `1e+`, `-`, `--1`, `1e400`, `-1e400`, `0x10`, `Infinity`, `NaN`, `1_000`, `1.5e3.2`,
	`tru`, `nulll`, `True`, `nul`, `null`, `true`, `false`, ` 42 `, "\t\"x\"\r\n", `"x"`,
	`[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `{,}`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{"a"}`, `{a:1}`, `{"a":1}}`, `]`, `}`, `{`, `[`, `"abc`,
	`{"a":1} x`, `{"a":1}{}`, "\xef\xbb\xbf{}", `{"a":1}` + "\u00a0", `{"a":1` + "\xc3\xa9}", `[1:2]`, `{"a":1"b"}`, `[true false]`,
	`{}`, `[]`, `[[],{},[{}]]`, `{"":0,"\u0000":1}`, `{"b":[],"a":{}}`, "[1\n,\t2 ,3]",
}

// TestCanonicalizeMatchesJCS: on the real runtime data in the repository
// and on the edge cases, Canonicalize and Digest give the bytes and digest
// jcs gives, or refuse what jcs refuses, with the same kind of error.
func TestCanonicalizeMatchesJCS(t *testing.T) {
	for name, doc := range realRuntimeData(t) {
		t.Run(name, func(t *testing.T) {
			_, err := jcsReference(doc)
			require.NoError(t, err, "real runtime data must canonicalise")
			sameAsJCS(t, doc)
		})
	}
	for i, doc := range jcsEdgeCases {
		t.Run(strconv.Itoa(i), func(t *testing.T) { sameAsJCS(t, []byte(doc)) })
	}
}

// TestCanonicalizeRFC8785Examples checks the examples of RFC 8785 against
// the output the RFC gives, independently of jcs.
func TestCanonicalizeRFC8785Examples(t *testing.T) {
	got, err := Canonicalize([]byte(jcsEdgeCases[2]))
	require.NoError(t, err)
	assert.Equal(t, `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`, string(got))

	got, err = Canonicalize([]byte(jcsEdgeCases[0]))
	require.NoError(t, err)
	var order []string
	dec := json.NewDecoder(bytes.NewReader(got))
	for tok, err := dec.Token(); err == nil; tok, err = dec.Token() {
		if s, ok := tok.(string); ok && len(order) < 7 && !strings.Contains(s, " ") && s != "One" && s != "Control" {
			order = append(order, s)
		}
	}
	assert.Equal(t, []string{"\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"}, order)
}

// TestCanonicalizeRefusalKinds: what RFC 8785 cannot canonicalise is
// malformed; the bounds are limits; nothing is written for either.
func TestCanonicalizeRefusalKinds(t *testing.T) {
	for doc, kind := range map[string]error{
		`{"a":1,"\u0061":2}`: verify.ErrMalformed,
		`"\ud800"`:           verify.ErrMalformed,
		`"\udc00"`:           verify.ErrMalformed,
		"\"\xff\"":           verify.ErrMalformed,
		`1e400`:              verify.ErrMalformed,
		`[1,]`:               verify.ErrMalformed,
		`{"a":1} x`:          verify.ErrMalformed,
		"":                   verify.ErrConfig,
		strings.Repeat("[", maxRuntimeDataDepth+1) + strings.Repeat("]", maxRuntimeDataDepth+1): verify.ErrLimit,
	} {
		out, err := Canonicalize([]byte(doc))
		assert.ErrorIs(t, err, kind, "%q", doc)
		assert.Nil(t, out, "%q", doc)
	}
}

// TestParseJCSBoundsItself: the parser bounds its recursion and its
// offsets on its own, not only through the checks its callers make first.
func TestParseJCSBoundsItself(t *testing.T) {
	deep := strings.Repeat("[", maxRuntimeDataDepth+1) + strings.Repeat("]", maxRuntimeDataDepth+1)
	_, err := parseJCS([]byte(deep), "doc")
	require.ErrorIs(t, err, verify.ErrLimit)
	_, err = parseJCS([]byte(deep[1:len(deep)-1]), "doc")
	require.NoError(t, err)
	_, err = parseJCS(make([]byte, MaxRuntimeData+1), "doc")
	require.ErrorIs(t, err, verify.ErrLimit)
}

// TestCanonicalizeRandomDocuments compares the two implementations on
// generated documents (random structure, names and strings drawn from
// escapes, surrogate pairs and multi-byte characters, random numbers) and on
// copies of them with one byte changed, which mostly hit the refusals.
func TestCanonicalizeRandomDocuments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		doc := []byte(randomJSON(rng, 0))
		sameAsJCS(t, doc)
		if len(doc) > 0 {
			const mutations = "\"\\{}[],:u0-e.\xff\x01 "
			doc[rng.IntN(len(doc))] = mutations[rng.IntN(len(mutations))]
			sameAsJCS(t, doc)
		}
	}
}

// randomJSON returns a random JSON value nested at most 4 deep.
func randomJSON(rng *rand.Rand, depth int) string {
	k := rng.IntN(8)
	if depth >= 4 && k >= 6 {
		k = rng.IntN(6)
	}
	switch k {
	case 0:
		return []string{"true", "false", "null"}[rng.IntN(3)]
	case 1, 2:
		return randomNumber(rng)
	case 3, 4, 5:
		return randomString(rng)
	case 6:
		var b strings.Builder
		b.WriteString("[")
		for i := rng.IntN(5); i > 0; i-- {
			b.WriteString(randomJSON(rng, depth+1))
			if i > 1 {
				b.WriteString(" ,\n")
			}
		}
		return b.String() + "]"
	default:
		var b strings.Builder
		b.WriteString("{ ")
		for i := rng.IntN(6); i > 0; i-- {
			b.WriteString(randomString(rng) + ":" + randomJSON(rng, depth+1))
			if i > 1 {
				b.WriteString(",")
			}
		}
		return b.String() + "}"
	}
}

func randomNumber(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return strconv.Itoa(rng.IntN(2000) - 1000)
	case 1:
		return strconv.FormatFloat(rng.NormFloat64()*math.Pow10(rng.IntN(40)-20), 'g', -1, 64)
	case 2:
		return strconv.FormatFloat(math.Float64frombits(rng.Uint64()&^(0x7ff<<52)|uint64(rng.IntN(0x7ff))<<52), 'e', rng.IntN(20), 64)
	default:
		return strconv.Itoa(rng.IntN(100)) + "." + strconv.Itoa(rng.IntN(1000)) + "e" + strconv.Itoa(rng.IntN(60)-30)
	}
}

// randomString returns a quoted JSON string of pieces that exercise
// escaping and UTF-16 ordering; names are short so that duplicates occur.
func randomString(rng *rand.Rand) string {
	pieces := []string{"a", "b", "A", "1", " ", `\"`, `\\`, `\/`, `\n`, `\t`, `\b`, `\f`, `\r`, `\u0000`, `\u001F`, `\u0041`,
		`\u00e9`, "\u00e9", `\u2028`, "\u20ac", `\ud83d\ude00`, "\U0001F600", "\uFFFF", "\uE000", `\uD834\uDD1E`, "\x7f", "<", "&"}
	var b strings.Builder
	b.WriteByte('"')
	for i := rng.IntN(4); i > 0; i-- {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String() + `"`
}

// TestES6NumberMatchesJCS: numbers are written as jcs writes them (the
// ECMAScript Number.prototype.toString form) for random bit patterns,
// random decimals and the boundaries of the fixed and exponent forms.
func TestES6NumberMatchesJCS(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.999999999999999e-7, 1e-7, 1e21, 9.999999999999999e20, 1e20,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 1 << 53, 1<<53 + 2,
		333333333.33333329, 1e30, 4.5, 2e-3, 1e-27, 123e-20, 1.5e300, 5e-324, 1e100, 1e-100, 1e+9, 1e-9}
	for p := -330; p <= 310; p++ {
		values = append(values, math.Pow10(p), 3*math.Pow10(p), -7.25*math.Pow10(p))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for len(values) < 100000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		values = append(values, f, float64(rng.Int64N(1<<60))/math.Pow10(rng.IntN(30)))
	}
	for _, f := range values {
		if math.IsInf(f, 0) { // 3e308
			continue
		}
		want, err := jcs.NumberToJSON(f)
		require.NoError(t, err)
		if got := string(appendES6Number(nil, f)); got != want {
			t.Fatalf("%b: ours %s, jcs %s", f, got, want)
		}
	}
}

// TestCompareUTF16 checks the member order against sorting by the UTF-16
// encoding itself.
func TestCompareUTF16(t *testing.T) {
	rs := []rune{0, 'a', 'b', 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfb33, 0xffff, 0x10000, 0x1f600, 0x10ffff}
	var names []string
	for _, a := range rs {
		names = append(names, string(a))
		for _, b := range rs {
			names = append(names, string(a)+string(b), string(a)+"x"+string(b))
		}
	}
	names = append(names, "")
	units := func(s string) []uint16 {
		var u []uint16
		for _, r := range s {
			if r >= 0x10000 {
				r -= 0x10000
				u = append(u, uint16(0xd800+r>>10), uint16(0xdc00+r&0x3ff))
			} else {
				u = append(u, uint16(r))
			}
		}
		return u
	}
	sign := func(n int) int { return min(max(n, -1), 1) }
	for _, a := range names {
		for _, b := range names {
			ua, ub := units(a), units(b)
			want := 0
			for i := 0; i < len(ua) && i < len(ub) && want == 0; i++ {
				want = sign(int(ua[i]) - int(ub[i]))
			}
			if want == 0 {
				want = sign(len(ua) - len(ub))
			}
			if got := sign(compareUTF16([]byte(a), []byte(b))); got != want {
				t.Fatalf("%q vs %q: %d, want %d", a, b, got, want)
			}
		}
	}
}

// FuzzCanonicalizeMatchesJCS: for any document, Canonicalize and Digest
// agree with the jcs-based reference (same bytes and digest, or both refuse
// with the same kind). Seeded with the real runtime data and the edge cases.
func FuzzCanonicalizeMatchesJCS(f *testing.F) {
	for _, doc := range realRuntimeData(f) {
		if len(doc) < 64<<10 { // the fuzzer mutates small seeds best
			f.Add(doc)
		}
	}
	for _, doc := range jcsEdgeCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { sameAsJCS(t, doc) })
}

// allocatedBy returns the bytes and allocations one call of fn makes, the
// least of a few runs so that a collection or another goroutine does not
// inflate them.
func allocatedBy(fn func()) (bytes, allocs uint64) {
	for run := 0; run < 3; run++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		b, n := after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs
		if run == 0 || b < bytes {
			bytes, allocs = b, n
		}
	}
	return bytes, allocs
}

// TestDigestAllocationBudget: digesting runtime data that carries 1 MiB of
// additional evidence allocates a few kilobytes (the tree of its values,
// the hash and its write buffer), not a canonical copy; jcs allocated about
// 14 times the document. RuntimeData.Digest, the KBS path, does not marshal
// the runtime data either (json.Marshal cost 1 to 8 times it).
func TestDigestAllocationBudget(t *testing.T) {
	doc := withEvidence(t, 1<<20)
	require.Greater(t, len(doc), 1<<20)
	want, err := jcsReference(doc)
	require.NoError(t, err)
	sum := sha512.Sum384(want)

	var d []byte
	n, allocs := allocatedBy(func() { d, err = Digest(doc, crypto.SHA384) })
	require.NoError(t, err)
	require.Equal(t, sum[:], d)
	t.Logf("Digest of %d bytes: %d bytes in %d allocations", len(doc), n, allocs)
	// Measured: 2.3 KB in 7 allocations; the budget leaves room for
	// another Go release's hash and slice sizes, not for a copy.
	assert.Less(t, n, uint64(16<<10), "bytes allocated")
	assert.Less(t, allocs, uint64(32), "allocations")
	assert.Less(t, testing.AllocsPerRun(5, func() { _, _ = Digest(doc, crypto.SHA384) }), 32.0)

	var r RuntimeData
	require.NoError(t, json.Unmarshal(doc, &r))
	n, allocs = allocatedBy(func() { d, err = r.Digest(crypto.SHA384) })
	require.NoError(t, err)
	require.Equal(t, sum[:], d)
	t.Logf("RuntimeData.Digest: %d bytes in %d allocations", n, allocs)
	assert.Less(t, n, uint64(16<<10), "bytes allocated")
	assert.Less(t, allocs, uint64(32), "allocations")

	// Canonicalize allocates the canonical text and the tree.
	n, _ = allocatedBy(func() { _, err = Canonicalize(doc) })
	require.NoError(t, err)
	assert.Less(t, n, uint64(len(doc)+128<<10), "bytes allocated by Canonicalize")
}

// BenchmarkDigest digests runtime data, the composite sample's and one
// with 1 MiB of additional evidence (GPU evidence), with Digest and, as a
// KBS does, with RuntimeData.Digest. It reports x-baseline, the time of
// the jcs-based reference over ours (jcs.Transform then SHA-384; for
// RuntimeData.Digest, json.Marshal first), x-floor, ours over SHA-384 of
// as many bytes, and baseline-B/op, the bytes the reference allocates,
// beside ours (B/op).
func BenchmarkDigest(b *testing.B) {
	small, large := realRuntimeData(b)["composite"], withEvidence(b, 1<<20)
	var rd RuntimeData
	if err := json.Unmarshal(large, &rd); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name            string
		size            int
		ours, reference func() error
	}{
		{"runtime-data", len(small),
			func() error { _, err := Digest(small, crypto.SHA384); return err },
			func() error { _, err := digestReference(small); return err }},
		{"1MiB-evidence", len(large),
			func() error { _, err := Digest(large, crypto.SHA384); return err },
			func() error { _, err := digestReference(large); return err }},
		{"RuntimeData-1MiB-evidence", len(large),
			func() error { _, err := rd.Digest(crypto.SHA384); return err },
			func() error { _, err := runtimeDataReference(rd, crypto.SHA384); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			runs := 20
			if c.size < 4096 {
				runs = 2000
			}
			// Timed in-line: testing.Benchmark cannot run inside a
			// running benchmark.
			start := time.Now()
			for range runs {
				if err := c.reference(); err != nil {
					b.Fatal(err)
				}
			}
			baseline := float64(time.Since(start).Nanoseconds()) / float64(runs)
			baselineBytes, _ := allocatedBy(func() { _ = c.reference() })
			// The floor: SHA-384 of as many bytes, which no digest of the
			// document avoids.
			text := make([]byte, c.size)
			start = time.Now()
			for range runs {
				sha512.Sum384(text)
			}
			floor := float64(time.Since(start).Nanoseconds()) / float64(runs)

			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			start = time.Now()
			for b.Loop() {
				if err := c.ours(); err != nil {
					b.Fatal(err)
				}
			}
			ours := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(baseline/ours, "x-baseline")
			b.ReportMetric(ours/floor, "x-floor")
			b.ReportMetric(float64(baselineBytes), "baseline-B/op")
		})
	}
}

// digestReference is Digest as it was: jcs, then SHA-384.
func digestReference(doc []byte) ([]byte, error) {
	out, err := jcsReference(doc)
	if err != nil {
		return nil, err
	}
	sum := sha512.Sum384(out)
	return sum[:], nil
}
