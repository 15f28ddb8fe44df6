package collateral

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxFreshness bounds a freshness lifetime taken from headers.
const maxFreshness = 365 * 24 * time.Hour

// NotAfterFromHeader derives an entry's NotAfter from HTTP caching headers,
// for callers that have nothing better (collateral that carries its own
// nextUpdate or notAfter should use that instead). The lifetime comes from
// Cache-Control max-age minus Age, else from Expires minus Date (or Expires
// itself when there is no Date), and is applied to fetchedAt, the caller's
// time of the fetch. no-store, no-cache, a malformed directive or a malformed
// Expires mean "stale at once" and give fetchedAt. It reports false when the
// headers say nothing about freshness.
func NotAfterFromHeader(h http.Header, fetchedAt time.Time) (time.Time, bool) {
	if cc := h.Values("Cache-Control"); len(cc) > 0 {
		maxAge, found, ok := parseCacheControl(cc)
		switch {
		case !ok:
			return fetchedAt, true
		case found:
			lifetime := maxAge
			if age, ok := parseSeconds(h.Get("Age"), maxFreshness); ok {
				lifetime -= age
			}
			return fetchedAt.Add(max(lifetime, 0)), true
		}
	}
	exp := h.Values("Expires")
	if len(exp) == 0 {
		return time.Time{}, false
	}
	expires, err := http.ParseTime(exp[0])
	if err != nil || len(exp) > 1 {
		return fetchedAt, true
	}
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		lifetime := min(max(expires.Sub(date), 0), maxFreshness)
		return fetchedAt.Add(lifetime), true
	}
	if expires.Before(fetchedAt) {
		return fetchedAt, true
	}
	if limit := fetchedAt.Add(maxFreshness); expires.After(limit) {
		return limit, true
	}
	return expires, true
}

// parseCacheControl returns the max-age of Cache-Control field values, whether
// one was present, and false when the response must not be reused (no-store,
// no-cache, a malformed or repeated max-age).
func parseCacheControl(values []string) (maxAge time.Duration, found, ok bool) {
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			name, arg, hasArg := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, false, false
			case "max-age":
				if found || !hasArg {
					return 0, false, false
				}
				s, valid := parseSeconds(strings.Trim(strings.TrimSpace(arg), `"`), maxFreshness)
				if !valid {
					return 0, false, false
				}
				maxAge, found = s, true
			}
		}
	}
	return maxAge, found, true
}

// parseSeconds parses a non-negative delta-seconds value (HTTP's
// delta-seconds: digits only), capped at limit, a whole number of seconds.
func parseSeconds(v string, limit time.Duration) (time.Duration, bool) {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			return limit, true
		}
		return 0, false
	}
	return time.Duration(min(n, uint64(limit/time.Second))) * time.Second, true
}
