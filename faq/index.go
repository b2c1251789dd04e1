package faq

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// BM25 parameters of the first-stage ranker.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
	// candidates is how many entries the first stage hands to the scorer.
	candidates = 24
)

// sentence is one indexed question: a question of an entry, or a learned
// text (q < 0).
type sentence struct {
	entry int32
	q     int32   // index in Entry.Questions, -1 for a learned text
	terms []int32 // sorted term ids, with repeats
	runes []rune  // the normalised text
}

type posting struct {
	doc int32
	tf  float32
}

// index is an immutable snapshot of the knowledge base.
type index struct {
	norm    *normalizer
	entries []Entry
	byID    map[string]int
	sents   []sentence
	terms   map[uint64]int32
	biTerm  []bool      // term id → is a bigram
	post    [][]posting // term → sentences
	epost   [][]posting // term → entries (all questions of an entry as one document)
	idf     []float32   // over sentences
	maxIDF  float32     // idf of a term no sentence holds
	maxEIDF float32     // idf of a term no entry holds
	eidf    []float32   // over entries
	slen    []float32
	elen    []float32
	avgS    float32
	avgE    float32
	entSent [][]int32 // entry → its sentences
	svec    [][]termW // sentence → unit tf-idf vector, by term id
	cent    [][]termW // entry → unit centroid of its sentence vectors
	// model is swapped in place when the scorer is refitted in the
	// background (Options.RefitDelay); searches load it once each.
	model   atomic.Pointer[scorer]
	scratch sync.Pool
	// The translation model (translate.go).
	trans     transTable
	transFold []transTable
	entTF     [][]termW // entry → its term counts, by term id
	bg        []float32 // term → its share of the base's terms
}

// termKey is a character unigram (the rune) or bigram (flagged).
func unigram(r rune) uint64   { return uint64(r) }
func bigram(a, b rune) uint64 { return 1<<63 | uint64(a)<<21 | uint64(b) }
func isBigram(k uint64) bool  { return k>>63 == 1 }
func keys(rs []rune, f func(uint64)) {
	for i, r := range rs {
		f(unigram(r))
		if i+1 < len(rs) {
			f(bigram(r, rs[i+1]))
		}
	}
}

func build(entries []Entry, learned []Pair, norm *normalizer) *index {
	ix := &index{norm: norm, entries: entries, byID: make(map[string]int, len(entries)), terms: map[uint64]int32{}}
	for i, e := range entries {
		ix.byID[e.ID] = i
	}
	add := func(entry, q int, text string) {
		rs := norm.runes(text)
		if len(rs) == 0 {
			return
		}
		s := sentence{entry: int32(entry), q: int32(q), runes: rs}
		keys(rs, func(k uint64) {
			id, ok := ix.terms[k]
			if !ok {
				id = int32(len(ix.terms))
				ix.terms[k] = id
			}
			s.terms = append(s.terms, id)
		})
		slices.Sort(s.terms)
		ix.sents = append(ix.sents, s)
	}
	for i, e := range entries {
		for j, q := range e.Questions {
			add(i, j, q)
		}
	}
	for _, p := range learned {
		if i, ok := ix.byID[p.FAQID]; ok {
			add(i, -1, p.Text)
		}
	}
	nt := len(ix.terms)
	ix.biTerm = make([]bool, nt)
	for k, id := range ix.terms {
		ix.biTerm[id] = isBigram(k)
	}
	ix.post = make([][]posting, nt)
	ix.epost = make([][]posting, nt)
	ix.slen = make([]float32, len(ix.sents))
	ix.elen = make([]float32, len(entries))
	var totS, totE float64
	for si, s := range ix.sents {
		ix.slen[si] = float32(len(s.terms))
		ix.elen[s.entry] += float32(len(s.terms))
		totS += float64(len(s.terms))
		totE += float64(len(s.terms))
		for t, tf := range runs(s.terms) {
			ix.post[t] = append(ix.post[t], posting{int32(si), float32(tf)})
			ep := ix.epost[t]
			if n := len(ep); n > 0 && ep[n-1].doc == s.entry {
				ep[n-1].tf += float32(tf)
			} else {
				ix.epost[t] = append(ep, posting{s.entry, float32(tf)})
			}
		}
	}
	if len(ix.sents) > 0 {
		ix.avgS = float32(totS / float64(len(ix.sents)))
	}
	if len(entries) > 0 {
		ix.avgE = float32(totE / float64(len(entries)))
	}
	ix.maxIDF = bm25IDF(0, len(ix.sents))
	ix.maxEIDF = bm25IDF(0, len(entries))
	ix.idf = make([]float32, nt)
	ix.eidf = make([]float32, nt)
	for t := range nt {
		ix.idf[t] = bm25IDF(len(ix.post[t]), len(ix.sents))
		ix.eidf[t] = bm25IDF(len(ix.epost[t]), len(entries))
	}
	ix.entSent = make([][]int32, len(entries))
	for si, s := range ix.sents {
		ix.entSent[s.entry] = append(ix.entSent[s.entry], int32(si))
	}
	ix.svec = make([][]termW, len(ix.sents))
	for si, s := range ix.sents {
		ix.svec[si] = ix.vector(s.terms)
	}
	ix.cent = make([][]termW, len(entries))
	for e, ss := range ix.entSent {
		ix.cent[e] = ix.centroid(ss, -1)
	}
	ix.buildTrans()
	ix.model.Store(priorScorer)
	ix.scratch.New = func() any { return newScratch(len(ix.sents), len(entries)) }
	return ix
}

