package verify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trustfactory/attest/ear"
)

// An error quoting a megabyte the caller sent (an unknown architecture, a
// name) went whole into the signed result's reason: the reason is clipped,
// the full error stays in the outcome.
func TestReasonClipped(t *testing.T) {
	long := strings.Repeat("é", 600_000)
	got := clipReason(long)
	if len(got) > maxReason+64 || !utf8.ValidString(got) || !strings.Contains(got, "bytes more") {
		t.Fatalf("clipped to %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if clipReason("short") != "short" {
		t.Fatal("a short reason changed")
	}
	a := &Appraiser{}
	o := a.failed(unit{name: "gpu0", format: FormatGPU}, Errorf(ErrUnsupported, "arch %q", long))
	r, _ := o.Appraisal.Extensions[ear.ExtReasonName].(string)
	if len(r) > maxReason+64 {
		t.Fatalf("reason of %d bytes in the result", len(r))
	}
	if !strings.Contains(o.Err.Error(), long) {
		t.Fatal("the outcome's error lost its text")
	}
}
