package policy

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

func TestParseReferenceValuesJSONAndYAML(t *testing.T) {
	var docs []*ReferenceValues
	for _, f := range []string{"../testdata/policy/reference-values.yaml", "../testdata/policy/reference-values.json"} {
		rv, err := LoadReferenceValues(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, rv)
	}
	y, j := docs[0], docs[1]
	if !reflect.DeepEqual(y.Names(), j.Names()) {
		t.Fatalf("names differ: %v vs %v", y.Names(), j.Names())
	}
	for _, n := range y.Names() {
		if a, b := y.Lookup(n, now), j.Lookup(n, now); !reflect.DeepEqual(a, b) || len(a) == 0 {
			t.Fatalf("%s: %v vs %v", n, a, b)
		}
	}
	// An all-digit hex value stays text in YAML.
	if got := y.Lookup("rtmr_1", now); got[0] != strings.Repeat("1", 96) {
		t.Fatalf("rtmr_1 = %q", got)
	}
	if got := y.Lookup("gpu_require_fwid", now); got[0] != "true" {
		t.Fatalf("bool = %q", got)
	}
	// Expiry: the mr_td entry is gone after 2027-01-01.
	late := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := y.Lookup("mr_td", late); got != nil {
		t.Fatalf("expired value returned: %v", got)
	}
	if got := y.Expired("mr_td", late); len(got) != 1 {
		t.Fatalf("expired: %v", got)
	}
	if got := y.Lookup("xfam", late); len(got) != 1 {
		t.Fatalf("non-expiring value gone: %v", got)
	}
	m := y.Merge(j)
	if len(m.Lookup("xfam", now)) != 2 {
		t.Fatal("merge")
	}
}

func TestParseReferenceValuesErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		kind      error
	}{
		{"empty", "", verify.ErrConfig},
		{"bad json", `{"version":"1",`, verify.ErrMalformed},
		{"trailing json", `{"version":"1","reference_values":[]} {}`, verify.ErrMalformed},
		{"trailing bracket json", `{"version":"1","reference_values":[]}]`, verify.ErrMalformed},
		{"unknown field json", `{"version":"1","reference_values":[],"x":1}`, verify.ErrMalformed},
		{"unknown entry field", `{"version":"1","reference_values":[{"name":"a","value":"b","expires":"2020-01-01T00:00:00Z"}]}`, verify.ErrMalformed},
		{"unknown field yaml", "version: \"1\"\nother: 1\n", verify.ErrMalformed},
		{"wrong version", `{"version":"2","reference_values":[]}`, verify.ErrMalformed},
		{"no version", "reference_values: []\n", verify.ErrMalformed},
		{"empty name", `{"version":"1","reference_values":[{"name":"","value":"b"}]}`, verify.ErrMalformed},
		{"empty value", `{"version":"1","reference_values":[{"name":"a","value":""}]}`, verify.ErrMalformed},
		{"empty list", `{"version":"1","reference_values":[{"name":"a","value":[]}]}`, verify.ErrMalformed},
		{"null value", `{"version":"1","reference_values":[{"name":"a","value":null}]}`, verify.ErrMalformed},
		{"nested json", `{"version":"1","reference_values":[{"name":"a","value":[["b"]]}]}`, verify.ErrMalformed},
		{"object json", `{"version":"1","reference_values":[{"name":"a","value":{"b":1}}]}`, verify.ErrMalformed},
		{"nested yaml", "version: \"1\"\nreference_values:\n  - name: a\n    value: [[b]]\n", verify.ErrMalformed},
		{"map yaml", "version: \"1\"\nreference_values:\n  - name: a\n    value: {b: 1}\n", verify.ErrMalformed},
		{"null yaml", "version: \"1\"\nreference_values:\n  - name: a\n    value: ~\n", verify.ErrMalformed},
		{"missing yaml value", "version: \"1\"\nreference_values:\n  - name: a\n", verify.ErrMalformed},
		{"bad expiry", `{"version":"1","reference_values":[{"name":"a","value":"b","expiration":"soon"}]}`, verify.ErrMalformed},
		{"too big", `{"version":"1","x":"` + strings.Repeat("a", MaxDocumentSize) + `"}`, verify.ErrLimit},
		{"long value", `{"version":"1","reference_values":[{"name":"a","value":"` + strings.Repeat("a", MaxValueSize+1) + `"}]}`, verify.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rv, err := ParseReferenceValues([]byte(c.doc))
			if !errors.Is(err, c.kind) || rv != nil {
				t.Fatalf("got %v, %v; want %v", rv, err, c.kind)
			}
		})
	}
	if _, err := LoadReferenceValues("../testdata/policy/absent.yaml"); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
}

func TestReferenceValuesNil(t *testing.T) {
	var rv *ReferenceValues
	if rv.Lookup("a", now) != nil || rv.Names() != nil || rv.Expired("a", now) != nil {
		t.Fatal("nil reference values hold values")
	}
}

func FuzzParseReferenceValues(f *testing.F) {
	for _, p := range []string{"../testdata/policy/reference-values.yaml", "../testdata/policy/reference-values.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("version: \"1\"\nreference_values:\n  - name: snp_min_tcb_snp\n    value: [\"010\", 8]\n  - name: mr_td\n    value: \" ab\"\n"))
	f.Add([]byte("version: \"1\"\nreference_values:\n  - name: a\n    value: &x [1, 2]\n  - name: b\n    value: *x\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rv, err := ParseReferenceValues(doc)
		if err != nil {
			if rv != nil || verify.KindOf(err) == nil {
				t.Fatalf("%v %v", rv, err)
			}
			return
		}
		for _, n := range rv.Names() {
			for _, v := range append(rv.Lookup(n, now), rv.Expired(n, now)...) {
				if v == "" {
					t.Fatalf("empty value for %s", n)
				}
			}
		}
		// The default policy takes the document or refuses it as a
		// configuration error; what it takes, its rules can read.
		p, err := New(rv)
		if err != nil {
			if p != nil || !errors.Is(err, verify.ErrConfig) {
				t.Fatalf("New: %v %v", p, err)
			}
			return
		}
		for _, f := range []verify.Format{verify.FormatTDX, verify.FormatSNP, verify.FormatSGX, verify.FormatTPM, verify.FormatGPU, verify.FormatNitro} {
			if _, err := p.Appraise(context.Background(), verify.PolicyInput{Format: f, Claims: tdxClaims(), Now: now}); err != nil {
				t.Fatalf("%s: a reference value New took is unreadable: %v", f, err)
			}
		}
	})
}
