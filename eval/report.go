package eval

import (
	"math"
	"slices"
	"sort"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Result is the evaluation of one or more pack sets on one history. Its
// JSON is what `xiaobao eval --json` writes; the field names are stable
// (see the package documentation).
type Result struct {
	History History   `json:"history"`
	Runs    []*Report `json:"runs"`
	// Deltas is the second run minus the first, when there are two.
	Deltas *Deltas `json:"deltas,omitempty"`
	// Timing depends on the machine; everything else on the inputs alone.
	Timing *Timing `json:"timing,omitempty"`
}

// History describes the replayed history.
type History struct {
	Source              string   `json:"source"`
	Sim                 *SimInfo `json:"sim,omitempty"`
	Events              int64    `json:"events"`
	From                string   `json:"from"`
	To                  string   `json:"to"`
	OutOfOrder          int64    `json:"out_of_order"`
	Customers           int      `json:"customers"`
	LegitimateCustomers int      `json:"legitimate_customers"`
	ScamCases           int      `json:"scam_cases"`
	// LabelDelayHours is -1 when no outcomes were fed.
	LabelDelayHours float64 `json:"label_delay_hours"`
}

// SimInfo is the simulator configuration of an in-process history.
type SimInfo struct {
	Seed          uint64  `json:"seed"`
	Customers     int     `json:"customers"`
	Days          int     `json:"days"`
	Start         string  `json:"start"`
	ScamRate      float64 `json:"scam_rate"`
	LookalikeRate float64 `json:"lookalike_rate"`
	QuietDays     int     `json:"quiet_days"`
}

// Timing is how long the replay took.
type Timing struct {
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
}

// Report is one pack set's evaluation.
type Report struct {
	Name       string      `json:"name"`
	Packs      []PackInfo  `json:"packs"`
	Overall    Detection   `json:"overall"`
	Typologies []Detection `json:"typologies"`
	Legitimate Legitimate  `json:"legitimate"`
	Lookalikes []Lookalike `json:"lookalikes"`
	Dissuasion Dissuasion  `json:"dissuasion"`
	Score      Score       `json:"score"`
	Outcomes   Outcomes    `json:"outcomes_fed"`
	Rules      []RuleStats `json:"rules"`
}

// PackInfo names a pack of the set.
type PackInfo struct {
	Pack        string `json:"pack"`
	Rules       int    `json:"rules"`
	ShadowRules int    `json:"shadow_rules"`
}

// Counts are how many met each ladder step or a stronger one.
type Counts struct {
	Remind     int64 `json:"remind"`
	Friction   int64 `json:"friction"`
	CoolingOff int64 `json:"cooling_off"`
	Hold       int64 `json:"hold"`
	Block      int64 `json:"block"`
}

// Steps are shares (0–1) that met each ladder step or a stronger one.
type Steps struct {
	Remind     float64 `json:"remind"`
	Friction   float64 `json:"friction"`
	CoolingOff float64 `json:"cooling_off"`
	Hold       float64 `json:"hold"`
	Block      float64 `json:"block"`
}

func (l *ladder) counts() Counts {
	return Counts{l[guard.Remind], l[guard.Friction], l[guard.CoolingOff], l[guard.Hold], l[guard.Block]}
}

func (l *ladder) shares() Steps {
	return Steps{share(l[guard.Remind], l[0]), share(l[guard.Friction], l[0]), share(l[guard.CoolingOff], l[0]),
		share(l[guard.Hold], l[0]), share(l[guard.Block], l[0])}
}

// At returns the share at step a (remind to block).
func (s Steps) At(a guard.Action) float64 {
	switch a {
	case guard.Remind:
		return s.Remind
	case guard.Friction:
		return s.Friction
	case guard.CoolingOff:
		return s.CoolingOff
	case guard.Hold:
		return s.Hold
	case guard.Block:
		return s.Block
	}
	return 0
}

// stepsDelta is b's shares minus a's, from the counts: the difference of
// the rounded shares would be off in the last digit.
func stepsDelta(a Counts, na int64, b Counts, nb int64) Steps {
	d := func(x, y int64) float64 {
		var fx, fy float64
		if na > 0 {
			fx = float64(x) / float64(na)
		}
		if nb > 0 {
			fy = float64(y) / float64(nb)
		}
		return roundTo(fy-fx, 6)
	}
	return Steps{d(a.Remind, b.Remind), d(a.Friction, b.Friction), d(a.CoolingOff, b.CoolingOff), d(a.Hold, b.Hold), d(a.Block, b.Block)}
}

// Detection is how a pack set did on the scam cases of one typology (or
// all of them, in Report.Overall).
type Detection struct {
	Typology string `json:"typology"`
	// Cases are customers in a scheme; CasesMet counts the cases whose
	// events met each step at least once.
	Cases         int64  `json:"cases"`
	CasesMet      Counts `json:"cases_met"`
	CaseDetection Steps  `json:"case_detection"`
	// Payments are the scheme's outflows with money at risk (retries and
	// mule cash-outs included), each counted on its own.
	Payments         int64  `json:"payments"`
	PaymentsMet      Counts `json:"payments_met"`
	PaymentDetection Steps  `json:"payment_detection"`
	// Money, in yuan as decimal strings. AtRisk = Avoided + Lost.
	CasesWithMoney int64   `json:"cases_with_money"`
	AtRisk         string  `json:"at_risk"`
	Avoided        string  `json:"avoided"`
	Lost           string  `json:"lost"`
	AvoidedShare   float64 `json:"avoided_share"`
	// CasesWithLoss lost some money; WarnedBeforeLoss of them met remind or
	// more at or before the first loss, LeadHoursMedian ahead of it (null
	// when none was). LostAfterWarning is the money that went through after
	// the case's first intervention.
	CasesWithLoss    int64    `json:"cases_with_loss"`
	WarnedBeforeLoss int64    `json:"warned_before_loss"`
	LeadHoursMedian  *float64 `json:"lead_hours_median"`
	LostAfterWarning string   `json:"lost_after_warning"`
	Holds            int64    `json:"holds"`
	Blocks           int64    `json:"blocks"`
}

// Legitimate is what a pack set cost customers who were in no scheme.
type Legitimate struct {
	// Customers who appear in no scam event, and the share of them who met
	// each step at least once.
	Customers    int64  `json:"customers"`
	CustomersMet Counts `json:"customers_met"`
	CustomerRate Steps  `json:"customer_rate"`
	// Every legitimate event (victims' own ordinary events included), and
	// the legitimate outflows among them.
	Events      int64  `json:"events"`
	EventsMet   Counts `json:"events_met"`
	EventRate   Steps  `json:"event_rate"`
	Outflows    int64  `json:"outflows"`
	OutflowsMet Counts `json:"outflows_met"`
	OutflowRate Steps  `json:"outflow_rate"`
}

// Lookalike is how one kind of legitimate look-alike fared.
type Lookalike struct {
	Kind   string `json:"kind"`
	Events int64  `json:"events"`
	Met    Counts `json:"met"`
	Rate   Steps  `json:"rate"`
}

// Dissuasion is the staff load of holds: each hold is a call.
type Dissuasion struct {
	Holds           int64 `json:"holds"`
	HoldsLegitimate int64 `json:"holds_legitimate"`
	HoldsScam       int64 `json:"holds_scam"`
	// CasesHeld are scam cases with at least one hold: the scams a call
	// confirmed. HoldsPerConfirmedScam = Holds / CasesHeld.
	CasesHeld             int64   `json:"cases_held"`
	HoldsPerConfirmedScam float64 `json:"holds_per_confirmed_scam"`
}

// Score is the quality of the decision score on events with an amount,
// scam events being the positives.
type Score struct {
	Events           int64   `json:"events"`
	Positives        int64   `json:"positives"`
	AUC              float64 `json:"auc"`
	AveragePrecision float64 `json:"average_precision"`
}

// Outcomes counts the outcomes fed to Guard during the replay.
type Outcomes struct {
	ConfirmedFraud int64 `json:"confirmed_fraud"`
	FalseAlarm     int64 `json:"false_alarm"`
}

// RuleStats counts the events a rule fired on.
type RuleStats struct {
	Rule        string `json:"rule"`
	Pack        string `json:"pack"`
	Mode        string `json:"mode"`
	Typology    string `json:"typology"`
	Action      string `json:"action"`
	Fired       int64  `json:"fired"`
	ScamEvents  int64  `json:"scam_events"`
	LegitEvents int64  `json:"legit_events"`
}

// Deltas are the headline figures of the second run minus the first.
type Deltas struct {
	A                     string  `json:"a"`
	B                     string  `json:"b"`
	CaseDetection         Steps   `json:"case_detection"`
	PaymentDetection      Steps   `json:"payment_detection"`
	LegitCustomerRate     Steps   `json:"legit_customer_rate"`
	Avoided               string  `json:"avoided"`
	Lost                  string  `json:"lost"`
	AvoidedShare          float64 `json:"avoided_share"`
	HoldsPerConfirmedScam float64 `json:"holds_per_confirmed_scam"`
	AUC                   float64 `json:"auc"`
	AveragePrecision      float64 `json:"average_precision"`
}

func share(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return roundTo(float64(n)/float64(d), 6)
}

func roundTo(f float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(f*p) / p
}

// detAcc accumulates the figures of one typology (or all).
type detAcc struct {
	cases, payments                   ladder
	withMoney, withLoss, warned       int64
	atRisk, avoided, lost, lostWarned xiaobao.Money
	leads                             []float64
	holds, blocks                     int64
}

func (d *detAcc) addCase(c *caseState) {
	c.close()
	d.cases.add(c.max)
	if c.hasMoney {
		d.withMoney++
	}
	d.atRisk += c.atRisk
	d.avoided += c.avoided
	d.lost += c.lost
	d.lostWarned += c.lostWarned
	if c.lost1 {
		d.withLoss++
		if c.warned && c.warnedAt <= c.lossAt {
			d.warned++
			d.leads = append(d.leads, float64(c.lossAt-c.warnedAt)/3600)
		}
	}
}

func (d *detAcc) detection(name string) Detection {
	out := Detection{
		Typology: name,
		Cases:    d.cases[0], CasesMet: d.cases.counts(), CaseDetection: d.cases.shares(),
		Payments: d.payments[0], PaymentsMet: d.payments.counts(), PaymentDetection: d.payments.shares(),
		CasesWithMoney: d.withMoney,
		AtRisk:         d.atRisk.String(), Avoided: d.avoided.String(), Lost: d.lost.String(),
		AvoidedShare:     share(int64(d.avoided), int64(d.atRisk)),
		CasesWithLoss:    d.withLoss,
		WarnedBeforeLoss: d.warned,
		LostAfterWarning: d.lostWarned.String(),
		Holds:            d.holds, Blocks: d.blocks,
	}
	if len(d.leads) > 0 {
		m := roundTo(median(d.leads), 2)
		out.LeadHoursMedian = &m
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// report settles the run's figures once the history is over.
func (r *run) report(h *history) *Report {
	rep := &Report{Name: r.spec.Name, Lookalikes: []Lookalike{}, Typologies: []Detection{}, Rules: []RuleStats{}}
	for _, p := range r.spec.Ruleset.Packs {
		pi := PackInfo{Pack: p.Spec.Pack, Rules: len(p.Rules)}
		for _, rule := range p.Rules {
			if rule.Mode == guard.ModeShadow {
				pi.ShadowRules++
			}
		}
		rep.Packs = append(rep.Packs, pi)
	}

	accs := make([]detAcc, len(h.typNames))
	var all detAcc
	casesHeld := int64(0)
	for i := range r.cases {
		c := &r.cases[i]
		if c.typ < 0 {
			continue
		}
		accs[c.typ].addCase(c)
		all.addCase(c)
		if c.held {
			casesHeld++
		}
	}
	for i := range r.typ {
		accs[i].payments = r.typ[i].payments
		accs[i].holds, accs[i].blocks = r.typ[i].holds, r.typ[i].blocks
		for s := range all.payments {
			all.payments[s] += r.typ[i].payments[s]
		}
		all.holds += r.typ[i].holds
		all.blocks += r.typ[i].blocks
	}
	order := make([]int, len(h.typNames))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return h.typNames[order[a]] < h.typNames[order[b]] })
	for _, i := range order {
		rep.Typologies = append(rep.Typologies, accs[i].detection(h.typNames[i]))
	}
	rep.Overall = all.detection("all")

	var cust ladder
	for i, scam := range h.custScam {
		if scam {
			continue
		}
		a := guard.Allow
		if i < len(r.custMax) {
			a = r.custMax[i]
		}
		cust.add(a)
	}
	rep.Legitimate = Legitimate{
		Customers: cust[0], CustomersMet: cust.counts(), CustomerRate: cust.shares(),
		Events: r.legit[0], EventsMet: r.legit.counts(), EventRate: r.legit.shares(),
		Outflows: r.legitPm[0], OutflowsMet: r.legitPm.counts(), OutflowRate: r.legitPm.shares(),
	}
	lorder := make([]int, len(h.looks))
	for i := range lorder {
		lorder[i] = i
	}
	sort.Slice(lorder, func(a, b int) bool { return h.looks[lorder[a]] < h.looks[lorder[b]] })
	for _, i := range lorder {
		var l ladder
		if i < len(r.look) {
			l = r.look[i]
		}
		rep.Lookalikes = append(rep.Lookalikes, Lookalike{Kind: h.looks[i], Events: l[0], Met: l.counts(), Rate: l.shares()})
	}

	holds := r.holds[0] + r.holds[1]
	rep.Dissuasion = Dissuasion{Holds: holds, HoldsLegitimate: r.holds[0], HoldsScam: r.holds[1], CasesHeld: casesHeld}
	if casesHeld > 0 {
		rep.Dissuasion.HoldsPerConfirmedScam = roundTo(float64(holds)/float64(casesHeld), 3)
	}

	pts := make([]scorePoint, 0, len(r.scores))
	for s, c := range r.scores {
		pts = append(pts, scorePoint{score: s, neg: c[0], pos: c[1]})
	}
	auc, ap, n, pos := rankQuality(pts)
	rep.Score = Score{Events: n, Positives: pos, AUC: roundTo(auc, 6), AveragePrecision: roundTo(ap, 6)}
	rep.Outcomes = Outcomes{ConfirmedFraud: r.fed[0], FalseAlarm: r.fed[1]}

	for _, ra := range r.rules {
		rep.Rules = append(rep.Rules, RuleStats{
			Rule: ra.rule.ID, Pack: ra.rule.Pack, Mode: ra.rule.Mode, Typology: ra.rule.Typology,
			Action: ra.rule.MinAction().String(),
			Fired:  ra.scam + ra.legit, ScamEvents: ra.scam, LegitEvents: ra.legit,
		})
	}
	return rep
}

func deltas(a, b *Report) *Deltas {
	ma, _ := xiaobao.ParseMoney(a.Overall.Avoided)
	mb, _ := xiaobao.ParseMoney(b.Overall.Avoided)
	la, _ := xiaobao.ParseMoney(a.Overall.Lost)
	lb, _ := xiaobao.ParseMoney(b.Overall.Lost)
	return &Deltas{
		A: a.Name, B: b.Name,
		CaseDetection:         stepsDelta(a.Overall.CasesMet, a.Overall.Cases, b.Overall.CasesMet, b.Overall.Cases),
		PaymentDetection:      stepsDelta(a.Overall.PaymentsMet, a.Overall.Payments, b.Overall.PaymentsMet, b.Overall.Payments),
		LegitCustomerRate:     stepsDelta(a.Legitimate.CustomersMet, a.Legitimate.Customers, b.Legitimate.CustomersMet, b.Legitimate.Customers),
		Avoided:               (mb - ma).String(),
		Lost:                  (lb - la).String(),
		AvoidedShare:          roundTo(b.Overall.AvoidedShare-a.Overall.AvoidedShare, 6),
		HoldsPerConfirmedScam: roundTo(b.Dissuasion.HoldsPerConfirmedScam-a.Dissuasion.HoldsPerConfirmedScam, 3),
		AUC:                   roundTo(b.Score.AUC-a.Score.AUC, 6),
		AveragePrecision:      roundTo(b.Score.AveragePrecision-a.Score.AveragePrecision, 6),
	}
}
