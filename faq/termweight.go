package faq

import "math"

// Learned term weights. Idf says how rare a term is, not how much it
// tells one entry from another: 还款 and 借款 are both common in a
// lender's base and decide the answer, 怎么 is as common and decides
// nothing. Each term gets a weight u_t, fitted on the leave-one-out
// texts of the base (those the scorer is fitted on): the support of a
// candidate entry, Σ over the text's terms of u_t × the share of the
// entry's questions holding t, should pick the text's own entry in a
// softmax over the first stage's candidates. The weights start at the
// idf and are held near it by a ridge penalty. As for the translation
// table, a fitting text is scored with the weights learned without its
// fold.

var (
	twIters = 60
	twRate  = 0.5
	twRidge = 1.0
	twFolds = 4
	twUse   = true
)

// twQuery is a fitting text with its candidates, for the weights.
type twQuery struct {
	si   int32   // the text's sentence (left out)
	ents []int32 // candidate entries
	pos  int     // index of its own entry in ents, -1 none
	fold int
}

// support returns Σ_t u_t·share(t, e) and Σ_t u_t over the text's
// distinct terms, leaving sentence exclude out of the entry.
func (ix *index) support(terms []int32, e, exclude int32, u []float32) (s, z float64) {
	ss := ix.entSent[e]
	n := 0
	for _, si := range ss {
		if si != exclude {
			n++
		}
	}
	for t := range runs(terms) {
		w := float64(u[t])
		z += w
		if n == 0 {
			continue
		}
		var c int
		for _, si := range ss {
			if si != exclude && hasTerm(ix.sents[si].terms, t) {
				c++
			}
		}
		s += w * float64(c) / float64(n)
	}
	return s, z
}

// twFeature is the feature: the support of entry e for the text, as a
// share of the text's weight (its unknown terms at the highest idf).
func (ix *index) twFeature(q query, e, exclude int32, u []float32) float64 {
	if u == nil {
		u = ix.idf
	}
	s, z := ix.support(q.terms, e, exclude, u)
	z += float64(q.unknownUni+q.unknownBi) * float64(ix.maxIDF)
	return ratio(s, z)
}

// learnWeights fits u on the queries (those of fold skip left out, -1
// none).
func (ix *index) learnWeights(qs []twQuery, skip int) []float32 {
	u := make([]float32, len(ix.idf))
	copy(u, ix.idf)
	prior := ix.idf
	g := make([]float64, len(u))
	acc := make([]float64, len(u))
	var n int
	for _, q := range qs {
		if q.fold != skip && q.pos >= 0 {
			n++
		}
	}
	if n == 0 {
		return u
	}
	shares := make([][]float64, 0, candidates)
	for range twIters {
		clear(g)
		for _, q := range qs {
			if q.fold == skip || q.pos < 0 {
				continue
			}
			terms := ix.sents[q.si].terms
			var dts []int32
			for t := range runs(terms) {
				dts = append(dts, t)
			}
			shares = shares[:0]
			zs := make([]float64, len(q.ents))
			for i, e := range q.ents {
				sh := make([]float64, len(dts))
				ss := ix.entSent[e]
				m := 0
				for _, si := range ss {
					if si != q.si {
						m++
					}
				}
				for k, t := range dts {
					if m == 0 {
						break
					}
					var c int
					for _, si := range ss {
						if si != q.si && hasTerm(ix.sents[si].terms, t) {
							c++
						}
					}
					sh[k] = float64(c) / float64(m)
					zs[i] += float64(u[t]) * sh[k]
				}
				shares = append(shares, sh)
			}
			mx := math.Inf(-1)
			for _, z := range zs {
				mx = max(mx, z)
			}
			var den float64
			for i := range zs {
				zs[i] = math.Exp(zs[i] - mx)
				den += zs[i]
			}
			for i := range zs {
				p := zs[i] / den
				if i == q.pos {
					p -= 1
				}
				for k, t := range dts {
					g[t] += p * shares[i][k]
				}
			}
		}
		for t := range u {
			gt := g[t] + twRidge*(float64(u[t])-float64(prior[t]))
			if gt == 0 {
				continue
			}
			acc[t] += gt * gt
			u[t] = float32(max(0, float64(u[t])-twRate*gt/math.Sqrt(acc[t]+1e-8)))
		}
	}
	return u
}
