// Package model trains and scores fraud models in pure Go: regularised
// logistic regression and gradient-boosted trees, probability calibration,
// per-prediction contributions, a versioned model file and the metrics the
// fraud literature reports (AUC ROC, average precision, card precision@k).
// A trained model plugs into Guard through GuardScorer.
package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/xiaobao-org/xiaobao"
)

// The model file format. Version changes whenever a reader of the previous
// version would misread a file, so old binaries refuse new files loudly.
const (
	FormatName    = "xiaobao-model"
	FormatVersion = 1
)

// Kind is the learning algorithm of a model.
type Kind string

// The model kinds.
const (
	KindLogistic Kind = "logistic"
	KindGBDT     Kind = "gbdt"
)

// Model is a trained model and everything needed to score with it. The
// raw output is a margin (log-odds); Calibration, when present, maps it to a
// probability fitted on data the model was not trained on.
type Model struct {
	Format      string       `json:"format"`
	Version     int          `json:"version"`
	Name        string       `json:"name"`
	Kind        Kind         `json:"kind"`
	Features    []string     `json:"features"`
	Logistic    *Logistic    `json:"logistic,omitempty"`
	GBDT        *Ensemble    `json:"gbdt,omitempty"`
	Calibration *Calibration `json:"calibration,omitempty"`
	Training    Training     `json:"training"`
}

