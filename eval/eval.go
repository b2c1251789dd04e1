package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

// DefaultLabelDelay is how long after a decision its outcome becomes known
// to Guard unless told otherwise: victims report, and staff confirm or clear
// an intervention, days after the event, not at once.
const DefaultLabelDelay = 48 * time.Hour

// Config says what to replay.
type Config struct {
	// Runs are the pack sets to evaluate on the same history, side by side.
	Runs []RunSpec
	// LabelDelay is the time from a decision to the moment its outcome is
	// fed to Guard (zero: before the next event at or after the decision's
	// time); negative feeds no outcomes.
	LabelDelay time.Duration
	// Source describes the history in the result (a file name, "sim").
	Source string
	// Sim is the simulator's configuration when the history was simulated
	// in process; it is echoed in the result.
	Sim *sim.Config
}

// RunSpec is one pack set (and optionally a model) to evaluate.
type RunSpec struct {
	Name    string
	Ruleset *guard.Ruleset
	Scorer  guard.Scorer
}

// truth is what a replay needs of one label, computed once per event and
// shared by every run.
type truth struct {
	at     int64         // event time, Unix seconds
	atRisk xiaobao.Money // money this event would lose to the scheme
	cust   int32         // customer index
	kase   int32         // scam case index, -1 for a legitimate event
	typ    int16         // typology index, -1 for a legitimate event
	look   int16         // look-alike kind index, -1 unless a look-alike
	flags  uint8
}

const (
	fScam    uint8 = 1 << iota // the event belongs to a scheme
	fPayment                   // a scam outflow with money at risk
	fPaying                    // a payment whose money counts as the case's (not a mule's cash-out)
	fRetry                     // a retry of the payment before it
	fMoney                     // an event with an amount: scored for AUC and AP
)

type caseKey struct{ scam, customer string }

// history indexes customers, cases, typologies and look-alike kinds as the
// events arrive. Only the reading goroutine touches it while runs go on.
type history struct {
	custIdx  map[string]int32
	custScam []bool
	caseIdx  map[caseKey]int32
	caseTyp  []int16
	caseRole []string
	typIdx   map[string]int16
	typNames []string
	lookIdx  map[string]int16
	looks    []string

	events     int64
	first      int64
	last       int64
	outOfOrder int64
}

func newHistory() *history {
	return &history{
		custIdx: map[string]int32{},
		caseIdx: map[caseKey]int32{},
		typIdx:  map[string]int16{},
		lookIdx: map[string]int16{},
	}
}

func (h *history) index(ev *guard.Event, l *sim.Label) (truth, error) {
	t := truth{at: ev.OccurredAt.Unix(), kase: -1, typ: -1, look: -1}
	if h.events == 0 {
		h.first = t.at
	} else if t.at < h.last {
		h.outOfOrder++
	}
	h.last = max(h.last, t.at)
	h.events++
	ci, ok := h.custIdx[ev.Customer.ID]
	if !ok {
		ci = int32(len(h.custScam))
		h.custIdx[ev.Customer.ID] = ci
		h.custScam = append(h.custScam, false)
	}
	t.cust = ci
	if ev.HasAmount {
		t.flags |= fMoney
	}
	if l.AtRisk != "" && l.AtRisk != "0.00" {
		m, err := xiaobao.ParseMoney(l.AtRisk)
		if err != nil {
			return t, xiaobao.Errorf(xiaobao.EINVALID, "label of event %q: at_risk %q %v", ev.ID, l.AtRisk, err)
		}
		t.atRisk = m
	}
	if l.ScamID == "" {
		if l.Role == sim.RoleLookalike {
			li, ok := h.lookIdx[l.Stage]
			if !ok {
				li = int16(len(h.looks))
				h.lookIdx[l.Stage] = li
				h.looks = append(h.looks, l.Stage)
			}
			t.look = li
		}
		return t, nil
	}
	t.flags |= fScam
	h.custScam[ci] = true
	typ := l.Typology
	if typ == "" {
		typ = "unknown"
	}
	ti, ok := h.typIdx[typ]
	if !ok {
		ti = int16(len(h.typNames))
		h.typIdx[typ] = ti
		h.typNames = append(h.typNames, typ)
	}
	t.typ = ti
	k := caseKey{l.ScamID, ev.Customer.ID}
	ki, ok := h.caseIdx[k]
	if !ok {
		ki = int32(len(h.caseTyp))
		h.caseIdx[k] = ki
		h.caseTyp = append(h.caseTyp, ti)
		h.caseRole = append(h.caseRole, l.Role)
	}
	t.kase = ki
	if ev.Type.Outflow() && t.atRisk > 0 {
		t.flags |= fPayment
		// A mule's cash-out moves its victims' money a second time: that
		// money is counted once, at the victims' payments.
		if l.Role != sim.RoleMule {
			t.flags |= fPaying
		}
		if l.Stage == "retry" {
			t.flags |= fRetry
		}
	}
	return t, nil
}

