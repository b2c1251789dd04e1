package faq

import (
	"cmp"
	"math"
	"slices"

	"github.com/xiaobao-org/xiaobao/model"
)

// features describe how well a candidate entry matches a text. All are
// scaled to about 0..1 so one set of weights fits bases of any size.
type features struct {
	bm25Sent  float64 // BM25 of the best question / the text's idf mass
	bm25Entry float64 // BM25 of all the entry's questions as one document
	gap       float64 // bm25Sent minus the best bm25Sent of any candidate (≤ 0)
	uniQ      float64 // idf share of the text's characters found in the best question
	biQ       float64 // idf share of the text's bigrams found in the best question
	uniS      float64 // idf share of the best question's characters found in the text
	biS       float64 // idf share of the best question's bigrams found in the text
	biEntry   float64 // idf share of the text's bigrams found in any question of the entry
	lcs       float64 // longest common substring / length of the text
	lenRatio  float64 // shorter / longer length, text and best question
	cent      float64 // cosine of the text with the centroid of the entry's questions
	cosSent   float64 // best cosine of the text with one question of the entry
	top3      float64 // mean of the entry's three best question BM25s (normalised)
	centGap   float64 // cent minus the best cent of any candidate (≤ 0)
	trans     float64 // translation language model of the entry (translate.go)
}

const nFeatures = 16 // the fields of features and a bias

func (f *features) vec(v *[nFeatures]float64) {
	*v = [nFeatures]float64{f.bm25Sent, f.bm25Entry, f.gap, f.uniQ, f.biQ, f.uniS, f.biS, f.biEntry, f.lcs, f.lenRatio, f.cent, f.cosSent, f.top3, f.centGap, f.trans, 1}
}

// featureNames name the weights, for documentation and tests.
var featureNames = [nFeatures]string{"bm25_sent", "bm25_entry", "gap", "uni_q", "bi_q", "uni_s", "bi_s", "bi_entry", "lcs", "len_ratio", "cent", "cos_sent", "top3", "cent_gap", "trans", "bias"}

// scorer turns features into a margin and a margin into a calibrated
// probability. A fitted scorer has two stages (fit.go): w ranks a text's
// candidates (rank score r = w·x), and none turns r into the margin
// against the "none of them" option, from the features of the text's
// best candidate: margin = none·x', where x' is the best candidate's
// feature vector with r in slot rankSlot. The second stage shifts all the
// candidates of a text alike and scales r by a positive factor, so it
// never changes their order. The prior scorer has only w (margin = r).
type scorer struct {
	w    [nFeatures]float64
	none *[nFeatures]float64
	cal  *model.Calibration
}

// rankSlot is the slot of x' that carries the rank score: the gap
// feature's, which is about 0 for the best candidate anyway.
const rankSlot = 2

func (s *scorer) rank(x *[nFeatures]float64) float64 {
	var r float64
	for i, v := range x {
		r += s.w[i] * v
	}
	return r
}

// noneMargin is the margin of a candidate of rank score r when the
// text's best candidate has features best.
func (s *scorer) noneMargin(best *[nFeatures]float64, r float64) float64 {
	if s.none == nil {
		return r
	}
	var z float64
	for i, v := range best {
		if i == rankSlot {
			v = r
		}
		z += s.none[i] * v
	}
	return z
}

// margin is the margin of a candidate judged alone (it is its own best).
func (s *scorer) margin(f *features) float64 {
	var v [nFeatures]float64
	f.vec(&v)
	return s.noneMargin(&v, s.rank(&v))
}

// score sets the margin and the calibrated probability of each
// candidate of one text.
func (s *scorer) score(cs []candidate) {
	zs := make([]float64, len(cs))
	best := 0
	for i := range cs {
		var x [nFeatures]float64
		cs[i].f.vec(&x)
		zs[i] = s.rank(&x)
		if zs[i] > zs[best] {
			best = i
		}
	}
	if s.none != nil && len(cs) > 0 {
		var top [nFeatures]float64
		cs[best].f.vec(&top)
		for i := range zs {
			zs[i] = s.noneMargin(&top, zs[i])
		}
	}
	for i := range cs {
		cs[i].z = zs[i]
	}
	for i, p := range softmaxNull(zs) {
		if s.cal != nil {
			p = s.cal.Apply(logit(p))
		}
		cs[i].p = p
	}
}

// priorScorer is the scorer before any fitting: it trusts the overlap
// of the text with the best question. It is only used when neither the
// base nor the starter bank gives enough pairs to fit on.
var priorScorer = &scorer{w: [nFeatures]float64{2, 1, 3, 2, 2, 1, 1, 1, 1, 0, 2, 1, 1, 2, 0, -8}}

