package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/jobs"
	"github.com/xiaobao-org/xiaobao/postgres"
	"github.com/xiaobao-org/xiaobao/service"
)

// openJobs opens the durable timer queue: in the PostgreSQL database
// when the store is there, else in DATA/jobs.db (a file of its own, see
// jobs.OpenSQLite). Register handlers, then Start it.
func openJobs(ctx context.Context, st store, data string, logger *slog.Logger) (*jobs.Queue, error) {
	opts := jobs.Options{Logger: logger}
	var (
		q   *jobs.Queue
		err error
	)
	if pg, ok := st.(*postgres.DB); ok {
		q, err = jobs.OpenPostgres(ctx, pg.Pool(), opts)
	} else {
		q, err = jobs.OpenSQLite(ctx, filepath.Join(data, "jobs.db"), opts)
	}
	if err != nil {
		return nil, fmt.Errorf("open the job queue: %w", err)
	}
	return q, nil
}

// caseSweepEvery is how often the case desk's sweep runs: it catches the
// deadlines whose timers a crash lost, decisions the hook did not deliver
// and labels Guard was not told. Timers fire on time; the sweep only
// bounds how late a lost one can be.
const caseSweepEvery = 30 * time.Second

// caseDesk wires the dissuasion desk: Guard's indexed decisions open
// cases, case deadlines are durable timers on the job queue (or, without
// one, the sweep alone), and the sweep repairs what a crash lost.
type caseDesk struct {
	svc    *cases.Service
	timers *caseTimers
	log    *slog.Logger
	// warnings carries scam warnings from customer service to the worker
	// that opens their cases, off the ask path.
	warnings chan service.Alert
}

// warningBacklog bounds the scam warnings waiting for a case: each is one
// per session and scam, so a full backlog means the store is down, and
// the customer's Guard risk is raised anyway.
const warningBacklog = 1024

func newCaseDesk(st cases.Store, logger *slog.Logger) *caseDesk {
	t := &caseTimers{}
	return &caseDesk{svc: cases.New(cases.Config{Store: st, Logger: logger, Timers: t}), timers: t, log: logger,
		warnings: make(chan service.Alert, warningBacklog)}
}

// onScamWarning is the desk's part of the service module's OnScamWarning:
// a customer who says in a chat that they are being scammed gets a case
// (or their open case of that scam gets the warning), so a caller rings
// them before their next transfer.
func (d *caseDesk) onScamWarning(a service.Alert) {
	if a.CustomerID == "" {
		return // an anonymous chat: nobody to call
	}
	select {
	case d.warnings <- a:
	default:
		d.log.Warn("scam warning not opened as a case: backlog full", "session", a.SessionID)
	}
}

func (d *caseDesk) openWarnings(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-d.warnings:
			w := cases.Warning{CustomerID: a.CustomerID, Typology: a.Warning.Type, Source: "service", Ref: a.SessionID,
				Detail: a.Warning.Detail, At: a.At}
			if _, _, err := d.svc.OpenWarningCase(ctx, w); err != nil && ctx.Err() == nil {
				d.log.Warn("open a case for a scam warning", "session", a.SessionID, "err", err.Error())
			}
		}
	}
}

// onIndexed is the desk's part of guard.Config.OnIndexed.
func (d *caseDesk) onIndexed(recs []*guard.Record) { d.svc.OnIndexed(recs) }

// useQueue makes case deadlines timers on q and registers their handler
// and the sweep; call it before q starts.
func (d *caseDesk) useQueue(q *jobs.Queue) {
	q.Handle(cases.TimerKind, func(ctx context.Context, t jobs.Timer) error { return d.svc.Tick(ctx, t.Key) })
	q.Every("cases.sweep", caseSweepEvery, func(ctx context.Context) error {
		_, err := d.svc.Sweep(ctx)
		return err
	})
	d.timers.q.Store(q)
}

// start catches up on decisions stored while the desk was down and starts
// opening cases; without a job queue it also runs the sweep itself until
// ctx is done.
func (d *caseDesk) start(ctx context.Context, g *guard.Service) error {
	if err := d.svc.Start(ctx, g); err != nil {
		return err
	}
	go d.openWarnings(ctx)
	if d.timers.q.Load() != nil {
		return nil
	}
	go func() {
		t := time.NewTicker(caseSweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := d.svc.Sweep(ctx); err != nil && ctx.Err() == nil {
					d.log.Warn("case sweep failed", "err", err.Error())
				}
			}
		}
	}()
	return nil
}

func (d *caseDesk) close() { d.svc.Close() }

// caseTimers are case deadlines as job-queue timers; until a queue is set
// they are left to the sweep.
type caseTimers struct{ q atomic.Pointer[jobs.Queue] }

func (t *caseTimers) Schedule(ctx context.Context, key string, at time.Time) error {
	if q := t.q.Load(); q != nil {
		return q.Schedule(ctx, jobs.Timer{Kind: cases.TimerKind, Key: key, At: at})
	}
	return nil
}

func (t *caseTimers) Cancel(ctx context.Context, key string) error {
	if q := t.q.Load(); q != nil {
		return q.Cancel(ctx, cases.TimerKind, key)
	}
	return nil
}

// caseCollector exports the queues at each scrape: open, unassigned and
// overdue cases per queue, what a desk's wallboard and alerts watch.
type caseCollector struct {
	svc                       *cases.Service
	open, unassigned, overdue *prometheus.Desc
}

func newCaseCollector(svc *cases.Service) *caseCollector {
	return &caseCollector{
		svc:        svc,
		open:       prometheus.NewDesc("xiaobao_cases_open", "Open dissuasion cases, by queue.", []string{"queue"}, nil),
		unassigned: prometheus.NewDesc("xiaobao_cases_unassigned", "Open cases nobody is assigned, by queue.", []string{"queue"}, nil),
		overdue:    prometheus.NewDesc("xiaobao_cases_overdue", "Open cases past their SLA, by queue.", []string{"queue"}, nil),
	}
}

func (c *caseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.unassigned
	ch <- c.overdue
}

func (c *caseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	qs, err := c.svc.Queues(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.open, err)
		return
	}
	for _, q := range qs {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(q.Open), q.Queue)
		ch <- prometheus.MustNewConstMetric(c.unassigned, prometheus.GaugeValue, float64(q.Unassigned), q.Queue)
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(q.Overdue), q.Queue)
	}
}
