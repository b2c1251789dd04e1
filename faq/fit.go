package faq

import (
	"math"
	"sync"

	"github.com/xiaobao-org/xiaobao/model"
)

// Fitting. The scorer's weights are learned from the base itself: each
// similar question (and each learned text) is asked as if a customer had
// typed it, with itself left out of the index, and the entries the first
// stage returns are labelled by whether they are its own entry. A
// logistic regression on those candidates gives the weights; a Platt fit
// on queries held out of that regression calibrates the margin into the
// probability that the entry answers the text.

// maxFitQueries bounds the work of a refit on a large base (a variable
// for tests under the race detector).
var maxFitQueries = 3000

const (
	// minFitPositives is the fewest queries whose own entry was found
	// that make a fit worth more than the default scorer.
	minFitPositives = 40
	// l2 is the ridge penalty of the regression, per 100 fitting texts:
	// strong enough that a small base (the starter bank: ~300 texts)
	// does not learn extreme weights, and BQ's P@1 is flat from 0.01 to
	// 1 (docs/service.md).
	l2 = 1.0
)

// sample is one candidate of one fitting query.
type sample struct {
	x [nFeatures]float64
	y float64
	q int // query number, for the folds
}

// fitSamples runs the leave-one-out queries.
func (ix *index) fitSamples() (out []sample, positives int) {
	// Queries: every sentence of an entry with at least two, spread evenly
	// when there are more than maxFitQueries.
	perEntry := make([]int, len(ix.entries))
	for _, s := range ix.sents {
		perEntry[s.entry]++
	}
	var qs []int32
	for i, s := range ix.sents {
		if perEntry[s.entry] >= 2 {
			qs = append(qs, int32(i))
		}
	}
	if len(qs) > maxFitQueries {
		step := float64(len(qs)) / float64(maxFitQueries)
		picked := make([]int32, 0, maxFitQueries)
		for i := range maxFitQueries {
			picked = append(picked, qs[int(float64(i)*step)])
		}
		qs = picked
	}
	// Every other text is also asked with its whole entry left out: then
	// nothing in the base answers it and the "none" option should win.
	// This is what teaches the scorer to hand over when the base lacks
	// the answer rather than to pick the nearest entry.
	var buf [candidates]candidate
	for n, si := range qs {
		s := &ix.sents[si]
		q := query{runes: s.runes, terms: s.terms}
		for _, absent := range []int32{-1, s.entry} {
			if absent >= 0 && n%2 == 1 {
				continue
			}
			id := 2 * n
			if absent >= 0 {
				id++
			}
			cs := ix.retrieve(q, candidates, si, -1, absent, buf[:0])
			for _, c := range cs {
				smp := sample{q: id}
				c.f.vec(&smp.x)
				if c.entry == s.entry {
					smp.y = 1
					positives++
				}
				out = append(out, smp)
			}
		}
	}
	return out, positives
}

// fit learns the scorer from the base; it keeps the default when the
// base holds too few similar questions.
func (ix *index) fit() {
	if s := ix.fitScorer(); s != nil {
		ix.model.Store(s)
		return
	}
	ix.model.Store(defaultScorer())
}

func (ix *index) fitScorer() *scorer {
	samples, pos := ix.fitSamples()
	if pos < minFitPositives {
		return nil
	}
	// Texts 0, 1, 2 mod 4 train the weights; 3 mod 4 calibrate.
	var train, hold, present [][]sample
	for _, g := range groupByQuery(samples) {
		if (g[0].q/2)%4 == 3 {
			hold = append(hold, g)
			continue
		}
		train = append(train, g)
		if g[0].q%2 == 0 {
			present = append(present, g)
		}
	}
	// Stage one ranks: the conditional logit on the texts whose entry is
	// in the base. Asking the same weights to also tell texts the base
	// cannot answer from those it can (stage two's job) costs ranking: on
	// BQ, one stage for both reaches P@1 0.344, hit@5 0.720 (five draws),
	// two stages 0.349, 0.727.
	w, ok := softmaxFit(present)
	if !ok {
		return nil
	}
	sc := &scorer{w: w}
	// Stage two: the margin against "none", from the rank score and the
	// best candidate's features, fitted on every training text (those
	// whose entry was left out too). Its weight on the rank score must be
	// positive, or it would reorder the candidates.
	if none, ok := softmaxFit(sc.noneGroups(train)); ok && none[rankSlot] > 0 {
		sc.none = &none
	} else if w, ok = softmaxFit(train); ok { // one stage, as before
		sc.w = w
	} else {
		return nil
	}
	var margins, ys []float64
	for _, g := range sc.noneGroups(hold) {
		zs := make([]float64, len(g))
		for i, s := range g {
			zs[i] = s.x[rankSlot]
			if sc.none != nil {
				zs[i] = sc.noneMargin(&s.x, s.x[rankSlot])
			}
		}
		for i, p := range softmaxNull(zs) {
			margins = append(margins, logit(p))
			ys = append(ys, g[i].y)
		}
	}
	if cal, err := model.FitPlatt(margins, ys); err == nil && cal.A > 0 {
		sc.cal = cal
	}
	return sc
}