func bm25IDF(df, n int) float32 {
	return float32(math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5)))
}

// runs yields each distinct value of a sorted slice with its count.
func runs(s []int32) func(func(int32, int) bool) {
	return func(yield func(int32, int) bool) {
		for i := 0; i < len(s); {
			j := i + 1
			for j < len(s) && s[j] == s[i] {
				j++
			}
			if !yield(s[i], j-i) {
				return
			}
			i = j
		}
	}
}

// scratch is the per-search working memory, pooled.
type scratch struct {
	sent    []float32 // BM25 of each sentence
	ent     []float32 // BM25 of each entry
	best    []int32   // best sentence of each entry, -1 none
	touched []int32   // sentences with a score
	qs      float32   // the text's sentence self-score
	qt      []int32   // the text's distinct terms
	qtf     []float32 // and their counts
	order   []int32   // qt indexes, rarest first
	tfE     []float32 // an entry's counts of qt
	picks   []pick    // the entries chosen
	tEnt    []int32   // entries with a score
}

func newScratch(ns, ne int) *scratch {
	s := &scratch{sent: make([]float32, ns), ent: make([]float32, ne), best: make([]int32, ne)}
	for i := range s.best {
		s.best[i] = -1
	}
	return s
}

func (s *scratch) reset() {
	for _, i := range s.touched {
		s.sent[i] = 0
	}
	for _, e := range s.tEnt {
		s.ent[e] = 0
		s.best[e] = -1
	}
	s.touched, s.tEnt = s.touched[:0], s.tEnt[:0]
}

// query is a normalised text as term ids (unknown terms dropped) with
// the counts the features need.
type query struct {
	runes []rune
	terms []int32 // sorted, with repeats; only known terms
	// unknownUni and unknownBi count the unigrams and bigrams the index
	// has never seen.
	unknownUni, unknownBi int
}

func (ix *index) parse(text string) query {
	q := query{runes: ix.norm.runes(text)}
	keys(q.runes, func(k uint64) {
		if id, ok := ix.terms[k]; ok {
			q.terms = append(q.terms, id)
		} else if isBigram(k) {
			q.unknownBi++
		} else {
			q.unknownUni++
		}
	})
	slices.Sort(q.terms)
	return q
}

// candidate is an entry the first stage found, with its features.
type candidate struct {
	entry int32
	sent  int32 // best sentence
	f     features
	z     float64 // scorer margin
	p     float64 // calibrated probability
}

