package kubeproxy

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus metrics; all methods are no-ops on
// a nil *metrics (Options.Registerer nil).
type metrics struct {
	syncDuration       prometheus.Histogram
	programmingLatency prometheus.Histogram
	syncErrors         prometheus.Counter
	lastSync           prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	buckets := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms to ~33 s
	m := &metrics{
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_kubeproxy_sync_duration_seconds",
			Help:    "Time to build and apply the rule set, per sync.",
			Buckets: buckets,
		}),
		programmingLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "berth_kubeproxy_network_programming_duration_seconds",
			Help: "Time from a Service or EndpointSlice change (its endpoints.kubernetes.io/last-change-trigger-time " +
				"annotation, else when the proxy saw it) to the rules being applied.",
			Buckets: buckets,
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_kubeproxy_sync_errors_total",
			Help: "Syncs that failed to apply the rule set.",
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_kubeproxy_last_sync_timestamp_seconds",
			Help: "When the rule set was last applied, in Unix seconds.",
		}),
	}
	for _, c := range []prometheus.Collector{m.syncDuration, m.programmingLatency, m.syncErrors, m.lastSync} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register kube-proxy metrics: %w", err)
		}
	}
	return m, nil
}
