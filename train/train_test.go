package train

import (
	"bytes"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	replay "github.com/xiaobao-org/xiaobao/eval"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/model"
	"github.com/xiaobao-org/xiaobao/sim"
)

// history is a small simulated history, kept as raw events so that each
// replay decodes its own (Decide may keep what it is given).
type history struct {
	raw    [][]byte
	labels []sim.Label
	at     []int64
	start  time.Time
	end    time.Time
}

var (
	histOnce sync.Once
	hist     history
)

func smallHistory(t *testing.T) *history {
	histOnce.Do(func() {
		s := sim.New(sim.Config{Seed: 7, Customers: 3000, Days: 30, ScamRate: 10})
		c := s.Config()
		hist.start, hist.end = c.Start, c.Start.AddDate(0, 0, c.Days)
		for {
			it, ok := s.Next()
			if !ok {
				break
			}
			ev, err := guard.DecodeEvent(it.Event)
			if err != nil {
				panic(err)
			}
			hist.raw = append(hist.raw, it.Event)
			hist.labels = append(hist.labels, it.Label)
			hist.at = append(hist.at, ev.OccurredAt.Unix())
		}
	})
	return &hist
}

func (h *history) source(t *testing.T, labels []sim.Label) replay.Source {
	t.Helper()
	items := make([]replay.Item, len(h.raw))
	for i, raw := range h.raw {
		ev, err := guard.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		items[i] = replay.Item{Event: ev, Label: labels[i]}
	}
	return replay.SliceSource(items)
}