// retrieve runs the first stage and returns up to n candidates with
// their features. Candidates are chosen by BM25 over sentences (best per
// entry) and over entries, accumulated from the postings of the text's
// rarer terms only: terms held by more than dfCap sentences add little
// to the choice and most of the cost on a large base (the four rarest
// terms always count). The chosen candidates' scores are then computed
// exactly from their questions. exclude is a sentence to leave out
// (leave-one-out fitting), or -1; only, unless -1, makes that entry the
// one candidate; absent, unless -1, is an entry to leave out entirely
// (fitting on texts the base cannot answer).
func (ix *index) retrieve(q query, n int, exclude, only, absent int32, out []candidate) []candidate {
	out = out[:0]
	if len(q.terms) == 0 || len(ix.sents) == 0 {
		return out
	}
	sc := ix.scratch.Get().(*scratch)
	defer func() { sc.reset(); ix.scratch.Put(sc) }()
	sc.qt, sc.qtf = sc.qt[:0], sc.qtf[:0]
	for t, k := range runs(q.terms) {
		sc.qt = append(sc.qt, t)
		sc.qtf = append(sc.qtf, float32(k))
	}
	qs, qe := ix.selfScore(q)
	sc.qs = qs
	if only >= 0 {
		sc.picks = append(sc.picks[:0], pick{e: only})
	} else {
		ix.choose(sc, n, exclude, absent)
	}
	for _, pk := range sc.picks {
		c, ok := ix.exact(sc, pk.e, exclude)
		if !ok {
			continue
		}
		c.f.bm25Sent /= float64(qs)
		c.f.bm25Entry /= float64(qe)
		out = append(out, c)
	}
	qv := ix.queryVector(q)
	for i := range out {
		ix.features(q, qv, sc, &out[i], exclude)
	}
	var top, topCent float64
	for _, c := range out {
		top = max(top, c.f.bm25Sent)
		topCent = max(topCent, c.f.cent)
	}
	for i := range out {
		out[i].f.gap = out[i].f.bm25Sent - top
		out[i].f.centGap = out[i].f.cent - topCent
	}
	return out
}

// pick is an entry chosen by the first stage with its partial score.
type pick struct {
	e int32
	s float32
}

// choose fills sc.picks with the n entries of highest partial score.
func (ix *index) choose(sc *scratch, n int, exclude, absent int32) {
	// The rarest terms first; the common ones only while cheap.
	order := sc.order[:0]
	for i := range sc.qt {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(len(ix.post[sc.qt[a]]), len(ix.post[sc.qt[b]])) })
	sc.order = order
	dfCap := max(len(ix.sents)/20, 2000)
	for rank, i := range order {
		t, w := sc.qt[i], sc.qtf[i]
		if rank >= 4 && len(ix.post[t]) > dfCap {
			break
		}
		idf := ix.idf[t]
		for _, p := range ix.post[t] {
			if p.doc == exclude || (absent >= 0 && ix.sents[p.doc].entry == absent) {
				continue
			}
			if sc.sent[p.doc] == 0 {
				sc.touched = append(sc.touched, p.doc)
			}
			norm := bm25K1 * (1 - bm25B + bm25B*ix.slen[p.doc]/ix.avgS)
			sc.sent[p.doc] += w * idf * p.tf * (bm25K1 + 1) / (p.tf + norm)
		}
		eidf := ix.eidf[t]
		for _, p := range ix.epost[t] {
			if p.doc == absent {
				continue
			}
			if sc.ent[p.doc] == 0 {
				sc.tEnt = append(sc.tEnt, p.doc)
			}
			norm := bm25K1 * (1 - bm25B + bm25B*ix.elen[p.doc]/ix.avgE)
			sc.ent[p.doc] += w * eidf * p.tf * (bm25K1 + 1) / (p.tf + norm)
		}
	}
	for _, si := range sc.touched {
		e := ix.sents[si].entry
		if b := sc.best[e]; b < 0 || sc.sent[si] > sc.sent[b] {
			sc.best[e] = si
		}
	}
	// Keep the n best in a min-heap: a full sort of every touched entry
	// costs more than the scoring on a large base.
	h := sc.picks[:0]
	for _, e := range sc.tEnt {
		var s float32
		if b := sc.best[e]; b >= 0 {
			s = sc.sent[b] / sc.qs
		}
		s += sc.ent[e] / max(sc.qs, 1e-6) // both scaled alike: only the order matters here
		if len(h) < n {
			h = append(h, pick{e, s})
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !h[i].less(h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
		} else if h[0].less(pick{e, s}) {
			h[0] = pick{e, s}
			for i := 0; ; {
				l, m := 2*i+1, i
				if l < len(h) && h[l].less(h[m]) {
					m = l
				}
				if l+1 < len(h) && h[l+1].less(h[m]) {
					m = l + 1
				}
				if m == i {
					break
				}
				h[i], h[m] = h[m], h[i]
				i = m
			}
		}
	}
	slices.SortFunc(h, func(a, b pick) int {
		if b.less(a) {
			return -1
		}
		if a.less(b) {
			return 1
		}
		return 0
	})
	sc.picks = h
	// The partial scores are not the candidates' scores: clear them
	// (exact writes its own).
	for _, si := range sc.touched {
		sc.sent[si] = 0
	}
	sc.touched = sc.touched[:0]
}

