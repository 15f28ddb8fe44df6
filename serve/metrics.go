package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are one server's Prometheus metrics, in a registry of its own
// (never the global default one, so that two servers in one process, or a
// test, do not collide). Label values come from closed sets only: routes,
// methods, codes, TEE names the registry knows, statuses, reasons.
type metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	rejections      *prometheus.CounterVec
	appraisals      *prometheus.CounterVec
	appraisalTime   *prometheus.HistogramVec
	noncesIssued    prometheus.Counter
	nonceRejections *prometheus.CounterVec
	collateral      *CollateralMetrics
}

// latencyBuckets span a warm TDX appraisal (≈1 ms) to a cold fetch (seconds).
var latencyBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// newMetrics returns a server's metrics, serving coll (nil: counters of
// its own, which stay at zero).
func newMetrics(coll *CollateralMetrics) *metrics {
	if coll == nil {
		coll = NewCollateralMetrics()
	}
	m := &metrics{reg: prometheus.NewRegistry(), collateral: coll}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_http_requests_total",
		Help: "HTTP requests by route, method and status code."}, []string{"route", "method", "code"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "attest_http_request_duration_seconds",
		Help: "HTTP request latency by route.", Buckets: latencyBuckets}, []string{"route"})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_http_rejected_total",
		Help: "Requests turned away: overload, body_too_large, timeout, connections (over MaxConnections)."}, []string{"reason"})
	m.appraisals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_appraisals_total",
		Help: "Attestations by TEE and result status (affirming, warning, contraindicated, none, error)."}, []string{"tee", "status"})
	m.appraisalTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "attest_appraisal_duration_seconds",
		Help: "Appraisal latency (verification, policy, signing) by primary TEE.", Buckets: latencyBuckets}, []string{"tee"})
	m.noncesIssued = prometheus.NewCounter(prometheus.CounterOpts{Name: "attest_nonces_issued_total",
		Help: "Nonces issued by POST /challenge."})
	m.nonceRejections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attest_nonce_rejections_total",
		Help: "Attestations refused for their nonce: unknown, invalid (MAC), expired, reused."}, []string{"reason"})
	m.reg.MustRegister(m.requests, m.requestDuration, m.rejections, m.appraisals, m.appraisalTime, m.noncesIssued,
		m.nonceRejections, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(coll.collectors()...)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
}

func (m *metrics) request(route, method string, code int, d time.Duration) {
	if route == "GET /metrics" {
		return
	}
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(code)).Inc()
	m.requestDuration.WithLabelValues(route).Observe(d.Seconds())
}

// methodLabel is the method label of a request: the caller chooses the
// method, any token at all, so methods outside RFC 9110's set share one
// label value ("other") rather than each adding series without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

func (m *metrics) rejected(reason string)      { m.rejections.WithLabelValues(reason).Inc() }
func (m *metrics) nonceIssued()                { m.noncesIssued.Inc() }
func (m *metrics) nonceRejected(reason string) { m.nonceRejections.WithLabelValues(reason).Inc() }

func (m *metrics) appraisal(tee, status string, d time.Duration) {
	m.appraisals.WithLabelValues(tee, status).Inc()
	m.appraisalTime.WithLabelValues(tee).Observe(d.Seconds())
}

// CollateralFetched records a fetch of collateral from a vendor service by
// a fetcher that reports no events (an HTTPFetcher with
// Config.CollateralMetrics as its Observer needs no call): source names the
// service (a closed set: "intel-pcs", "amd-kds", "nvidia-rim",
// "nvidia-ocsp"), code is the HTTP status (0: no answer).
func (s *Server) CollateralFetched(source string, code int) {
	s.metrics.collateral.fetched(source, resultOf(code))
}

// Metrics returns the server's Prometheus registry, for a caller that
// serves metrics elsewhere or adds its own collectors.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.reg }
