// Package train learns a fraud model for Guard from a labelled history:
// the events and ground truth `xiaobao simulate` writes, or a simulation
// run in process. `xiaobao train` is its command line; docs/train.md holds
// the figures on the standard history.
//
// # No second feature pipeline
//
// The history is replayed through a guard.Engine in the order given, each
// event decided by Engine.Decide exactly as the server decides it, with the
// outcomes Guard would have been told fed in after the label delay (the
// policy of package eval: confirmed fraud on scam events that put money at
// risk or met friction, false alarms on legitimate events that met
// friction). A row's features are read from the very guard.Env that Decide
// hands its model: training installs a scorer that copies the features and
// returns 0, which leaves every decision as the rules alone make it. A
// model trained here therefore sees in production what it saw in training.
//
// # Time, not chance
//
// The history is cut in event time into three slices, never at random:
//
//   - fit (before CalibrateFrom): the model is fitted at CalibrateFrom on
//     the rows whose label was known by then (event time + LabelDelay ≤
//     CalibrateFrom); younger rows are left out. Legitimate rows are
//     sampled (NegativeRate, by a hash of the event id and the seed), every
//     scam row is kept.
//   - calibration (CalibrateFrom to TestFrom): the fitted model scores every
//     event as it comes; at TestFrom its calibration is fitted on the rows
//     whose label was known by then. The model is final at TestFrom, and no
//     label younger than LabelDelay at TestFrom has touched it.
//   - test (from TestFrom): the final model scores every event with an
//     amount, which is where eval measures the rule score too; AUC and
//     average precision are reported for the model, the rule score alone
//     and the two combined as Guard combines them (1 − (1−rules)(1−model)).
//
// A row's label is the ground truth: the event belongs to a scheme
// (scam_id set). Rows are every event Guard decides, not only those with an
// amount, since the server scores every event with the model.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	replay "github.com/xiaobao-org/xiaobao/eval"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/model"
	"github.com/xiaobao-org/xiaobao/sim"
)

// Defaults of Config.
const (
	DefaultNegativeRate = 0.1
	DefaultCalibration  = model.Platt
	// The default cut points, as shares of the history's time span.
	DefaultCalibrateAt = 0.6
	DefaultTestAt      = 0.75
)

// DefaultGBDT is the boosting configuration docs/train.md's figures come from.
var DefaultGBDT = model.GBDTParams{
	Rounds: 200, LearningRate: 0.05, MaxDepth: 6, MaxLeaves: 31, MinLeaf: 20, L2: 5,
	Subsample: 0.8, ColSample: 0.8,
}

// left out of DefaultFeatures, with the reason.
var excluded = map[string]string{
	// Guard's state starts with the history, so "days since Guard first saw
	// the customer" counts calendar days since the start: a trend the model
	// would learn and that does not hold later (tenure_days says the same
	// from registered_at).
	"customer.seen_days": "calendar trend",
	"event.weekday":      "calendar",
}

// DefaultFeatures are every numeric and boolean feature of guard.Env
// except the lists (block and allow lists act through the rules, and a
// history has none) and the few in excluded.
func DefaultFeatures() []string {
	var out []string
	t := reflect.TypeFor[guard.Env]()
	for i := 0; i < t.NumField(); i++ {
		g := t.Field(i)
		group := g.Tag.Get("expr")
		if group == "lists" {
			continue
		}
		for j := 0; j < g.Type.NumField(); j++ {
			f := g.Type.Field(j)
			name := group + "." + f.Tag.Get("expr")
			if _, skip := excluded[name]; skip {
				continue
			}
			switch f.Type.Kind() {
			case reflect.Float64, reflect.Int, reflect.Bool:
				out = append(out, name)
			}
		}
	}
	return out
}

