package guard

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/expr-lang/expr/vm"

	"github.com/xiaobao-org/xiaobao/pii"
)

// Scorer is a trained model. It scores the features of an event and names
// the features that moved the score most.
type Scorer interface {
	Name() string
	Score(env *Env) (p float64, top []Contribution)
}

type scorerBox struct{ s Scorer }

// Engine decides events. Decide and Apply mutate feature state and must be
// called from one goroutine at a time (the service serialises them, so that
// the order decisions are made in is the order they are stored and
// replayed). Rules, lists and the model are swapped atomically and may be
// replaced from any goroutine.
type Engine struct {
	state  *State
	rules  atomic.Pointer[Ruleset]
	lists  atomic.Pointer[ListIndex]
	scorer atomic.Pointer[scorerBox]
	env    Env
	vm     vm.VM
	// OnRuleError, if set, is told of a rule whose evaluation failed (it is
	// then treated as not fired).
	OnRuleError func(rule string, err error)
}

// NewEngine returns an engine with empty state, no rules and no lists.
func NewEngine(rs *Ruleset) *Engine {
	e := &Engine{state: NewState()}
	if rs == nil {
		rs, _ = NewRuleset()
	}
	e.rules.Store(rs)
	e.lists.Store(NewListIndex(nil))
	return e
}

// State returns the engine's feature state.
func (e *Engine) State() *State { return e.state }

// SetState replaces the feature state (after loading a snapshot).
func (e *Engine) SetState(s *State) { e.state = s }

// Ruleset returns the active ruleset.
func (e *Engine) Ruleset() *Ruleset { return e.rules.Load() }

// SetRuleset swaps in a new ruleset.
func (e *Engine) SetRuleset(rs *Ruleset) { e.rules.Store(rs) }

// SetLists swaps in a new list index.
func (e *Engine) SetLists(li *ListIndex) { e.lists.Store(li) }

// Lists returns the current list index.
func (e *Engine) Lists() *ListIndex { return e.lists.Load() }

// Scorer returns the model in use, nil if none.
func (e *Engine) Scorer() Scorer {
	if b := e.scorer.Load(); b != nil {
		return b.s
	}
	return nil
}

// SwapScorer swaps in a model (nil removes it) and returns the one it
// replaced, atomically: of two racing swaps, each sees the other's model
// or the one before both.
func (e *Engine) SwapScorer(s Scorer) Scorer {
	var nb *scorerBox
	if s != nil {
		nb = &scorerBox{s}
	}
	if old := e.scorer.Swap(nb); old != nil {
		return old.s
	}
	return nil
}

// SetScorer swaps in a model (nil removes it).
func (e *Engine) SetScorer(s Scorer) {
	if s == nil {
		e.scorer.Store(nil)
		return
	}
	e.scorer.Store(&scorerBox{s})
}

// Apply folds an already-decided event into feature state without deciding
// it again: restart replay and back-fill use it.
// Events of anonymised records (IsAnonymous) are skipped: a data-subject
// deletion took the person out of them, and no profile is rebuilt.
func (e *Engine) Apply(ev *Event, action Action, typology string) {
	if IsAnonymous(ev.Customer.ID) {
		return
	}
	e.state.observe(ev, &e.env)
	e.state.remember(ev, action, typology)
}

// Features computes the features of ev and folds it into state, returning
// a copy of the env (training and evaluation use it).
func (e *Engine) Features(ev *Event) Env {
	e.prepare(ev)
	return e.env
}

// prepare computes every feature of ev into e.env and folds ev into state:
// the one path shared by decisions, training and evaluation.
func (e *Engine) prepare(ev *Event) {
	e.state.observe(ev, &e.env)
	e.lists.Load().fill(ev, &e.env.Lists)
	f := lexScan(ev.Memo)
	if ev.Counterparty.Name != "" && f&wScam == 0 {
		// The scam script often names the payee ("安全账户", "退款专员").
		f |= lexScan(ev.Counterparty.Name) & wScam
	}
	setMemo(f, &e.env.Memo)
}