func testConfig(t *testing.T, h *history) Config {
	t.Helper()
	rs, err := replay.PackSet([]string{"builtin"}, [][]byte{guard.BuiltinPack()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Ruleset: rs, LabelDelay: 48 * time.Hour, Seed: 3, GBDT: DefaultGBDT}
	cfg.GBDT.Rounds = 60
	cfg.CalibrateFrom, cfg.TestFrom = Cuts(h.start, h.end, DefaultCalibrateAt, DefaultTestAt)
	return cfg
}

func modelJSON(t *testing.T, m *model.Model) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrain learns on the first part of a small history and must rank the
// later slice's scam events well above chance and the trivial baseline,
// and give the same model again for the same seed.
func TestTrain(t *testing.T) {
	h := smallHistory(t)
	cfg := testConfig(t, h)
	rep, err := Run(t.Context(), h.source(t, h.labels), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit %+v\ncalibration %+v\ntest %+v\nmodel %+v rules %+v combined %+v",
		rep.Fit, rep.Calibration, rep.Test, rep.ModelQuality, rep.Rules, rep.Combined)
	if rep.Test.Positives < 20 || rep.Fit.Positives < 50 {
		t.Fatalf("too few scam rows to judge: fit %d, test %d", rep.Fit.Positives, rep.Test.Positives)
	}
	prevalence := float64(rep.Test.Positives) / float64(rep.Test.Rows)
	if q := rep.ModelQuality; !(q.AUC > 0.8) || !(q.AP > 20*prevalence) {
		t.Errorf("model on the test slice: AUC %.3f AP %.3f (prevalence %.4f)", q.AUC, q.AP, prevalence)
	}
	if rep.Fit.Unknown == 0 || rep.Calibration.Unknown == 0 {
		t.Errorf("no row was left out for its label being too young: fit %+v calibration %+v", rep.Fit, rep.Calibration)
	}
	m := rep.Model
	if m.Calibration == nil || m.Calibration.Method != model.Platt || m.Training.Metrics["auc"] != math.Round(rep.ModelQuality.AUC*1e6)/1e6 {
		t.Errorf("model file misses its calibration or metrics: %+v %+v", m.Calibration, m.Training)
	}
	if _, err := model.Parse(modelJSON(t, m)); err != nil {
		t.Errorf("the model does not load back: %v", err)
	}

	again, err := Run(t.Context(), h.source(t, h.labels), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(modelJSON(t, m), modelJSON(t, again.Model)) {
		t.Error("two runs with the same seed gave different models")
	}
}

// TestLabelDelay flips every label that is younger than the delay when
// the model is final (at the test slice's start): the model must not
// change. Flipping labels just old enough must change it, or the test
// would prove nothing.
func TestLabelDelay(t *testing.T) {
	h := smallHistory(t)
	cfg := testConfig(t, h)
	cfg.GBDT.Rounds = 30
	final := cfg.TestFrom.Unix()
	delay := int64(cfg.LabelDelay / time.Second)
	flip := func(young bool) []sim.Label {
		out := make([]sim.Label, len(h.labels))
		flipped := 0
		for i, l := range h.labels {
			known := h.at[i] + delay
			if young && known > final || !young && known <= final && known > final-12*3600 {
				flipped++
				if l.ScamID != "" {
					l = sim.Label{EventID: l.EventID, Role: sim.RoleNormal, AtRisk: "0.00"}
				} else {
					l = sim.Label{EventID: l.EventID, ScamID: "flipped", Typology: "refund_scam", Role: sim.RoleVictim, AtRisk: "100.00"}
				}
			}
			out[i] = l
		}
		if flipped < 1000 {
			t.Fatalf("only %d labels flipped", flipped)
		}
		return out
	}
	strip := func(m *model.Model) []byte {
		c := *m
		c.Training.Metrics = nil // measured on the test slice, whose labels were flipped
		return modelJSON(t, &c)
	}
	base, err := Run(t.Context(), h.source(t, h.labels), cfg)
	if err != nil {
		t.Fatal(err)
	}
	young, err := Run(t.Context(), h.source(t, flip(true)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(strip(base.Model), strip(young.Model)) {
		t.Error("labels younger than the delay changed the model")
	}
	if young.ModelQuality == base.ModelQuality {
		t.Error("flipping the test slice's labels did not change its metrics: nothing was flipped")
	}
	old, err := Run(t.Context(), h.source(t, flip(false)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(strip(base.Model), strip(old.Model)) {
		t.Error("labels known before the model was final did not change it")
	}
}

// parity scores every event twice, as training reads its features and as
// model.GuardScorer reads them in production, and returns 0 so the rules
// decide.
type parity struct {
	t    *testing.T
	m    *model.Model
	tp   *tap
	gs   *model.GuardScorer
	n    int
	diff int
}

func (p *parity) Name() string { return "parity" }

func (p *parity) Score(env *guard.Env) (float64, []guard.Contribution) {
	p.tp.on = true
	p.tp.Score(env)
	want := p.m.Predict(p.tp.x)
	got, _ := p.gs.Score(env)
	p.n++
	if got != want {
		p.diff++
	}
	return 0, nil
}

// TestServedAsTrained checks that the model Guard serves reads the same
// features as training did: the same score for every event.
func TestServedAsTrained(t *testing.T) {
	h := smallHistory(t)
	cfg := testConfig(t, h)
	cfg.GBDT.Rounds = 20
	rep, err := Run(t.Context(), h.source(t, h.labels), cfg)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := model.NewGuardScorer(rep.Model)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := newTap(rep.Model.Features)
	if err != nil {
		t.Fatal(err)
	}
	p := &parity{t: t, m: rep.Model, tp: tp, gs: gs}
	eng := guard.NewEngine(cfg.Ruleset)
	eng.SetScorer(p)
	src := h.source(t, h.labels)
	for range 50000 {
		ev, _, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		eng.Decide(ev)
	}
	if p.n != 50000 || p.diff != 0 {
		t.Errorf("%d of %d events scored differently when served", p.diff, p.n)
	}
}

func TestRunErrors(t *testing.T) {
	h := smallHistory(t)
	cfg := testConfig(t, h)
	cfg.TestFrom = h.end.AddDate(0, 0, 1)
	if _, err := Run(t.Context(), h.source(t, h.labels), cfg); err == nil {
		t.Error("a test slice after the history was accepted")
	}
	cfg = testConfig(t, h)
	cfg.Features = []string{"customer.out_count_24h", "customer.id"}
	if _, err := Run(t.Context(), h.source(t, h.labels), cfg); err == nil {
		t.Error("a string feature was accepted")
	}
	cfg = testConfig(t, h)
	cfg.LabelDelay = -time.Hour
	if _, err := Run(t.Context(), h.source(t, h.labels), cfg); err == nil {
		t.Error("a negative label delay was accepted")
	}
}
