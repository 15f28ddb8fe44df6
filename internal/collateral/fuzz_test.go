package collateral

import (
	"net/http"
	"testing"
	"time"
)

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "1.5", "99999999999999999999",
		"Fri, 02 Jan 2026 03:04:35 GMT", "Friday, 02-Jan-26 03:04:35 GMT", "Fri Jan  2 03:04:35 2026", "soon"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if !ok && d != 0 {
			t.Fatalf("%q: not ok but %v", v, d)
		}
		if d < 0 || d > maxRetryAfterSeconds*time.Second {
			t.Fatalf("%q: wait %v out of bounds", v, d)
		}
	})
}

func FuzzNotAfterFromHeader(f *testing.F) {
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	// Headers as Intel PCS, AMD KDS and NVIDIA's services send them.
	f.Add("public, max-age=86400", "", "", "")
	f.Add("max-age=3600", "120", "", "Tue, 01 Jul 2025 00:00:00 GMT")
	f.Add("", "", "Wed, 02 Jul 2025 00:00:00 GMT", "Tue, 01 Jul 2025 00:00:00 GMT")
	f.Add("no-cache", "", "0", "")
	f.Add("max-age=1, max-age=2", "x", "Fri, 01 Jan 2100 00:00:00 GMT", "bad")
	f.Fuzz(func(t *testing.T, cc, age, expires, date string) {
		h := http.Header{}
		for k, v := range map[string]string{"Cache-Control": cc, "Age": age, "Expires": expires, "Date": date} {
			if v != "" {
				h.Set(k, v)
			}
		}
		na, ok := NotAfterFromHeader(h, at)
		if !ok {
			if !na.IsZero() {
				t.Fatalf("not ok but %v", na)
			}
			return
		}
		if na.Before(at) || na.After(at.Add(maxFreshness)) {
			t.Fatalf("NotAfter %v outside [%v, %v]", na, at, at.Add(maxFreshness))
		}
	})
}
