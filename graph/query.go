package graph

import (
	"fmt"

	"github.com/xiaobao-org/xiaobao"
)

// MaxPaths bounds the shortest paths reported per reached entity: enough to
// show that a link is not a coincidence, few enough to read.
const MaxPaths = 3

// Reached is one entity within reach of a queried one, and how it is reached.
type Reached struct {
	Entity   Ref    `json:"entity"`
	Distance int    `json:"distance"`
	Degree   int    `json:"degree"`
	Label    string `json:"label,omitempty"`
	// Hub is set when the entity has more neighbours than the hub degree:
	// it is reported but the query did not expand through it.
	Hub   bool   `json:"hub,omitempty"`
	Paths []Path `json:"paths"`
}

// Neighbourhood is what Graph.Neighbourhood returns.
type Neighbourhood struct {
	Origin  Ref       `json:"origin"`
	Hops    int       `json:"hops"`
	Reached []Reached `json:"reached"`
	// Truncated says the limit stopped the search before every entity
	// within Hops was reached.
	Truncated bool `json:"truncated,omitempty"`
	// Capped explains the hubs the search did not expand through.
	Capped []string `json:"capped,omitempty"`
}

type pred struct {
	node NodeID
	edge uint32
}

type visit struct {
	node  NodeID
	dist  uint8
	np    uint8
	preds [MaxPaths]pred
}

// Neighbourhood returns the entities within hops of origin (at most limit of
// them, nearest first) with up to MaxPaths shortest paths each. Hubs are
// reached but not expanded through, and Capped says which.
func (g *Graph) Neighbourhood(origin Ref, hops, limit int) (*Neighbourhood, error) {
	if hops < 1 || hops > 6 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "graph: neighbourhood of %s: hops must be 1 to 6, not %d", origin.Kind, hops)
	}
	if limit <= 0 {
		limit = 1000
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	o, err := g.node(origin)
	if err != nil {
		return nil, err
	}
	idx := map[NodeID]int32{o: 0}
	vs := []visit{{node: o}}
	res := &Neighbourhood{Origin: g.ref(o), Hops: hops}
	var buf []uint32
	for head := 0; head < len(vs); head++ {
		u, d := vs[head].node, vs[head].dist
		if int(d) >= hops {
			break // breadth first: every later node is as far
		}
		if head > 0 && g.isHub(u) {
			res.Capped = append(res.Capped, fmt.Sprintf("%s has %d neighbours (hub degree %d): not expanded",
				g.ref(u), g.deg[u], g.hub))
			continue
		}
		buf = g.edgesOf(u, buf)
		for _, e := range buf {
			v := g.edges[e].other(u)
			if i, ok := idx[v]; ok {
				w := &vs[i]
				if w.dist == d+1 && w.np < MaxPaths {
					w.preds[w.np] = pred{u, e}
					w.np++
				}
				continue
			}
			if len(vs)-1 >= limit {
				res.Truncated = true
				continue
			}
			idx[v] = int32(len(vs))
			vs = append(vs, visit{node: v, dist: d + 1, np: 1, preds: [MaxPaths]pred{{u, e}}})
		}
	}
	res.Reached = make([]Reached, 0, len(vs)-1)
	for i := 1; i < len(vs); i++ {
		v := &vs[i]
		r := Reached{Entity: g.ref(v.node), Distance: int(v.dist), Degree: int(g.deg[v.node]), Hub: g.isHub(v.node)}
		if l, ok := g.labels[v.node]; ok {
			r.Label = l.role.String()
		}
		r.Paths = g.paths(vs, idx, i, nil, nil)
		res.Reached = append(res.Reached, r)
	}
	return res, nil
}

// paths enumerates up to MaxPaths shortest paths to vs[i] by walking the
// predecessors back to the origin; suffix is the path from vs[i] onwards.
func (g *Graph) paths(vs []visit, idx map[NodeID]int32, i int, suffix []pred, out []Path) []Path {
	v := &vs[i]
	if v.np == 0 {
		p := make(Path, len(suffix))
		for j := range suffix {
			s := suffix[len(suffix)-1-j]
			p[j] = g.step(s.node, s.edge)
		}
		return append(out, p)
	}
	for _, pr := range v.preds[:v.np] {
		if len(out) >= MaxPaths {
			break
		}
		out = g.paths(vs, idx, int(idx[pr.node]), append(suffix, pr), out)
	}
	return out
}