// Config says what to learn and how.
type Config struct {
	// Ruleset is the pack set the history is decided with, as on the
	// server the model will serve beside (features such as
	// customer.interventions_7d depend on what the rules did).
	Ruleset *guard.Ruleset
	// Features are the model's inputs by rule name (DefaultFeatures when
	// empty).
	Features []string
	Kind     model.Kind // model.KindGBDT when empty
	// GBDT overrides DefaultGBDT when its Rounds is set; its Seed is
	// always Seed.
	GBDT     model.GBDTParams
	Logistic model.LogisticParams
	// Calibration is model.Platt (default) or model.Isotonic.
	Calibration string
	// LabelDelay is the time from an event until its label is known, to
	// training and (as an outcome) to Guard. Zero means at once; the
	// command's default is eval.DefaultLabelDelay. It must not be negative.
	LabelDelay time.Duration
	// CalibrateFrom and TestFrom cut the history (event time).
	CalibrateFrom, TestFrom time.Time
	// NegativeRate is the share of legitimate rows kept for fitting
	// (DefaultNegativeRate when 0; 1 keeps all).
	NegativeRate float64
	// Seed drives the sampling and the boosting: same seed and history,
	// same model.
	Seed uint64
	Name string // the model's name (default "guard-KIND")
	Data string // describes the history in the model file
}

// Slice counts the rows of one time slice.
type Slice struct {
	From, To  time.Time
	Rows      int
	Positives int
	// Unknown counts rows left out because their label was not known yet
	// when the slice was used.
	Unknown int `json:",omitempty"`
}

// Quality is a score's ranking quality on the test slice.
type Quality struct {
	AUC float64 `json:"auc"`
	AP  float64 `json:"average_precision"`
}

// Report is a training run's outcome.
type Report struct {
	Model       *model.Model
	Events      int64
	From, To    time.Time // first and last event time of the history
	Fit         Slice
	Calibration Slice
	Test        Slice // events with an amount
	// Quality on the test slice of the model, of the rule score alone and
	// of both combined as Guard combines them.
	ModelQuality, Rules, Combined Quality
	// Importance is the mean absolute contribution of each feature on
	// (up to 20,000) fitting rows, largest first.
	Importance []model.Contribution
	Elapsed    time.Duration
}

// tap is the scorer training installs: it copies the features of the
// events it is told to and scores 0, so decisions stay the rules' own.
type tap struct {
	index [][]int
	kinds []reflect.Kind
	on    bool
	x     []float64
}

func (t *tap) Name() string { return "" }

func (t *tap) Score(env *guard.Env) (float64, []guard.Contribution) {
	if !t.on {
		return 0, nil
	}
	v := reflect.ValueOf(env).Elem()
	for j, idx := range t.index {
		f := v.Field(idx[0]).Field(idx[1])
		switch t.kinds[j] {
		case reflect.Float64:
			t.x[j] = f.Float()
		case reflect.Int:
			t.x[j] = float64(f.Int())
		case reflect.Bool:
			t.x[j] = 0
			if f.Bool() {
				t.x[j] = 1
			}
		}
	}
	return 0, nil
}

// newTap maps feature names to guard.Env fields as model.GuardScorer does,
// so that the names mean the same in training and in production.
func newTap(features []string) (*tap, error) {
	t := reflect.TypeFor[guard.Env]()
	fields := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		g := t.Field(i)
		for j := 0; j < g.Type.NumField(); j++ {
			fields[g.Tag.Get("expr")+"."+g.Type.Field(j).Tag.Get("expr")] = []int{i, j}
		}
	}
	tp := &tap{x: make([]float64, len(features))}
	seen := map[string]bool{}
	for i, name := range features {
		idx, ok := fields[name]
		if !ok || seen[name] {
			return nil, xiaobao.Invalid("features: "+name+" is not a Guard feature, or repeated",
				xiaobao.FieldError{Field: fmt.Sprintf("features[%d]", i), Reason: fmt.Sprintf("%q is not a Guard feature, or is repeated", name)})
		}
		seen[name] = true
		k := t.FieldByIndex(idx).Type.Kind()
		switch k {
		case reflect.Float64, reflect.Int, reflect.Bool:
		default:
			return nil, xiaobao.Invalid("features: "+name+" is not a number",
				xiaobao.FieldError{Field: fmt.Sprintf("features[%d]", i), Reason: fmt.Sprintf("Guard feature %q is a %s, not a number", name, k)})
		}
		tp.index = append(tp.index, idx)
		tp.kinds = append(tp.kinds, k)
	}
	return tp, nil
}

