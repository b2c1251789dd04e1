package faq

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/model"
)

// sharedData returns the path of a file in the shared data directory, or
// skips the test when it is not there (XIAOBAO_SHARED_DATA, or
// ../../shared/data from this package).
func sharedData(t testing.TB, rel string) string {
	dir := os.Getenv("XIAOBAO_SHARED_DATA")
	if dir == "" {
		if _, err := os.Stat("../../shared/data/bq"); err == nil {
			dir = "../../shared/data"
		}
	}
	path := filepath.Join(dir, rel)
	if _, err := os.Stat(path); dir == "" || err != nil {
		if os.Getenv("XIAOBAO_REQUIRE_SERVICES") == "1" && os.Getenv("XIAOBAO_SHARED_DATA") != "" {
			t.Fatalf("shared data %s not found under XIAOBAO_SHARED_DATA=%s", rel, dir)
		}
		t.Skipf("shared data %s not found: set XIAOBAO_SHARED_DATA to the shared data directory (../shared/data)", rel)
	}
	return path
}

// labelledPair is a question pair with its label (true = same meaning).
type labelledPair struct {
	a, b string
	same bool
}

// readBQ reads BQ's sentence1,sentence2,label CSV (UTF-8 with a BOM).
func readBQ(r io.Reader) ([]labelledPair, error) {
	br := bufio.NewReader(r)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 3
	cr.LazyQuotes = true
	var out []labelledPair
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if i == 0 && rec[2] == "label" {
			continue
		}
		out = append(out, labelledPair{rec[0], rec[1], strings.TrimSpace(rec[2]) == "1"})
	}
}

// readAFQMC reads AFQMC's sentence1<TAB>sentence2<TAB>label lines.
func readAFQMC(r io.Reader) ([]labelledPair, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []labelledPair
	for sc.Scan() {
		f := strings.Split(strings.TrimPrefix(sc.Text(), "\ufeff"), "\t")
		if len(f) != 3 {
			continue
		}
		out = append(out, labelledPair{f[0], f[1], strings.TrimSpace(f[2]) == "1"})
	}
	return out, sc.Err()
}

// faqBenchmark is BQ built as its README describes: union-find over the
// matching pairs; each group of at least 3 questions is one FAQ entry;
// one random member of each group is held out as the customer's
// question.
type faqBenchmark struct {
	entries []Entry
	queries []Pair // held-out question → its entry
}

// matchGroups is union-find over the matching pairs: the groups of
// questions that ask the same thing, in order of first appearance.
func matchGroups(pairs []labelledPair) [][]string {
	id := map[string]int{}
	var texts []string
	var parent []int
	node := func(s string) int {
		if i, ok := id[s]; ok {
			return i
		}
		id[s] = len(texts)
		texts = append(texts, s)
		parent = append(parent, len(parent))
		return len(texts) - 1
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, p := range pairs {
		if !p.same {
			continue
		}
		a, b := node(p.a), node(p.b)
		if ra, rb := find(a), find(b); ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	groups := map[int][]string{}
	var roots []int
	for i, s := range texts {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], s)
	}
	out := make([][]string, len(roots))
	for i, r := range roots {
		out[i] = groups[r]
	}
	return out
}

