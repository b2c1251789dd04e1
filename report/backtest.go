package report

import (
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// BacktestItem is one stored event to replay, with the outcome staff
// recorded on its decision, if any.
type BacktestItem struct {
	Event   *guard.Event
	Outcome guard.OutcomeKind
}

// BacktestConfig says what to compare: the active ruleset against a draft,
// each on a fresh engine with the same lists and model.
type BacktestConfig struct {
	Active, Draft *guard.Ruleset
	Lists         *guard.ListIndex
	Scorer        guard.Scorer
	// MaxChanged bounds the changed decisions listed (default 100).
	MaxChanged int
}

// BacktestSide is what one ruleset did on the replayed events.
type BacktestSide struct {
	// Actions counts decisions by ladder step.
	Actions       map[string]int64 `json:"actions"`
	Interventions int64            `json:"interventions"`
	MoneyStopped  Yuan             `json:"money_stopped"`
	// Fraud: events whose decision staff confirmed as a scam attempt
	// (confirmed_fraud, customer_dissuaded, customer_proceeded); how many
	// of them this ruleset warned (remind or more) and stopped (cooling_off
	// or more). FalseAlarms: events recorded as false alarms, and how many
	// this ruleset still met with friction or more.
	FraudWarned        int64       `json:"fraud_warned"`
	FraudStopped       int64       `json:"fraud_stopped"`
	FalseAlarmsFlagged int64       `json:"false_alarms_flagged"`
	Rules              []RuleCount `json:"rules"`
}

// RuleCount is how often one rule fired (or would have, in shadow mode).
type RuleCount struct {
	Rule   string `json:"rule"`
	Hits   int64  `json:"hits"`
	Shadow bool   `json:"shadow,omitempty"`
}

// Changed is one event the two rulesets decided differently.
type Changed struct {
	EventID        string            `json:"event_id"`
	CustomerID     string            `json:"customer_id"`
	EventType      guard.EventType   `json:"event_type"`
	OccurredAt     time.Time         `json:"occurred_at"`
	Amount         Yuan              `json:"amount"`
	Outcome        guard.OutcomeKind `json:"outcome,omitempty"`
	ActiveAction   guard.Action      `json:"active_action"`
	DraftAction    guard.Action      `json:"draft_action"`
	ActiveTypology string            `json:"active_typology,omitempty"`
	DraftTypology  string            `json:"draft_typology,omitempty"`
	DraftRules     []string          `json:"draft_rules,omitempty"`
}

// BacktestResult compares the active ruleset with a draft on the same
// recent history.
type BacktestResult struct {
	Events int       `json:"events"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Fraud and FalseAlarms are the labelled events among them.
	Fraud       int64        `json:"fraud_labelled"`
	FalseAlarms int64        `json:"false_alarms_labelled"`
	Active      BacktestSide `json:"active"`
	Draft       BacktestSide `json:"draft"`
	// ChangedCount is the events decided differently: Stronger got a
	// higher ladder step from the draft, Weaker a lower one. Changed lists
	// the first MaxChanged of them.
	ChangedCount int64     `json:"changed_count"`
	Stronger     int64     `json:"stronger"`
	Weaker       int64     `json:"weaker"`
	Changed      []Changed `json:"changed"`
	Seconds      float64   `json:"seconds"`
}

// fraudOutcome reports whether an outcome says the event was a scam attempt.
func fraudOutcome(k guard.OutcomeKind) bool {
	return k == guard.OutcomeConfirmedFraud || k == guard.OutcomeDissuaded || k == guard.OutcomeProceeded
}

type side struct {
	eng   *guard.Engine
	out   BacktestSide
	hits  map[string]int64
	shdw  map[string]bool
	order []string
}

func newSide(rs *guard.Ruleset, cfg *BacktestConfig) *side {
	e := guard.NewEngine(rs)
	if cfg.Lists != nil {
		e.SetLists(cfg.Lists)
	}
	if cfg.Scorer != nil {
		e.SetScorer(cfg.Scorer)
	}
	s := &side{eng: e, hits: map[string]int64{}, shdw: map[string]bool{}, out: BacktestSide{Actions: map[string]int64{}}}
	for _, p := range rs.Packs {
		for _, r := range p.Rules {
			s.order = append(s.order, r.ID)
			s.hits[r.ID] = 0
			s.shdw[r.ID] = r.Mode == guard.ModeShadow
		}
	}
	return s
}

func (s *side) decide(it *BacktestItem) *guard.Decision {
	d := s.eng.Decide(it.Event)
	o := &s.out
	o.Actions[d.Action.String()]++
	if d.Action >= guard.Remind {
		o.Interventions++
	}
	if d.Action >= guard.CoolingOff {
		o.MoneyStopped += Yuan(it.Event.Amount)
	}
	switch {
	case fraudOutcome(it.Outcome):
		if d.Action >= guard.Remind {
			o.FraudWarned++
		}
		if d.Action >= guard.CoolingOff {
			o.FraudStopped++
		}
	case it.Outcome == guard.OutcomeFalseAlarm && d.Action >= guard.Friction:
		o.FalseAlarmsFlagged++
	}
	for i := range d.Reasons {
		s.hits[d.Reasons[i].Rule]++
	}
	for i := range d.Shadow {
		s.hits[d.Shadow[i].Rule]++
	}
	return d
}

func (s *side) finish() BacktestSide {
	for _, id := range s.order {
		s.out.Rules = append(s.out.Rules, RuleCount{Rule: id, Hits: s.hits[id], Shadow: s.shdw[id]})
	}
	slices.SortStableFunc(s.out.Rules, func(a, b RuleCount) int { return int(b.Hits - a.Hits) })
	return s.out
}

// Backtest replays items, in order, through a fresh engine with the active
// ruleset and one with the draft, and compares what they decided. Both
// start from empty feature state at the first item, so the features of
// the first days of the window see less history than the live service
// did; the comparison between the two is like for like.
func Backtest(items []BacktestItem, cfg BacktestConfig) (*BacktestResult, error) {
	if cfg.Active == nil || cfg.Draft == nil {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "backtest: both rulesets are required")
	}
	if cfg.MaxChanged <= 0 {
		cfg.MaxChanged = 100
	}
	began := time.Now()
	a, d := newSide(cfg.Active, &cfg), newSide(cfg.Draft, &cfg)
	res := &BacktestResult{Events: len(items), Changed: []Changed{}}
	for i := range items {
		it := &items[i]
		ev := it.Event
		if i == 0 || ev.OccurredAt.Before(res.From) {
			res.From = ev.OccurredAt
		}
		if ev.OccurredAt.After(res.To) {
			res.To = ev.OccurredAt
		}
		switch {
		case fraudOutcome(it.Outcome):
			res.Fraud++
		case it.Outcome == guard.OutcomeFalseAlarm:
			res.FalseAlarms++
		}
		da, dd := a.decide(it), d.decide(it)
		if da.Action == dd.Action && da.Typology == dd.Typology {
			continue
		}
		res.ChangedCount++
		switch {
		case dd.Action > da.Action:
			res.Stronger++
		case dd.Action < da.Action:
			res.Weaker++
		}
		if len(res.Changed) < cfg.MaxChanged {
			c := Changed{EventID: ev.ID, CustomerID: ev.Customer.ID, EventType: ev.Type, OccurredAt: ev.OccurredAt,
				Amount: Yuan(ev.Amount), Outcome: it.Outcome, ActiveAction: da.Action, DraftAction: dd.Action,
				ActiveTypology: da.Typology, DraftTypology: dd.Typology}
			for _, r := range dd.Reasons {
				c.DraftRules = append(c.DraftRules, r.Rule)
			}
			res.Changed = append(res.Changed, c)
		}
	}
	res.Active, res.Draft = a.finish(), d.finish()
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}