type pendingOutcome struct {
	due  int64
	kind guard.OutcomeKind
	sub  guard.LabelSubject
}

// labelled is a calibration row: the fitted model's margin, its label and
// when the label becomes known.
type labelled struct {
	margin float64
	y      float64
	known  int64
}

// Run replays src and returns the trained model with its report.
func Run(ctx context.Context, src replay.Source, cfg Config) (*Report, error) {
	began := time.Now()
	if cfg.Ruleset == nil {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: no ruleset")
	}
	if cfg.LabelDelay < 0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: the label delay must not be negative: a model learns from labels")
	}
	if !cfg.TestFrom.After(cfg.CalibrateFrom) {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: the test slice (from %s) must start after the calibration slice (from %s)",
			cfg.TestFrom.Format(time.RFC3339), cfg.CalibrateFrom.Format(time.RFC3339))
	}
	if len(cfg.Features) == 0 {
		cfg.Features = DefaultFeatures()
	}
	if cfg.Kind == "" {
		cfg.Kind = model.KindGBDT
	}
	if cfg.Kind != model.KindGBDT && cfg.Kind != model.KindLogistic {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: unknown model kind %q (want %q or %q)", cfg.Kind, model.KindGBDT, model.KindLogistic)
	}
	if cfg.Calibration == "" {
		cfg.Calibration = DefaultCalibration
	}
	if cfg.Calibration != model.Platt && cfg.Calibration != model.Isotonic {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: unknown calibration %q (want %q or %q)", cfg.Calibration, model.Platt, model.Isotonic)
	}
	if cfg.NegativeRate == 0 {
		cfg.NegativeRate = DefaultNegativeRate
	}
	if !(cfg.NegativeRate > 0 && cfg.NegativeRate <= 1) {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: the negative sampling rate must be in (0, 1], not %v", cfg.NegativeRate)
	}
	if cfg.Name == "" {
		cfg.Name = "guard-" + string(cfg.Kind)
	}
	tp, err := newTap(cfg.Features)
	if err != nil {
		return nil, err
	}
	eng := guard.NewEngine(cfg.Ruleset)
	eng.SetScorer(tp)

	var (
		delay      = int64(cfg.LabelDelay / time.Second)
		cutA, cutB = cfg.CalibrateFrom.Unix(), cfg.TestFrom.Unix()
		stage      int
		pend       outcomeHeap
		fit        = &model.Dataset{Features: cfg.Features}
		fitKnown   []int64 // per fitting row, when its label becomes known
		cal        []labelled
		testScore  []float64
		testRule   []float64
		testY      []bool
		m          *model.Model
		rep        = &Report{}
	)
	rep.Fit.To, rep.Calibration.From = cfg.CalibrateFrom, cfg.CalibrateFrom
	rep.Calibration.To, rep.Test.From = cfg.TestFrom, cfg.TestFrom

	fitNow := func() error {
		kept := &model.Dataset{Features: cfg.Features}
		d := len(cfg.Features)
		for i, known := range fitKnown {
			if known > cutA {
				rep.Fit.Unknown++
				continue
			}
			kept.Append(fit.X[i*d:(i+1)*d], fit.Y[i])
		}
		fit, fitKnown = nil, nil
		rep.Fit.Rows = kept.Rows()
		for _, y := range kept.Y {
			rep.Fit.Positives += int(y)
		}
		if rep.Fit.Rows == 0 || rep.Fit.Positives == 0 {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: %d fitting rows with a known label before %s, %d of them scam: too few to learn from (move the calibration start later or shorten the label delay)",
				rep.Fit.Rows, cfg.CalibrateFrom.Format(time.RFC3339), rep.Fit.Positives)
		}
		var err error
		m, err = fitModel(kept, cfg)
		if err != nil {
			return err
		}
		rep.Importance = m.Importance(kept.X[:min(len(kept.X), 20000*d)])
		return nil
	}
	calibrateNow := func() error {
		var margins, ys []float64
		for _, c := range cal {
			if c.known > cutB {
				rep.Calibration.Unknown++
				continue
			}
			margins = append(margins, c.margin)
			ys = append(ys, c.y)
		}
		cal = nil
		rep.Calibration.Rows = len(ys)
		for _, y := range ys {
			rep.Calibration.Positives += int(y)
		}
		var c *model.Calibration
		var err error
		if cfg.Calibration == model.Isotonic {
			c, err = model.FitIsotonic(margins, ys)
		} else {
			c, err = model.FitPlatt(margins, ys)
		}
		if err != nil || rep.Calibration.Positives == 0 {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: calibration slice %s to %s: %d rows with a known label, %d scam: cannot calibrate (%v)",
				cfg.CalibrateFrom.Format(time.RFC3339), cfg.TestFrom.Format(time.RFC3339), rep.Calibration.Rows, rep.Calibration.Positives, err)
		}
		m.Calibration = c
		return nil
	}

	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ev, l, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		at := ev.OccurredAt.Unix()
		if rep.Events == 0 {
			rep.From = ev.OccurredAt
		}
		if ev.OccurredAt.After(rep.To) {
			rep.To = ev.OccurredAt
		}
		rep.Events++
		// Slices follow arrival: an event that arrives late in event time
		// belongs to the slice it arrived in, as it would on a server.
		if stage == 0 && at >= cutA {
			if err := fitNow(); err != nil {
				return nil, err
			}
			stage = 1
		}
		if stage == 1 && at >= cutB {
			if err := calibrateNow(); err != nil {
				return nil, err
			}
			stage = 2
		}
		st := eng.State()
		for len(pend) > 0 && pend[0].due <= at {
			o := pend.pop()
			st.Label(o.sub, o.kind, +1)
		}
		scam := l.ScamID != ""
		y := 0.0
		if scam {
			y = 1
		}
		switch stage {
		case 0:
			tp.on = scam || keep(ev.ID, cfg.Seed, cfg.NegativeRate)
		case 1:
			tp.on = true
		default:
			tp.on = ev.HasAmount
		}
		d := eng.Decide(ev)
		if tp.on {
			switch stage {
			case 0:
				fit.Append(tp.x, y)
				fitKnown = append(fitKnown, at+delay)
			case 1:
				cal = append(cal, labelled{margin: m.Margin(tp.x), y: y, known: at + delay})
			default:
				testScore = append(testScore, m.Predict(tp.x))
				testRule = append(testRule, d.Explanation.RuleScore)
				testY = append(testY, scam)
			}
		}
		if kind := outcome(ev, l, d.Action, scam); kind != "" {
			// The subject is what Service.RecordOutcome derives from the
			// stored decision and its event.
			pend.push(pendingOutcome{due: at + delay, kind: kind, sub: guard.LabelSubject{
				CustomerID: d.CustomerID, Account: ev.Counterparty.Account, DeviceID: ev.Device.ID, At: at}})
		}
	}
	if stage < 2 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: the history (%d events, to %s) ends before the test slice starts (%s)",
			rep.Events, rep.To.Format(time.RFC3339), cfg.TestFrom.Format(time.RFC3339))
	}
	rep.Fit.From, rep.Test.To = rep.From, rep.To
	rep.Test.Rows = len(testY)
	combined := make([]float64, len(testY))
	for i, y := range testY {
		if y {
			rep.Test.Positives++
		}
		combined[i] = 1 - (1-testRule[i])*(1-testScore[i])
	}
	if rep.Test.Positives == 0 || rep.Test.Positives == rep.Test.Rows {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "train: the test slice has %d events with an amount, %d scam: nothing to measure", rep.Test.Rows, rep.Test.Positives)
	}
	rep.ModelQuality = quality(testScore, testY)
	rep.Rules = quality(testRule, testY)
	rep.Combined = quality(combined, testY)
	m.Training.TrainedAt = cfg.TestFrom.UTC().Format(time.RFC3339)
	m.Training.Data = describe(cfg, rep)
	if m.Training.Params == nil {
		m.Training.Params = map[string]float64{}
	}
	m.Training.Params["label_delay_hours"] = cfg.LabelDelay.Hours()
	m.Training.Params["negative_rate"] = cfg.NegativeRate
	m.Training.Params["seed"] = float64(cfg.Seed)
	m.Training.Metrics = map[string]float64{
		"auc": round6(rep.ModelQuality.AUC), "average_precision": round6(rep.ModelQuality.AP),
		"rules_auc": round6(rep.Rules.AUC), "rules_average_precision": round6(rep.Rules.AP),
		"combined_auc": round6(rep.Combined.AUC), "combined_average_precision": round6(rep.Combined.AP),
		"test_rows": float64(rep.Test.Rows), "test_positives": float64(rep.Test.Positives),
		"calibration_rows": float64(rep.Calibration.Rows), "calibration_positives": float64(rep.Calibration.Positives),
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("train: the trained model is invalid: %w", err)
	}
	rep.Model = m
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// outcome is what staff would have recorded of a decision, as eval feeds it.
func outcome(ev *guard.Event, l *sim.Label, a guard.Action, scam bool) guard.OutcomeKind {
	if scam {
		if a >= guard.Friction || l.AtRisk != "" && l.AtRisk != "0.00" {
			return guard.OutcomeConfirmedFraud
		}
		return ""
	}
	if a >= guard.Friction {
		return guard.OutcomeFalseAlarm
	}
	return ""
}

