package model

import (
	"fmt"
	"math"
	"sort"
)

// Calibration maps a margin to a probability. Platt scaling
// (p = σ(A·margin + B)) keeps the ranking of a model with A > 0; isotonic
// regression is a non-decreasing step function interpolated linearly
// between the fitted points, X ascending margins and Y probabilities.
type Calibration struct {
	Method string    `json:"method"` // "platt" or "isotonic"
	A      float64   `json:"a,omitempty"`
	B      float64   `json:"b,omitempty"`
	X      []float64 `json:"x,omitempty"`
	Y      []float64 `json:"y,omitempty"`
}

// The calibration methods.
const (
	Platt    = "platt"
	Isotonic = "isotonic"
)

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Apply maps a margin to a probability; a nil calibration is the logistic
// function, the probability the model was trained to output.
func (c *Calibration) Apply(margin float64) float64 {
	if c == nil {
		return sigmoid(margin)
	}
	switch c.Method {
	case Platt:
		return sigmoid(c.A*margin + c.B)
	case Isotonic:
		x, y := c.X, c.Y
		if math.IsNaN(margin) {
			return margin
		}
		if margin <= x[0] {
			return y[0]
		}
		if margin >= x[len(x)-1] {
			return y[len(y)-1]
		}
		k := sort.SearchFloat64s(x, margin) // x[k-1] < margin <= x[k]
		f := (margin - x[k-1]) / (x[k] - x[k-1])
		return y[k-1] + f*(y[k]-y[k-1])
	}
	return math.NaN()
}

func (c *Calibration) validate() error {
	if c == nil {
		return nil
	}
	switch c.Method {
	case Platt:
		if !finite(c.A) || !finite(c.B) || c.A <= 0 {
			return invalid("calibration.a", "platt needs finite a > 0 and finite b (a=%v b=%v)", c.A, c.B)
		}
	case Isotonic:
		if len(c.X) == 0 || len(c.X) != len(c.Y) {
			return invalid("calibration.x", "%d points for %d values", len(c.X), len(c.Y))
		}
		for i := range c.X {
			if !finite(c.X[i]) || i > 0 && c.X[i] <= c.X[i-1] {
				return invalid(fmt.Sprintf("calibration.x[%d]", i), "not finite and strictly increasing")
			}
			if !(c.Y[i] >= 0 && c.Y[i] <= 1) || i > 0 && c.Y[i] < c.Y[i-1] {
				return invalid(fmt.Sprintf("calibration.y[%d]", i), "not in [0,1] and non-decreasing")
			}
		}
	default:
		return invalid("calibration.method", "unknown method %q (want %q or %q)", c.Method, Platt, Isotonic)
	}
	return nil
}

// FitPlatt fits p = σ(A·margin + B) by Newton's method on the log loss,
// with Platt's smoothed targets so that a separable slice does not send A
// to infinity, and a backtracking line search: on boosted margins of a
// slice that is already well separated, plain Newton steps overshoot to
// A ≈ 1e10, a step function that ties every score at 0 or 1.
func FitPlatt(margins, y []float64) (*Calibration, error) {
	var pos, neg float64
	for _, v := range y {
		if v > 0.5 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return nil, fmt.Errorf("platt calibration: need both classes (%v positives, %v negatives)", pos, neg)
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	loss := func(a, b float64) float64 {
		var l float64
		for i, m := range margins {
			t := lo
			if y[i] > 0.5 {
				t = hi
			}
			z := a*m + b
			// −t·log σ(z) − (1−t)·log(1−σ(z)), stably: log(1+e^z) − t·z.
			l += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - t*z
		}
		return l
	}
	a, b := 1.0, math.Log((pos+1)/(neg+1))
	cur := loss(a, b)
	for iter := 0; iter < 100; iter++ {
		var g0, g1, h00, h01, h11 float64
		for i, m := range margins {
			t := lo
			if y[i] > 0.5 {
				t = hi
			}
			p := sigmoid(a*m + b)
			d := p - t
			w := max(p*(1-p), 1e-12)
			g0 += d * m
			g1 += d
			h00 += w * m * m
			h01 += w * m
			h11 += w
		}
		h00 += 1e-9
		h11 += 1e-9
		det := h00*h11 - h01*h01
		if det <= 0 {
			break
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		step, improved := 1.0, false
		for k := 0; k < 40; k++ {
			na, nb := a-step*da, b-step*db
			if l := loss(na, nb); l <= cur {
				a, b, cur, improved = na, nb, l, true
				break
			}
			step /= 2
		}
		if !improved || math.Abs(step*da)+math.Abs(step*db) < 1e-10 {
			break
		}
	}
	c := &Calibration{Method: Platt, A: a, B: b}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("platt calibration: %w", err)
	}
	return c, nil
}

// FitIsotonic fits a non-decreasing map from margin to probability by pool
// adjacent violators; each pooled block becomes one point at its mean
// margin.
func FitIsotonic(margins, y []float64) (*Calibration, error) {
	if len(margins) == 0 {
		return nil, fmt.Errorf("isotonic calibration: %w", errNoRows)
	}
	idx := make([]int, len(margins))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return margins[idx[a]] < margins[idx[b]] })
	type block struct{ x, y, w float64 }
	var st []block
	for k := 0; k < len(idx); {
		// Equal margins pool first: a step function cannot split a tie.
		j := k
		var bx, by float64
		for j < len(idx) && margins[idx[j]] == margins[idx[k]] {
			bx += margins[idx[j]]
			by += y[idx[j]]
			j++
		}
		w := float64(j - k)
		b := block{bx / w, by / w, w}
		k = j
		for len(st) > 0 && st[len(st)-1].y >= b.y {
			p := st[len(st)-1]
			st = st[:len(st)-1]
			tw := p.w + b.w
			b = block{(p.x*p.w + b.x*b.w) / tw, (p.y*p.w + b.y*b.w) / tw, tw}
		}
		st = append(st, b)
	}
	c := &Calibration{Method: Isotonic}
	for _, b := range st {
		c.X = append(c.X, b.x)
		c.Y = append(c.Y, min(max(b.y, 0), 1))
	}
	return c, c.validate()
}

// Calibrate fits the model's calibration on a held-out slice (rows the
// model was not trained on) with the given method.
func (m *Model) Calibrate(ds *Dataset, method string) error {
	margins := make([]float64, ds.Rows())
	for i := range margins {
		margins[i] = m.Margin(ds.Row(i))
	}
	var c *Calibration
	var err error
	switch method {
	case Platt:
		c, err = FitPlatt(margins, ds.Y)
	case Isotonic:
		c, err = FitIsotonic(margins, ds.Y)
	default:
		err = fmt.Errorf("unknown calibration method %q", method)
	}
	if err != nil {
		return fmt.Errorf("calibrate %s: %w", m.Name, err)
	}
	m.Calibration = c
	return nil
}
