package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{"perfect", []float64{0.9, 0.8, 0.1}, []bool{true, true, false}, 1},
		{"reversed", []float64{0.1, 0.2, 0.9}, []bool{true, true, false}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false}, 0.5},
		// pos@1 vs neg@1 ties (½), vs neg@0 wins (1): 1.5 of 2 pairs.
		{"tie at the top", []float64{1, 1, 0}, []bool{true, false, false}, 0.75},
		// pairs: p.9>n.5 p.9>n.1 p.5=n.5 p.5>n.1 → 3.5/4
		{"tie in the middle", []float64{0.9, 0.5, 0.5, 0.1}, []bool{true, true, false, false}, 0.875},
	} {
		if got := AUC(tc.scores, tc.labels); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: AUC = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !math.IsNaN(AUC([]float64{1, 2}, []bool{true, true})) {
		t.Error("AUC with one class should be NaN")
	}
}

func TestAveragePrecision(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.8333333333333333},
		{"perfect", []float64{3, 2, 1}, []bool{true, true, false}, 1},
		// One threshold: P = ½ at R = 1.
		{"tie at the top", []float64{1, 1, 0}, []bool{true, false, false}, 0.5},
		// R .5 at P 1, then R 1 at P ⅔ (the tie counts as one threshold).
		{"tie below", []float64{0.9, 0.5, 0.5}, []bool{true, false, true}, 0.5 + 0.5*2.0/3},
		{"all tied", []float64{1, 1, 1, 1}, []bool{true, false, false, false}, 0.25},
	} {
		if got := AveragePrecision(tc.scores, tc.labels); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: AP = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCardPrecisionAtK(t *testing.T) {
	rows := []CardRow{
		// Day 0: card 1 (max .9, fraud), card 2 (.8, genuine), card 3 (.8, fraud): the tie at .8 goes to card 2.
		{0, 1, 0.9, false}, {0, 1, 0.2, true}, {0, 2, 0.8, false}, {0, 3, 0.8, true},
		// Day 1: card 1 was found on day 0 and is skipped; card 3 was not
		// (it missed the top 2) and counts.
		{1, 1, 0.99, true}, {1, 3, 0.7, true}, {1, 4, 0.6, false}, {1, 5, 0.1, true},
	}
	mean, per := CardPrecisionAtK(rows, 2)
	if len(per) != 2 || per[0] != 0.5 || per[1] != 0.5 || mean != 0.5 {
		t.Fatalf("CP@2 = %v %v, want 0.5 [0.5 0.5]", mean, per)
	}
	// Fewer cards than k still divide by k.
	if m, _ := CardPrecisionAtK([]CardRow{{0, 7, 1, true}}, 100); m != 0.01 {
		t.Errorf("CP@100 with one card = %v, want 0.01", m)
	}
}

func synthLogistic(n int, seed uint64, w []float64, b float64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	ds := &Dataset{Features: []string{"a", "b", "c"}}
	x := make([]float64, 3)
	for i := 0; i < n; i++ {
		m := b
		for j := range x {
			x[j] = r.NormFloat64()
			m += w[j] * x[j]
		}
		y := 0.0
		if r.Float64() < sigmoid(m) {
			y = 1
		}
		ds.Append(x, y)
	}
	return ds
}

func TestLogisticRecoversCoefficients(t *testing.T) {
	w := []float64{2, -1, 0}
	ds := synthLogistic(40000, 7, w, -0.5)
	m, err := TrainLogistic(ds, LogisticParams{L2: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range m.Logistic.Coef {
		// Standardised coefficient back on the raw scale.
		raw := c / m.Logistic.Scale[j]
		if !near(raw, w[j], 0.08) {
			t.Errorf("coef %s = %.3f, want %.1f", ds.Features[j], raw, w[j])
		}
	}
	b := m.Margin([]float64{0, 0, 0})
	if !near(b, -0.5, 0.08) {
		t.Errorf("margin at 0 = %.3f, want -0.5", b)
	}
	// Contributions add up to the margin.
	x := ds.Row(3)
	c := make([]float64, 3)
	bias := m.Contributions(x, c)
	if !near(bias+c[0]+c[1]+c[2], m.Margin(x), 1e-9) {
		t.Error("LR contributions do not sum to the margin")
	}
}

func xorData(n int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 2))
	ds := &Dataset{Features: []string{"x1", "x2", "noise"}}
	for i := 0; i < n; i++ {
		a, b := r.Float64()*2-1, r.Float64()*2-1
		y := 0.0
		if (a > 0) != (b > 0) {
			y = 1
		}
		ds.Append([]float64{a, b, r.Float64()}, y)
	}
	return ds
}

func accuracy(m *Model, ds *Dataset) float64 {
	ok := 0
	for i := 0; i < ds.Rows(); i++ {
		if (m.Predict(ds.Row(i)) > 0.5) == (ds.Y[i] == 1) {
			ok++
		}
	}
	return float64(ok) / float64(ds.Rows())
}

func TestGBDT(t *testing.T) {
	train, test := xorData(4000, 1), xorData(2000, 2)
	for _, tc := range []struct {
		name string
		p    GBDTParams
		min  float64
	}{
		{"depth 2", GBDTParams{Rounds: 150, MaxDepth: 2, MaxLeaves: 4, LearningRate: 0.3}, 0.97},
		{"subsampled", GBDTParams{Rounds: 80, MaxDepth: 3, Subsample: 0.5, ColSample: 0.7, Seed: 3}, 0.96},
		{"stumps cannot learn XOR", GBDTParams{Rounds: 50, MaxDepth: 1}, 0},
	} {
		m, err := TrainGBDT(train, tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		acc := accuracy(m, test)
		if tc.min == 0 {
			if acc > 0.65 {
				t.Errorf("%s: accuracy %.3f: additive stumps should not fit XOR", tc.name, acc)
			}
			continue
		}
		if acc < tc.min {
			t.Errorf("%s: accuracy %.3f < %.2f", tc.name, acc, tc.min)
		}
		// Saabas contributions sum to the margin.
		x := test.Row(0)
		c := make([]float64, 3)
		bias := m.Contributions(x, c)
		if !near(bias+c[0]+c[1]+c[2], m.Margin(x), 1e-9) {
			t.Errorf("%s: contributions do not sum to the margin", tc.name)
		}
		if math.Abs(c[2]) > math.Abs(c[0])+math.Abs(c[1]) {
			t.Errorf("%s: noise contributes more than the signal: %v", tc.name, c)
		}
	}
}

func TestGBDTDeterministic(t *testing.T) {
	ds := xorData(3000, 4)
	p := GBDTParams{Rounds: 20, Subsample: 0.6, ColSample: 0.6, Seed: 42}
	a, _ := TrainGBDT(ds, p)
	b, _ := TrainGBDT(ds, p)
	p.Seed = 43
	c, _ := TrainGBDT(ds, p)
	same, differ := true, false
	for i := 0; i < 200; i++ {
		x := ds.Row(i)
		same = same && a.Margin(x) == b.Margin(x)
		differ = differ || a.Margin(x) != c.Margin(x)
	}
	if !same || !differ {
		t.Errorf("same seed same model: %v; other seed other model: %v", same, differ)
	}
}

func TestGBDTEarlyStopAndLimits(t *testing.T) {
	train, valid := xorData(3000, 5), xorData(1000, 6)
	m, err := TrainGBDT(train, GBDTParams{Rounds: 500, LearningRate: 0.5, Valid: valid, EarlyStop: 10, MinLeaf: 50, MaxLeaves: 5})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.GBDT.Trees); n == 0 || n >= 500 {
		t.Errorf("early stopping kept %d trees", n)
	}
	for _, tr := range m.GBDT.Trees {
		leaves := 0
		for _, n := range tr.Nodes {
			if n.F < 0 {
				leaves++
			}
		}
		if leaves > 5 {
			t.Fatalf("tree has %d leaves, limit 5", leaves)
		}
	}
}

func TestCalibrationMonotone(t *testing.T) {
	ds := synthLogistic(5000, 9, []float64{1.5, 0, 0}, -2)
	m, err := TrainLogistic(ds, LogisticParams{L2: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{Platt, Isotonic} {
		if err := m.Calibrate(synthLogistic(3000, 10, []float64{1.5, 0, 0}, -2), method); err != nil {
			t.Fatal(err)
		}
		prev := -1.0
		for z := -10.0; z <= 10; z += 0.05 {
			p := m.Calibration.Apply(z)
			if p < prev || p < 0 || p > 1 {
				t.Fatalf("%s: p(%v) = %v after %v: not monotone in [0,1]", method, z, p, prev)
			}
			prev = p
		}
		// A well-specified model needs little correction: p at the margin
		// of a 50% event stays near 50%.
		if p := m.Calibration.Apply(0); !near(p, 0.5, 0.1) {
			t.Errorf("%s: p(0) = %v", method, p)
		}
	}
	if _, err := FitPlatt([]float64{1, 2}, []float64{1, 1}); err == nil {
		t.Error("platt on one class should fail")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ds := xorData(2000, 11)
	g, err := TrainGBDT(ds, GBDTParams{Rounds: 30, Subsample: 0.8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Calibrate(xorData(1000, 12), Isotonic); err != nil {
		t.Fatal(err)
	}
	l, err := TrainLogistic(ds, LogisticParams{L2: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Calibrate(xorData(1000, 13), Platt); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, m := range []*Model{g, l} {
		path := filepath.Join(dir, m.Name+".json")
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < ds.Rows(); i++ {
			if a, b := m.Predict(ds.Row(i)), back.Predict(ds.Row(i)); a != b {
				t.Fatalf("%s row %d: %v before save, %v after", m.Name, i, a, b)
			}
		}
	}
}

const tinyModel = `{"format":"xiaobao-model","version":1,"name":"t","kind":"gbdt","features":["a","b"],
"gbdt":{"base":0,"trees":[{"nodes":[{"f":0,"t":0.5,"l":1,"r":2,"v":0},{"f":-1,"v":-1},{"f":-1,"v":1}]}]},
"training":{"rows":1,"positives":1}}`

func TestParseRejects(t *testing.T) {
	if _, err := Parse([]byte(tinyModel)); err != nil {
		t.Fatalf("valid model rejected: %v", err)
	}
	for _, tc := range []struct{ name, from, to, field string }{
		{"format", `"xiaobao-model"`, `"other"`, "format"},
		{"version", `"version":1`, `"version":2`, "version"},
		{"kind", `"kind":"gbdt"`, `"kind":"svm"`, "kind"},
		{"no features", `["a","b"]`, `[]`, "features"},
		{"repeated feature", `["a","b"]`, `["a","a"]`, "features[1]"},
		{"feature out of range", `"f":0`, `"f":2`, "gbdt.trees[0].nodes[0].f"},
		{"cycle", `"l":1`, `"l":0`, "gbdt.trees[0].nodes[0].l"},
		{"child out of range", `"r":2`, `"r":9`, "gbdt.trees[0].nodes[0].r"},
		{"bad leaf", `{"f":-1,"v":-1}`, `{"f":-2,"v":-1}`, "gbdt.trees[0].nodes[1].f"},
		{"no gbdt", `"gbdt":`, `"logistic":null,"gbdt":null,"x":`, ""},
		{"gbdt on logistic", `"kind":"gbdt"`, `"kind":"logistic"`, "gbdt"},
		{"missing logistic", `"kind":"gbdt","features":["a","b"],
"gbdt"`, `"kind":"logistic","features":["a","b"],"x"`, ""},
		{"bad calibration", `"training"`, `"calibration":{"method":"platt","a":-1},"training"`, "calibration.a"},
		{"isotonic unsorted", `"training"`, `"calibration":{"method":"isotonic","x":[1,0],"y":[0,1]},"training"`, "calibration.x[1]"},
		{"trailing data", `}}`, `}} {}`, ""},
		{"not json", `{`, `[`, ""},
	} {
		_, err := Parse([]byte(strings.Replace(tinyModel, tc.from, tc.to, 1)))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if xiaobao.ErrorCode(err) != xiaobao.EINVALID {
			t.Errorf("%s: code %s, want invalid", tc.name, xiaobao.ErrorCode(err))
		}
		if tc.field != "" {
			var xe *xiaobao.Error
			if !errors.As(err, &xe) || len(xe.Fields) == 0 || xe.Fields[0].Field != tc.field {
				t.Errorf("%s: error %v does not name field %s", tc.name, err, tc.field)
			}
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("load of a missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(tinyModel))
	if b, err := os.ReadFile("testdata/logistic.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format":"xiaobao-model","version":1,"kind":"logistic","features":["a"],"logistic":{"mean":[0],"scale":[1],"coef":[1],"intercept":0},"calibration":{"method":"isotonic","x":[0,1],"y":[0,1]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		x := make([]float64, len(m.Features))
		c := make([]float64, len(m.Features))
		for _, v := range []float64{0, -1e9, 1e9, math.NaN()} {
			for j := range x {
				x[j] = v
			}
			m.Predict(x)
			m.Contributions(x, c)
		}
	})
}

func TestGuardScorer(t *testing.T) {
	feats := []string{"event.amount", "customer.pay_count_24h", "payee.is_new"}
	ds := &Dataset{Features: feats}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 3000; i++ {
		amt, n, nw := r.Float64()*500, float64(r.IntN(10)), float64(r.IntN(2))
		y := 0.0
		if amt > 300 && nw == 1 || r.Float64() < 0.02 {
			y = 1
		}
		ds.Append([]float64{amt, n, nw}, y)
	}
	m, err := TrainGBDT(ds, GBDTParams{Rounds: 40, Name: "test-gbdt"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewGuardScorer(m)
	if err != nil {
		t.Fatal(err)
	}
	var _ guard.Scorer = s
	env := &guard.Env{}
	env.Event.Amount, env.Customer.PayCount24h, env.Payee.IsNew = 400, 3, true
	p, top := s.Score(env)
	if want := m.Predict([]float64{400, 3, 1}); p != want || p < 0.5 {
		t.Errorf("score %v, model says %v (want a high score)", p, want)
	}
	if len(top) == 0 || top[0].Feature != "event.amount" && top[0].Feature != "payee.is_new" {
		t.Errorf("top contributions %+v", top)
	}
	for i := 1; i < len(top); i++ {
		if math.Abs(top[i].Effect) > math.Abs(top[i-1].Effect) {
			t.Errorf("contributions not sorted: %+v", top)
		}
	}
	if n := testing.AllocsPerRun(100, func() { s.Score(env) }); n > 1 {
		t.Errorf("Score allocates %v times per call, want at most 1 (the result)", n)
	}
	for _, bad := range [][]string{{"customer.no_such"}, {"customer.age_band"}, {"nodot"}} {
		m2 := *m
		m2.Features = bad
		m2.GBDT = &Ensemble{Trees: []Tree{{Nodes: []Node{{F: -1}}}}}
		if _, err := NewGuardScorer(&m2); err == nil {
			t.Errorf("feature %v accepted", bad)
		}
	}
}

// TestPlattSeparatedMargins: boosted margins on a well-separated slice
// once sent plain Newton steps to A ≈ 1e10, tying every score at 0 or 1.
func TestPlattSeparatedMargins(t *testing.T) {
	var margins, y []float64
	for i := range 2000 {
		m := -8 + float64(i%50)*0.1
		label := 0.0
		if i%100 == 0 {
			m, label = 6+float64(i%7), 1
		}
		margins, y = append(margins, m), append(y, label)
	}
	c, err := FitPlatt(margins, y)
	if err != nil {
		t.Fatal(err)
	}
	if c.A > 1e3 {
		t.Errorf("A = %v: the fit ran off", c.A)
	}
	if lo, hi := c.Apply(-8), c.Apply(-3.1); !(lo < hi) {
		t.Errorf("calibrated scores tie: %v, %v", lo, hi)
	}
}
