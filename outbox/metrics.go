package outbox

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the outbox's Prometheus metrics. Labels are the sink and the
// topic, both chosen by code, never by data: no message id, no key, no
// payload.
type Metrics struct {
	messages  *prometheus.GaugeVec
	delivered *prometheus.CounterVec
	failed    *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	send      *prometheus.HistogramVec

	mu    sync.Mutex
	shown map[[3]string]bool // messages' label sets set last time
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "xiaobao_outbox_messages",
			Help: "Outbox messages waiting (state=pending) or given up on (state=dead), by sink and topic, as of the last dispatch.",
		}, []string{"sink", "topic", "state"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_outbox_delivered_total", Help: "Outbox messages delivered, by sink and topic.",
		}, []string{"sink", "topic"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_outbox_failed_total",
			Help: "Failed delivery attempts, by sink, topic and outcome (retry: tried again later; dead: given up).",
		}, []string{"sink", "topic", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_outbox_attempts_total", Help: "Delivery attempts started, by sink and topic.",
		}, []string{"sink", "topic"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xiaobao_outbox_delivery_latency_seconds",
			Help:    "Time from a message's creation to its delivery, retries included, by sink and topic.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}, []string{"sink", "topic"}),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xiaobao_outbox_send_duration_seconds",
			Help:    "Duration of one delivery attempt, by sink.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"sink"}),
		shown: map[[3]string]bool{},
	}
	reg.MustRegister(m.messages, m.delivered, m.failed, m.attempts, m.latency, m.send)
	return m
}

// setCounts replaces the messages gauge with counts; label sets that
// disappeared are set to 0 rather than deleted, so a graph shows the
// backlog drain to nothing.
func (m *Metrics) setCounts(counts []Count) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[[3]string]bool{}
	for _, c := range counts {
		k := [3]string{c.Sink, c.Topic, string(c.State)}
		now[k] = true
		m.messages.WithLabelValues(k[:]...).Set(float64(c.N))
	}
	for k := range m.shown {
		if !now[k] {
			m.messages.WithLabelValues(k[:]...).Set(0)
			now[k] = true
		}
	}
	m.shown = now
}