func buildFAQBenchmark(pairs []labelledPair, seed uint64) faqBenchmark {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var bm faqBenchmark
	for _, g := range matchGroups(pairs) {
		if len(g) < 3 {
			continue
		}
		h := rng.IntN(len(g))
		id := "bq-" + itoa(len(bm.entries))
		rest := slices.Concat(g[:h:h], g[h+1:])
		bm.entries = append(bm.entries, Entry{ID: id, Questions: rest, Answer: "answer of " + id})
		bm.queries = append(bm.queries, Pair{Text: g[h], FAQID: id})
	}
	return bm
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

// rankMetrics are P@1, hit@5 and MRR@10 over queries.
type rankMetrics struct{ p1, hit5, mrr float64 }

func evaluate(queries []Pair, rank func(text string) []string) rankMetrics {
	var m rankMetrics
	for _, q := range queries {
		ids := rank(q.Text)
		for i, id := range ids {
			if id != q.FAQID {
				continue
			}
			if i == 0 {
				m.p1++
			}
			if i < 5 {
				m.hit5++
			}
			if i < 10 {
				m.mrr += 1 / float64(i+1)
			}
			break
		}
	}
	n := float64(max(len(queries), 1))
	return rankMetrics{m.p1 / n, m.hit5 / n, m.mrr / n}
}

// bm25Floor is the README's floor, written independently of the index:
// BM25 (k1 1.2, b 0.75) over character unigrams and bigrams of the raw
// questions, each question a document, an entry scored by its best
// question.
type bm25Floor struct {
	post  map[string][]floorPosting
	dlen  []float64
	entry []int
	ids   []string
	avg   float64
}

type floorPosting struct {
	doc int
	tf  float64
}

func floorTerms(s string) map[string]int {
	rs := []rune(s)
	m := map[string]int{}
	for i := range rs {
		m[string(rs[i])]++
		if i+1 < len(rs) {
			m[string(rs[i:i+2])]++
		}
	}
	return m
}

func newBM25Floor(entries []Entry) *bm25Floor {
	f := &bm25Floor{post: map[string][]floorPosting{}}
	var tot float64
	for i, e := range entries {
		f.ids = append(f.ids, e.ID)
		for _, q := range e.Questions {
			d := len(f.dlen)
			var l int
			for t, n := range floorTerms(q) {
				f.post[t] = append(f.post[t], floorPosting{d, float64(n)})
				l += n
			}
			f.dlen = append(f.dlen, float64(l))
			f.entry = append(f.entry, i)
			tot += float64(l)
		}
	}
	f.avg = tot / float64(len(f.dlen))
	return f
}

// scores returns the BM25 of every document for text.
func (f *bm25Floor) scores(text string) []float64 {
	q := floorTerms(text)
	qt := make([]string, 0, len(q))
	for t := range q {
		qt = append(qt, t)
	}
	slices.Sort(qt) // a fixed order of the float sums
	n := float64(len(f.dlen))
	s := make([]float64, len(f.dlen))
	for _, t := range qt {
		ps := f.post[t]
		df := float64(len(ps))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for _, p := range ps {
			s[p.doc] += float64(q[t]) * idf * p.tf * (1.2 + 1) / (p.tf + 1.2*(1-0.75+0.75*f.dlen[p.doc]/f.avg))
		}
	}
	return s
}

// score is the BM25 of one document (question) for text.
func (f *bm25Floor) score(text string, doc int) float64 {
	q := floorTerms(text)
	qt := make([]string, 0, len(q))
	for t := range q {
		qt = append(qt, t)
	}
	slices.Sort(qt)
	n := float64(len(f.dlen))
	var s float64
	for _, t := range qt {
		ps := f.post[t]
		i, ok := slices.BinarySearchFunc(ps, doc, func(p floorPosting, d int) int { return p.doc - d })
		if !ok {
			continue
		}
		df := float64(len(ps))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		s += float64(q[t]) * idf * ps[i].tf * (1.2 + 1) / (ps[i].tf + 1.2*(1-0.75+0.75*f.dlen[doc]/f.avg))
	}
	return s
}

func (f *bm25Floor) rank(text string, k int) []string {
	best := make([]float64, len(f.ids))
	for d, s := range f.scores(text) {
		best[f.entry[d]] = max(best[f.entry[d]], s)
	}
	order := make([]int, len(f.ids))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case best[a] > best[b]:
			return -1
		case best[a] < best[b]:
			return 1
		}
		return 0
	})
	var out []string
	for _, i := range order[:min(k, len(order))] {
		if best[i] > 0 {
			out = append(out, f.ids[i])
		}
	}
	return out
}

