package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// GBDTParams configures gradient boosting. Zero values take the defaults in
// brackets.
type GBDTParams struct {
	Rounds       int     // trees [200]
	LearningRate float64 // shrinkage of each tree [0.1]
	MaxDepth     int     // [6]
	MaxLeaves    int     // leaves per tree, grown best-first [31]
	MinLeaf      int     // rows per leaf [20]
	MinHessian   float64 // summed hessian per leaf [1e-3]
	L2           float64 // on leaf values [1]
	MinGain      float64 // smallest loss reduction worth a split [0]
	Subsample    float64 // share of rows per tree, without replacement [1]
	ColSample    float64 // share of features per tree [1]
	MaxBins      int     // histogram bins per feature, at most 65536 [1024]
	Seed         uint64  // row and feature sampling are drawn from it: same seed, same model
	// Valid, when set, is scored after every tree; training keeps the
	// number of trees with the lowest log loss on it and stops after
	// EarlyStop rounds without improvement (0: never stops early).
	Valid     *Dataset
	EarlyStop int
	Name      string
	DataNote  string
}

func (p *GBDTParams) defaults() {
	if p.Rounds == 0 {
		p.Rounds = 200
	}
	if p.LearningRate == 0 {
		p.LearningRate = 0.1
	}
	if p.MaxDepth == 0 {
		p.MaxDepth = 6
	}
	if p.MaxLeaves == 0 {
		p.MaxLeaves = 31
	}
	if p.MinLeaf == 0 {
		p.MinLeaf = 20
	}
	if p.MinHessian == 0 {
		p.MinHessian = 1e-3
	}
	if p.L2 == 0 {
		p.L2 = 1
	}
	if p.Subsample == 0 {
		p.Subsample = 1
	}
	if p.ColSample == 0 {
		p.ColSample = 1
	}
	if p.MaxBins == 0 {
		p.MaxBins = 1024
	}
	p.MaxBins = min(max(p.MaxBins, 2), 1<<16)
}

type histBin struct {
	g, h float64
	n    int32
}

type ghPair struct{ g, h float64 }

type growLeaf struct {
	node       int32
	rows       []int32
	hist       []histBin
	depth      int
	g, h       float64
	feat, bin  int
	gain       float64
	splittable bool
}

type booster struct {
	p      GBDTParams
	d, n   int
	edges  [][]float64 // per feature, split thresholds ascending
	bins   [][]uint16  // per feature, per row
	nb     []int       // bins per feature
	off    []int       // where each feature's bins start in a histogram
	size   int         // histogram length: Σ nb
	pool   [][]histBin // histograms of finished trees, reused
	grad   []float64
	hess   []float64
	gh     []ghPair // a leaf's gradients and hessians in its row order
	part   []int32  // scratch for partitioning a leaf's rows
	feats  []int    // features allowed in the current tree
	splitB []int    // per node of the current tree, split bin
}

