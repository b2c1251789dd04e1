package report

import (
	"slices"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Bucket is the width of one point of a summary's series.
type Bucket string

const (
	Day   Bucket = "day"
	Week  Bucket = "week" // ISO weeks, from Monday
	Month Bucket = "month"
)

// Buckets lists the valid buckets.
var Buckets = []Bucket{Day, Week, Month}

// MaxDays bounds the period of one summary (about three years).
const MaxDays = 1100

// Yuan is money in a summary: a decimal string in yuan in JSON ("1234.50"),
// as everywhere in the API.
type Yuan xiaobao.Money

func (y Yuan) MarshalText() ([]byte, error) { return []byte(xiaobao.Money(y).String()), nil }

func (y *Yuan) UnmarshalText(b []byte) error {
	m, err := xiaobao.ParseMoney(string(b))
	*y = Yuan(m)
	return err
}

// Figures are the headline figures of a period (or a typology, a node, a
// point of the series).
type Figures struct {
	// Decisions is every decision; the ladder steps below count decisions
	// that got exactly that step.
	Decisions  int64 `json:"decisions"`
	Reminders  int64 `json:"reminders"`   // anti-fraud reminders shown (remind)
	Friction   int64 `json:"friction"`    // extra verification or a quiz
	CoolingOff int64 `json:"cooling_off"` // money delayed for a cooling-off period
	Holds      int64 `json:"holds"`       // money held for a dissuasion call
	Blocks     int64 `json:"blocks"`      // interception warnings: the payment stopped
	// Interventions is every decision of remind or more.
	Interventions int64 `json:"interventions"`
	// MoneyStopped is the amount of the decisions that stopped money
	// (cooling_off, hold, block).
	MoneyStopped Yuan `json:"money_stopped"`
	// Outcomes recorded on the period's decisions, by kind.
	Outcomes       int64 `json:"outcomes"`
	ConfirmedFraud int64 `json:"confirmed_fraud"`
	FalseAlarms    int64 `json:"false_alarms"`
	// Dissuaded is customers talked out of a payment (customer_dissuaded);
	// DissuasionCalls adds the calls where the customer went on
	// (customer_proceeded): the human dissuasions made.
	Dissuaded       int64 `json:"dissuaded"`
	DissuasionCalls int64 `json:"dissuasion_calls"`
	// FalseAlarmRate is FalseAlarms / Outcomes (0 without outcomes).
	FalseAlarmRate float64 `json:"false_alarm_rate"`
	LossesAvoided  Yuan    `json:"losses_avoided"`
	LossesIncurred Yuan    `json:"losses_incurred"`
	// SuspectedGamblers is distinct customers who met remind or more
	// under the gambling typology; GamblingFundsStopped the amount of
	// their decisions that stopped money.
	SuspectedGamblers    int64 `json:"suspected_gamblers"`
	GamblingFundsStopped Yuan  `json:"gambling_funds_stopped"`
}

func (f *Figures) addDecisions(cs []cell, gambling bool) {
	for i := range cs {
		c := &cs[i]
		if c.n == 0 {
			continue
		}
		a := guard.Action(i % nActions)
		f.Decisions += c.n
		switch a {
		case guard.Remind:
			f.Reminders += c.n
		case guard.Friction:
			f.Friction += c.n
		case guard.CoolingOff:
			f.CoolingOff += c.n
		case guard.Hold:
			f.Holds += c.n
		case guard.Block:
			f.Blocks += c.n
		}
		if a >= guard.Remind {
			f.Interventions += c.n
		}
		if a >= guard.CoolingOff {
			f.MoneyStopped += Yuan(c.amount)
			if gambling {
				f.GamblingFundsStopped += Yuan(c.amount)
			}
		}
	}
}

func (f *Figures) addOutcomes(os []ocell) {
	for i := range os {
		o := &os[i]
		if o.n == 0 {
			continue
		}
		f.Outcomes += o.n
		switch guard.OutcomeKinds[i%nKinds] {
		case guard.OutcomeConfirmedFraud:
			f.ConfirmedFraud += o.n
		case guard.OutcomeFalseAlarm:
			f.FalseAlarms += o.n
		case guard.OutcomeDissuaded:
			f.Dissuaded += o.n
			f.DissuasionCalls += o.n
		case guard.OutcomeProceeded:
			f.DissuasionCalls += o.n
		}
		f.LossesAvoided += Yuan(o.saved)
		f.LossesIncurred += Yuan(o.lost)
	}
}

func (f *Figures) finish() {
	if f.Outcomes > 0 {
		f.FalseAlarmRate = float64(f.FalseAlarms) / float64(f.Outcomes)
	}
}

// Point is one bucket of a summary's series.
type Point struct {
	Start time.Time `json:"start"`
	Figures
	Latency Latency `json:"latency"`
}

// Group is the figures of one typology or journey node.
type Group struct {
	Key string `json:"key"`
	Figures
}

// Summary is the headline figures of a period, with the period of the same
// length before it (for trends), a series, and the breakdowns by typology
// and journey node.
type Summary struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Bucket Bucket    `json:"bucket"`
	Zone   string    `json:"zone"`
	Days   int       `json:"days"`
	// Partial is true while the rollups are being rebuilt from the store
	// at start: the figures are not complete yet.
	Partial bool    `json:"partial"`
	Totals  Figures `json:"totals"`
	// Previous is the figures of the period of the same length just before.
	Previous Figures `json:"previous"`
	Latency  Latency `json:"latency"`
	Series   []Point `json:"series"`
	// ByTypology is every typology with decisions or outcomes in the
	// period ("" is decisions without one: mostly allow), most
	// interventions first; ByNode every journey node in the contract's
	// order ("unknown": outcomes whose decision could not be read).
	ByTypology []Group `json:"by_typology"`
	ByNode     []Group `json:"by_node"`
}

