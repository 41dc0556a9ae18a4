package jobs

import (
	"time"

	"github.com/callsync/callsync/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the jobs' Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	calls      *prometheus.CounterVec
	quarantine *prometheus.CounterVec
	runs       *prometheus.CounterVec
	runSeconds *prometheus.HistogramVec
	lag        *prometheus.GaugeVec
	callbacks  *prometheus.CounterVec
	webhookLag *prometheus.HistogramVec
}

// NewMetrics registers the jobs' metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsync_calls_total", Help: "Calls processed, by outcome (written, already, skipped, unresolved, failed).",
		}, []string{"tenant", "outcome"}),
		quarantine: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsync_quarantined_total", Help: "Malformed Enreach records quarantined.",
		}, []string{"tenant"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsync_job_runs_total", Help: "Job runs by job and status.",
		}, []string{"tenant", "job", "status"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "callsync_job_run_seconds", Help: "Job run duration.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}, []string{"job"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callsync_watermark_lag_seconds", Help: "How far a stream's watermark is behind now.",
		}, []string{"tenant", "stream"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callsync_callbacks_total", Help: "Callback requests processed, by outcome.",
		}, []string{"tenant", "outcome"}),
		webhookLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "callsync_webhook_to_crm_seconds", Help: "Time from a webhook delivery's receipt to its CRM write.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"tenant"}),
	}
	reg.MustRegister(m.calls, m.quarantine, m.runs, m.runSeconds, m.lag, m.callbacks, m.webhookLag)
	return m
}

func (m *Metrics) observe(tenant string, s Summary) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(tenant, string(store.Written)).Add(float64(s.Written))
	m.calls.WithLabelValues(tenant, "already").Add(float64(s.Already))
	m.calls.WithLabelValues(tenant, string(store.Skipped)).Add(float64(s.SkippedTotal()))
	m.calls.WithLabelValues(tenant, string(store.Unresolved)).Add(float64(s.Unresolved))
	m.calls.WithLabelValues(tenant, string(store.Failed)).Add(float64(s.Failed))
}

func (m *Metrics) quarantined(tenant string, n int) {
	if m != nil {
		m.quarantine.WithLabelValues(tenant).Add(float64(n))
	}
}

func (m *Metrics) run(tenant, job, status string, d time.Duration) {
	if m != nil {
		m.runs.WithLabelValues(tenant, job, status).Inc()
		m.runSeconds.WithLabelValues(job).Observe(d.Seconds())
	}
}

func (m *Metrics) watermark(tenant, stream string, lag time.Duration) {
	if m != nil {
		m.lag.WithLabelValues(tenant, stream).Set(lag.Seconds())
	}
}

func (m *Metrics) callback(tenant string, outcome store.LedgerState) {
	if m != nil {
		m.callbacks.WithLabelValues(tenant, string(outcome)).Inc()
	}
}

func (m *Metrics) webhookToCRM(tenant string, d time.Duration) {
	if m != nil {
		m.webhookLag.WithLabelValues(tenant).Observe(d.Seconds())
	}
}