// less orders picks by score, then by entry (lower entry ranks higher on
// ties, so results do not depend on map or posting order).
func (a pick) less(b pick) bool {
	if a.s != b.s {
		return a.s < b.s
	}
	return a.e > b.e
}

// exact computes an entry's BM25 scores from its questions: each
// question's (kept in sc.sent for the features) and the entry's as one
// document, leaving out sentence exclude. It reports false when the
// entry shares no term with the text.
func (ix *index) exact(sc *scratch, e, exclude int32) (candidate, bool) {
	c := candidate{entry: e, sent: -1}
	tfE := sc.tfE[:0]
	for range sc.qt {
		tfE = append(tfE, 0)
	}
	sc.tfE = tfE
	l := ix.elen[e]
	var best float32
	for _, si := range ix.entSent[e] {
		if si == exclude {
			l -= ix.slen[si]
			continue
		}
		terms := ix.sents[si].terms
		norm := bm25K1 * (1 - bm25B + bm25B*ix.slen[si]/ix.avgS)
		var s float32
		i, j := 0, 0
		for i < len(sc.qt) && j < len(terms) {
			switch {
			case sc.qt[i] < terms[j]:
				i++
			case terms[j] < sc.qt[i]:
				j++
			default:
				k := j
				for k < len(terms) && terms[k] == terms[j] {
					k++
				}
				tf := float32(k - j)
				s += sc.qtf[i] * ix.idf[sc.qt[i]] * tf * (bm25K1 + 1) / (tf + norm)
				tfE[i] += tf
				i++
				j = k
			}
		}
		if s > 0 {
			if sc.sent[si] == 0 {
				sc.touched = append(sc.touched, si)
			}
			sc.sent[si] = s
			if s > best {
				best, c.sent = s, si
			}
		}
	}
	if c.sent < 0 {
		return c, false
	}
	var ent float32
	norm := bm25K1 * (1 - bm25B + bm25B*l/ix.avgE)
	for i, tf := range tfE {
		if tf > 0 {
			ent += sc.qtf[i] * ix.eidf[sc.qt[i]] * tf * (bm25K1 + 1) / (tf + norm)
		}
	}
	c.f.bm25Sent, c.f.bm25Entry = float64(best), float64(ent)
	return c, true
}

// selfScore bounds the BM25 a text can reach, to make scores comparable
// across texts: the sum of the idf of its terms, those the index has
// never seen at the highest idf.
func (ix *index) selfScore(q query) (sent, ent float32) {
	for _, t := range q.terms {
		sent += ix.idf[t]
		ent += ix.eidf[t]
	}
	unknown := float32(q.unknownUni + q.unknownBi)
	sent += unknown * ix.maxIDF
	ent += unknown * ix.maxEIDF
	return max(sent, 1e-6), max(ent, 1e-6)
}