// noneGroups are fitting texts' candidates as stage two sees them: each
// the features of the text's best candidate by rank score, with the
// candidate's own rank score in slot rankSlot.
func (s *scorer) noneGroups(groups [][]sample) [][]sample {
	out := make([][]sample, len(groups))
	for gi, g := range groups {
		rs := make([]float64, len(g))
		best := 0
		for i := range g {
			rs[i] = s.rank(&g[i].x)
			if rs[i] > rs[best] {
				best = i
			}
		}
		o := make([]sample, len(g))
		for i := range g {
			o[i] = g[i]
			o[i].x = g[best].x
			o[i].x[rankSlot] = rs[i]
		}
		out[gi] = o
	}
	return out
}

func groupByQuery(samples []sample) [][]sample {
	var out [][]sample
	for i := 0; i < len(samples); {
		j := i + 1
		for j < len(samples) && samples[j].q == samples[i].q {
			j++
		}
		out = append(out, samples[i:j])
		i = j
	}
	return out
}

// softmaxNull turns the margins of a text's candidates into the
// probability that each answers it, against a "none of them" option of
// margin 0.
func softmaxNull(zs []float64) []float64 {
	m := 0.0
	for _, z := range zs {
		m = max(m, z)
	}
	den := math.Exp(-m)
	ps := make([]float64, len(zs))
	for i, z := range zs {
		ps[i] = math.Exp(z - m)
		den += ps[i]
	}
	for i := range ps {
		ps[i] /= den
	}
	return ps
}

func logit(p float64) float64 {
	p = min(max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}

// softmaxFit fits a conditional logit: for each fitting text, the
// softmax over its candidates and a "none" option of margin 0 should
// pick its own entry (or none when the first stage missed it). It
// optimises the ranking directly while the "none" option anchors the
// margins, so a text far from every entry gets low probabilities.
// Newton's method with an L2 penalty and step halving.
func softmaxFit(groups [][]sample) (w [nFeatures]float64, ok bool) {
	if len(groups) == 0 {
		return w, false
	}
	const k = nFeatures
	lam := l2 * float64(len(groups)) / 100
	loss := func(w *[k]float64) float64 {
		var l float64
		for i := range k - 1 {
			l += lam / 2 * w[i] * w[i]
		}
		for _, g := range groups {
			zs := make([]float64, len(g))
			for i, s := range g {
				for j, x := range s.x {
					zs[i] += w[j] * x
				}
			}
			ps := softmaxNull(zs)
			pl := 1.0
			for i, p := range ps {
				pl -= p
				_ = i
			}
			for i, s := range g {
				if s.y == 1 {
					pl = ps[i]
				}
			}
			l -= math.Log(max(pl, 1e-300))
		}
		return l
	}
	cur := loss(&w)
	for range 30 {
		var g [k]float64
		var h [k * k]float64
		for i := range k - 1 { // the bias is not penalised
			g[i] = lam * w[i]
			h[i*k+i] = lam
		}
		for _, grp := range groups {
			zs := make([]float64, len(grp))
			for i, s := range grp {
				for j, x := range s.x {
					zs[i] += w[j] * x
				}
			}
			ps := softmaxNull(zs)
			var mean [k]float64
			for i, s := range grp {
				for a := range k {
					mean[a] += ps[i] * s.x[a]
				}
				if s.y == 1 {
					for a := range k {
						g[a] -= s.x[a]
					}
				}
			}
			for a := range k {
				g[a] += mean[a]
			}
			for i, s := range grp {
				for a := range k {
					for b := a; b < k; b++ {
						h[a*k+b] += ps[i] * s.x[a] * s.x[b]
					}
				}
			}
			for a := range k {
				for b := a; b < k; b++ {
					h[a*k+b] -= mean[a] * mean[b]
				}
			}
		}
		for a := range k {
			for b := 0; b < a; b++ {
				h[a*k+b] = h[b*k+a]
			}
			h[a*k+a] += 1e-6
		}
		step, err := solve(h[:], g[:], k)
		if err != nil {
			return w, false
		}
		t := 1.0
		var next [k]float64
		improved := false
		for range 20 {
			for i := range k {
				next[i] = w[i] - t*step[i]
			}
			if l := loss(&next); l <= cur {
				improved = cur-l > 1e-9*max(1, math.Abs(cur))
				w, cur = next, l
				break
			}
			t /= 2
		}
		if !improved {
			break
		}
	}
	for _, x := range w {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return w, false
		}
	}
	return w, true
}

// solve solves h·x = g for a symmetric positive definite h (Cholesky).
func solve(h, g []float64, k int) ([]float64, error) {
	l := make([]float64, k*k)
	for i := range k {
		for j := 0; j <= i; j++ {
			s := h[i*k+j]
			for m := range j {
				s -= l[i*k+m] * l[j*k+m]
			}
			if i == j {
				if s <= 0 {
					return nil, errNotPD
				}
				l[i*k+i] = math.Sqrt(s)
			} else {
				l[i*k+j] = s / l[j*k+j]
			}
		}
	}
	y := make([]float64, k)
	for i := range k {
		s := g[i]
		for m := range i {
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

type fitError string

func (e fitError) Error() string { return string(e) }

const errNotPD = fitError("faq: singular system in the scorer fit")

// defaultScorer is the scorer fitted on the starter bank, for bases too
// small to fit their own.
var defaultScorer = sync.OnceValue(func() *scorer {
	ix := build(Starter(), nil, defaultNormalizer())
	if s := ix.fitScorer(); s != nil {
		return s
	}
	return priorScorer
})
