package http

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// latencyBuckets are fine enough to see a sub-millisecond decision move.
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
	0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1,
}

// Metrics are xiaobao's Prometheus metrics. They implement guard.Observer,
// so the same value is passed to guard.Config.Observer and to
// Config.Metrics. Labels never carry PII: actions, typologies and rule ids
// come from the rule packs, routes from the route table.
//
// Label children are cached: WithLabelValues hashes its labels and takes a
// lock, which is too slow to do several times per decision.
type Metrics struct {
	decisions        *prometheus.CounterVec
	decisionDuration prometheus.Histogram
	ruleFires        *prometheus.CounterVec
	ruleErrors       *prometheus.CounterVec
	commitRecords    prometheus.Histogram
	commitDuration   prometheus.Histogram
	commitErrors     prometheus.Counter
	httpRequests     *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec
	httpInflight     prometheus.Gauge
	shed             prometheus.Counter
	errors           *prometheus.CounterVec

	queueDepth atomic.Pointer[func() int]

	mu          sync.RWMutex
	byDecision  [guard.Block + 1]map[string]prometheus.Counter // [action][typology]
	activeFires map[string]prometheus.Counter                  // by rule
	shadowFires map[string]prometheus.Counter
	errorsBy    map[string]prometheus.Counter // by code, filled at start
}

var _ guard.Observer = (*Metrics)(nil)

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_decisions_total", Help: "Decisions made and stored, by action and typology.",
		}, []string{"action", "typology"}),
		decisionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xiaobao_decision_duration_seconds", Help: "Time from submission of an event to its durable decision.",
			Buckets: latencyBuckets,
		}),
		ruleFires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_rule_fires_total", Help: "Rules that fired in stored decisions, by rule and mode (active or shadow).",
		}, []string{"rule", "mode"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_rule_errors_total", Help: "Rule evaluations that failed, by rule.",
		}, []string{"rule"}),
		commitRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xiaobao_commit_batch_records", Help: "Records per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xiaobao_commit_duration_seconds", Help: "Duration of group commits.",
			Buckets: latencyBuckets,
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xiaobao_commit_errors_total", Help: "Group commits that failed.",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_http_requests_total", Help: "HTTP requests served, by route and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "xiaobao_http_request_duration_seconds", Help: "Duration of HTTP requests, by route.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		httpInflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xiaobao_http_inflight", Help: "HTTP requests being served.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xiaobao_shed_total", Help: "Event requests refused with 429 because too many were in flight.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xiaobao_errors_total", Help: "Error responses, by problem code.",
		}, []string{"code"}),
		activeFires: map[string]prometheus.Counter{},
		shadowFires: map[string]prometheus.Counter{},
		errorsBy:    map[string]prometheus.Counter{},
	}
	for i := range m.byDecision {
		m.byDecision[i] = map[string]prometheus.Counter{}
	}
	for _, pt := range problemTypes {
		m.errorsBy[pt.Code] = m.errors.WithLabelValues(pt.Code)
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "xiaobao_commit_queue_depth", Help: "Decisions waiting to be made durable.",
	}, func() float64 {
		if f := m.queueDepth.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	reg.MustRegister(m.decisions, m.decisionDuration, m.ruleFires, m.ruleErrors, m.commitRecords,
		m.commitDuration, m.commitErrors, depth, m.httpRequests, m.httpDuration, m.httpInflight,
		m.shed, m.errors)
	return m
}

// setQueueDepth makes the queue depth gauge read f.
func (m *Metrics) setQueueDepth(f func() int) { m.queueDepth.Store(&f) }

// Decided implements guard.Observer.
func (m *Metrics) Decided(d *guard.Decision, elapsed time.Duration) {
	m.decisionDuration.Observe(elapsed.Seconds())
	if d.Action <= guard.Block {
		m.child(&m.byDecision[d.Action], d.Typology, func() prometheus.Counter {
			return m.decisions.WithLabelValues(d.Action.String(), d.Typology)
		}).Inc()
	}
	for i := range d.Reasons {
		rule := d.Reasons[i].Rule
		m.child(&m.activeFires, rule, func() prometheus.Counter {
			return m.ruleFires.WithLabelValues(rule, guard.ModeActive)
		}).Inc()
	}
	for i := range d.Shadow {
		rule := d.Shadow[i].Rule
		m.child(&m.shadowFires, rule, func() prometheus.Counter {
			return m.ruleFires.WithLabelValues(rule, guard.ModeShadow)
		}).Inc()
	}
}

// child returns the cached counter of key in *cache, creating it with mk.
func (m *Metrics) child(cache *map[string]prometheus.Counter, key string, mk func() prometheus.Counter) prometheus.Counter {
	m.mu.RLock()
	c, ok := (*cache)[key]
	m.mu.RUnlock()
	if ok {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := (*cache)[key]; ok {
		return c
	}
	c = mk()
	(*cache)[key] = c
	return c
}

// Committed implements guard.Observer.
func (m *Metrics) Committed(records int, elapsed time.Duration, err error) {
	m.commitRecords.Observe(float64(records))
	m.commitDuration.Observe(elapsed.Seconds())
	if err != nil {
		m.commitErrors.Inc()
	}
}

// RuleFailed implements guard.Observer.
func (m *Metrics) RuleFailed(rule string) {
	m.ruleErrors.WithLabelValues(rule).Inc()
}

// countError counts one error response.
func (m *Metrics) countError(code string) {
	if c, ok := m.errorsBy[code]; ok {
		c.Inc()
		return
	}
	m.errors.WithLabelValues(xiaobao.EINTERNAL).Inc()
}

// routeMetrics are the cached metric children of one route.
type routeMetrics struct {
	m        *Metrics
	label    string
	duration prometheus.Observer
	// byStatus caches request counters by status, made on first use so
	// /metrics lists only the statuses that happened.
	byStatus [600]atomic.Pointer[prometheus.Counter]
}

func (m *Metrics) route(label string) *routeMetrics {
	return &routeMetrics{m: m, label: label, duration: m.httpDuration.WithLabelValues(label)}
}

func (rm *routeMetrics) observe(status int, elapsed time.Duration) {
	rm.duration.Observe(elapsed.Seconds())
	if status < 100 || status >= len(rm.byStatus) {
		rm.m.httpRequests.WithLabelValues(rm.label, statusText(status)).Inc()
		return
	}
	p := rm.byStatus[status].Load()
	if p == nil {
		c := rm.m.httpRequests.WithLabelValues(rm.label, statusText(status))
		p = &c
		rm.byStatus[status].Store(p)
	}
	(*p).Inc()
}
