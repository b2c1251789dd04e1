package graph

import (
	"cmp"
	"slices"

	"github.com/xiaobao-org/xiaobao"
)

// linkWeight is how much an edge says that two customers are one party's:
// sharing a device, phone or ID number, or sending money to one account,
// says much; an IP (NAT, public Wi-Fi) less; paying a merchant nearly
// nothing.
func linkWeight(l Link) float64 {
	switch {
	case l&(sharedLinks|LinkCard|LinkTransfer) != 0:
		return 1
	case l&LinkPayee != 0:
		return 0.8
	case l&(LinkPayout|LinkWithdrawal) != 0:
		return 0.5
	case l&LinkIP != 0:
		return 0.3
	}
	return 0.05 // payments only
}

// ScoreOptions tune Score. Zero values take the defaults noted.
type ScoreOptions struct {
	// Restart is the walk's probability of returning to a seed at each
	// step; higher keeps the score closer to the seeds. Default 0.15.
	Restart float64
	// Epsilon is the residual below which a node is not pushed further;
	// it bounds the work at about 1/(Epsilon·Restart) pushes. Default 1e-5.
	Epsilon float64
	// Limit is the number of entities returned, best first. Default 100.
	Limit int
}

// Scored is one entity's proximity to the seeds.
type Scored struct {
	Entity Ref     `json:"entity"`
	Score  float64 `json:"score"`
	Label  string  `json:"label,omitempty"`
	Hub    bool    `json:"hub,omitempty"`
	// Path is a shortest path from the nearest seed, through no hub.
	Path Path `json:"path,omitempty"`
}

// Score ranks entities by their proximity to the seeds (usually entities
// confirmed as fraud): a personalised PageRank computed by local pushes
// (Andersen, Chung and Lang), with edges weighted by how strongly their
// links tie two parties and normalised by each node's weighted degree, so
// a busy node spreads its score thin. Hubs keep what reaches them and pass
// nothing on. Seeds and their scores are excluded from the result; the
// result is deterministic for a given graph and seed list.
func (g *Graph) Score(seeds []Ref, opts ScoreOptions) ([]Scored, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ids, err := g.nodes(seeds)
	if err != nil {
		return nil, err
	}
	p := g.ppr(ids, opts)
	isSeed := map[NodeID]bool{}
	for _, s := range ids {
		isSeed[s] = true
	}
	out := make([]NodeID, 0, len(p))
	for u := range p {
		if !isSeed[u] {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b NodeID) int {
		if c := cmp.Compare(p[b], p[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	out = out[:min(len(out), limit)]
	tree := g.seedTree(ids, 6, nil)
	res := make([]Scored, len(out))
	for i, u := range out {
		res[i] = Scored{Entity: g.ref(u), Score: p[u], Hub: g.isHub(u), Path: g.treePath(tree, u)}
		if l, ok := g.labels[u]; ok {
			res[i].Label = l.role.String()
		}
	}
	return res, nil
}

func (g *Graph) nodes(refs []Ref) ([]NodeID, error) {
	if len(refs) == 0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "graph: no seeds")
	}
	ids := make([]NodeID, 0, len(refs))
	seen := map[NodeID]bool{}
	for _, r := range refs {
		u, err := g.node(r)
		if err != nil {
			return nil, err
		}
		if !seen[u] {
			seen[u] = true
			ids = append(ids, u)
		}
	}
	return ids, nil
}

// ppr is the push algorithm over a FIFO queue: the order of pushes, and so
// every floating-point sum, depends only on the graph and the seeds.
func (g *Graph) ppr(seeds []NodeID, opts ScoreOptions) map[NodeID]float64 {
	alpha, eps := opts.Restart, opts.Epsilon
	if alpha <= 0 || alpha >= 1 {
		alpha = 0.15
	}
	if eps <= 0 {
		eps = 1e-5
	}
	p := map[NodeID]float64{}
	r := map[NodeID]float64{}
	queued := map[NodeID]bool{}
	var q []NodeID
	for _, s := range seeds {
		r[s] += 1 / float64(len(seeds))
		q = append(q, s)
		queued[s] = true
	}
	var buf, wbuf []uint32
	wdeg := map[NodeID]float64{}
	weighted := func(u NodeID) float64 {
		if w, ok := wdeg[u]; ok {
			return w
		}
		w := 0.0
		wbuf = g.edgesOf(u, wbuf)
		for _, e := range wbuf {
			w += linkWeight(g.edges[e].links)
		}
		wdeg[u] = w
		return w
	}
	// Bound the work even for a pathological epsilon.
	for budget := 2_000_000; len(q) > 0 && budget > 0; budget-- {
		u := q[0]
		q = q[1:]
		queued[u] = false
		ru := r[u]
		w := weighted(u)
		if g.isHub(u) || w == 0 {
			p[u] += ru // absorbed: a hub passes nothing on
			r[u] = 0
			continue
		}
		p[u] += alpha * ru
		r[u] = 0
		spread := (1 - alpha) * ru / w
		buf = g.edgesOf(u, buf)
		for _, e := range buf {
			v := g.edges[e].other(u)
			r[v] += spread * linkWeight(g.edges[e].links)
			if !queued[v] && r[v] > eps*max(weighted(v), 1) {
				queued[v] = true
				q = append(q, v)
			}
		}
	}
	return p
}

// tree is a breadth-first forest from the seeds: for each node reached, the
// node and edge it was reached from.
type tree map[NodeID]pred

// seedTree grows the forest up to hops from the seeds, never through hubs;
// follow, when set, says which edges may be walked.
func (g *Graph) seedTree(seeds []NodeID, hops int, follow func(e *edge) bool) tree {
	t := tree{}
	cur := make([]NodeID, 0, len(seeds))
	for _, s := range seeds {
		if _, ok := t[s]; !ok {
			t[s] = pred{node: s, edge: ^uint32(0)}
			cur = append(cur, s)
		}
	}
	var buf []uint32
	for h := 0; h < hops && len(cur) > 0; h++ {
		var next []NodeID
		for _, u := range cur {
			if h > 0 && g.isHub(u) {
				continue
			}
			buf = g.edgesOf(u, buf)
			for _, e := range buf {
				if follow != nil && !follow(&g.edges[e]) {
					continue
				}
				v := g.edges[e].other(u)
				if _, ok := t[v]; !ok {
					t[v] = pred{node: u, edge: e}
					next = append(next, v)
				}
			}
		}
		cur = next
	}
	return t
}

// treePath is the path from u's seed to u, nil if u was not reached.
func (g *Graph) treePath(t tree, u NodeID) Path {
	var rev []pred
	for {
		pr, ok := t[u]
		if !ok {
			return nil
		}
		if pr.edge == ^uint32(0) {
			break
		}
		rev = append(rev, pr)
		u = pr.node
	}
	p := make(Path, len(rev))
	for i := range rev {
		pr := rev[len(rev)-1-i]
		p[i] = g.step(pr.node, pr.edge)
	}
	return p
}