const batchSize = 1024

type batch struct {
	evs []*guard.Event
	tr  []truth
}

// Run replays the history of src through a fresh Guard engine per run, in
// the order src gives it, and evaluates every run against the ground truth.
// The events are read and indexed once and shared by the runs, which go on
// in parallel (one goroutine each).
func Run(ctx context.Context, src Source, cfg Config) (*Result, error) {
	if len(cfg.Runs) == 0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "eval: no pack set to evaluate")
	}
	delay := cfg.LabelDelay
	runs := make([]*run, len(cfg.Runs))
	for i, spec := range cfg.Runs {
		if spec.Ruleset == nil {
			return nil, xiaobao.Errorf(xiaobao.EINVALID, "eval: run %q has no ruleset", spec.Name)
		}
		runs[i] = newRun(spec, delay)
	}
	h := newHistory()
	began := time.Now()

	// One goroutine reads, decodes and indexes; the runs replay batch after
	// batch behind it, so reading overlaps deciding.
	full := make(chan *batch, 4)
	free := make(chan *batch, 6)
	for range cap(free) {
		free <- &batch{evs: make([]*guard.Event, 0, batchSize), tr: make([]truth, 0, batchSize)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readErr error
	go func() {
		defer close(full)
		for {
			var b *batch
			select {
			case b = <-free:
			case <-ctx.Done():
				return
			}
			b.evs, b.tr = b.evs[:0], b.tr[:0]
			var err error
			for len(b.evs) < batchSize {
				var ev *guard.Event
				var l *sim.Label
				ev, l, err = src.Next()
				if err != nil {
					break
				}
				var t truth
				if t, err = h.index(ev, l); err != nil {
					break
				}
				b.evs = append(b.evs, ev)
				b.tr = append(b.tr, t)
			}
			if len(b.evs) > 0 {
				select {
				case full <- b:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for b := range full {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(runs) == 1 {
			runs[0].replay(b)
		} else {
			for _, r := range runs {
				wg.Go(func() { r.replay(b) })
			}
			wg.Wait()
		}
		clear(b.evs) // let the events go once every run has decided them
		free <- b
	}
	if readErr != nil {
		return nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	elapsed := time.Since(began)

	res := &Result{History: h.summary(cfg, delay)}
	for _, r := range runs {
		res.Runs = append(res.Runs, r.report(h))
	}
	if len(res.Runs) == 2 {
		res.Deltas = deltas(res.Runs[0], res.Runs[1])
	}
	res.Timing = &Timing{
		Seconds:         roundTo(elapsed.Seconds(), 3),
		EventsPerSecond: roundTo(float64(h.events)/max(elapsed.Seconds(), 1e-9), 0),
	}
	return res, nil
}

func (h *history) summary(cfg Config, delay time.Duration) History {
	hs := History{
		Source:     cfg.Source,
		Events:     h.events,
		Customers:  len(h.custScam),
		ScamCases:  len(h.caseTyp),
		OutOfOrder: h.outOfOrder,
	}
	for _, s := range h.custScam {
		if !s {
			hs.LegitimateCustomers++
		}
	}
	if h.events > 0 {
		hs.From = time.Unix(h.first, 0).UTC().Format(time.RFC3339)
		hs.To = time.Unix(h.last, 0).UTC().Format(time.RFC3339)
	}
	if delay < 0 {
		hs.LabelDelayHours = -1
	} else {
		hs.LabelDelayHours = delay.Hours()
	}
	if c := cfg.Sim; c != nil {
		hs.Sim = &SimInfo{Seed: c.Seed, Customers: c.Customers, Days: c.Days, Start: c.Start.Format("2006-01-02"),
			ScamRate: c.ScamRate, LookalikeRate: c.LookalikeRate, QuietDays: c.QuietDays}
	}
	return hs
}

// PackSet parses pack files' contents into one ruleset, as a server with
// all of them active would hold.
func PackSet(names []string, sources [][]byte) (*guard.Ruleset, error) {
	packs := make([]*guard.Pack, 0, len(sources))
	for i, src := range sources {
		p, err := guard.ParsePack(src)
		if err != nil {
			return nil, fmt.Errorf("rule pack %s: %w", names[i], err)
		}
		packs = append(packs, p)
	}
	rs, err := guard.NewRuleset(packs...)
	if err != nil {
		return nil, fmt.Errorf("rule packs %v: %w", names, err)
	}
	return rs, nil
}
