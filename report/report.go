// Package report keeps the figures a consumer-protection committee reports
// — reminders shown, friction and cooling-off applied, holds, blocks,
// customers dissuaded, losses avoided, suspected gamblers and gambling
// funds intercepted, false alarms, decision latency — as daily rollups by
// ladder step, typology and journey node, so that a summary of any period
// is a walk over at most a few hundred days of small arrays, never a scan
// of decisions.
//
// It is domain logic without I/O: the server feeds it every indexed
// decision (guard.Config.OnIndexed), every outcome (guard.Config.OnOutcome)
// and every decision latency (guard.Observer), and rebuilds it from the
// store at start.
package report

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// DefaultGamblingTypology is the typology of the built-in pack's gambling
// rules.
const DefaultGamblingTypology = "gambling"

// Options configure a Rollup.
type Options struct {
	// Location is where a day starts and ends (default: China Standard
	// Time, UTC+8, the firm's reporting day).
	Location *time.Location
	// GamblingTypology names the typology counted as gambling (default
	// "gambling").
	GamblingTypology string
}

// CST is China Standard Time.
var CST = time.FixedZone("CST", 8*3600)

// nodes is the number of journey nodes, plus one for "unknown" (an outcome
// whose decision could not be read).
var nodes = len(guard.EventTypes) + 1

const nActions = int(guard.Block) + 1

var nKinds = len(guard.OutcomeKinds)

// cell is the count and money of decisions at one ladder step.
type cell struct {
	n      int64
	amount xiaobao.Money
}

// ocell is the count and money of outcomes of one kind.
type ocell struct {
	n           int64
	saved, lost xiaobao.Money
}

// day holds one day's rollups, by typology index.
type day struct {
	dec map[int][]cell  // typology → node*nActions + action
	out map[int][]ocell // typology → node*nKinds + kind
}

// Decision is what the rollups need of one decision.
type Decision struct {
	OccurredAt time.Time
	Node       guard.EventType
	Action     guard.Action
	Typology   string
	Amount     xiaobao.Money
	CustomerID string
}

// DecisionOf returns the facts of a stored record.
func DecisionOf(r *guard.Record) Decision {
	d := Decision{Action: r.Decision.Action, Typology: r.Decision.Typology, CustomerID: r.Decision.CustomerID,
		OccurredAt: r.Decision.OccurredAt, Node: r.Decision.EventType}
	ev := r.Event
	if ev != nil && ev.Type == "" && len(ev.Raw) > 0 {
		// A record read back from a store carries the raw event only.
		if full, err := guard.DecodeEvent(ev.Raw); err == nil {
			ev = full
		}
	}
	if ev != nil {
		d.Amount = ev.Amount
		if d.Node == "" {
			d.Node = ev.Type
		}
		if d.OccurredAt.IsZero() {
			d.OccurredAt = ev.OccurredAt
		}
	}
	return d
}

// Outcome is what the rollups need of one outcome: the outcome and, when
// known, the decision it is about (its time and journey node). An outcome
// counts on the day of its decision, so that losses avoided fall in the
// period the intervention happened; when the decision is unknown it counts
// on the day it was recorded, at node "unknown".
type Outcome struct {
	DecisionID  string
	Kind        guard.OutcomeKind
	Typology    string
	Saved, Lost xiaobao.Money
	RecordedAt  time.Time
	// DecidedAt and Node are the decision's occurred_at and event type;
	// zero when unknown.
	DecidedAt time.Time
	Node      guard.EventType
}

// outcomeRef is an outcome's contribution, kept so that a replacing
// outcome takes the previous one back.
type outcomeRef struct {
	day   int32
	typ   int
	idx   int
	saved xiaobao.Money
	lost  xiaobao.Money
}

// Rollup holds the daily rollups. It is safe for concurrent use.
type Rollup struct {
	loc      *time.Location
	gambling string

	mu       sync.RWMutex
	typIdx   map[string]int
	typs     []string
	days     map[int32]*day
	outcomes map[string]outcomeRef
	gamblers map[string][]int32 // customer → the days they met a gambling intervention, ascending

	lat latencies

	partial atomic.Bool
}

// SetPartial says whether the rollups are still being rebuilt from the
// store: summaries say so until they are complete.
func (r *Rollup) SetPartial(p bool) { r.partial.Store(p) }

