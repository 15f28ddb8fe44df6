package verify

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestCheckReportData(t *testing.T) {
	field := make([]byte, 64)
	copy(field, bytes.Repeat([]byte{0xAB}, 48))
	exact := bytes.Clone(field)

	cases := []struct {
		name string
		exp  Expectations
		got  []byte
		kind error // nil: pass
	}{
		{"exact match", Expectations{ReportData: exact}, field, nil},
		{"prefix with zero tail", Expectations{ReportData: field[:48]}, field, nil},
		{"missing expectation refused", Expectations{}, field, ErrConfig},
		{"empty non-nil expectation refused", Expectations{ReportData: []byte{}}, field, ErrConfig},
		{"missing allowed only unsafely", Expectations{AllowMissingReportDataUnsafe: true}, field, nil},
		{"all-zero expectation refused", Expectations{ReportData: make([]byte, 64)}, make([]byte, 64), ErrConfig},
		{"one byte differs", Expectations{ReportData: flip(exact, 10)}, field, ErrFreshness},
		{"tail not zero", Expectations{ReportData: field[:32]}, field, ErrFreshness}, // and ErrBinding: see TestTDX26ReportDataLayout
		{"expected longer than field", Expectations{ReportData: append(bytes.Clone(exact), 0)}, field, ErrFreshness},
		{"empty field", Expectations{ReportData: exact}, nil, ErrFreshness},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.exp.CheckReportData("report_data", c.got)
			if c.kind == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want kind %v", err, c.kind)
			}
		})
	}
}

func TestMismatchMessageNamesFieldAndBothValues(t *testing.T) {
	err := Expectations{ReportData: []byte{1, 2}}.CheckReportData("nonce", []byte{1, 3})
	for _, want := range []string{"nonce", "0102", "0103"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

func TestCheckInitData(t *testing.T) {
	got := make([]byte, 48)
	got[0] = 7
	if err := (Expectations{}).CheckInitData("mr_config_id", got); err != nil {
		t.Fatalf("no expectation must not check: %v", err)
	}
	if err := (Expectations{InitDataDigest: []byte{}}).CheckInitData("mr_config_id", got); !errors.Is(err, ErrConfig) {
		t.Fatalf("empty expectation: %v", err)
	}
	if err := (Expectations{InitDataDigest: got[:32]}).CheckInitData("mr_config_id", got); err != nil {
		t.Fatalf("matching digest: %v", err)
	}
	if err := (Expectations{InitDataDigest: []byte{8}}).CheckInitData("mr_config_id", got); !errors.Is(err, ErrBinding) {
		t.Fatalf("mismatch: %v", err)
	}
}

func TestExpectationsTime(t *testing.T) {
	pinned := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	if got := (Expectations{Now: pinned}).Time(); !got.Equal(pinned) {
		t.Fatalf("Time() = %v, want the pinned %v", got, pinned)
	}
	before := time.Now()
	if got := (Expectations{}).Time(); got.Before(before) {
		t.Fatalf("zero Now must mean the current time, got %v", got)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}
