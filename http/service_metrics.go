package http

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao/service"
)

// ServiceMetrics are the service module's Prometheus metrics: what the
// bot answered, what it warned of, where it routed, how fast sessions
// are stored, hand-offs, closes, satisfaction, and (once Watch is
// called) the live sessions and each queue's line and room. They
// implement service.Observer. Labels are outcomes, warning kinds,
// typologies and queue names — never a text, customer or agent id.
type ServiceMetrics struct {
	asks          *prometheus.CounterVec
	askDuration   prometheus.Histogram
	warnings      *prometheus.CounterVec
	routes        *prometheus.CounterVec
	storeTurns    prometheus.Histogram
	storeDuration prometheus.Histogram
	storeErrors   prometheus.Counter
	handoffs      *prometheus.CounterVec
	closed        *prometheus.CounterVec
	csat          *prometheus.CounterVec

	byOutcome [3]prometheus.Counter // answered, clarify, unanswered
	sv        atomic.Pointer[service.Service]
}

var _ service.Observer = (*ServiceMetrics)(nil)

// NewServiceMetrics creates the metrics and registers them on reg.
func NewServiceMetrics(reg prometheus.Registerer) *ServiceMetrics {
	m := &ServiceMetrics{
		asks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_service_asks_total",
			Help: "Customer utterances answered, by outcome: answered (confident), clarify (between two answers), unanswered (handed to a person or no answer).",
		}, []string{"outcome"}),
		askDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xiaobao_service_ask_duration_seconds", Help: "Time to answer an utterance, its storage included.",
			Buckets: latencyBuckets,
		}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_service_warnings_total", Help: "Warnings raised on utterances, by kind and scam typology.",
		}, []string{"kind", "typology"}),
		routes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_service_routes_total", Help: "Routing decisions of utterances, by queue (self_service when none).",
		}, []string{"queue"}),
		storeTurns: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xiaobao_service_store_batch_turns", Help: "Turns per group commit of service sessions.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		storeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xiaobao_service_store_duration_seconds", Help: "Duration of group commits of service sessions.",
			Buckets: latencyBuckets,
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xiaobao_service_store_errors_total", Help: "Group commits of service sessions that failed.",
		}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_service_handoffs_total", Help: "Sessions handed to a person, by queue and whether an agent took it at once (assigned) or it waits (queued).",
		}, []string{"queue", "result"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_service_sessions_closed_total", Help: "Sessions closed, by resolved (yes, no, unknown) and by (timeout: the idle sweep; person).",
		}, []string{"resolved", "by"}),
		csat: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_service_csat_total", Help: "Satisfaction ratings, by score (1-5).",
		}, []string{"score"}),
	}
	for i, o := range []string{"answered", "clarify", "unanswered"} {
		m.byOutcome[i] = m.asks.WithLabelValues(o)
	}
	for i := 1; i <= 5; i++ {
		m.csat.WithLabelValues(strconv.Itoa(i))
	}
	live := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "xiaobao_service_live_sessions", Help: "Service sessions held in memory (open, queued or with an agent).",
	}, func() float64 {
		if sv := m.sv.Load(); sv != nil {
			return float64(sv.LiveSessions())
		}
		return 0
	})
	reg.MustRegister(m.asks, m.askDuration, m.warnings, m.routes, m.storeTurns, m.storeDuration, m.storeErrors,
		m.handoffs, m.closed, m.csat, live, queueCollector{m})
	return m
}

// Watch makes the gauges read sv.
func (m *ServiceMetrics) Watch(sv *service.Service) { m.sv.Store(sv) }

// Asked implements service.Observer.
func (m *ServiceMetrics) Asked(r *service.AskResult, elapsed time.Duration) {
	m.askDuration.Observe(elapsed.Seconds())
	switch {
	case r.Confident:
		m.byOutcome[0].Inc()
	case r.Clarify:
		m.byOutcome[1].Inc()
	default:
		m.byOutcome[2].Inc()
	}
	for _, w := range r.Warnings {
		m.warnings.WithLabelValues(w.Kind, w.Type).Inc()
	}
	q := r.Route.Queue
	if q == "" {
		q = "self_service"
	}
	m.routes.WithLabelValues(q).Inc()
}

// Stored implements service.Observer.
func (m *ServiceMetrics) Stored(_, turns int, elapsed time.Duration, err error) {
	if err != nil {
		m.storeErrors.Inc()
		return
	}
	m.storeTurns.Observe(float64(turns))
	m.storeDuration.Observe(elapsed.Seconds())
}

// HandedOff implements service.Observer.
func (m *ServiceMetrics) HandedOff(queue string, assigned bool) {
	result := "queued"
	if assigned {
		result = "assigned"
	}
	m.handoffs.WithLabelValues(queue, result).Inc()
}

// Closed implements service.Observer.
func (m *ServiceMetrics) Closed(resolved *bool, by string) {
	r := "unknown"
	if resolved != nil {
		r = "no"
		if *resolved {
			r = "yes"
		}
	}
	if by != "timeout" {
		by = "person"
	}
	m.closed.WithLabelValues(r, by).Inc()
}

// Rated implements service.Observer.
func (m *ServiceMetrics) Rated(score int) {
	if score >= 1 && score <= 5 {
		m.csat.WithLabelValues(strconv.Itoa(score)).Inc()
	}
}

var (
	queueWaitingDesc = prometheus.NewDesc("xiaobao_service_queue_waiting", "Sessions waiting for an agent, by queue.", []string{"queue"}, nil)
	queueLoadDesc    = prometheus.NewDesc("xiaobao_service_queue_load", "Sessions held by the queue's online agents, by queue.", []string{"queue"}, nil)
	queueCapDesc     = prometheus.NewDesc("xiaobao_service_queue_capacity", "Sessions the queue's online agents can hold at once, by queue.", []string{"queue"}, nil)
	queueAgentsDesc  = prometheus.NewDesc("xiaobao_service_queue_agents_online", "Online agents with one of the queue's skills, by queue.", []string{"queue"}, nil)
)

// queueCollector reads the router's queues at each scrape, so the gauges
// are never stale and cost nothing between scrapes.
type queueCollector struct{ m *ServiceMetrics }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueWaitingDesc
	ch <- queueLoadDesc
	ch <- queueCapDesc
	ch <- queueAgentsDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	sv := c.m.sv.Load()
	if sv == nil {
		return
	}
	for _, q := range sv.Router().Queues() {
		ch <- prometheus.MustNewConstMetric(queueWaitingDesc, prometheus.GaugeValue, float64(q.Waiting), q.Name)
		ch <- prometheus.MustNewConstMetric(queueLoadDesc, prometheus.GaugeValue, float64(q.Load), q.Name)
		ch <- prometheus.MustNewConstMetric(queueCapDesc, prometheus.GaugeValue, float64(q.Capacity), q.Name)
		ch <- prometheus.MustNewConstMetric(queueAgentsDesc, prometheus.GaugeValue, float64(q.AgentsOnline), q.Name)
	}
}