func loadPairs(t testing.TB, rel string, read func(io.Reader) ([]labelledPair, error), want int) []labelledPair {
	f, err := os.Open(sharedData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pairs, err := read(f)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if len(pairs) != want {
		t.Fatalf("%s: %d pairs, want %d", rel, len(pairs), want)
	}
	return pairs
}

// benchSeeds is how many hold-out draws the BQ figures average over:
// one by default (the test must stay fast under -race in CI), five for
// the figures in docs/service.md (go test ./faq -run BQ -faq.seeds 5 -v).
var benchSeeds = flag.Int("faq.seeds", 1, "hold-out draws of the BQ FAQ benchmark")

// TestBQBenchmark measures the Answer ability on BQ built as an FAQ
// benchmark, against the BM25 floor, averaged over -faq.seeds hold-out
// draws.
// The target is 1.5× the floor's P@1; the test fails below
// 1.15× (what the scorer reliably reaches, see docs/service.md) or when
// hit@5 and MRR do not beat the floor.
func TestBQBenchmark(t *testing.T) {
	pairs := loadPairs(t, "bq/dev.csv", readBQ, 10000)
	var floor, ours rankMetrics
	n := *benchSeeds
	for seed := uint64(1); seed <= uint64(n); seed++ {
		bm := buildFAQBenchmark(pairs, seed)
		var nq int
		for _, e := range bm.entries {
			nq += len(e.Questions)
		}
		if raceEnabled { // a fixed subsample under -race (CI): 300 queries, as 150 drew ±0.04 on P@1
			bm.queries = bm.queries[:300]
		}
		fl := newBM25Floor(bm.entries)
		fm := evaluate(bm.queries, func(s string) []string { return fl.rank(s, 10) })
		b := NewBase(Options{})
		if err := b.Upsert(bm.entries...); err != nil {
			t.Fatal(err)
		}
		m := evaluate(bm.queries, func(s string) []string {
			var ids []string
			for _, h := range b.Search(s, 10).Hits {
				ids = append(ids, h.FAQID)
			}
			return ids
		})
		t.Logf("seed %d: %d entries, %d questions, %d queries; BM25 P@1 %.3f hit@5 %.3f MRR %.3f; xiaobao P@1 %.3f hit@5 %.3f MRR %.3f",
			seed, len(bm.entries), nq, len(bm.queries), fm.p1, fm.hit5, fm.mrr, m.p1, m.hit5, m.mrr)
		floor = floor.add(fm, n)
		ours = ours.add(m, n)
		if seed == 1 {
			logPolicy(t, b, bm.queries, "entries in the base")
			if !raceEnabled {
				// Knowledge-base gaps: the odd entries are left out, their
				// customers' questions have no answer in the base.
				gap := NewBase(Options{})
				var kept []Entry
				var missing []Pair
				for i, e := range bm.entries {
					if i%2 == 0 {
						kept = append(kept, e)
					} else {
						missing = append(missing, bm.queries[i])
					}
				}
				if err := gap.Upsert(kept...); err != nil {
					t.Fatal(err)
				}
				logPolicy(t, gap, missing, "entries NOT in the base")
			}
			var ws []string
			for i, w := range b.cur.Load().model.Load().w {
				ws = append(ws, fmt.Sprintf("%s %.2f", featureNames[i], w))
			}
			t.Logf("fitted weights: %s", strings.Join(ws, ", "))
		}
	}
	t.Logf("BM25 floor (mean of %d): P@1 %.3f  hit@5 %.3f  MRR@10 %.3f", n, floor.p1, floor.hit5, floor.mrr)
	t.Logf("xiaobao    (mean of %d): P@1 %.3f  hit@5 %.3f  MRR@10 %.3f  (%.2f× the floor's P@1)", n, ours.p1, ours.hit5, ours.mrr, ours.p1/floor.p1)
	if ours.p1 < 1.15*floor.p1 || ours.hit5 <= floor.hit5 || ours.mrr <= floor.mrr {
		t.Errorf("xiaobao (P@1 %.3f, hit@5 %.3f, MRR %.3f) does not clear the BM25 floor (P@1 %.3f, hit@5 %.3f, MRR %.3f) by the expected margin",
			ours.p1, ours.hit5, ours.mrr, floor.p1, floor.hit5, floor.mrr)
	}
}

// logPolicy reports calibration (expected calibration error of the first
// hit's score over ten bins) and what the fallback policy does with
// queries: answer (and how often rightly), clarify (and how often the
// answer is among the two offered), hand over.
func logPolicy(t *testing.T, b *Base, queries []Pair, what string) {
	const bins = 10
	var cnt, conf, acc [bins]float64
	var answered, answeredRight, clarified, clarifiedRight, handed float64
	for _, q := range queries {
		r := b.Search(q.Text, 5)
		right1, right2 := false, false
		p1 := 0.0
		if len(r.Hits) > 0 {
			p1 = r.Hits[0].Score
			right1 = r.Hits[0].FAQID == q.FAQID
			right2 = right1 || (len(r.Hits) > 1 && r.Hits[1].FAQID == q.FAQID)
		}
		k := min(int(p1*bins), bins-1)
		cnt[k]++
		conf[k] += p1
		if right1 {
			acc[k]++
		}
		switch {
		case r.Confident:
			answered++
			if right1 {
				answeredRight++
			}
		case r.Clarify:
			clarified++
			if right2 {
				clarifiedRight++
			}
		default:
			handed++
		}
	}
	var ece float64
	for k := range bins {
		ece += math.Abs(conf[k]-acc[k]) / float64(len(queries))
	}
	n := float64(len(queries))
	t.Logf("policy on %d queries (%s): ECE %.3f; answered %.1f%% (right %.1f%% of those), clarified %.1f%% (answer among the two %.1f%%), handed over %.1f%%",
		len(queries), what, ece, 100*answered/n, 100*answeredRight/max(answered, 1), 100*clarified/n, 100*clarifiedRight/max(clarified, 1), 100*handed/n)
}

func (m rankMetrics) add(o rankMetrics, n int) rankMetrics {
	return rankMetrics{m.p1 + o.p1/float64(n), m.hit5 + o.hit5/float64(n), m.mrr + o.mrr/float64(n)}
}

// TestAFQMCHardNegatives checks how the scorer ranks matching pairs
// against AFQMC's hard negatives (surface overlap, different meaning):
// the AUC of the scorer's margin and that of BM25 on the dev pairs. The
// scorer is fitted on a knowledge base made from the train pairs
// (union-find groups of at least 3, as for BQ); the shipped default
// (fitted on the starter bank) is shown for comparison.
func TestAFQMCHardNegatives(t *testing.T) {
	train := loadPairs(t, "afqmc/train.txt", readAFQMC, 34334)
	dev := loadPairs(t, "afqmc/dev.txt", readAFQMC, 4316)
	if raceEnabled { // a fixed subsample under -race (CI)
		dev = dev[:800]
	}
	var entries []Entry
	for _, g := range matchGroups(train) {
		if len(g) >= 3 {
			entries = append(entries, Entry{ID: "afqmc-" + itoa(len(entries)), Questions: g, Answer: "-"})
		}
	}
	kb := NewBase(Options{})
	if err := kb.Upsert(entries...); err != nil {
		t.Fatal(err)
	}
	// The dev pairs' second sentences are the entries scored.
	var docs []Entry
	docOf := map[string]int32{}
	for _, p := range dev {
		if _, ok := docOf[p.b]; !ok {
			docOf[p.b] = int32(len(docs))
			docs = append(docs, Entry{ID: itoa(len(docs)), Questions: []string{p.b}, Answer: "-"})
		}
	}
	ix := build(docs, nil, defaultNormalizer())
	fl := newBM25Floor(docs)
	var bm25, fitted, shipped []float64
	var labels []bool
	for _, p := range dev {
		e := docOf[p.b]
		bm25 = append(bm25, fl.score(p.a, int(e)))
		ix.model.Store(kb.cur.Load().model.Load())
		fitted = append(fitted, ix.pairMargin(p.a, e))
		ix.model.Store(defaultScorer())
		shipped = append(shipped, ix.pairMargin(p.a, e))
		labels = append(labels, p.same)
	}
	aBM25, aFit, aShip := model.AUC(bm25, labels), model.AUC(fitted, labels), model.AUC(shipped, labels)
	t.Logf("AFQMC dev, %d pairs (%d train entries for the fit): AUC BM25 %.3f, scorer fitted on train %.3f, shipped default %.3f", len(dev), len(entries), aBM25, aFit, aShip)
	// Hard negatives by design: all lexical scores sit near 0.6 (BERT-class
	// models reach about 0.75 accuracy). The check is that neither scorer
	// has lost the signal BM25 has.
	for name, a := range map[string]float64{"fitted": aFit, "shipped": aShip} {
		if a < aBM25-0.03 || a < 0.55 {
			t.Errorf("%s scorer AUC %.3f on hard negatives: below BM25's %.3f by more than 0.03, or below 0.55", name, a, aBM25)
		}
	}
}
