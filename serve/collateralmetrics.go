package serve

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trustfactory/attest/collateral"
)

// maxSourceLabels bounds the distinct hosts CollateralMetrics names in its
// source label; further hosts are counted as "other".
const maxSourceLabels = 16

// vendorSources name the vendor services' hosts in the source label.
var vendorSources = map[string]string{
	"api.trustedservices.intel.com":          "intel-pcs",
	"certificates.trustedservices.intel.com": "intel-certificates",
	"kdsintf.amd.com":                        "amd-kds",
	"rim.attestation.nvidia.com":             "nvidia-rim",
	"ocsp.ndis.nvidia.com":                   "nvidia-ocsp",
	"nras.attestation.nvidia.com":            "nvidia-nras",
}

// CollateralMetrics counts what the online collateral sources of a
// server's registry do:
//
//	attest_collateral_fetches_total{source,result}   every fetch attempt (ok, not_found, rate_limited, error)
//	attest_upstream_rate_limited_total{source}       the 429 answers among them
//	attest_collateral_fetch_duration_seconds{source} their latency
//	attest_collateral_requests_total{result}         cache lookups (hit, miss, stale)
//
// The source label names a vendor service ("intel-pcs", "amd-kds",
// "nvidia-rim", "nvidia-ocsp", "nvidia-nras", "intel-certificates"), else
// the host of a mirror or PCCS, for the first 16 such hosts, else "other".
//
// It is a collateral.FetchObserver and a collateral.CacheObserver: give it
// to the fetcher (collateral.HTTPFetcher.Observer) and the store
// (collateral.ObserveStore) of the registry's setup.Online, and to
// Config.CollateralMetrics, which serves it on /metrics. Create it with
// NewCollateralMetrics; it is safe for concurrent use.
type CollateralMetrics struct {
	fetches     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	fetchTime   *prometheus.HistogramVec
	lookups     *prometheus.CounterVec

	mu    sync.Mutex
	hosts map[string]string // host → source label, at most maxSourceLabels others
}

// NewCollateralMetrics returns collateral metrics at zero.
func NewCollateralMetrics() *CollateralMetrics {
	return &CollateralMetrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_collateral_fetches_total",
			Help: "Collateral fetch attempts to vendor services by source and result (ok, not_found, rate_limited, error)."}, []string{"source", "result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_upstream_rate_limited_total",
			Help: "HTTP 429 answers from vendor services by source."}, []string{"source"}),
		fetchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "attest_collateral_fetch_duration_seconds",
			Help: "Collateral fetch attempt latency by source.", Buckets: latencyBuckets}, []string{"source"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_collateral_requests_total",
			Help: "Collateral cache lookups by result (hit, miss, stale)."}, []string{"result"}),
		hosts: map[string]string{},
	}
}

// collectors are the metrics to register.
func (m *CollateralMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.fetches, m.rateLimited, m.fetchTime, m.lookups}
}

// ObserveFetch implements collateral.FetchObserver.
func (m *CollateralMetrics) ObserveFetch(_ context.Context, e collateral.FetchEvent) {
	source := m.source(e.Host)
	m.fetched(source, e.Result)
	m.fetchTime.WithLabelValues(source).Observe(e.Duration.Seconds())
}

// ObserveCache implements collateral.CacheObserver.
func (m *CollateralMetrics) ObserveCache(_ context.Context, e collateral.CacheEvent) {
	switch e.Result {
	case collateral.CacheHit, collateral.CacheMiss, collateral.CacheStale:
		m.lookups.WithLabelValues(string(e.Result)).Inc()
	}
}

// fetched counts one attempt.
func (m *CollateralMetrics) fetched(source string, result collateral.FetchResult) {
	switch result {
	case collateral.FetchOK, collateral.FetchNotFound, collateral.FetchError:
	case collateral.FetchRateLimited:
		m.rateLimited.WithLabelValues(source).Inc()
	default:
		result = collateral.FetchError
	}
	m.fetches.WithLabelValues(source, string(result)).Inc()
}

// source is the label of host (see CollateralMetrics).
func (m *CollateralMetrics) source(host string) string {
	host = strings.ToLower(host)
	if s, ok := vendorSources[host]; ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.hosts[host]; ok {
		return s
	}
	if len(m.hosts) >= maxSourceLabels {
		return "other"
	}
	m.hosts[host] = host
	return host
}

// resultOf classifies an HTTP status as a fetch result.
func resultOf(code int) collateral.FetchResult {
	switch {
	case code >= 200 && code < 300:
		return collateral.FetchOK
	case code == http.StatusNotFound:
		return collateral.FetchNotFound
	case code == http.StatusTooManyRequests:
		return collateral.FetchRateLimited
	}
	return collateral.FetchError
}
