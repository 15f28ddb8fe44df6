package collateral

import (
	"net/http"
	"testing"
	"time"
)

func TestNotAfterFromHeader(t *testing.T) {
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	date := at.Add(-time.Hour).Format(http.TimeFormat) // the server's clock runs an hour behind
	for _, tc := range []struct {
		name string
		h    http.Header
		want time.Time
		ok   bool
	}{
		{"none", http.Header{}, time.Time{}, false},
		{"nil", nil, time.Time{}, false},
		{"max-age", http.Header{"Cache-Control": {"public, max-age=3600"}}, at.Add(time.Hour), true},
		{"max-age case and spaces", http.Header{"Cache-Control": {" Max-Age = 60 "}}, at.Add(time.Minute), true}, // names are case-insensitive; stray spaces tolerated
		{"max-age quoted", http.Header{"Cache-Control": {`max-age="60"`}}, at.Add(time.Minute), true},
		{"max-age minus age", http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"600"}}, at.Add(50 * time.Minute), true},
		{"age beyond max-age", http.Header{"Cache-Control": {"max-age=60"}, "Age": {"600"}}, at, true},
		{"max-age zero", http.Header{"Cache-Control": {"max-age=0"}}, at, true},
		{"max-age wins over expires", http.Header{"Cache-Control": {"max-age=60"}, "Expires": {at.Add(48 * time.Hour).Format(http.TimeFormat)}}, at.Add(time.Minute), true},
		{"max-age in second field", http.Header{"Cache-Control": {"public", "max-age=120"}}, at.Add(2 * time.Minute), true},
		{"max-age huge", http.Header{"Cache-Control": {"max-age=999999999999999999999999"}}, at.Add(maxFreshness), true},
		{"max-age negative", http.Header{"Cache-Control": {"max-age=-5"}}, at, true},
		{"max-age empty", http.Header{"Cache-Control": {"max-age="}}, at, true},
		{"max-age no value", http.Header{"Cache-Control": {"max-age"}}, at, true},
		{"max-age twice", http.Header{"Cache-Control": {"max-age=60, max-age=7200"}}, at, true},
		{"no-store", http.Header{"Cache-Control": {"no-store, max-age=3600"}}, at, true},
		{"no-cache", http.Header{"Cache-Control": {"max-age=3600, no-cache"}}, at, true},
		{"cache-control without lifetime falls to expires", http.Header{"Cache-Control": {"public"}, "Expires": {at.Add(time.Hour).Format(http.TimeFormat)}}, at.Add(time.Hour), true},
		{"cache-control without lifetime", http.Header{"Cache-Control": {"public"}}, time.Time{}, false},
		{"expires minus date", http.Header{"Expires": {at.Format(http.TimeFormat)}, "Date": {date}}, at.Add(time.Hour), true},
		{"expires absolute", http.Header{"Expires": {at.Add(2 * time.Hour).Format(http.TimeFormat)}}, at.Add(2 * time.Hour), true},
		{"expires in the past", http.Header{"Expires": {at.Add(-2 * time.Hour).Format(http.TimeFormat)}}, at, true},
		{"expires before date", http.Header{"Expires": {at.Add(-2 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, at, true},
		{"expires zero", http.Header{"Expires": {"0"}}, at, true},
		{"expires twice", http.Header{"Expires": {at.Add(time.Hour).Format(http.TimeFormat), at.Add(2 * time.Hour).Format(http.TimeFormat)}}, at, true},
		{"expires far", http.Header{"Expires": {"Fri, 01 Jan 2100 00:00:00 GMT"}}, at.Add(maxFreshness), true},
		{"expires far with date", http.Header{"Expires": {"Fri, 01 Jan 2100 00:00:00 GMT"}, "Date": {date}}, at.Add(maxFreshness), true},
		{"bad date ignored", http.Header{"Expires": {at.Add(time.Hour).Format(http.TimeFormat)}, "Date": {"yesterday"}}, at.Add(time.Hour), true},
		{"bad age ignored", http.Header{"Cache-Control": {"max-age=60"}, "Age": {"old"}}, at.Add(time.Minute), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NotAfterFromHeader(tc.h, at)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("expected %v %v, got %v %v", tc.want, tc.ok, got, ok)
			}
		})
	}
}
