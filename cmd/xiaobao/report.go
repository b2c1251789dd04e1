package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/report"
)

// reportFeed keeps the report's rollups (the dashboard's figures) in step
// with the store, like the entity graph: rebuilt in the background from
// every stored record and outcome at start, then fed by the indexer's and
// the outcome hooks, and by the observer for decision latency. Records the
// hooks see before the rebuild knows where the store ended are left to
// the rebuild; outcomes may arrive twice, which the rollups absorb (an
// outcome replaces the earlier one of its decision).
//
// The rollups live in memory: a day is at most tens of kilobytes (2.4 KB
// per typology seen), so years fit, and
// rebuilding them reads the store once, in the background, while the
// dashboard says its figures are partial. Latency is measured live and
// is not rebuilt: the store does not keep it.
type reportFeed struct {
	r     *report.Rollup
	start atomic.Int64 // the store's last seq when the rebuild began; -1 until then
	svc   atomic.Pointer[guard.Service]
	log   *slog.Logger
}

func newReportFeed(log *slog.Logger) *reportFeed {
	rf := &reportFeed{r: report.New(report.Options{}), log: log}
	rf.start.Store(-1)
	rf.r.SetPartial(true)
	return rf
}

func (rf *reportFeed) onIndexed(recs []*guard.Record) {
	start := rf.start.Load()
	if start < 0 {
		return
	}
	i := 0
	for i < len(recs) && recs[i].Seq <= start {
		i++
	}
	if i < len(recs) {
		rf.r.AddRecords(recs[i:])
	}
}

// outcome returns the rollups' view of an outcome, with its decision's
// time and journey node when the decision can be read.
func (rf *reportFeed) outcome(ctx context.Context, o *guard.Outcome, decision func(context.Context, string) (*guard.Record, error)) report.Outcome {
	ro := report.Outcome{DecisionID: o.DecisionID, Kind: o.Kind, Typology: o.Typology, Saved: o.AmountSaved, Lost: o.AmountLost, RecordedAt: o.RecordedAt}
	if rec, err := decision(ctx, o.DecisionID); err == nil && rec.Decision != nil {
		ro.DecidedAt, ro.Node = rec.Decision.OccurredAt, rec.Decision.EventType
	}
	return ro
}

func (rf *reportFeed) onOutcome(o *guard.Outcome) {
	svc := rf.svc.Load()
	if svc == nil {
		return // the rebuild reads every stored outcome
	}
	rf.r.AddOutcome(rf.outcome(context.Background(), o, svc.Decision))
}

// rebuild reads the store once, in the background.
func (rf *reportFeed) rebuild(ctx context.Context, st guard.Store) {
	defer rf.r.SetPartial(false)
	last, err := st.MaxSeq(ctx)
	if err != nil {
		rf.log.Warn("report: cannot read the store; the figures follow new decisions only", "err", err.Error())
		rf.start.Store(0)
		return
	}
	rf.start.Store(last)
	began, n := time.Now(), 0
	batch := make([]report.Decision, 0, 1024)
	err = st.Replay(ctx, 0, func(it guard.ReplayItem) error {
		if it.Seq > last {
			return errStopReplay
		}
		ev, err := guard.DecodeEvent(it.Raw)
		if err != nil {
			return nil // a stored event that no longer decodes counts nowhere
		}
		n++
		batch = append(batch, report.Decision{OccurredAt: ev.OccurredAt, Node: ev.Type, Action: it.Action,
			Typology: it.Typology, Amount: ev.Amount, CustomerID: ev.Customer.ID})
		if len(batch) == cap(batch) {
			rf.r.AddDecisions(batch...)
			batch = batch[:0]
		}
		return nil
	})
	rf.r.AddDecisions(batch...)
	if err != nil && !errors.Is(err, errStopReplay) {
		rf.log.Warn("report: rebuild stopped", "err", err.Error())
		return
	}
	outcomes := 0
	err = st.Outcomes(ctx, func(o *guard.Outcome) error {
		outcomes++
		rf.r.AddOutcome(rf.outcome(ctx, o, st.Decision))
		return nil
	})
	if err != nil {
		rf.log.Warn("report: outcomes not read", "err", err.Error())
	}
	rf.log.Info("report rollups rebuilt", "decisions", n, "outcomes", outcomes, "took", time.Since(began).String())
}

// reportObserver passes every decision's latency to the rollups as well as
// to the metrics.
type reportObserver struct {
	guard.Observer
	r *report.Rollup
}

func (o reportObserver) Decided(d *guard.Decision, elapsed time.Duration) {
	o.Observer.Decided(d, elapsed)
	o.r.ObserveLatency(d.DecidedAt, elapsed)
}

// fanOutIndexed calls each non-nil hook in turn.
func fanOutIndexed(hooks ...func([]*guard.Record)) func([]*guard.Record) {
	var hs []func([]*guard.Record)
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	return func(recs []*guard.Record) {
		for _, h := range hs {
			h(recs)
		}
	}
}

// fanOutOutcome calls each non-nil hook in turn.
func fanOutOutcome(hooks ...func(*guard.Outcome)) func(*guard.Outcome) {
	var hs []func(*guard.Outcome)
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	return func(o *guard.Outcome) {
		for _, h := range hs {
			h(o)
		}
	}
}