func fitModel(ds *model.Dataset, cfg Config) (*model.Model, error) {
	switch cfg.Kind {
	case model.KindLogistic:
		p := cfg.Logistic
		if p.L2 == 0 {
			p.L2 = 1
		}
		p.Name = cfg.Name
		m, err := model.TrainLogistic(ds, p)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return m, nil
	default:
		p := cfg.GBDT
		if p.Rounds == 0 {
			p = DefaultGBDT
		}
		p.Seed, p.Name = cfg.Seed, cfg.Name
		m, err := model.TrainGBDT(ds, p)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return m, nil
	}
}

func describe(cfg Config, rep *Report) string {
	packs := make([]string, 0, len(cfg.Ruleset.Packs))
	for _, p := range cfg.Ruleset.Packs {
		packs = append(packs, fmt.Sprintf("%s v%d", p.Spec.Pack, p.Version))
	}
	slices.Sort(packs)
	day := func(t time.Time) string { return t.Format(time.RFC3339) }
	s := fmt.Sprintf("fit %s to %s (%d rows, %d scam, legitimate rows sampled at %g), calibration to %s (%d rows, %d scam), test to %s; label delay %s; packs: %s",
		day(rep.From), day(cfg.CalibrateFrom), rep.Fit.Rows, rep.Fit.Positives, cfg.NegativeRate,
		day(cfg.TestFrom), rep.Calibration.Rows, rep.Calibration.Positives, day(rep.To), cfg.LabelDelay, strings.Join(packs, ", "))
	if cfg.Data != "" {
		s = cfg.Data + "; " + s
	}
	return s
}

func quality(scores []float64, y []bool) Quality {
	return Quality{AUC: model.AUC(scores, y), AP: model.AveragePrecision(scores, y)}
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// keep samples legitimate rows by a hash of the event id, so that the choice
// depends on neither the order of the history nor any label.
func keep(id string, seed uint64, rate float64) bool {
	if rate >= 1 {
		return true
	}
	h := uint64(14695981039346656037) ^ seed*0x9e3779b97f4a7c15
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	// splitmix64's finaliser: FNV's low bits alone are poorly mixed.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11)/(1<<53) < rate
}

// outcomeHeap orders pending outcomes by due time.
type outcomeHeap []pendingOutcome

func (h *outcomeHeap) push(o pendingOutcome) {
	*h = append(*h, o)
	s := *h
	for i := len(s) - 1; i > 0; {
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

// Cuts returns the default cut points: the given shares of the span from
// first to last.
func Cuts(first, last time.Time, calibrateAt, testAt float64) (calibrateFrom, testFrom time.Time) {
	span := last.Sub(first)
	return first.Add(time.Duration(float64(span) * calibrateAt)), first.Add(time.Duration(float64(span) * testAt))
}
