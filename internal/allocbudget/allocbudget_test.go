package allocbudget

import (
	"bytes"
	"testing"
)

var sink []byte

// recorder is a testing.TB that records whether Errorf was called.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Logf(string, ...any)   {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

// Bytes counts what a call allocates: a 1 MiB buffer is at least 1 MiB, and
// a call that allocates nothing is (nearly) nothing.
func TestBytes(t *testing.T) {
	if n := Bytes(func() { sink = make([]byte, 1<<20) }); n < 1<<20 || n > 1<<20+4096 {
		t.Fatalf("1 MiB allocation measured as %d bytes", n)
	}
	if n := Bytes(func() {}); n > 1024 {
		t.Fatalf("an empty call measured as %d bytes", n)
	}
}

// Within fails the test exactly when the budget is exceeded.
func TestWithin(t *testing.T) {
	over := &recorder{TB: t}
	Within(over, 1<<10, 4, 0, func() { sink = make([]byte, 64<<10) })
	if !over.failed {
		t.Fatal("64 KiB for 1 KiB of input at 4 per byte passed")
	}
	under := &recorder{TB: t}
	Within(under, 64<<10, 2, 0, func() { sink = make([]byte, 64<<10) })
	if under.failed {
		t.Fatal("64 KiB for 64 KiB of input at 2 per byte failed")
	}
}

// The shapes are what they say, of about the size asked for.
func TestShapes(t *testing.T) {
	if got := string(Fill(10, "[", "0,", "0]")); got != "[0,0,0,0]" {
		t.Fatalf("Fill: %q", got)
	}
	if got := string(Nest(3, "[", "x", "]")); got != "[[[x]]]" {
		t.Fatalf("Nest: %q", got)
	}
	for _, s := range JSONValues(4096) {
		if n := len(s.Value); n < 2048 || n > 4096+64 {
			t.Fatalf("%s: %d bytes for 4096", s.Name, n)
		}
		if s.Name == "many members" && !bytes.HasPrefix(s.Value, []byte(`{"0":0,"1":0`)) {
			t.Fatalf("many members: %.20s", s.Value)
		}
	}
	if Size(1<<20) != 1<<20 && !raceEnabled {
		t.Fatal("Size changed a size without the race detector")
	}
}
