package policy

import (
	"fmt"
	"strings"
	"testing"
)

// sscanfCompare is compareVersions as it was, every field read by
// fmt.Sscanf's %x: the oracle the fast field reader must agree with.
func sscanfCompare(a, b string) (int, error) {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y uint64
		if i < len(pa) {
			if _, err := fmt.Sscanf(pa[i], "%x", &x); err != nil {
				return 0, err
			}
		}
		if i < len(pb) {
			if _, err := fmt.Sscanf(pb[i], "%x", &y); err != nil {
				return 0, err
			}
		}
		if x != y {
			if x < y {
				return -1, nil
			}
			return 1, nil
		}
	}
	return 0, nil
}

func TestCompareVersionsAgreesWithSscanf(t *testing.T) {
	versions := []string{
		"550.90.07", "550.54.15", "550.90.7", "96.00.9F.00.01", "96.00.9f.00.04",
		"96.00.9F.00.01.00", "1", "1.0", "1.0.0", "0", "", ".", "1..2", "1.",
		".1", "x", "1.x", "1.2x", "0x10.1", "ffffffffffffffff", "10000000000000000",
		"1.ffffffffffffffff", " 1.2", "1. 2", "+1", "-1.2", "1.2\n", "FFFF.ffff",
	}
	for _, a := range versions {
		for _, b := range versions {
			got, gotErr := compareVersions(a, b)
			want, wantErr := sscanfCompare(a, b)
			if (gotErr != nil) != (wantErr != nil) || got != want {
				t.Errorf("compareVersions(%q, %q) = %d, %v; Sscanf reads %d, %v", a, b, got, gotErr, want, wantErr)
			}
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	f.Add("550.90.07", "96.00.9F.00.01")
	f.Add("1..2", "1.x")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, gotErr := compareVersions(a, b)
		want, wantErr := sscanfCompare(a, b)
		if (gotErr != nil) != (wantErr != nil) || got != want {
			t.Errorf("compareVersions(%q, %q) = %d, %v; Sscanf reads %d, %v", a, b, got, gotErr, want, wantErr)
		}
	})
}
