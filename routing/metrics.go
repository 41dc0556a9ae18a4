package routing

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a routing lookup (the "outcome" label).
const (
	OutcomeTarget        = "target"         // 200 with a rule's target
	OutcomeDefault       = "default"        // 204: no rule gave a target
	OutcomeLoopGuard     = "loop_guard"     // 204: the target was the request's bnum
	OutcomeTimeout       = "timeout"        // 204: the budget ran out
	OutcomeError         = "error"          // 204: the CRM lookup failed
	OutcomeUnauthorized  = "unauthorized"   // 401
	OutcomeBadRequest    = "bad_request"    // 400, 405 or 413
	OutcomeUnknownTenant = "unknown_tenant" // 401, answered like OutcomeUnauthorized
)

// Metrics are the Smart Routing metrics. A nil *Metrics records nothing.
type Metrics struct {
	lookups *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	cache   *prometheus.CounterVec
}

// NewMetrics registers the routing metrics on reg:
//
//	callsync_routing_lookups_total{tenant,outcome}
//	callsync_routing_lookup_seconds{outcome}        (request to answer)
//	callsync_routing_cache_total{tenant,result}     (hit | miss of the number cache)
//
// The cache hit ratio is rate(..{result="hit"}) / rate(callsync_routing_cache_total).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsync_routing_lookups_total",
			Help: "Smart Routing lookups by outcome (target, default, loop_guard, timeout, error, unauthorized, bad_request, unknown_tenant).",
		}, []string{"tenant", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callsync_routing_lookup_seconds",
			Help:    "Time from a Smart Routing request to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2.5, 5},
		}, []string{"outcome"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsync_routing_cache_total",
			Help: "Smart Routing caller lookups answered from the number cache (hit) or the CRM (miss).",
		}, []string{"tenant", "result"}),
	}
	reg.MustRegister(m.lookups, m.seconds, m.cache)
	return m
}

func (m *Metrics) lookup(tenant, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.lookups.WithLabelValues(tenant, outcome).Inc()
	m.seconds.WithLabelValues(outcome).Observe(d.Seconds())
}

func (m *Metrics) cacheResult(tenant string, hit bool) {
	if m == nil {
		return
	}
	r := "miss"
	if hit {
		r = "hit"
	}
	m.cache.WithLabelValues(tenant, r).Inc()
}
