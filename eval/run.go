package eval

import (
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// pendingOutcome is an outcome waiting for its delay to pass.
type pendingOutcome struct {
	due  int64
	kind guard.OutcomeKind
	sub  guard.LabelSubject
}

// outcomeHeap orders pending outcomes by due time. It is written out
// rather than built on container/heap, whose interface boxes every pushed
// value: an allocation per outcome.
type outcomeHeap []pendingOutcome

func (h *outcomeHeap) push(o pendingOutcome) {
	*h = append(*h, o)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].due <= s[i].due {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *outcomeHeap) pop() pendingOutcome {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = pendingOutcome{}
	s = s[:last]
	*h = s
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].due < s[l].due {
			m = r
		}
		if s[i].due <= s[m].due {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}

// ladder counts, for each step from remind up, how many met it or a
// stronger one; index 0 is the total.
type ladder [guard.Block + 1]int64

func (l *ladder) add(a guard.Action) {
	l[0]++
	for s := guard.Remind; s <= a; s++ {
		l[s]++
	}
}

// caseState is one scam case (one customer in one scheme) as a run saw it.
type caseState struct {
	typ       int16
	max       guard.Action
	warned    bool  // met remind or more
	warnedAt  int64 // first time it did
	lost1     bool  // some money went through
	lossAt    int64 // the first time it did
	held      bool
	hasMoney  bool
	chainOpen bool
	chainLost bool
	chainAt   int64 // when the open chain's money went through
	chainAmt  xiaobao.Money

	atRisk, avoided, lost, lostWarned xiaobao.Money
}

// close settles the open payment chain: its money is avoided when every
// attempt in it was stopped, lost when any went through.
func (c *caseState) close() {
	if !c.chainOpen {
		return
	}
	c.chainOpen = false
	c.atRisk += c.chainAmt
	if !c.chainLost {
		c.avoided += c.chainAmt
		return
	}
	c.lost += c.chainAmt
	if c.warned && c.warnedAt <= c.chainAt {
		c.lostWarned += c.chainAmt
	}
}

type typAcc struct {
	payments ladder // scam outflows with money at risk
	holds    int64
	blocks   int64
}

type ruleAcc struct {
	rule  *guard.Rule
	scam  int64
	legit int64
}

// run is one pack set replaying the history, with its metrics.
type run struct {
	spec  RunSpec
	eng   *guard.Engine
	delay int64 // seconds; < 0 feeds no outcomes
	pend  outcomeHeap

	cases   []caseState
	custMax []guard.Action // strongest step each customer met
	typ     []typAcc
	look    []ladder
	legit   ladder // legitimate events
	legitPm ladder // legitimate outflows
	holds   [2]int64
	fed     [2]int64 // outcomes fed: confirmed fraud, false alarm

	scores  map[float64]*[2]int64 // score → legitimate, scam money events
	ruleIdx map[string]int
	rules   []ruleAcc
}

func newRun(spec RunSpec, delay time.Duration) *run {
	e := guard.NewEngine(spec.Ruleset)
	if spec.Scorer != nil {
		e.SetScorer(spec.Scorer)
	}
	r := &run{spec: spec, eng: e, delay: int64(delay / time.Second), scores: map[float64]*[2]int64{}, ruleIdx: map[string]int{}}
	if delay < 0 {
		r.delay = -1
	}
	for _, p := range spec.Ruleset.Packs {
		for _, rule := range p.Rules {
			r.ruleIdx[rule.ID] = len(r.rules)
			r.rules = append(r.rules, ruleAcc{rule: rule})
		}
	}
	return r
}

func (r *run) replay(b *batch) {
	for i, ev := range b.evs {
		r.step(ev, &b.tr[i])
	}
}

// step decides one event exactly as the service would, after feeding every
// outcome that has become due, and accounts for the decision.
func (r *run) step(ev *guard.Event, t *truth) {
	st := r.eng.State()
	for len(r.pend) > 0 && r.pend[0].due <= t.at {
		o := r.pend.pop()
		st.Label(o.sub, o.kind, +1)
	}
	d := r.eng.Decide(ev)
	a := d.Action
	scam := t.flags&fScam != 0
	for i := range d.Reasons {
		r.hit(d.Reasons[i].Rule, scam)
	}
	for i := range d.Shadow {
		r.hit(d.Shadow[i].Rule, scam)
	}
	if t.flags&fMoney != 0 {
		c := r.scores[d.Score]
		if c == nil {
			c = new([2]int64)
			r.scores[d.Score] = c
		}
		if scam {
			c[1]++
		} else {
			c[0]++
		}
	}
	if int(t.cust) >= len(r.custMax) {
		r.custMax = append(r.custMax, make([]guard.Action, int(t.cust)+1-len(r.custMax)+1024)...)
	}
	r.custMax[t.cust] = max(r.custMax[t.cust], a)

	var kind guard.OutcomeKind
	if scam {
		r.scamStep(t, a)
		if t.atRisk > 0 || a >= guard.Friction {
			kind = guard.OutcomeConfirmedFraud
		}
	} else {
		r.legit.add(a)
		if ev.Type.Outflow() {
			r.legitPm.add(a)
		}
		if t.look >= 0 {
			for int(t.look) >= len(r.look) {
				r.look = append(r.look, ladder{})
			}
			r.look[t.look].add(a)
		}
		if a == guard.Hold {
			r.holds[0]++
		}
		if a >= guard.Friction {
			kind = guard.OutcomeFalseAlarm
		}
	}
	if kind != "" && r.delay >= 0 {
		// The subject is what Service.RecordOutcome derives from the
		// stored decision and its event.
		r.pend.push(pendingOutcome{due: t.at + r.delay, kind: kind, sub: guard.LabelSubject{
			CustomerID: d.CustomerID, Account: ev.Counterparty.Account, DeviceID: ev.Device.ID, At: d.OccurredAt.Unix()}})
		if kind == guard.OutcomeConfirmedFraud {
			r.fed[0]++
		} else {
			r.fed[1]++
		}
	}
}

func (r *run) hit(rule string, scam bool) {
	i, ok := r.ruleIdx[rule]
	if !ok {
		return
	}
	if scam {
		r.rules[i].scam++
	} else {
		r.rules[i].legit++
	}
}

func (r *run) scamStep(t *truth, a guard.Action) {
	for int(t.kase) >= len(r.cases) {
		r.cases = append(r.cases, caseState{typ: -1})
	}
	for int(t.typ) >= len(r.typ) {
		r.typ = append(r.typ, typAcc{})
	}
	c := &r.cases[t.kase]
	c.typ = t.typ
	c.max = max(c.max, a)
	ta := &r.typ[t.typ]
	switch a {
	case guard.Hold:
		c.held = true
		ta.holds++
		r.holds[1]++
	case guard.Block:
		ta.blocks++
	}
	if a >= guard.Remind && !c.warned {
		c.warned, c.warnedAt = true, t.at
	}
	if t.flags&fPayment != 0 {
		ta.payments.add(a)
	}
	if t.flags&fPaying == 0 {
		return
	}
	c.hasMoney = true
	through := a < guard.CoolingOff
	if t.flags&fRetry != 0 && c.chainOpen && c.chainAmt == t.atRisk {
		if through && !c.chainLost {
			c.chainLost, c.chainAt = true, t.at
		}
	} else {
		c.close()
		c.chainOpen, c.chainAmt, c.chainLost, c.chainAt = true, t.atRisk, through, t.at
	}
	if through && !c.lost1 {
		c.lost1, c.lossAt = true, t.at
	}
}
