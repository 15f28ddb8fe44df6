package verify

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

// prefixVerifier accepts evidence that starts with its prefix and whose
// report data (the byte after the prefix) matches the expectation.
type prefixVerifier struct {
	format Format
	prefix []byte
}

type fakeClaims struct {
	format Format
	m      map[string]any
}

func (c fakeClaims) Format() Format      { return c.format }
func (c fakeClaims) Map() map[string]any { return c.m }

func (v prefixVerifier) Format() Format { return v.format }

func (v prefixVerifier) Detect(ev []byte) bool { return bytes.HasPrefix(ev, v.prefix) }

func (v prefixVerifier) Verify(_ context.Context, ev []byte, exp Expectations) (Claims, error) {
	if !v.Detect(ev) || len(ev) < len(v.prefix)+1 {
		return nil, Errorf(ErrMalformed, "%s: bad prefix", v.format)
	}
	if err := exp.CheckReportData("report_data", ev[len(v.prefix):len(v.prefix)+1]); err != nil {
		return nil, err
	}
	return fakeClaims{v.format, map[string]any{"len": len(ev)}}, nil
}

func TestRegistryRejectsBadConfiguration(t *testing.T) {
	a := prefixVerifier{"a", []byte("A")}
	for name, vs := range map[string][]Verifier{
		"nil verifier":     {a, nil},
		"duplicate format": {a, prefixVerifier{"a", []byte("B")}},
		"empty format":     {prefixVerifier{"", []byte("C")}},
	} {
		if _, err := NewRegistry(vs...); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

func TestRegistryDetectsAndVerifies(t *testing.T) {
	r, err := NewRegistry(prefixVerifier{"tdx", []byte("TDX")}, prefixVerifier{"gpu", []byte("GPU")})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Formats(); len(got) != 2 || got[0] != "gpu" || got[1] != "tdx" {
		t.Fatalf("Formats() = %v", got)
	}
	ctx := context.Background()
	exp := Expectations{ReportData: []byte{7}}

	c, err := r.Verify(ctx, "", []byte("GPU\x07"), exp)
	if err != nil || c.Format() != "gpu" {
		t.Fatalf("detect+verify: %v %v", c, err)
	}
	if _, err := r.Verify(ctx, "tdx", []byte("TDX\x08"), exp); !errors.Is(err, ErrFreshness) {
		t.Fatalf("wrong report data: %v", err)
	}
	if c, err := r.Verify(ctx, "", []byte("SNP\x07"), exp); !errors.Is(err, ErrUnsupported) || c != nil {
		t.Fatalf("unknown evidence: %v %v", c, err)
	}
	if _, err := r.Verify(ctx, "snp", []byte("TDX\x07"), exp); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unregistered format: %v", err)
	}
	if v, ok := r.Lookup("tdx"); !ok || v.Format() != "tdx" {
		t.Fatal("Lookup(tdx) failed")
	}
}

func TestRegistryRefusesAmbiguousEvidence(t *testing.T) {
	r, err := NewRegistry(prefixVerifier{"x", []byte("AB")}, prefixVerifier{"y", []byte("A")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Detect([]byte("ABC")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ambiguous evidence must not be guessed: %v", err)
	}
	if f, err := r.Detect([]byte("AC")); err != nil || f != "y" {
		t.Fatalf("Detect(AC) = %q, %v", f, err)
	}
}

func TestRegistryIsSafeForConcurrentUse(t *testing.T) {
	r, _ := NewRegistry(prefixVerifier{"tdx", []byte("TDX")})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if _, err := r.Verify(context.Background(), "", []byte("TDX\x01"), Expectations{ReportData: []byte{1}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// brokenVerifier returns what it is told to, whatever the evidence.
type brokenVerifier struct {
	claims Claims
	err    error
}

func (v *brokenVerifier) Format() Format { return "broken" }

func (v *brokenVerifier) Verify(context.Context, []byte, Expectations) (Claims, error) {
	return v.claims, v.err
}

// ptrClaims are claims with pointer receivers, so that a nil *ptrClaims is a
// non-nil Claims interface.
type ptrClaims struct{ m map[string]any }

func (c *ptrClaims) Format() Format      { return "broken" }
func (c *ptrClaims) Map() map[string]any { return c.m }

// A verifier that returns neither claims nor an error must not make
// Registry.Verify report success; one that returns claims with its error must
// not leak them.
func TestRegistryVerifyFailsClosedOnBrokenVerifier(t *testing.T) {
	for name, bv := range map[string]*brokenVerifier{
		"no claims, no error": {},
		"typed nil claims":    {claims: (*ptrClaims)(nil)},
		"claims with error":   {claims: fakeClaims{"broken", map[string]any{"x": 1}}, err: Errorf(ErrSignature, "bad")},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := NewRegistry(bv)
			if err != nil {
				t.Fatal(err)
			}
			c, err := r.Verify(context.Background(), "broken", []byte("x"), Expectations{ReportData: []byte{1}})
			if err == nil || c != nil {
				t.Fatalf("got claims %v, error %v; want nil claims and an error", c, err)
			}
			want := ErrConfig
			if bv.err != nil {
				want = ErrSignature
			}
			if !errors.Is(err, want) {
				t.Fatalf("error %v: want kind %v", err, want)
			}
		})
	}
}

func TestRegistryRejectsTypedNilVerifier(t *testing.T) {
	var nilPtr *brokenVerifier
	if _, err := NewRegistry(nilPtr); !errors.Is(err, ErrConfig) {
		t.Fatalf("typed nil verifier: got %v, want ErrConfig", err)
	}
}