// New returns an empty Rollup.
func New(o Options) *Rollup {
	if o.Location == nil {
		o.Location = CST
	}
	if o.GamblingTypology == "" {
		o.GamblingTypology = DefaultGamblingTypology
	}
	return &Rollup{
		loc: o.Location, gambling: o.GamblingTypology,
		typIdx: map[string]int{"": 0}, typs: []string{""},
		days: map[int32]*day{}, outcomes: map[string]outcomeRef{}, gamblers: map[string][]int32{},
		lat: latencies{days: map[int32]*[latBuckets]int64{}},
	}
}

// dayOf returns the day number of t in the rollup's location.
func (r *Rollup) dayOf(t time.Time) int32 {
	_, off := t.In(r.loc).Zone()
	return int32((t.Unix() + int64(off)) / 86400)
}

// dayStart returns the start of day number d.
func (r *Rollup) dayStart(d int32) time.Time {
	t := time.Unix(int64(d)*86400, 0).In(r.loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, r.loc)
}

func (r *Rollup) typology(t string) int {
	i, ok := r.typIdx[t]
	if !ok {
		i = len(r.typs)
		r.typIdx[t] = i
		r.typs = append(r.typs, t)
	}
	return i
}

func (r *Rollup) day(d int32) *day {
	dy := r.days[d]
	if dy == nil {
		dy = &day{dec: map[int][]cell{}, out: map[int][]ocell{}}
		r.days[d] = dy
	}
	return dy
}

func nodeIndex(t guard.EventType) int {
	if i := slices.Index(guard.EventTypes, t); i >= 0 {
		return i
	}
	return nodes - 1
}

func kindIndex(k guard.OutcomeKind) int { return slices.Index(guard.OutcomeKinds, k) }

// AddDecisions adds decisions to the rollups.
func (r *Rollup) AddDecisions(ds ...Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range ds {
		r.addDecision(&ds[i])
	}
}

// AddRecords adds stored records (the OnIndexed hook's argument).
func (r *Rollup) AddRecords(recs []*guard.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range recs {
		if rec.Decision == nil {
			continue
		}
		d := DecisionOf(rec)
		r.addDecision(&d)
	}
}

func (r *Rollup) addDecision(d *Decision) {
	if d.Action >= guard.Action(nActions) {
		return
	}
	dn := r.dayOf(d.OccurredAt)
	ti := r.typology(d.Typology)
	dy := r.day(dn)
	cs := dy.dec[ti]
	if cs == nil {
		cs = make([]cell, nodes*nActions)
		dy.dec[ti] = cs
	}
	c := &cs[nodeIndex(d.Node)*nActions+int(d.Action)]
	c.n++
	c.amount += d.Amount
	if d.Typology == r.gambling && d.Action >= guard.Remind && d.CustomerID != "" {
		ds := r.gamblers[d.CustomerID]
		if i, found := slices.BinarySearch(ds, dn); !found {
			r.gamblers[d.CustomerID] = slices.Insert(ds, i, dn)
		}
	}
}

// AddOutcome adds an outcome; a later outcome of the same decision
// replaces the earlier one (the latest wins, as in the store), and adding
// the same outcome again changes nothing.
func (r *Rollup) AddOutcome(o Outcome) {
	ki := kindIndex(o.Kind)
	if ki < 0 {
		return
	}
	at, node := o.DecidedAt, guard.EventType("")
	if at.IsZero() {
		at = o.RecordedAt
	} else {
		node = o.Node
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.outcomes[o.DecisionID]; ok {
		oc := &r.days[prev.day].out[prev.typ][prev.idx]
		oc.n--
		oc.saved -= prev.saved
		oc.lost -= prev.lost
	}
	dn := r.dayOf(at)
	ti := r.typology(o.Typology)
	dy := r.day(dn)
	os := dy.out[ti]
	if os == nil {
		os = make([]ocell, nodes*nKinds)
		dy.out[ti] = os
	}
	idx := nodeIndex(node)*nKinds + ki
	oc := &os[idx]
	oc.n++
	oc.saved += o.Saved
	oc.lost += o.Lost
	r.outcomes[o.DecisionID] = outcomeRef{day: dn, typ: ti, idx: idx, saved: o.Saved, lost: o.Lost}
}

// ObserveLatency records one decision's time from submission to
// acknowledgement, on the day it was made. It is on the decision path:
// one short lock and an increment.
func (r *Rollup) ObserveLatency(at time.Time, d time.Duration) {
	r.lat.observe(r.dayOf(at), d)
}