// Query selects a summary.
type Query struct {
	From, To time.Time // whole days: [day of From, day of To) unless To is a midnight
	Bucket   Bucket
}

// Summarize returns the figures of q's period.
func (r *Rollup) Summarize(q Query) (*Summary, error) {
	var fe []xiaobao.FieldError
	if q.Bucket == "" {
		q.Bucket = Day
	}
	if !slices.Contains(Buckets, q.Bucket) {
		fe = append(fe, xiaobao.FieldError{Field: "bucket", Reason: "must be day, week or month"})
	}
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		fe = append(fe, xiaobao.FieldError{Field: "to", Reason: "must be after from"})
	}
	fd := r.dayOf(q.From)
	td := r.dayOf(q.To.Add(-time.Nanosecond)) + 1
	if len(fe) == 0 && td-fd > MaxDays {
		fe = append(fe, xiaobao.FieldError{Field: "to", Reason: "the period must be at most " + strconv.Itoa(MaxDays) + " days"})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the report query is invalid", fe...)
	}
	s := &Summary{From: r.dayStart(fd), To: r.dayStart(td), Bucket: q.Bucket, Zone: r.loc.String(), Days: int(td - fd), Partial: r.partial.Load()}

	// The series' buckets: starts (as day numbers) and each day's bucket.
	var starts []int32
	for d := fd; d < td; {
		starts = append(starts, d)
		d = r.nextBucket(d, q.Bucket)
	}
	bucketOf := func(d int32) int {
		i, found := slices.BinarySearch(starts, d)
		if !found {
			i--
		}
		return i
	}
	s.Series = make([]Point, len(starts))
	for i, d := range starts {
		s.Series[i].Start = r.dayStart(d)
	}

	r.mu.RLock()
	ntyp := len(r.typs)
	byTyp := make([]Figures, ntyp)
	byNode := make([]Figures, nodes)
	gi, hasGambling := r.typIdx[r.gambling]
	for d := fd; d < td; d++ {
		dy := r.days[d]
		if dy == nil {
			continue
		}
		pt := &s.Series[bucketOf(d)].Figures
		for ti, cs := range dy.dec {
			g := hasGambling && ti == gi
			s.Totals.addDecisions(cs, g)
			pt.addDecisions(cs, g)
			byTyp[ti].addDecisions(cs, g)
			for n := range nodes {
				byNode[n].addDecisions(cs[n*nActions:(n+1)*nActions], g)
			}
		}
		for ti, os := range dy.out {
			s.Totals.addOutcomes(os)
			pt.addOutcomes(os)
			byTyp[ti].addOutcomes(os)
			for n := range nodes {
				byNode[n].addOutcomes(os[n*nKinds : (n+1)*nKinds])
			}
		}
	}
	// The period before, for trends.
	pd := fd - (td - fd)
	for d := pd; d < fd; d++ {
		dy := r.days[d]
		if dy == nil {
			continue
		}
		for ti, cs := range dy.dec {
			s.Previous.addDecisions(cs, hasGambling && ti == gi)
		}
		for _, os := range dy.out {
			s.Previous.addOutcomes(os)
		}
	}
	// Suspected gamblers: distinct customers, per period and per bucket.
	seen := make([]bool, len(starts))
	for _, days := range r.gamblers {
		in, before := false, false
		clear(seen)
		for _, d := range days {
			switch {
			case d >= fd && d < td:
				in = true
				if b := bucketOf(d); !seen[b] {
					seen[b] = true
					s.Series[b].SuspectedGamblers++
				}
			case d >= pd && d < fd:
				before = true
			}
		}
		if in {
			s.Totals.SuspectedGamblers++
		}
		if before {
			s.Previous.SuspectedGamblers++
		}
	}
	typs := slices.Clone(r.typs)
	r.mu.RUnlock()

	if hasGambling {
		byTyp[gi].SuspectedGamblers = s.Totals.SuspectedGamblers
	}
	for i, f := range byTyp {
		if f.Decisions == 0 && f.Outcomes == 0 {
			continue
		}
		f.finish()
		s.ByTypology = append(s.ByTypology, Group{Key: typs[i], Figures: f})
	}
	slices.SortStableFunc(s.ByTypology, func(a, b Group) int {
		if a.Interventions != b.Interventions {
			return int(b.Interventions - a.Interventions)
		}
		return int(b.Outcomes - a.Outcomes)
	})
	for n, f := range byNode {
		if f.Decisions == 0 && f.Outcomes == 0 {
			continue
		}
		key := "unknown"
		if n < len(guard.EventTypes) {
			key = string(guard.EventTypes[n])
		}
		f.finish()
		s.ByNode = append(s.ByNode, Group{Key: key, Figures: f})
	}
	if s.ByTypology == nil {
		s.ByTypology = []Group{}
	}
	if s.ByNode == nil {
		s.ByNode = []Group{}
	}
	s.Totals.finish()
	s.Previous.finish()

	var total [latBuckets]int64
	for i, st := range starts {
		end := td
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		var h [latBuckets]int64
		r.lat.sum(&h, st, end)
		addHist(&total, &h)
		s.Series[i].Latency = latencyOf(&h)
		s.Series[i].finish()
	}
	s.Latency = latencyOf(&total)
	return s, nil
}

// nextBucket returns the first day of the bucket after the one day d is in.
func (r *Rollup) nextBucket(d int32, b Bucket) int32 {
	switch b {
	case Week:
		wd := int32(r.dayStart(d).Weekday()+6) % 7 // Monday 0
		return d - wd + 7
	case Month:
		t := r.dayStart(d)
		return r.dayOf(time.Date(t.Year(), t.Month()+1, 1, 12, 0, 0, 0, r.loc))
	}
	return d + 1
}
