package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
)

// scrape returns the exposition of a server's metrics over m.
func scrape(t *testing.T, m *CollateralMetrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	newMetrics(m).handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// Vendor hosts get their service's name, other hosts their own up to a
// bound and "other" past it; every result is counted, 429s also as
// rate-limited answers; cache lookups by result, unknown results never
// becoming label values.
func TestCollateralMetricsLabels(t *testing.T) {
	m := NewCollateralMetrics()
	ctx := context.Background()
	m.ObserveFetch(ctx, collateral.FetchEvent{Host: "API.trustedservices.intel.com", Result: collateral.FetchOK, StatusCode: http.StatusOK})
	m.ObserveFetch(ctx, collateral.FetchEvent{Host: "kdsintf.amd.com", Result: collateral.FetchRateLimited, StatusCode: http.StatusTooManyRequests})
	m.ObserveFetch(ctx, collateral.FetchEvent{Host: "kdsintf.amd.com", Result: "bogus"})
	for i := range maxSourceLabels + 5 {
		m.ObserveFetch(ctx, collateral.FetchEvent{Host: fmt.Sprintf("pccs%d.example:8081", i), Result: collateral.FetchNotFound})
	}
	for _, r := range []collateral.CacheResult{collateral.CacheHit, collateral.CacheHit, collateral.CacheMiss, collateral.CacheStale, "bogus"} {
		m.ObserveCache(ctx, collateral.CacheEvent{Key: "k", Result: r})
	}
	out := scrape(t, m)
	for _, want := range []string{
		`attest_collateral_fetches_total{result="ok",source="intel-pcs"} 1`,
		`attest_collateral_fetches_total{result="rate_limited",source="amd-kds"} 1`,
		`attest_collateral_fetches_total{result="error",source="amd-kds"} 1`,
		`attest_upstream_rate_limited_total{source="amd-kds"} 1`,
		`attest_collateral_fetches_total{result="not_found",source="pccs0.example:8081"} 1`,
		`attest_collateral_fetches_total{result="not_found",source="other"} 5`,
		`attest_collateral_requests_total{result="hit"} 2`,
		`attest_collateral_requests_total{result="miss"} 1`,
		`attest_collateral_requests_total{result="stale"} 1`,
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "bogus")
	require.Equal(t, 3+maxSourceLabels+1, strings.Count(out, "attest_collateral_fetches_total{"),
		"label sets: amd-kds twice, intel-pcs, the named hosts, other")
}
