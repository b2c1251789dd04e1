package guard

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/goccy/go-yaml"

	"github.com/xiaobao-org/xiaobao"
)

// Text is a user-facing text in Simplified Chinese and English.
type Text struct {
	ZH string `yaml:"zh" json:"zh"`
	EN string `yaml:"en" json:"en"`
}

// Rule mode: active rules act; shadow rules are evaluated and logged only.
const (
	ModeActive = "active"
	ModeShadow = "shadow"
)

// PackSpec is a rule pack as written in YAML.
type PackSpec struct {
	Pack        string        `yaml:"pack" json:"pack"`
	Description Text          `yaml:"description" json:"description"`
	Settings    *SettingsSpec `yaml:"settings,omitempty" json:"settings,omitempty"`
	Rules       []RuleSpec    `yaml:"rules" json:"rules"`
	Messages    []MessageSpec `yaml:"messages,omitempty" json:"messages,omitempty"`
}

// SettingsSpec tunes the ladder. Unset fields keep the defaults (or the
// value of a pack earlier by name).
type SettingsSpec struct {
	// Thresholds maps a ladder step to the score from which it applies.
	Thresholds          map[string]float64 `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
	CoolingOffMinutes   int                `yaml:"cooling_off_minutes,omitempty" json:"cooling_off_minutes,omitempty"`
	HoldMinutes         int                `yaml:"hold_minutes,omitempty" json:"hold_minutes,omitempty"`
	EscalationWindowHrs int                `yaml:"escalation_window_hours,omitempty" json:"escalation_window_hours,omitempty"`
	// AllowCap is the highest step an allow-listed payee, device or
	// customer can reach, unless a block list matches.
	AllowCap string `yaml:"allow_cap,omitempty" json:"allow_cap,omitempty"`
}

// RuleSpec is one rule as written in YAML.
type RuleSpec struct {
	ID          string   `yaml:"id" json:"id"`
	Name        Text     `yaml:"name" json:"name"`
	Description Text     `yaml:"description" json:"description"`
	Nodes       []string `yaml:"nodes" json:"nodes"`
	When        string   `yaml:"when" json:"when"`
	Score       float64  `yaml:"score" json:"score"`
	Action      string   `yaml:"action" json:"action"`
	Typology    string   `yaml:"typology" json:"typology"`
	Code        string   `yaml:"code" json:"code"`
	Mode        string   `yaml:"mode" json:"mode"`
}

// MessageSpec is a customer message template for a typology and a step.
// Typology "" (or "*") and action "" (or "*") match any.
type MessageSpec struct {
	Typology string `yaml:"typology" json:"typology"`
	Action   string `yaml:"action" json:"action"`
	ZH       string `yaml:"zh" json:"zh"`
	EN       string `yaml:"en" json:"en"`
}

// Rule is a compiled rule.
type Rule struct {
	RuleSpec
	Pack    string
	action  Action
	nodes   uint32 // bit per EventType index
	program *vm.Program
	// fast evaluates the condition directly on Env (compileFast); nil
	// leaves the rule on expr's VM.
	fast func(*Env) bool
	// vars are the features the condition reads, shown when it fires.
	vars []string
}

// Reads returns the features the rule's condition reads, sorted.
func (r *Rule) Reads() []string { return r.vars }

// Action returns the rule's minimum ladder step.
func (r *Rule) MinAction() Action { return r.action }

// Pack is a parsed, validated and compiled rule pack.
type Pack struct {
	Spec    PackSpec
	Version int
	Rules   []*Rule
}

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	typologyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	envType         = reflect.TypeOf(Env{})
)

// ParsePack parses, validates and compiles a YAML rule pack. Every problem
// is reported, each naming its place (e.g. "rules[3].when" with the rule id
// and the position in the expression), as one EINVALID error.
func ParsePack(src []byte) (*Pack, error) {
	var spec PackSpec
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, xiaobao.Invalid("the rule pack is invalid", xiaobao.FieldError{Field: "pack", Reason: "is empty"})
	}
	if err := yaml.UnmarshalWithOptions(src, &spec, yaml.DisallowUnknownField()); err != nil {
		return nil, xiaobao.Invalid("the rule pack is invalid", xiaobao.FieldError{Field: "yaml", Reason: yamlReason(err)})
	}
	return CompilePack(spec)
}

func yamlReason(err error) string {
	msg := yaml.FormatError(err, false, true)
	if len(msg) > 600 {
		msg = msg[:600] + "…"
	}
	return msg
}

// CompilePack validates and compiles a pack spec.
func CompilePack(spec PackSpec) (*Pack, error) {
	var fe []xiaobao.FieldError
	bad := func(field, format string, args ...any) {
		fe = append(fe, xiaobao.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if !idPattern.MatchString(spec.Pack) {
		bad("pack", "must be a name of letters, digits, '_', '-' or '.', starting with a letter")
	}
	if s := spec.Settings; s != nil {
		for k, v := range s.Thresholds {
			a, err := ParseAction(k)
			if err != nil || a == Allow {
				bad("settings.thresholds."+k, "must be one of remind, friction, cooling_off, hold, block")
			}
			if v <= 0 || v > 1.01 {
				bad("settings.thresholds."+k, "must be in (0, 1.01]")
			}
		}
		if s.CoolingOffMinutes < 0 || s.CoolingOffMinutes > 7*24*60 {
			bad("settings.cooling_off_minutes", "must be between 0 and 10080")
		}
		if s.HoldMinutes < 0 || s.HoldMinutes > 30*24*60 {
			bad("settings.hold_minutes", "must be between 0 and 43200")
		}
		if s.EscalationWindowHrs < 0 || s.EscalationWindowHrs > 90*24 {
			bad("settings.escalation_window_hours", "must be between 0 and 2160")
		}
		if s.AllowCap != "" {
			if _, err := ParseAction(s.AllowCap); err != nil {
				bad("settings.allow_cap", "%v", err)
			}
		}
	}
	p := &Pack{Spec: spec}
	seen := map[string]int{}
	for i, rs := range spec.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if rs.ID != "" {
			f = fmt.Sprintf("rules[%d](%s)", i, rs.ID)
		}
		if !idPattern.MatchString(rs.ID) {
			bad(f+".id", "must be 1-64 letters, digits, '_', '-' or '.', starting with a letter")
		} else if j, dup := seen[rs.ID]; dup {
			bad(f+".id", "duplicates rules[%d]", j)
		}
		seen[rs.ID] = i
		if rs.Name.ZH == "" || rs.Name.EN == "" {
			bad(f+".name", "needs both zh and en")
		}
		if rs.Description.ZH == "" || rs.Description.EN == "" {
			bad(f+".description", "needs both zh and en: say which signals the rule reads and why")
		}
		r := &Rule{RuleSpec: rs, Pack: spec.Pack}
		if len(rs.Nodes) == 0 {
			bad(f+".nodes", "must name at least one journey node (event type)")
		}
		for _, n := range rs.Nodes {
			if n == "*" || n == "all" {
				r.nodes = 1<<len(EventTypes) - 1
				continue
			}
			i := EventType(n).index()
			if i < 0 {
				bad(f+".nodes", "unknown journey node %q", n)
				continue
			}
			r.nodes |= 1 << i
		}
		if rs.Score < 0 || rs.Score > 1 {
			bad(f+".score", "must be between 0 and 1")
		}
		if rs.Action == "" {
			r.action = Allow
		} else if a, err := ParseAction(rs.Action); err != nil {
			bad(f+".action", "%v", err)
		} else {
			r.action = a
		}
		if rs.Typology != "" && !typologyPattern.MatchString(rs.Typology) {
			bad(f+".typology", "must be a snake_case name")
		}
		if rs.Code == "" {
			bad(f+".code", "is required (the reason code shown with the decision)")
		}
		switch rs.Mode {
		case "":
			r.Mode = ModeActive
		case ModeActive, ModeShadow:
		default:
			bad(f+".mode", "must be active or shadow")
		}
		if strings.TrimSpace(rs.When) == "" {
			bad(f+".when", "is required")
		} else {
			prog, err := expr.Compile(rs.When, expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(2000))
			if err != nil {
				bad(f+".when", "%s", exprReason(err))
			} else {
				r.program = prog
				r.fast, _ = compileFast(prog)
				r.vars = referencedVars(prog.Node())
			}
		}
		p.Rules = append(p.Rules, r)
	}
	for i, m := range spec.Messages {
		f := fmt.Sprintf("messages[%d]", i)
		if m.Action != "" && m.Action != "*" {
			if _, err := ParseAction(m.Action); err != nil {
				bad(f+".action", "%v", err)
			}
		}
		if m.ZH == "" || m.EN == "" {
			bad(f, "needs both zh and en")
		}
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the rule pack is invalid", fe...)
	}
	return p, nil
}

// exprReason turns an expr compile error into one line with its position.
func exprReason(err error) string {
	var fe interface{ Error() string }
	msg := err.Error()
	if errors.As(err, &fe) {
		msg = fe.Error()
	}
	// expr errors carry a snippet on following lines; keep them compact.
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, " | ")
}

// referencedVars returns the dotted feature names (e.g. "payee.payers_7d")
// an expression reads, sorted.
func referencedVars(node ast.Node) []string {
	set := map[string]bool{}
	v := &varCollector{set: set}
	ast.Walk(&node, v)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type varCollector struct{ set map[string]bool }

func (v *varCollector) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	v.set[id.Value+"."+prop.Value] = true
}

// Settings are the ladder's effective settings.
type Settings struct {
	Thresholds        [Block + 1]float64 // score from which each step applies; > 1 disables
	CoolingOffMinutes int
	HoldMinutes       int
	EscalationWindow  uint32 // seconds
	AllowCap          Action
}

// DefaultSettings are used where no pack says otherwise. Score alone never
// blocks: a block needs a rule (or a list) that says so.
func DefaultSettings() Settings {
	return Settings{
		Thresholds:        [Block + 1]float64{0, 0.35, 0.55, 0.75, 0.9, 2},
		CoolingOffMinutes: 30,
		HoldMinutes:       120,
		EscalationWindow:  7 * unitDay,
		AllowCap:          Remind,
	}
}

// Ruleset is the set of active packs compiled for evaluation.
type Ruleset struct {
	Packs    []*Pack
	Settings Settings
	byNode   [16][]*Rule
	messages map[msgKey]Message
}

type msgKey struct {
	typology string
	action   Action
	any      bool // action matches any
}

// NewRuleset merges packs (in name order: later packs override settings
// and messages of earlier ones). Rule ids must be unique across packs.
func NewRuleset(packs ...*Pack) (*Ruleset, error) {
	packs = slices.Clone(packs)
	sort.Slice(packs, func(i, j int) bool { return packs[i].Spec.Pack < packs[j].Spec.Pack })
	rs := &Ruleset{Packs: packs, Settings: DefaultSettings(), messages: map[msgKey]Message{}}
	ids := map[string]string{}
	for _, p := range packs {
		if s := p.Spec.Settings; s != nil {
			for k, v := range s.Thresholds {
				a, _ := ParseAction(k)
				rs.Settings.Thresholds[a] = v
			}
			if s.CoolingOffMinutes > 0 {
				rs.Settings.CoolingOffMinutes = s.CoolingOffMinutes
			}
			if s.HoldMinutes > 0 {
				rs.Settings.HoldMinutes = s.HoldMinutes
			}
			if s.EscalationWindowHrs > 0 {
				rs.Settings.EscalationWindow = uint32(s.EscalationWindowHrs) * unitHour
			}
			if s.AllowCap != "" {
				rs.Settings.AllowCap, _ = ParseAction(s.AllowCap)
			}
		}
		for _, r := range p.Rules {
			if other, dup := ids[r.ID]; dup {
				return nil, xiaobao.Invalid("the rule packs conflict", xiaobao.FieldError{
					Field: "rules." + r.ID, Reason: fmt.Sprintf("rule id is used by pack %s and pack %s", other, p.Spec.Pack)})
			}
			ids[r.ID] = p.Spec.Pack
			for i := range EventTypes {
				if r.nodes&(1<<i) != 0 {
					rs.byNode[i] = append(rs.byNode[i], r)
				}
			}
		}
		for _, m := range p.Spec.Messages {
			typ := m.Typology
			if typ == "*" {
				typ = ""
			}
			k := msgKey{typology: typ, any: m.Action == "" || m.Action == "*"}
			if !k.any {
				k.action, _ = ParseAction(m.Action)
			}
			rs.messages[k] = Message{ZH: m.ZH, EN: m.EN}
		}
	}
	return rs, nil
}

// message picks the template for a typology and step (the most specific
// wins) and fills in {minutes}, how long the money waits.
func (rs *Ruleset) message(typology string, a Action, set *Settings) *Message {
	m := defaultMessages[a]
	for _, k := range []msgKey{{typology, a, false}, {typology, 0, true}, {"", a, false}, {"", 0, true}} {
		if t, ok := rs.messages[k]; ok {
			m = t
			break
		}
	}
	if strings.Contains(m.ZH, "{minutes}") || strings.Contains(m.EN, "{minutes}") {
		minutes := set.CoolingOffMinutes
		if a == Hold {
			minutes = set.HoldMinutes
		}
		n := strconv.Itoa(minutes)
		m.ZH = strings.ReplaceAll(m.ZH, "{minutes}", n)
		m.EN = strings.ReplaceAll(m.EN, "{minutes}", n)
	}
	return &m
}

var defaultMessages = [...]Message{
	Allow:      {},
	Remind:     {ZH: "温馨提示：请确认收款方身份，谨防电信网络诈骗。", EN: "Reminder: please confirm who you are paying. Beware of telecom and online fraud."},
	Friction:   {ZH: "这笔交易存在风险，请先完成防诈骗知识确认后再继续。", EN: "This payment looks risky. Please complete a short anti-fraud check before you continue."},
	CoolingOff: {ZH: "为保护您的资金安全，这笔交易将延迟到账，期间您可以随时取消。", EN: "To protect your money, this payment will be delayed; you can cancel it at any time before it goes through."},
	Hold:       {ZH: "这笔交易已暂停，我们的反诈专员将尽快与您联系确认。", EN: "This payment is on hold. Our anti-fraud team will call you shortly to confirm it."},
	Block:      {ZH: "这笔交易存在极高风险，已被拦截。如有疑问请联系官方客服。", EN: "This transaction has been blocked as very high risk. Please contact our official customer service if you have questions."},
}