// Training describes how a model was trained, for audit: a regulator asks
// which data and which settings produced the score a customer got.
type Training struct {
	Rows      int                `json:"rows"`
	Positives int                `json:"positives"`
	TrainedAt string             `json:"trained_at,omitempty"`
	Data      string             `json:"data,omitempty"`
	Params    map[string]float64 `json:"params,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
}

// Logistic is a logistic regression on standardised features:
// margin = Intercept + Σ Coef[j]·(x[j]−Mean[j])/Scale[j].
type Logistic struct {
	Mean      []float64 `json:"mean"`
	Scale     []float64 `json:"scale"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

// Ensemble is a sum of regression trees on the log-odds scale.
type Ensemble struct {
	Base  float64 `json:"base"`
	Trees []Tree  `json:"trees"`
}

// Tree is a binary tree stored flat; node 0 is the root. Every node keeps
// its value (the shrunk Newton step of the rows that reached it), which is
// what path-based contributions difference.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// Node is one tree node. A leaf has F = -1. A row goes left when
// x[F] <= T; NaN goes right.
type Node struct {
	F int32   `json:"f"`
	T float64 `json:"t,omitempty"`
	L int32   `json:"l,omitempty"`
	R int32   `json:"r,omitempty"`
	V float64 `json:"v"`
}

// Margin returns the model's raw log-odds for feature vector x.
func (m *Model) Margin(x []float64) float64 {
	switch m.Kind {
	case KindLogistic:
		lr := m.Logistic
		s := lr.Intercept
		for j, c := range lr.Coef {
			s += c * (x[j] - lr.Mean[j]) / lr.Scale[j]
		}
		return s
	case KindGBDT:
		s := m.GBDT.Base
		for i := range m.GBDT.Trees {
			s += m.GBDT.Trees[i].leaf(x).V
		}
		return s
	}
	return math.NaN()
}

func (t *Tree) leaf(x []float64) *Node {
	n := &t.Nodes[0]
	for n.F >= 0 {
		if x[n.F] <= n.T {
			n = &t.Nodes[n.L]
		} else {
			n = &t.Nodes[n.R]
		}
	}
	return n
}

// Predict returns the probability of the positive class for x: the
// calibrated probability when the model has a calibration, else the
// logistic of the margin.
func (m *Model) Predict(x []float64) float64 {
	return m.Calibration.Apply(m.Margin(x))
}

// Contributions writes into dst (len(Features)) how much each feature moved
// the margin for x and returns the bias (the margin with no feature
// information), so that bias + Σ dst = Margin(x). For logistic regression a
// contribution is coef × standardised value; for trees it is the change in
// node value along the path (Saabas).
func (m *Model) Contributions(x, dst []float64) (bias float64) {
	clear(dst)
	switch m.Kind {
	case KindLogistic:
		lr := m.Logistic
		for j, c := range lr.Coef {
			dst[j] = c * (x[j] - lr.Mean[j]) / lr.Scale[j]
		}
		return lr.Intercept
	case KindGBDT:
		bias = m.GBDT.Base
		for i := range m.GBDT.Trees {
			t := &m.GBDT.Trees[i]
			n := &t.Nodes[0]
			bias += n.V
			for n.F >= 0 {
				next := &t.Nodes[n.R]
				if x[n.F] <= n.T {
					next = &t.Nodes[n.L]
				}
				dst[n.F] += next.V - n.V
				n = next
			}
		}
	}
	return bias
}

// Save writes the model to path as indented JSON.
func (m *Model) Save(path string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return nil
}

// Load reads and validates a model file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and validates a model file's bytes. Unknown fields are
// rejected: a field this version does not know is one it would ignore.
func Parse(b []byte) (*Model, error) {
	var m Model
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "model file: %v", err)
	}
	if dec.More() {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "model file: data after the model")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func invalid(field, format string, args ...any) error {
	return xiaobao.Invalid("model file: "+field+": "+fmt.Sprintf(format, args...),
		xiaobao.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Validate checks that the model can score without panicking and means what
// it says: every index in range, every number finite, trees acyclic.
func (m *Model) Validate() error {
	if m.Format != FormatName {
		return invalid("format", "is %q, want %q", m.Format, FormatName)
	}
	if m.Version != FormatVersion {
		return invalid("version", "is %d, this build reads %d", m.Version, FormatVersion)
	}
	d := len(m.Features)
	if d == 0 {
		return invalid("features", "is empty")
	}
	seen := make(map[string]bool, d)
	for i, f := range m.Features {
		if f == "" || seen[f] {
			return invalid(fmt.Sprintf("features[%d]", i), "empty or repeated name %q", f)
		}
		seen[f] = true
	}
	switch m.Kind {
	case KindLogistic:
		if m.GBDT != nil {
			return invalid("gbdt", "set on a logistic model")
		}
		lr := m.Logistic
		if lr == nil {
			return invalid("logistic", "missing")
		}
		for name, v := range map[string][]float64{"logistic.mean": lr.Mean, "logistic.scale": lr.Scale, "logistic.coef": lr.Coef} {
			if len(v) != d {
				return invalid(name, "has %d values for %d features", len(v), d)
			}
			for j, x := range v {
				if !finite(x) || name == "logistic.scale" && x <= 0 {
					return invalid(fmt.Sprintf("%s[%d]", name, j), "bad value %v", x)
				}
			}
		}
		if !finite(lr.Intercept) {
			return invalid("logistic.intercept", "not finite")
		}
	case KindGBDT:
		if m.Logistic != nil {
			return invalid("logistic", "set on a gbdt model")
		}
		g := m.GBDT
		if g == nil {
			return invalid("gbdt", "missing")
		}
		if !finite(g.Base) {
			return invalid("gbdt.base", "not finite")
		}
		for i := range g.Trees {
			if err := g.Trees[i].validate(fmt.Sprintf("gbdt.trees[%d]", i), d); err != nil {
				return err
			}
		}
	default:
		return invalid("kind", "unknown kind %q (want %q or %q)", m.Kind, KindLogistic, KindGBDT)
	}
	return m.Calibration.validate()
}

func (t *Tree) validate(field string, d int) error {
	if len(t.Nodes) == 0 {
		return invalid(field+".nodes", "is empty")
	}
	for k, n := range t.Nodes {
		f := fmt.Sprintf("%s.nodes[%d]", field, k)
		if !finite(n.V) {
			return invalid(f+".v", "not finite")
		}
		if n.F < 0 {
			if n.F != -1 {
				return invalid(f+".f", "is %d: a leaf has -1", n.F)
			}
			continue
		}
		if int(n.F) >= d {
			return invalid(f+".f", "feature %d out of range (%d features)", n.F, d)
		}
		if math.IsNaN(n.T) {
			return invalid(f+".t", "is NaN")
		}
		// Children after their parent: no cycles, so scoring terminates.
		if n.L <= int32(k) || int(n.L) >= len(t.Nodes) {
			return invalid(f+".l", "child %d out of range", n.L)
		}
		if n.R <= int32(k) || int(n.R) >= len(t.Nodes) {
			return invalid(f+".r", "child %d out of range", n.R)
		}
	}
	return nil
}

// Importance returns, per feature, the mean absolute contribution over rows
// of x (row-major, len(Features) columns), sorted descending.
func (m *Model) Importance(x []float64) []Contribution {
	d := len(m.Features)
	n := len(x) / d
	sum := make([]float64, d)
	buf := make([]float64, d)
	for i := 0; i < n; i++ {
		m.Contributions(x[i*d:(i+1)*d], buf)
		for j, v := range buf {
			sum[j] += math.Abs(v)
		}
	}
	out := make([]Contribution, d)
	for j := range out {
		out[j] = Contribution{Feature: m.Features[j], Effect: sum[j] / float64(max(n, 1))}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Effect > out[b].Effect })
	return out
}

// Contribution is one feature's push on a score, in log-odds.
type Contribution struct {
	Feature string
	Value   float64
	Effect  float64
}

var errNoRows = errors.New("no training rows")
