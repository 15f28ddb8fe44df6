package ear

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// stdJSON is the reference: encoding/json with HTML escaping off, as
// EncodeJSON encoded before appendJSON.
func stdJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

type namedString string

// trickyStrings need escapes, or look as if they might.
var trickyStrings = []string{
	"", "plain", `quo"te`, `back\slash`, "<html>&amp;", "tab\there", "nl\n", "\x00\x1f\x7f",
	"é unicode ✓", "\u2028\u2029", "bad utf-8 \xff\xfe", "emoji 🙂", "~ }{ ][",
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	deep := map[string]any{"leaf": "x"}
	for range 3 * maxAppendDepth {
		deep = map[string]any{"d": []any{deep}}
	}
	values := []any{
		nil, true, false, 0, -1, math.MaxInt64, int64(math.MinInt64), 1.5, math.Inf(1) == math.Inf(1), float32(0.25),
		map[string]any(nil), map[string]string(nil), map[string]int(nil), []any(nil), []string(nil),
		map[string]any{}, []any{}, []string{},
		namedString("named <x>"), json.RawMessage(`{ "b": 1, "a" : "<&>" }`), []byte("bytes"),
		map[string]int{"z": 1, "a": -2, "B": 3, "é": 4},
		map[string]string{"k\"": "v\n", "<": ">", "a": "b"},
		[]string{"x", "\u2028", ""},
		map[int]string{2: "two", 10: "ten"},
		struct{ A string }{"<struct>"},
		deep,
	}
	for _, s := range trickyStrings {
		values = append(values, s, map[string]any{s: s, "list": []any{s, 1, true, nil}}, []string{s})
	}
	values = append(values, map[string]any{"all": values, "golden": mustClaims(t, goldenResult(ProfileIETF03))})
	for i, v := range values {
		want, wantErr := stdJSON(v)
		got, err := appendJSON(nil, v, 0)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("value %d (%T): error %v, encoding/json's %v", i, v, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("value %d (%T):\n got %s\nwant %s", i, v, got, want)
		}
	}
}

func mustClaims(t *testing.T, r *Result) map[string]any {
	t.Helper()
	m, err := defaultCodec.jsonClaims(r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Values encoding/json refuses are refused, not written: a cycle (found
// past the recursion bound) and a NaN.
func TestAppendJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, v := range []any{cyclic, map[string]any{"nan": math.NaN()}, []any{make(chan int)}} {
		if _, err := stdJSON(v); err == nil {
			t.Fatalf("%T: encoding/json accepted it", v)
		}
		if b, err := appendJSON(nil, v, 0); err == nil {
			t.Errorf("%T: encoded as %.40s…, expected an error", v, b)
		}
	}
}

// EncodeJSON's bytes are encoding/json's for both generations.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	for _, p := range []string{ProfileIETF03, ProfileTrustee} {
		r := goldenResult(p)
		r.Submods["gpu0"].AnnotatedEvidence = map[string]any{"odd": strings.Join(trickyStrings, "|"), "f": 0.1}
		got, err := defaultCodec.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := stdJSON(mustClaims(t, r))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", p, got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		v := map[string]any{s: []any{s, n, map[string]string{s: s}, map[string]int{s: int(n)}, []string{s, s}}, "n": n}
		want, wantErr := stdJSON(v)
		got, err := appendJSON(nil, v, 0)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v), want %s (%v)", got, err, want, wantErr)
		}
	})
}
