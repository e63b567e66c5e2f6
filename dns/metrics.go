package dns

import (
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics.
type metrics struct {
	queries *prometheus.CounterVec   // by type, rcode
	forward *prometheus.HistogramVec // by result
}

// newMetrics creates the metrics and registers them with reg, when set.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_dns_queries_total",
			Help: "DNS queries answered, by query type and response code.",
		}, []string{"type", "rcode"}),
		forward: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_dns_forward_duration_seconds",
			Help:    "Time of one exchange with an upstream resolver, by result (ok or error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queries, m.forward} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				return nil, fmt.Errorf("register DNS metrics: already registered (one server per registry): %w", err)
			}
			return nil, fmt.Errorf("register DNS metrics: %w", err)
		}
	}
	return m, nil
}

// observeQuery counts one answered query.
func (m *metrics) observeQuery(qtype uint16, rcode int) {
	m.queries.WithLabelValues(typeLabel(qtype), rcodeLabel(rcode)).Inc()
}

// observeForward records one exchange with an upstream.
func (m *metrics) observeForward(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.forward.WithLabelValues(result).Observe(d.Seconds())
}

// typeLabel names a query type, folding the rare ones into "other" so that
// the label's values stay few whatever clients send.
func typeLabel(t uint16) string {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT,
		dns.TypeMX, dns.TypeNS, dns.TypeSOA, dns.TypeANY, dns.TypeHTTPS, dns.TypeSVCB:
		return dns.TypeToString[t]
	}
	return "other"
}

// rcodeLabel names a response code.
func rcodeLabel(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "other"
}