// features fills in the overlap features of a candidate.
func (ix *index) features(q query, qv []termW, sc *scratch, c *candidate, exclude int32) {
	if c.sent < 0 {
		return
	}
	s := &ix.sents[c.sent]
	var qUni, qBi, sUni, sBi, hitUniQ, hitBiQ, hitUniS, hitBiS float64
	// Both term lists are sorted: walk them together over distinct terms.
	i, j := 0, 0
	for i < len(q.terms) || j < len(s.terms) {
		var t int32
		inQ, inS := false, false
		switch {
		case j >= len(s.terms) || (i < len(q.terms) && q.terms[i] < s.terms[j]):
			t, inQ = q.terms[i], true
		case i >= len(q.terms) || s.terms[j] < q.terms[i]:
			t, inS = s.terms[j], true
		default:
			t, inQ, inS = q.terms[i], true, true
		}
		for i < len(q.terms) && q.terms[i] == t {
			i++
		}
		for j < len(s.terms) && s.terms[j] == t {
			j++
		}
		w := float64(ix.idf[t])
		bi := ix.isBi(t)
		if inQ {
			if bi {
				qBi += w
			} else {
				qUni += w
			}
		}
		if inS {
			if bi {
				sBi += w
			} else {
				sUni += w
			}
		}
		if inQ && inS {
			if bi {
				hitBiQ += w
				hitBiS += w
			} else {
				hitUniQ += w
				hitUniS += w
			}
		}
	}
	// Terms of the text the index has never seen count at the highest idf:
	// a text that is mostly unknown matches nothing well.
	qUni += float64(q.unknownUni) * float64(ix.maxIDF)
	qBi += float64(q.unknownBi) * float64(ix.maxIDF)
	c.f.uniQ = ratio(hitUniQ, qUni)
	c.f.biQ = ratio(hitBiQ, qBi)
	c.f.uniS = ratio(hitUniS, sUni)
	c.f.biS = ratio(hitBiS, sBi)
	c.f.lcs = float64(longestCommon(q.runes, s.runes)) / float64(max(len(q.runes), 1))
	c.f.lenRatio = float64(min(len(q.runes), len(s.runes))) / float64(max(len(q.runes), len(s.runes), 1))
	// Bigrams of the text found in any question of the entry, the
	// entry's centroid and best cosine, and its three best questions.
	ss := ix.entSent[c.entry]
	var hit float64
	for t := range runs(q.terms) {
		if !ix.isBi(t) {
			continue
		}
		for _, si := range ss {
			if si != exclude && hasTerm(ix.sents[si].terms, t) {
				hit += float64(ix.idf[t])
				break
			}
		}
	}
	c.f.biEntry = ratio(hit, qBi)
	cent := ix.cent[c.entry]
	if exclude >= 0 && ix.sents[exclude].entry == c.entry {
		cent = ix.centroid(ss, exclude)
	}
	c.f.cent = dot(qv, cent)
	var top [3]float32
	for _, si := range ss {
		if si == exclude {
			continue
		}
		c.f.cosSent = max(c.f.cosSent, dot(qv, ix.svec[si]))
		v := sc.sent[si]
		switch {
		case v > top[0]:
			top = [3]float32{v, top[0], top[1]}
		case v > top[1]:
			top[1], top[2] = v, top[1]
		case v > top[2]:
			top[2] = v
		}
	}
	c.f.top3 = float64(top[0]+top[1]+top[2]) / 3 / float64(sc.qs)
	c.f.trans = ix.transScore(q, c.entry, exclude)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// longestCommon is the length of the longest common substring.
func longestCommon(a, b []rune) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	var buf [2][64]int
	if len(b) >= 64 {
		b = b[:63]
	}
	best := 0
	prev, cur := buf[0][:len(b)+1], buf[1][:len(b)+1]
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
				best = max(best, cur[j+1])
			} else {
				cur[j+1] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}

// search ranks entries for a text and applies the fallback policy.
func (ix *index) search(text string, k int, opts Options) Result {
	if k <= 0 {
		k = 5
	}
	q := ix.parse(text)
	var buf [candidates]candidate
	cs := ix.retrieve(q, candidates, -1, -1, -1, buf[:0])
	ix.model.Load().score(cs)
	slices.SortFunc(cs, func(a, b candidate) int {
		if c := cmp.Compare(b.z, a.z); c != 0 {
			return c
		}
		return cmp.Compare(a.entry, b.entry)
	})
	res := Result{Hits: make([]Hit, 0, min(k, len(cs)))}
	for _, c := range cs[:min(k, len(cs))] {
		e := &ix.entries[c.entry]
		question := e.Questions[0]
		if s := ix.sents[c.sent]; c.sent >= 0 && s.q >= 0 {
			question = e.Questions[s.q]
		}
		res.Hits = append(res.Hits, Hit{FAQID: e.ID, Score: round4(c.p), Answer: e.Answer, Question: question, Category: e.Category})
	}
	res.Confident, res.Clarify = decide(cs, opts)
	return res
}

// decide is the fallback policy. The first hit is shown when its
// probability reaches opts.Confident and clearly leads the second; when
// the first two together are likely to hold the answer but neither is
// sure, the customer is asked which one they mean; otherwise the text
// goes to a human.
func decide(cs []candidate, opts Options) (confident, clarify bool) {
	if len(cs) == 0 {
		return false, false
	}
	p1, p2 := cs[0].p, 0.0
	if len(cs) > 1 {
		p2 = cs[1].p
	}
	if p1 >= opts.Confident && p1-p2 >= clarifyGap {
		return true, false
	}
	return false, p2 >= opts.Clarify && p1+p2 >= opts.Confident
}

// clarifyGap is how far the first probability must lead the second for
// the first to be shown alone.
const clarifyGap = 0.2

func round4(p float64) float64 { return math.Round(p*1e4) / 1e4 }

func (ix *index) isBi(t int32) bool { return ix.biTerm[t] }

// pairMargin is the scorer's margin for entry e answering text, judged
// alone (no other candidate to compare with); -Inf when they share no
// term.
func (ix *index) pairMargin(text string, e int32) float64 {
	var buf [1]candidate
	cs := ix.retrieve(ix.parse(text), 1, -1, e, -1, buf[:0])
	if len(cs) == 0 {
		return math.Inf(-1)
	}
	return ix.model.Load().margin(&cs[0].f)
}
