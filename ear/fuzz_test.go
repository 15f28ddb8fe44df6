package ear

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func seedFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join(testdata, p))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds for %s: %v", p, err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// checkDecoded holds for any successfully decoded claims set: a valid result
// re-encodes in both encodings and decodes back to the same statuses.
func checkDecoded(t *testing.T, r *Result) {
	if r.Validate() != nil {
		return
	}
	c := NewCodec(nil)
	for _, enc := range []struct {
		name string
		e    func(*Result) ([]byte, error)
		d    func([]byte) (*Result, error)
	}{{"json", c.EncodeJSON, c.DecodeJSON}, {"cbor", c.EncodeCBOR, c.DecodeCBOR}} {
		b, err := enc.e(r)
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				continue // e.g. several policy ids in the legacy generation
			}
			if enc.name == "json" {
				continue // values JSON cannot carry (CBOR maps with integer keys)
			}
			t.Fatalf("%s encode of a valid result: %v", enc.name, err)
		}
		if enc.name == "cbor" {
			ref, err := c.refEncodeCBOR(r)
			if err != nil || !bytes.Equal(ref, b) {
				t.Fatalf("hand-written and reference encoders disagree (%v):\n got %x\n ref %x", err, b, ref)
			}
		}
		back, err := enc.d(b)
		if err != nil {
			t.Fatalf("%s re-decode: %v", enc.name, err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("%s re-decoded result no longer valid: %v", enc.name, err)
		}
		for n, a := range r.Submods {
			if b := back.Submods[n]; b == nil || b.Status != a.Status || b.TrustVector != a.TrustVector {
				t.Fatalf("%s round trip changed submod %q", enc.name, n)
			}
		}
		if r.OverallStatus() != back.OverallStatus() {
			t.Fatalf("%s round trip changed the overall status", enc.name)
		}
	}
}

func FuzzParseJSONClaims(f *testing.F) {
	seedFiles(f, "draft-ietf-rats-ear/*json*.diag", "veraison-ear/*.json", "trustee/example.token.json", "golden/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewCodec(nil).DecodeJSON(data)
		if err != nil {
			if r != nil || !errors.Is(err, ErrDecode) {
				t.Fatalf("error %v with result %v", err, r)
			}
			return
		}
		checkDecoded(t, r)
	})
}

func FuzzParseCBORClaims(f *testing.F) {
	seedFiles(f, "golden/*.cbor")
	for _, p := range []string{ProfileIETF03, ProfileTrustee} {
		b, err := goldenResult(p).MarshalCBOR()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewCodec(nil)
		r, err := c.DecodeCBOR(data)
		ref, refErr := c.refDecodeCBOR(data)
		if err != nil {
			if r != nil || !errors.Is(err, ErrDecode) {
				t.Fatalf("error %v with result %v", err, r)
			}
			return
		}
		checkDecoded(t, r)
		if refErr == nil && !sameDecoded(r, ref) {
			t.Fatalf("hand-written and reference decoders disagree:\n got %+v\n ref %+v", r, ref)
		}
	})
}

// sameDecoded reports whether two decodings of one claims set are equal,
// counting a NaN in a free-form value equal to a NaN with the same bits
// (reflect.DeepEqual never does). It rewrites the NaNs of both results.
func sameDecoded(a, b *Result) bool {
	for _, r := range []*Result{a, b} {
		r.Extensions = markNaN(r.Extensions).(map[string]any)
		for _, s := range r.Submods {
			if s == nil {
				continue
			}
			s.Extensions = markNaN(s.Extensions).(map[string]any)
			s.AnnotatedEvidence = markNaN(s.AnnotatedEvidence).(map[string]any)
			s.PolicyClaims = markNaN(s.PolicyClaims).(map[string]any)
		}
	}
	return reflect.DeepEqual(a, b)
}

type nanBits uint64

func markNaN(v any) any {
	switch t := v.(type) {
	case float64:
		if math.IsNaN(t) {
			return nanBits(math.Float64bits(t))
		}
	case float32:
		if math.IsNaN(float64(t)) {
			return nanBits(math.Float32bits(t))
		}
	case map[string]any:
		for k, e := range t {
			t[k] = markNaN(e)
		}
	case map[any]any:
		// NaN keys are never found again, and two of them could collapse
		// into one marked key: compare the entries as sorted pairs.
		pairs := make([][2]any, 0, len(t))
		for k, e := range t {
			pairs = append(pairs, [2]any{markNaN(k), markNaN(e)})
		}
		slices.SortFunc(pairs, func(a, b [2]any) int {
			return strings.Compare(fmt.Sprintf("%#v", a), fmt.Sprintf("%#v", b))
		})
		return pairs
	case cbor.Tag:
		t.Content = markNaN(t.Content)
		return t
	case []any:
		for i, e := range t {
			t[i] = markNaN(e)
		}
	}
	return v
}
