package model

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/xiaobao-org/xiaobao/guard"
)

// GuardScorer serves a model inside Guard: it reads the model's features
// from the env by their rule names (e.g. "customer.pay_count_24h") and
// returns the calibrated probability and the features that pushed it most.
type GuardScorer struct {
	m     *Model
	index [][]int // per feature, the field index path in guard.Env
	kinds []reflect.Kind
	// TopK is how many contributions each score names (3 by default).
	TopK int
}

var envType = reflect.TypeFor[guard.Env]()

// NewGuardScorer checks that every feature of m is a numeric or boolean
// feature of guard.Env and returns the scorer.
func NewGuardScorer(m *Model) (*GuardScorer, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("guard scorer: %w", err)
	}
	fields := map[string][]int{}
	for i := 0; i < envType.NumField(); i++ {
		f := envType.Field(i)
		for j := 0; j < f.Type.NumField(); j++ {
			g := f.Type.Field(j)
			fields[f.Tag.Get("expr")+"."+g.Tag.Get("expr")] = []int{i, j}
		}
	}
	s := &GuardScorer{m: m, TopK: 3}
	for _, name := range m.Features {
		idx, ok := fields[name]
		if !ok {
			return nil, invalid("features", "%q is not a Guard feature", name)
		}
		k := envType.FieldByIndex(idx).Type.Kind()
		switch k {
		case reflect.Float64, reflect.Int, reflect.Bool:
		default:
			return nil, invalid("features", "Guard feature %q is a %s, not a number", name, k)
		}
		s.index = append(s.index, idx)
		s.kinds = append(s.kinds, k)
	}
	return s, nil
}

// Name returns the model's name.
func (s *GuardScorer) Name() string { return s.m.Name }

// Model returns the model served.
func (s *GuardScorer) Model() *Model { return s.m }

// maxStack is the feature count up to which Score keeps its buffers on the
// stack: it runs on every event.
const maxStack = 64

// Score implements guard.Scorer.
func (s *GuardScorer) Score(env *guard.Env) (float64, []guard.Contribution) {
	d := len(s.index)
	var xb, cb [maxStack]float64
	var x, c []float64
	if d <= maxStack {
		x, c = xb[:d], cb[:d]
	} else {
		x, c = make([]float64, d), make([]float64, d)
	}
	v := reflect.ValueOf(env).Elem()
	for j, idx := range s.index {
		f := v.Field(idx[0]).Field(idx[1])
		switch s.kinds[j] {
		case reflect.Float64:
			x[j] = f.Float()
		case reflect.Int:
			x[j] = float64(f.Int())
		case reflect.Bool:
			if f.Bool() {
				x[j] = 1
			} else {
				x[j] = 0
			}
		}
	}
	p := s.m.Predict(x)
	if s.TopK <= 0 {
		return p, nil
	}
	s.m.Contributions(x, c)
	return p, s.top(x, c)
}

// top returns the TopK features by absolute effect, largest first,
// allocating only the result.
func (s *GuardScorer) top(x, c []float64) []guard.Contribution {
	k := min(s.TopK, len(c))
	out := make([]guard.Contribution, 0, k)
	for j := range c {
		if c[j] == 0 {
			continue
		}
		a := abs(c[j])
		if len(out) == k && a <= abs(out[k-1].Effect) {
			continue
		}
		if len(out) < k {
			out = append(out, guard.Contribution{})
		}
		i := len(out) - 1
		for i > 0 && abs(out[i-1].Effect) < a {
			out[i] = out[i-1]
			i--
		}
		out[i] = guard.Contribution{Feature: s.m.Features[j], Value: x[j], Effect: c[j]}
	}
	return out
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Explain returns the k features of x that moved the margin most.
func (m *Model) Explain(x []float64, k int) []Contribution {
	c := make([]float64, len(m.Features))
	m.Contributions(x, c)
	out := make([]Contribution, len(c))
	for j := range c {
		out[j] = Contribution{Feature: m.Features[j], Value: x[j], Effect: c[j]}
	}
	sort.SliceStable(out, func(a, b int) bool { return abs(out[a].Effect) > abs(out[b].Effect) })
	return out[:min(k, len(out))]
}