// Decide computes features, evaluates rules, lists and the model, walks the
// ladder and returns the decision (without ID, Seq or DecidedAt, which the
// service assigns). It folds the event into feature state.
func (e *Engine) Decide(ev *Event) *Decision {
	rs := e.rules.Load()
	env := &e.env
	e.prepare(ev)

	d := &Decision{
		EventID:    ev.ID,
		CustomerID: ev.Customer.ID,
		EventType:  ev.Type,
		OccurredAt: ev.OccurredAt,
		Reasons:    []Reason{},
	}
	x := &Explanation{}
	keep := 1.0
	ruleAction := Allow
	var top *Rule
	for _, r := range rs.byNode[ev.Type.index()] {
		if r.fast != nil {
			if !r.fast(env) {
				continue
			}
		} else {
			out, err := e.vm.Run(r.program, env)
			if err != nil {
				if e.OnRuleError != nil {
					e.OnRuleError(r.ID, err)
				}
				continue
			}
			if fired, _ := out.(bool); !fired {
				continue
			}
		}
		reason := Reason{Rule: r.ID, Code: r.Code, Typology: r.Typology, Action: r.action, Score: r.Score}
		reason.Values, reason.Detail = explainVars(env, r.vars)
		if r.Mode == ModeShadow {
			d.Shadow = append(d.Shadow, reason)
			continue
		}
		d.Reasons = append(d.Reasons, reason)
		keep *= 1 - r.Score
		if r.action > ruleAction {
			ruleAction = r.action
		}
		if r.Typology != "" && (top == nil || r.action > top.action || r.action == top.action && r.Score > top.Score) {
			top = r
		}
	}
	x.RuleScore = 1 - keep
	d.Score = x.RuleScore
	if b := e.scorer.Load(); b != nil {
		p, contrib := b.s.Score(env)
		x.ModelScore = &p
		x.Model = b.s.Name()
		x.Contributions = contrib
		d.Score = 1 - keep*(1-p)
	}
	d.Score = clamp01(d.Score)
	if top != nil {
		d.Typology = top.Typology
	}

	set := &rs.Settings
	scoreAction := Allow
	for a := Remind; a <= Block; a++ {
		if d.Score >= set.Thresholds[a] {
			scoreAction = a
		}
	}
	x.RuleAction, x.ScoreAction = ruleAction, scoreAction
	action := max(ruleAction, scoreAction)

	// A customer who dismissed earlier interventions and tries again climbs
	// the ladder, up to a human call: one step above the strongest earlier
	// step on the same payee, or one step above this decision when only the
	// typology matches (a new payee in the same scam). A retry to the same
	// payee within a day climbs even when the rules no longer fire: the
	// attempted money is now in the customer's history and dilutes the
	// signals that fired the first time.
	if action < Hold {
		pn, pStrongest, pRecent, tn := e.state.priorInterventions(ev, d.Typology, set.EscalationWindow)
		to := action
		// Hold and block are settled by staff, not dismissed by the
		// customer: a retry after one climbs only if it is risky again.
		if pn > 0 && pStrongest >= max(action, Remind) && (action >= Remind || pRecent && pStrongest < Hold) {
			to = min(pStrongest+1, Hold)
		} else if tn > 0 && action >= Remind {
			to = min(action+1, Hold)
		}
		if !ev.Type.HoldsMoney() && to > Friction {
			to = max(action, Friction)
		}
		if to > action {
			x.Escalation = fmt.Sprintf("%d earlier intervention(s) on the same payee (strongest %s) and %d on the same typology within %dh: %s → %s",
				pn, pStrongest, tn, set.EscalationWindow/3600, action, to)
			x.Steps = append(x.Steps, "escalation → "+to.String())
			if d.Typology == "" {
				d.Typology = e.state.lastTypology(ev)
			}
			action = to
		}
	}

	// Allow lists cap the step unless a block list matches.
	if env.Lists.AnyAllow && !env.Lists.AnyBlock && action > set.AllowCap && action != Block {
		x.Cap = fmt.Sprintf("allow list: %s capped at %s", action, set.AllowCap)
		action = set.AllowCap
		x.Steps = append(x.Steps, x.Cap)
	}
	if !ev.Type.HoldsMoney() && (action == CoolingOff || action == Hold) {
		x.Cap = fmt.Sprintf("%s cannot hold money: %s lowered to friction", ev.Type, action)
		action = Friction
		x.Steps = append(x.Steps, x.Cap)
	}
	d.Action = action
	if action > Allow {
		d.Message = rs.message(d.Typology, action, set)
	}
	switch action {
	case CoolingOff:
		d.CoolingOffMinutes = set.CoolingOffMinutes
	case Hold:
		d.HoldMinutes = set.HoldMinutes
	}
	if len(rs.Packs) > 0 {
		x.PackVersions = make(map[string]int, len(rs.Packs))
		for _, p := range rs.Packs {
			x.PackVersions[p.Spec.Pack] = p.Version
		}
	}
	d.Explanation = x
	e.state.remember(ev, action, d.Typology)
	return d
}

func clamp01(f float64) float64 {
	if f < 0 || f != f {
		return 0
	}
	if f > 1 {
		return 1
	}
	return f
}

// getters read a feature by its dotted rule name, for explanations.
var getters = func() map[string][]int {
	m := map[string][]int{}
	for i := 0; i < envType.NumField(); i++ {
		f := envType.Field(i)
		for j := 0; j < f.Type.NumField(); j++ {
			g := f.Type.Field(j)
			m[f.Tag.Get("expr")+"."+g.Tag.Get("expr")] = []int{i, j}
		}
	}
	return m
}()

// FeatureNames lists every feature a rule can read, sorted.
func FeatureNames() []string {
	out := make([]string, 0, len(getters))
	for k := range getters {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FeatureValue returns the value of a dotted feature name in env.
func FeatureValue(env *Env, name string) (any, bool) {
	idx, ok := getters[name]
	if !ok {
		return nil, false
	}
	return reflect.ValueOf(env).Elem().FieldByIndex(idx).Interface(), true
}

func explainVars(env *Env, vars []string) (map[string]any, string) {
	if len(vars) == 0 {
		return nil, ""
	}
	vals := make(map[string]any, len(vars))
	var b strings.Builder
	for i, name := range vars {
		v, ok := FeatureValue(env, name)
		if !ok {
			continue
		}
		if f, isF := v.(float64); isF {
			v = roundFloat(f)
		}
		if mask := sensitiveVars[name]; mask != nil {
			v = mask(v.(string))
		}
		vals[name] = v
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteByte('=')
		switch x := v.(type) {
		case string:
			b.WriteString(strconv.Quote(x))
		default:
			fmt.Fprint(&b, x)
		}
	}
	return vals, b.String()
}

// sensitiveVars are features that carry personal data: explanations are
// stored and shown to staff, so they hold the masked form.
var sensitiveVars = map[string]func(string) string{
	"payee.account":   pii.MaskAccount,
	"payee.name":      pii.MaskName,
	"event.memo_text": func(s string) string { r, _ := pii.Redact(s); return r },
}

func roundFloat(f float64) float64 {
	if f >= Never {
		return f
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}
