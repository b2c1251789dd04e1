package eval

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var cst = time.FixedZone("CST", 8*3600)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, cst)

// ev is one hand-made event with its ground truth.
type ev struct {
	at       time.Duration // after t0
	customer string
	typ      string
	amount   string // "" for none
	payee    string
	memo     string
	scam     string // "" for legitimate
	typology string
	role     string
	stage    string
	atRisk   string
}

func handItems(t testing.TB, evs []ev) []Item {
	t.Helper()
	items := make([]Item, len(evs))
	for i, e := range evs {
		doc := fmt.Sprintf(`{"event_id":"e%d","type":%q,"occurred_at":%q,"customer":{"id":%q,"age":35}`,
			i+1, e.typ, t0.Add(e.at).Format(time.RFC3339), e.customer)
		if e.amount != "" {
			doc += fmt.Sprintf(`,"amount":%q,"currency":"CNY"`, e.amount)
		}
		if e.payee != "" {
			doc += fmt.Sprintf(`,"counterparty":{"account":%q}`, e.payee)
		}
		if e.memo != "" {
			doc += fmt.Sprintf(`,"memo":%q`, e.memo)
		}
		doc += "}"
		g, err := guard.DecodeEvent([]byte(doc))
		if err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
		l := sim.Label{EventID: g.ID, ScamID: e.scam, Typology: e.typology, Role: e.role, Stage: e.stage, AtRisk: e.atRisk}
		if l.Role == "" {
			l.Role = sim.RoleNormal
			if e.scam != "" {
				l.Role = sim.RoleVictim
			}
		}
		if l.AtRisk == "" {
			l.AtRisk = "0.00"
		}
		items[i] = Item{Event: g, Label: l}
	}
	return items
}

