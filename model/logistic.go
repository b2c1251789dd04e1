package model

import (
	"fmt"
	"math"
)

// LogisticParams configures logistic regression. L2 penalises the squared
// standardised coefficients (not the intercept), scaled like sklearn's
// C = 1/L2 on the summed loss.
type LogisticParams struct {
	L2       float64
	MaxIter  int     // Newton iterations; 0 means 50
	Tol      float64 // stop when the largest step is below it; 0 means 1e-8
	Name     string
	DataNote string
}

// TrainLogistic fits a regularised logistic regression by Newton's method
// (IRLS) on standardised features. Features are few, so the d×d Hessian is
// cheap and Newton converges in a handful of passes.
func TrainLogistic(ds *Dataset, p LogisticParams) (*Model, error) {
	if err := ds.check(); err != nil {
		return nil, fmt.Errorf("train logistic: %w", err)
	}
	if p.MaxIter == 0 {
		p.MaxIter = 50
	}
	if p.Tol == 0 {
		p.Tol = 1e-8
	}
	d, n := len(ds.Features), ds.Rows()
	mean, scale := make([]float64, d), make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range ds.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j, v := range ds.Row(i) {
			scale[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j] / float64(n))
		if scale[j] < 1e-12 {
			scale[j] = 1 // a constant column: its coefficient stays 0 under L2
		}
	}
	// w[0] is the intercept, w[1+j] the coefficient of feature j.
	k := d + 1
	w := make([]float64, k)
	z := make([]float64, k)
	g := make([]float64, k)
	h := make([]float64, k*k)
	for iter := 0; iter < p.MaxIter; iter++ {
		clear(g)
		clear(h)
		for i := 0; i < n; i++ {
			z[0] = 1
			for j, v := range ds.Row(i) {
				z[1+j] = (v - mean[j]) / scale[j]
			}
			m := 0.0
			for j := range w {
				m += w[j] * z[j]
			}
			pr := sigmoid(m)
			r := pr - ds.Y[i]
			wt := max(pr*(1-pr), 1e-10)
			for a := 0; a < k; a++ {
				g[a] += r * z[a]
				za := wt * z[a]
				row := h[a*k:]
				for b := 0; b <= a; b++ {
					row[b] += za * z[b]
				}
			}
		}
		for a := 1; a < k; a++ {
			g[a] += p.L2 * w[a]
			h[a*k+a] += p.L2
		}
		h[0] += 1e-9
		for a := 0; a < k; a++ {
			for b := a + 1; b < k; b++ {
				h[a*k+b] = h[b*k+a]
			}
		}
		step, err := cholSolve(h, g, k)
		if err != nil {
			return nil, fmt.Errorf("train logistic: iteration %d: %w", iter, err)
		}
		big := 0.0
		for a := range w {
			w[a] -= step[a]
			big = max(big, math.Abs(step[a]))
		}
		if big < p.Tol {
			break
		}
	}
	name := p.Name
	if name == "" {
		name = "logistic"
	}
	m := &Model{
		Format: FormatName, Version: FormatVersion, Name: name, Kind: KindLogistic,
		Features: append([]string(nil), ds.Features...),
		Logistic: &Logistic{Mean: mean, Scale: scale, Coef: append([]float64(nil), w[1:]...), Intercept: w[0]},
		Training: Training{Rows: n, Positives: ds.positives(), Data: p.DataNote, Params: map[string]float64{"l2": p.L2}},
	}
	return m, m.Validate()
}

// cholSolve solves H x = g for symmetric positive definite H (k×k,
// row-major), leaving H and g intact.
func cholSolve(h, g []float64, k int) ([]float64, error) {
	l := make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j <= i; j++ {
			s := h[i*k+j]
			for m := 0; m < j; m++ {
				s -= l[i*k+m] * l[j*k+m]
			}
			if i == j {
				if s <= 0 {
					return nil, fmt.Errorf("hessian not positive definite at %d (add L2)", i)
				}
				l[i*k+i] = math.Sqrt(s)
			} else {
				l[i*k+j] = s / l[j*k+j]
			}
		}
	}
	y := make([]float64, k)
	for i := 0; i < k; i++ {
		s := g[i]
		for m := 0; m < i; m++ {
			s -= l[i*k+m] * y[m]
		}
		y[i] = s / l[i*k+i]
	}
	x := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		s := y[i]
		for m := i + 1; m < k; m++ {
			s -= l[m*k+i] * x[m]
		}
		x[i] = s / l[i*k+i]
	}
	return x, nil
}