// binEdges picks up to maxBins-1 thresholds for a column: midpoints between
// distinct values when there are few, quantiles otherwise.
func binEdges(vals []float64, maxBins int) []float64 {
	v := make([]float64, 0, len(vals))
	for _, x := range vals {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	slices.Sort(v)
	v = slices.Compact(v)
	if len(v) <= maxBins {
		e := make([]float64, 0, len(v))
		for i := 1; i < len(v); i++ {
			e = append(e, v[i-1]+(v[i]-v[i-1])/2)
		}
		return e
	}
	// Half the thresholds at quantiles of the rows (bins where the rows
	// are), half at quantiles of the distinct values (bins in the tail,
	// where a rare large amount is exactly the signal).
	all := make([]float64, 0, len(vals))
	for _, x := range vals {
		if !math.IsNaN(x) {
			all = append(all, x)
		}
	}
	slices.Sort(all)
	half := maxBins / 2
	e := make([]float64, 0, maxBins)
	for q := 1; q < half; q++ {
		e = append(e, all[q*len(all)/half])
	}
	for q := 1; q < maxBins-half; q++ {
		e = append(e, v[q*len(v)/(maxBins-half)])
	}
	slices.Sort(e)
	e = slices.Compact(e)
	if e[len(e)-1] >= all[len(all)-1] {
		e = e[:len(e)-1] // a threshold at the maximum splits nothing off
	}
	return e
}

// TrainGBDT fits gradient-boosted trees with logistic loss.
func TrainGBDT(ds *Dataset, p GBDTParams) (*Model, error) {
	if err := ds.check(); err != nil {
		return nil, fmt.Errorf("train gbdt: %w", err)
	}
	p.defaults()
	if p.Subsample < 0 || p.Subsample > 1 || p.ColSample < 0 || p.ColSample > 1 || p.LearningRate < 0 || p.L2 < 0 {
		return nil, fmt.Errorf("train gbdt: bad parameters %+v", p)
	}
	d, n := len(ds.Features), ds.Rows()
	b := &booster{p: p, d: d, n: n, edges: make([][]float64, d), bins: make([][]uint16, d), nb: make([]int, d), off: make([]int, d)}
	col := make([]float64, n)
	for j := 0; j < d; j++ {
		for i := range col {
			col[i] = ds.X[i*d+j]
		}
		b.edges[j] = binEdges(col, p.MaxBins)
		b.nb[j] = len(b.edges[j]) + 1
		b.off[j] = b.size
		b.size += b.nb[j]
		bj := make([]uint16, n)
		for i, x := range col {
			bj[i] = uint16(sort.SearchFloat64s(b.edges[j], x))
		}
		b.bins[j] = bj
	}
	pos := float64(ds.positives())
	ens := &Ensemble{Base: math.Log(pos / (float64(n) - pos))}
	margin := make([]float64, n)
	for i := range margin {
		margin[i] = ens.Base
	}
	var vm []float64
	bestLoss, bestTrees := math.Inf(1), 0
	if p.Valid != nil {
		if len(p.Valid.Features) != d {
			return nil, fmt.Errorf("train gbdt: validation set has %d features, want %d", len(p.Valid.Features), d)
		}
		vm = make([]float64, p.Valid.Rows())
		for i := range vm {
			vm[i] = ens.Base
		}
	}
	b.grad, b.hess = make([]float64, n), make([]float64, n)
	rng := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	for round := 0; round < p.Rounds; round++ {
		for i := range margin {
			pr := sigmoid(margin[i])
			b.grad[i] = pr - ds.Y[i]
			b.hess[i] = max(pr*(1-pr), 1e-16)
		}
		rows := all
		if p.Subsample < 1 {
			// Selection sampling (Knuth's algorithm S): exactly k rows,
			// drawn in ascending order, so the histograms read memory in
			// sequence.
			k := max(1, int(math.Round(p.Subsample*float64(n))))
			rows = make([]int32, 0, k)
			for i := 0; i < n && len(rows) < k; i++ {
				if rng.IntN(n-i) < k-len(rows) {
					rows = append(rows, int32(i))
				}
			}
		} else {
			rows = slices.Clone(all)
		}
		b.feats = b.feats[:0]
		if p.ColSample < 1 {
			perm := rng.Perm(d)
			k := max(1, int(math.Round(p.ColSample*float64(d))))
			b.feats = append(b.feats, perm[:k]...)
			slices.Sort(b.feats)
		} else {
			for j := 0; j < d; j++ {
				b.feats = append(b.feats, j)
			}
		}
		t := b.grow(rows)
		for i := range margin {
			margin[i] += b.leafValue(t, i)
		}
		ens.Trees = append(ens.Trees, t)
		if p.Valid != nil {
			loss := 0.0
			for i := range vm {
				vm[i] += t.leaf(p.Valid.Row(i)).V
				pr := min(max(sigmoid(vm[i]), 1e-15), 1-1e-15)
				if p.Valid.Y[i] > 0.5 {
					loss -= math.Log(pr)
				} else {
					loss -= math.Log(1 - pr)
				}
			}
			if loss < bestLoss-1e-12 {
				bestLoss, bestTrees = loss, len(ens.Trees)
			} else if p.EarlyStop > 0 && len(ens.Trees)-bestTrees >= p.EarlyStop {
				break
			}
		}
	}
	if p.Valid != nil {
		ens.Trees = ens.Trees[:bestTrees]
	}
	name := p.Name
	if name == "" {
		name = "gbdt"
	}
	m := &Model{
		Format: FormatName, Version: FormatVersion, Name: name, Kind: KindGBDT,
		Features: append([]string(nil), ds.Features...),
		GBDT:     ens,
		Training: Training{Rows: n, Positives: int(pos), Data: p.DataNote, Params: map[string]float64{
			"rounds": float64(p.Rounds), "trees": float64(len(ens.Trees)), "learning_rate": p.LearningRate,
			"max_depth": float64(p.MaxDepth), "max_leaves": float64(p.MaxLeaves), "min_leaf": float64(p.MinLeaf),
			"l2": p.L2, "subsample": p.Subsample, "colsample": p.ColSample, "max_bins": float64(p.MaxBins),
			"seed": float64(p.Seed),
		}},
	}
	return m, m.Validate()
}

// leafValue walks tree t with training row i's bins.
func (b *booster) leafValue(t Tree, i int) float64 {
	k := 0
	for t.Nodes[k].F >= 0 {
		n := &t.Nodes[k]
		if int(b.bins[n.F][i]) <= b.splitB[k] {
			k = int(n.L)
		} else {
			k = int(n.R)
		}
	}
	return t.Nodes[k].V
}

func (b *booster) hist(rows []int32) []histBin {
	var h []histBin
	if k := len(b.pool); k > 0 {
		h = b.pool[k-1]
		b.pool = b.pool[:k-1]
		clear(h)
	} else {
		h = make([]histBin, b.size)
	}
	// Gather the leaf's gradients once: each feature's pass then reads
	// them in sequence instead of at scattered rows.
	if cap(b.gh) < len(rows) {
		b.gh = make([]ghPair, len(rows))
	}
	gh := b.gh[:len(rows)]
	for k, r := range rows {
		gh[k] = ghPair{b.grad[r], b.hess[r]}
	}
	for _, j := range b.feats {
		bj := b.bins[j]
		hj := h[b.off[j] : b.off[j]+b.nb[j]]
		for k, r := range rows {
			e := &hj[bj[r]]
			e.g += gh[k].g
			e.h += gh[k].h
			e.n++
		}
	}
	return h
}

// mayGrow says whether a leaf is deep and large enough to be split.
func (b *booster) mayGrow(l *growLeaf) bool {
	return l.depth < b.p.MaxDepth && len(l.rows) >= 2*b.p.MinLeaf
}

func (b *booster) findSplit(l *growLeaf) {
	l.splittable, l.gain = false, 0
	if !b.mayGrow(l) {
		return
	}
	lam := b.p.L2
	parent := l.g * l.g / (l.h + lam)
	for _, j := range b.feats {
		hj := l.hist[b.off[j] : b.off[j]+b.nb[j]]
		var gl, hl float64
		var nl int
		for bin := 0; bin < len(hj)-1; bin++ {
			gl += hj[bin].g
			hl += hj[bin].h
			nl += int(hj[bin].n)
			nr := len(l.rows) - nl
			if nl < b.p.MinLeaf || hl < b.p.MinHessian {
				continue
			}
			if nr < b.p.MinLeaf {
				break
			}
			hr := l.h - hl
			if hr < b.p.MinHessian {
				break
			}
			gr := l.g - gl
			gain := gl*gl/(hl+lam) + gr*gr/(hr+lam) - parent
			if gain > l.gain && gain > b.p.MinGain {
				l.gain, l.feat, l.bin, l.splittable = gain, j, bin, true
			}
		}
	}
}

// grow builds one tree best-first: the leaf whose split reduces the loss
// most is split next, until MaxLeaves or no split is worth it.
func (b *booster) grow(rows []int32) Tree {
	lr, lam := b.p.LearningRate, b.p.L2
	var t Tree
	b.splitB = b.splitB[:0]
	root := &growLeaf{node: 0, rows: rows}
	for _, r := range rows {
		root.g += b.grad[r]
		root.h += b.hess[r]
	}
	root.hist = b.hist(rows)
	t.Nodes = append(t.Nodes, Node{F: -1, V: -lr * root.g / (root.h + lam)})
	b.splitB = append(b.splitB, -1)
	b.findSplit(root)
	leaves := []*growLeaf{root}
	for len(leaves) < b.p.MaxLeaves {
		best := -1
		for i, l := range leaves {
			if l.splittable && (best < 0 || l.gain > leaves[best].gain) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		l := leaves[best]
		bj := b.bins[l.feat]
		// Partition in place, left rows first, keeping each side in order
		// (rows stay ascending, so histograms read memory in sequence).
		lo := 0
		rest := b.part[:0]
		for _, r := range l.rows {
			if int(bj[r]) <= l.bin {
				l.rows[lo] = r
				lo++
			} else {
				rest = append(rest, r)
			}
		}
		copy(l.rows[lo:], rest)
		b.part = rest[:0]
		left := &growLeaf{rows: l.rows[:lo], depth: l.depth + 1}
		right := &growLeaf{rows: l.rows[lo:], depth: l.depth + 1}
		// The children's sums are the parent's histogram of the split
		// feature on either side of the split.
		hf := l.hist[b.off[l.feat] : b.off[l.feat]+b.nb[l.feat]]
		for k := range hf {
			c := right
			if k <= l.bin {
				c = left
			}
			c.g += hf[k].g
			c.h += hf[k].h
		}
		// Only a child that may still be split needs a histogram; the
		// larger one is the parent's minus the smaller one's.
		small, large := left, right
		if len(right.rows) < len(left.rows) {
			small, large = right, left
		}
		switch needS, needL := b.mayGrow(small), b.mayGrow(large); {
		case needL:
			small.hist = b.hist(small.rows)
			large.hist = l.hist
			for _, j := range b.feats {
				for k := b.off[j]; k < b.off[j]+b.nb[j]; k++ {
					large.hist[k].g -= small.hist[k].g
					large.hist[k].h -= small.hist[k].h
					large.hist[k].n -= small.hist[k].n
				}
			}
			if !needS {
				b.pool = append(b.pool, small.hist)
				small.hist = nil
			}
		case needS:
			small.hist = b.hist(small.rows)
			b.pool = append(b.pool, l.hist)
		default:
			b.pool = append(b.pool, l.hist)
		}
		l.hist = nil
		n := &t.Nodes[l.node]
		n.F, n.T = int32(l.feat), b.edges[l.feat][l.bin]
		b.splitB[l.node] = l.bin
		left.node, right.node = int32(len(t.Nodes)), int32(len(t.Nodes)+1)
		n.L, n.R = left.node, right.node
		for _, c := range []*growLeaf{left, right} {
			t.Nodes = append(t.Nodes, Node{F: -1, V: -lr * c.g / (c.h + lam)})
			b.splitB = append(b.splitB, -1)
			b.findSplit(c)
		}
		leaves[best] = left
		leaves = append(leaves, right)
	}
	for _, l := range leaves {
		if l.hist != nil {
			b.pool = append(b.pool, l.hist)
		}
	}
	return t
}