func ruleset(t testing.TB, yamls ...string) *guard.Ruleset {
	t.Helper()
	var packs []*guard.Pack
	for _, y := range yamls {
		p, err := guard.ParsePack([]byte(y))
		if err != nil {
			t.Fatalf("pack: %v", err)
		}
		packs = append(packs, p)
	}
	rs, err := guard.NewRuleset(packs...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// handPack has no typologies, so the ladder only climbs on retries to the
// same payee, which the hand history keeps out of the figures' way.
const handPack = `
pack: hand
description: {zh: 测试, en: test}
rules:
  - {id: BIG, name: {zh: 大额, en: big}, description: {zh: 大额, en: big}, nodes: [transfer], when: 'event.amount >= 10000', score: 0.3, action: hold, code: BIG}
  - {id: MID, name: {zh: 中额, en: mid}, description: {zh: 中额, en: mid}, nodes: [transfer], when: 'event.amount >= 1000 && event.amount < 10000', score: 0.1, action: remind, code: MID}
  - {id: FRICT, name: {zh: 退款, en: refund}, description: {zh: 退款, en: refund}, nodes: [transfer], when: 'memo.refund', score: 0.2, action: friction, code: FRICT}
  - {id: SHADOW500, name: {zh: 影子, en: shadow}, description: {zh: 影子, en: shadow}, nodes: [transfer], when: 'event.amount >= 500', score: 0.5, action: friction, code: SH, mode: shadow}
`

// handHistory: three legitimate customers (L1–L3) and three victims: V1 of
// a police scam whose transfer and its retry are both held, V2 of a refund
// scam who pays a test transfer (no rule) and then one that meets friction,
// V3 of another refund scam whose transfer meets nothing.
func handHistory(t testing.TB) []Item {
	return handItems(t, []ev{
		{at: 0, customer: "L1", typ: "transfer", amount: "100.00", payee: "6222000000000001"},
		{at: 1 * time.Minute, customer: "V1", typ: "login", scam: "S1", typology: "impersonated_police", stage: "contact"},
		{at: 2 * time.Minute, customer: "V1", typ: "transfer", amount: "20000.00", payee: "6222000000000099", scam: "S1", typology: "impersonated_police", stage: "transfer", atRisk: "20000.00"},
		{at: 5 * time.Minute, customer: "V1", typ: "transfer", amount: "20000.00", payee: "6222000000000099", scam: "S1", typology: "impersonated_police", stage: "retry", atRisk: "20000.00"},
		{at: 6 * time.Minute, customer: "L2", typ: "transfer", amount: "3000.00", payee: "6222000000000002"},
		{at: 10 * time.Minute, customer: "V2", typ: "transfer", amount: "5.00", payee: "6222000000000098", scam: "S2", typology: "refund_scam", stage: "test", atRisk: "5.00"},
		{at: 20 * time.Minute, customer: "V2", typ: "transfer", amount: "2000.00", payee: "6222000000000098", memo: "快递退款", scam: "S2", typology: "refund_scam", stage: "transfer", atRisk: "2000.00"},
		{at: 30 * time.Minute, customer: "L3", typ: "transfer", amount: "12000.00", payee: "6222000000000003", role: sim.RoleLookalike, stage: "house_deposit"},
		{at: 40 * time.Minute, customer: "V3", typ: "transfer", amount: "800.00", payee: "6222000000000097", scam: "S3", typology: "refund_scam", stage: "transfer", atRisk: "800.00"},
		{at: 60 * time.Minute, customer: "L1", typ: "payment", amount: "600.00", payee: "T000000000001"},
	})
}

func runHand(t testing.TB) *Result {
	t.Helper()
	res, err := Run(context.Background(), SliceSource(handHistory(t)), Config{
		Runs: []RunSpec{{Name: "hand", Ruleset: ruleset(t, handPack)}}, LabelDelay: DefaultLabelDelay, Source: "hand-made"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func findTypology(t *testing.T, r *Report, name string) Detection {
	t.Helper()
	for _, d := range r.Typologies {
		if d.Typology == name {
			return d
		}
	}
	t.Fatalf("no typology %q in %+v", name, r.Typologies)
	return Detection{}
}

// TestHandHistory checks every figure against the hand computation in the
// comments.
func TestHandHistory(t *testing.T) {
	res := runHand(t)
	r := res.Runs[0]
	police := findTypology(t, r, "impersonated_police")
	refund := findTypology(t, r, "refund_scam")
	lead := func(d Detection) float64 {
		if d.LeadHoursMedian == nil {
			return -1
		}
		return *d.LeadHoursMedian
	}
	rule := func(id string) RuleStats {
		for _, rs := range r.Rules {
			if rs.Rule == id {
				return rs
			}
		}
		t.Fatalf("no rule %s", id)
		return RuleStats{}
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"history events", res.History.Events, int64(10)},
		{"customers", res.History.Customers, 6},
		{"legitimate customers", res.History.LegitimateCustomers, 3},
		{"scam cases", res.History.ScamCases, 3},
		// Case maxima: V1 hold, V2 friction, V3 allow.
		{"cases", r.Overall.Cases, int64(3)},
		{"cases met", r.Overall.CasesMet, Counts{Remind: 2, Friction: 2, CoolingOff: 1, Hold: 1, Block: 0}},
		{"case detection remind", r.Overall.CaseDetection.Remind, 0.666667},
		// Payments: hold, hold (V1), allow, friction (V2), allow (V3).
		{"payments", r.Overall.Payments, int64(5)},
		{"payments met", r.Overall.PaymentsMet, Counts{Remind: 3, Friction: 3, CoolingOff: 2, Hold: 2, Block: 0}},
		{"payment detection cooling_off", r.Overall.PaymentDetection.CoolingOff, 0.4},
		// V1's transfer and its retry are one chain of 20,000, both held:
		// avoided once. V2 loses 5 and 2,000 (friction lets it through), V3 800.
		{"at risk", r.Overall.AtRisk, "22805.00"},
		{"avoided", r.Overall.Avoided, "20000.00"},
		{"lost", r.Overall.Lost, "2805.00"},
		{"avoided share", r.Overall.AvoidedShare, 0.877001},
		{"cases with money", r.Overall.CasesWithMoney, int64(3)},
		{"cases with loss", r.Overall.CasesWithLoss, int64(2)},
		// V2's first loss (the test transfer) came before its first
		// intervention; V3 was never warned.
		{"warned before loss", r.Overall.WarnedBeforeLoss, int64(0)},
		{"lead median", lead(r.Overall), -1.0},
		// V2's 2,000 went through on the very decision that warned.
		{"lost after warning", r.Overall.LostAfterWarning, "2000.00"},
		{"police cases met", police.CasesMet, Counts{Remind: 1, Friction: 1, CoolingOff: 1, Hold: 1}},
		{"police avoided", police.Avoided, "20000.00"},
		{"police holds", police.Holds, int64(2)},
		{"refund cases met", refund.CasesMet, Counts{Remind: 1, Friction: 1}},
		{"refund payments", refund.Payments, int64(3)},
		{"refund lost", refund.Lost, "2805.00"},
		{"refund avoided share", refund.AvoidedShare, 0.0},
		// L1 allow, L2 remind, L3 hold.
		{"legit customers met", r.Legitimate.CustomersMet, Counts{Remind: 2, Friction: 1, CoolingOff: 1, Hold: 1}},
		{"legit friction rate", r.Legitimate.CustomerRate.Friction, 0.333333},
		{"legit events", r.Legitimate.Events, int64(4)},
		{"legit outflows", r.Legitimate.Outflows, int64(4)},
		{"legit outflows met", r.Legitimate.OutflowsMet, Counts{Remind: 2, Friction: 1, CoolingOff: 1, Hold: 1}},
		{"lookalikes", r.Lookalikes, []Lookalike{{Kind: "house_deposit", Events: 1,
			Met: Counts{Remind: 1, Friction: 1, CoolingOff: 1, Hold: 1}, Rate: Steps{1, 1, 1, 1, 0}}}},
		// Holds: V1 twice, L3 once; one case held.
		{"dissuasion", r.Dissuasion, Dissuasion{Holds: 3, HoldsLegitimate: 1, HoldsScam: 2, CasesHeld: 1, HoldsPerConfirmedScam: 3}},
		// Scores of events with an amount: scam 0.3, 0.3, 0, 0.28, 0;
		// legitimate 0, 0.1, 0.3, 0. AUC = (3.5+3.5+3+1+1)/20; AP =
		// 0.4·2/3 + 0.2·3/4 + 0.4·5/9.
		{"score", r.Score, Score{Events: 9, Positives: 5, AUC: 0.6, AveragePrecision: 0.638889}},
		{"outcomes", r.Outcomes, Outcomes{ConfirmedFraud: 5, FalseAlarm: 1}},
		{"BIG", rule("BIG"), RuleStats{Rule: "BIG", Pack: "hand", Mode: "active", Action: "hold", Fired: 3, ScamEvents: 2, LegitEvents: 1}},
		{"MID", rule("MID"), RuleStats{Rule: "MID", Pack: "hand", Mode: "active", Action: "remind", Fired: 2, ScamEvents: 1, LegitEvents: 1}},
		{"FRICT", rule("FRICT"), RuleStats{Rule: "FRICT", Pack: "hand", Mode: "active", Action: "friction", Fired: 1, ScamEvents: 1}},
		{"shadow", rule("SHADOW500"), RuleStats{Rule: "SHADOW500", Pack: "hand", Mode: "shadow", Action: "friction", Fired: 6, ScamEvents: 4, LegitEvents: 2}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

// TestLabelDelay checks that an outcome reaches Guard only once its delay
// has passed: a rule on payee.reported must not fire on a payment to the
// reported account before then.
func TestLabelDelay(t *testing.T) {
	const pack = `
pack: reported
description: {zh: 测试, en: test}
rules:
  - {id: REPORTED, name: {zh: 已举报, en: reported}, description: {zh: 已举报, en: reported}, nodes: [transfer], when: 'payee.reported >= 1', score: 0.5, action: block, code: REPORTED}
`
	mule := "6222000000000666"
	items := handItems(t, []ev{
		{at: 0, customer: "V1", typ: "transfer", amount: "3000.00", payee: mule, scam: "M", typology: "mule_account", stage: "collect", atRisk: "3000.00"},
		{at: time.Hour, customer: "V2", typ: "transfer", amount: "3000.00", payee: mule, scam: "M", typology: "mule_account", stage: "collect", atRisk: "3000.00"},
		{at: 47 * time.Hour, customer: "V3", typ: "transfer", amount: "3000.00", payee: mule, scam: "M", typology: "mule_account", stage: "collect", atRisk: "3000.00"},
		{at: 49 * time.Hour, customer: "V4", typ: "transfer", amount: "3000.00", payee: mule, scam: "M", typology: "mule_account", stage: "collect", atRisk: "3000.00"},
	})
	tests := []struct {
		delay   time.Duration
		blocked int64 // of the four payments
		avoided string
	}{
		{48 * time.Hour, 1, "3000.00"}, // only V4's, 49h after V1's was reported
		{0, 3, "9000.00"},              // every one after the first
		{30 * time.Minute, 3, "9000.00"},
		{2 * time.Hour, 2, "6000.00"},
		{-1, 0, "0.00"}, // no outcomes at all
	}
	for _, tt := range tests {
		t.Run(tt.delay.String(), func(t *testing.T) {
			res, err := Run(context.Background(), SliceSource(items), Config{
				Runs: []RunSpec{{Name: "r", Ruleset: ruleset(t, pack)}}, LabelDelay: tt.delay})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Runs[0].Overall
			if o.PaymentsMet.Block != tt.blocked || o.Avoided != tt.avoided {
				t.Errorf("blocked %d payments, avoided %s; want %d and %s", o.PaymentsMet.Block, o.Avoided, tt.blocked, tt.avoided)
			}
			if got := res.Runs[0].Rules[0].Fired; got != tt.blocked {
				t.Errorf("REPORTED fired %d times, want %d", got, tt.blocked)
			}
		})
	}
}

func smallSim(customers, days int) *sim.Sim {
	// QuietDays gives the features some history before the first scheme.
	return sim.New(sim.Config{Seed: 7, Customers: customers, Days: days, ScamRate: 20, Start: time.Date(2026, 3, 1, 0, 0, 0, 0, cst)})
}

func builtin(t testing.TB) *guard.Ruleset {
	return ruleset(t, string(guard.BuiltinPack()))
}

// TestCompareSelf: a pack set compared with itself on the same history
// gives identical reports and zero deltas.
func TestCompareSelf(t *testing.T) {
	rs := builtin(t)
	res, err := Run(context.Background(), SimSource(smallSim(600, 8), 0), Config{
		Runs: []RunSpec{{Name: "A", Ruleset: rs}, {Name: "B", Ruleset: builtin(t)}}, LabelDelay: DefaultLabelDelay})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs[0].Overall.Cases == 0 || res.Runs[0].Overall.CasesMet.Remind == 0 {
		t.Fatalf("the history should hold detected scam cases: %+v", res.Runs[0].Overall)
	}
	want := Deltas{A: "A", B: "B", Avoided: "0.00", Lost: "0.00"}
	if !reflect.DeepEqual(*res.Deltas, want) {
		t.Errorf("deltas = %+v, want all zero", *res.Deltas)
	}
	a, b := *res.Runs[0], *res.Runs[1]
	b.Name = a.Name
	if !reflect.DeepEqual(a, b) {
		t.Error("the two reports differ beyond their names")
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "B − A") || !strings.Contains(buf.String(), "+0.00 pt") {
		t.Errorf("the comparison table lacks its delta column:\n%s", buf.String())
	}
}

// TestBlockEverything: a pack that blocks every event meets every
// legitimate customer with friction (and more), and avoids every loss.
func TestBlockEverything(t *testing.T) {
	const pack = `
pack: wall
description: {zh: 全部拦截, en: block everything}
rules:
  - {id: ALL, name: {zh: 全部, en: all}, description: {zh: 全部, en: all}, nodes: ["*"], when: 'true', score: 1, action: block, code: ALL}
`
	res, err := Run(context.Background(), SimSource(smallSim(300, 5), 0), Config{
		Runs: []RunSpec{{Name: "wall", Ruleset: ruleset(t, pack)}}, LabelDelay: DefaultLabelDelay})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	all := Steps{1, 1, 1, 1, 1}
	for name, got := range map[string]Steps{
		"legitimate customers": r.Legitimate.CustomerRate,
		"legitimate events":    r.Legitimate.EventRate,
		"scam cases":           r.Overall.CaseDetection,
	} {
		if got != all {
			t.Errorf("%s: %+v, want every step at 100%%", name, got)
		}
	}
	if r.Legitimate.Customers == 0 || r.Overall.AtRisk == "0.00" {
		t.Fatalf("the history is too small: %+v", r.Legitimate)
	}
	if r.Overall.Avoided != r.Overall.AtRisk || r.Overall.Lost != "0.00" || r.Overall.AvoidedShare != 1 {
		t.Errorf("avoided %s of %s (lost %s), want all", r.Overall.Avoided, r.Overall.AtRisk, r.Overall.Lost)
	}
	// Every score is 1: nothing separates scam from legitimate.
	if r.Score.AUC != 0.5 {
		t.Errorf("AUC = %v, want 0.5 for one tied score", r.Score.AUC)
	}
}

func TestRankQuality(t *testing.T) {
	pts := func(scores []float64, labels []int) []scorePoint {
		var out []scorePoint
		for i, s := range scores {
			p := scorePoint{score: s}
			if labels[i] == 1 {
				p.pos = 1
			} else {
				p.neg = 1
			}
			out = append(out, p)
		}
		return out
	}
	tests := []struct {
		name    string
		scores  []float64
		labels  []int
		auc, ap float64
	}{
		{"perfect", []float64{0.9, 0.1}, []int{1, 0}, 1, 1},
		{"reversed", []float64{0.1, 0.9}, []int{1, 0}, 0, 0.5},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []int{1, 0, 1, 0}, 0.5, 0.5},
		// scikit-learn's documented example: roc_auc_score 0.75,
		// average_precision_score 0.8333.
		{"sklearn", []float64{0.1, 0.4, 0.35, 0.8}, []int{0, 0, 1, 1}, 0.75, 5.0 / 6},
		// Ties across classes: AUC (2 + 1.5 + 0.5)/6; AP 1/3·1 + 1/3·2/3 + 1/3·3/5.
		{"ties", []float64{0.5, 0.5, 0.2, 0.2, 0.9}, []int{1, 0, 1, 0, 1}, 4.0 / 6, 1.0/3 + 2.0/9 + 0.2},
		{"no positives", []float64{0.3, 0.2}, []int{0, 0}, 0, 0},
		{"no negatives", []float64{0.3, 0.2}, []int{1, 1}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auc, ap, n, _ := rankQuality(pts(tt.scores, tt.labels))
			if math.Abs(auc-tt.auc) > 1e-12 || math.Abs(ap-tt.ap) > 1e-12 || n != int64(len(tt.scores)) {
				t.Errorf("AUC %v, AP %v over %d; want %v, %v over %d", auc, ap, n, tt.auc, tt.ap, len(tt.scores))
			}
		})
	}
}

// refundHoldPack, added to handPack, holds refund-scam payments: the
// golden comparison's second pack set.
const refundHoldPack = `
pack: refund-hold
description: {zh: 测试, en: test}
rules:
  - {id: REFUND_HOLD, name: {zh: 退款, en: refund}, description: {zh: 退款, en: refund}, nodes: [transfer], when: 'memo.refund && event.amount >= 1000', score: 0.2, action: hold, code: REFUND_HOLD}
`

// TestGoldenJSON pins the JSON field names and values of a comparison on
// the hand-made history (go test ./eval -run Golden -update rewrites it).
func TestGoldenJSON(t *testing.T) {
	res, err := Run(context.Background(), SliceSource(handHistory(t)), Config{
		Runs: []RunSpec{
			{Name: "hand", Ruleset: ruleset(t, handPack)},
			{Name: "hand+refund-hold", Ruleset: ruleset(t, handPack, refundHoldPack)},
		},
		LabelDelay: DefaultLabelDelay, Source: "hand-made"})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Deltas; d.Avoided != "2000.00" || res.Runs[1].Overall.CasesMet.Hold-res.Runs[0].Overall.CasesMet.Hold != 1 {
		t.Errorf("holding V2's refund payment should avoid 2,000 more and hold one more case in three: %+v", d)
	}
	res.Timing = nil // the only figure that depends on the machine
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "hand.golden.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("JSON differs from %s (run with -update if the change is intended):\n%s", path, buf.String())
	}
}

// TestFileSource: replaying the simulator's files gives the same result as
// replaying the simulation in process.
func TestFileSource(t *testing.T) {
	var events, labels bytes.Buffer
	if err := sim.WriteNDJSON(&events, smallSim(300, 5), 0, &labels); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Runs: []RunSpec{{Name: "builtin", Ruleset: builtin(t)}}, LabelDelay: DefaultLabelDelay}
	fromFile, err := Run(context.Background(), FileSource(bytes.NewReader(events.Bytes()), bytes.NewReader(labels.Bytes())), cfg)
	if err != nil {
		t.Fatal(err)
	}
	inProcess, err := Run(context.Background(), SimSource(smallSim(300, 5), 0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	fromFile.Timing, inProcess.Timing = nil, nil
	if !reflect.DeepEqual(fromFile, inProcess) {
		t.Error("the file replay differs from the in-process one")
	}
	if fromFile.History.ScamCases == 0 {
		t.Error("no scam cases read from the labels")
	}

	// Labels out of step with the events are refused, naming --labels.
	lines := bytes.SplitAfter(labels.Bytes(), []byte("\n"))
	shifted := bytes.Join(lines[1:], nil)
	_, err = Run(context.Background(), FileSource(bytes.NewReader(events.Bytes()), bytes.NewReader(shifted)), cfg)
	if xiaobao.ErrorCode(err) != xiaobao.EINVALID || !strings.Contains(err.Error(), "--labels line 1") {
		t.Errorf("shifted labels: err = %v, want EINVALID naming --labels line 1", err)
	}
}
