package graph

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// MemberRole is the part an entity plays in a ring, inferred from how it
// was reached.
type MemberRole string

const (
	// MemberVictim is a customer who paid into a collection account: their
	// own devices, friends and merchants are not the ring's, so the search
	// does not go on through them.
	MemberVictim MemberRole = "victim"
	// MemberAccomplice is a customer the ring controls: one who shares a
	// device, phone, ID number or IP with the ring, or holds one of its
	// accounts (a farm account, a mule's own profile).
	MemberAccomplice MemberRole = "accomplice"
	// MemberCollection is an account the ring's money goes into.
	MemberCollection MemberRole = "collection_account"
	MemberDevice     MemberRole = "shared_device"
	MemberIP         MemberRole = "shared_ip"
	MemberPhone      MemberRole = "shared_phone"
	MemberIDNumber   MemberRole = "shared_id_number"
)

var roleOrder = map[MemberRole]int{MemberCollection: 0, MemberDevice: 1, MemberPhone: 2, MemberIDNumber: 3,
	MemberIP: 4, MemberAccomplice: 5, MemberVictim: 6}

// Seed is a confirmed entity to mine from.
type Seed struct {
	Entity Ref `json:"entity"`
	// Role is what was confirmed; RoleNone takes the entity's label, or
	// else its kind's usual role (a customer is a victim, an account a
	// mule, a device or IP the fraud's).
	Role Role `json:"role,omitempty"`
	// At is when the fraud happened. With a victim and no account among
	// the seeds, the victim's payees active within Window of At, and paid
	// by other customers too, are taken as the collection accounts.
	At time.Time `json:"at"`
}

// RingOptions tune Rings and Mine. Zero values take the defaults noted.
type RingOptions struct {
	// MaxHops bounds how far from its seed a member may be. Default 8.
	MaxHops int
	// MaxMembers bounds the members of one search. Default 2000.
	MaxMembers int
	// MinCoPayers is how many of a ring's victims must have paid an
	// account for it to join the ring as a collection account (a ring
	// rotates its accounts); at least half of the account's payers must
	// be the ring's victims too. Default 2.
	MinCoPayers int
	// IPShare is the most customers an IP may have to tie them: above it,
	// an IP is a NAT or public network, not a farm. Default 50.
	IPShare int
	// MinIPShare is the fewest customers an IP reached from an accomplice
	// must have for the search to go on to them: a home or office IP
	// shared by a few customers ties an accomplice to their family, not to
	// the ring, and with short chains of such IPs a search would wander
	// across the whole population. A seed IP always expands. Default 6,
	// Mine's MinSharedIP.
	MinIPShare int
	// ScoreEpsilon is the precision of the members' proximity scores (see
	// ScoreOptions.Epsilon). Default 1e-5; Mine uses 1e-3, since it scores
	// thousands of rings.
	ScoreEpsilon float64
	// Window bounds a victim seed's payees by time (see Seed.At).
	// Default 7 days.
	Window time.Duration
}

func (o *RingOptions) defaults() {
	if o.MaxHops <= 0 {
		o.MaxHops = 8
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = 2000
	}
	if o.MinCoPayers <= 0 {
		o.MinCoPayers = 2
	}
	if o.IPShare <= 0 {
		o.IPShare = 50
	}
	if o.MinIPShare <= 0 {
		o.MinIPShare = 6
	}
	if o.ScoreEpsilon <= 0 {
		o.ScoreEpsilon = 1e-5
	}
	if o.Window <= 0 {
		o.Window = 7 * 24 * time.Hour
	}
}

// Member is one entity of a ring and why it belongs.
type Member struct {
	Entity Ref        `json:"entity"`
	Role   MemberRole `json:"role"`
	// Label is the entity's confirmed label, if it has one.
	Label string `json:"label,omitempty"`
	Seed  bool   `json:"seed,omitempty"`
	// Score is the member's proximity to the ring's seeds (Score).
	Score float64 `json:"score"`
	Why   string  `json:"why"`
	// Path leads from a seed to the member.
	Path Path `json:"path,omitempty"`
}

// Tie is an entity shared by several of a ring's customers.
type Tie struct {
	Entity    Ref        `json:"entity"`
	Role      MemberRole `json:"role"`
	Customers int        `json:"customers"`
	Examples  []Ref      `json:"examples"`
}

// Ring is a group of entities tied to one another and to confirmed fraud.
type Ring struct {
	ID      string   `json:"ring_id"`
	Seeds   []Ref    `json:"seeds"`
	Members []Member `json:"members"`
	Ties    []Tie    `json:"ties,omitempty"`
	// Score orders rings for review: a victim counts 1, an accomplice 2,
	// a collection account or a shared device 1. It is not a probability.
	Score      float64 `json:"score"`
	Victims    int     `json:"victims"`
	Accomplice int     `json:"accomplices"`
	Accounts   int     `json:"collection_accounts"`
	// Capped explains the hubs the search stopped at.
	Capped []string `json:"capped,omitempty"`
	// Truncated says MaxMembers stopped the search.
	Truncated bool `json:"truncated,omitempty"`
}

type mstate struct {
	role   MemberRole
	pred   pred // pred.edge == none for seeds
	origin int
	depth  int
	why    string
}

const none = ^uint32(0)

// miner is one search over the graph (read lock held).
type miner struct {
	g      *Graph
	o      RingOptions
	seeds  []NodeID
	at     []uint32 // per seed
	m      map[NodeID]*mstate
	order  []NodeID
	q      []NodeID
	parent []int // union-find over seeds
	capped map[NodeID]bool
	full   bool
	buf    []uint32
	// victimSeedsOnly says no account is among the seeds, so victim seeds
	// choose their collection accounts by time and fan-in.
	victimSeedsOnly bool
}

func (x *miner) find(i int) int {
	for x.parent[i] != i {
		x.parent[i] = x.parent[x.parent[i]]
		i = x.parent[i]
	}
	return i
}

func (x *miner) union(a, b int) {
	a, b = x.find(a), x.find(b)
	if a != b {
		x.parent[max(a, b)] = min(a, b) // the earliest seed names the group
	}
}

// reach makes v a member reached from u over e, or ties the two searches
// together if v is a member already.
func (x *miner) reach(u NodeID, e uint32, v NodeID, role MemberRole, why string) {
	from := x.m[u]
	if s, ok := x.m[v]; ok {
		x.union(from.origin, s.origin)
		return
	}
	if from.depth+1 > x.o.MaxHops {
		return
	}
	if len(x.order) >= x.o.MaxMembers {
		x.full = true
		return
	}
	x.m[v] = &mstate{role: role, pred: pred{u, e}, origin: from.origin, depth: from.depth + 1, why: why}
	x.order = append(x.order, v)
	x.q = append(x.q, v)
}

func (x *miner) customerRole(c NodeID, def MemberRole) MemberRole {
	switch x.g.labels[c].role {
	case RoleVictim:
		return MemberVictim
	case RoleFraud, RoleMule:
		return MemberAccomplice
	}
	return def
}

func sharedRole(k uint8) MemberRole {
	switch k {
	case kDevice:
		return MemberDevice
	case kIP:
		return MemberIP
	case kPhone:
		return MemberPhone
	case kIDHash:
		return MemberIDNumber
	}
	return ""
}

// payers counts the distinct customers who paid into account v.
func (x *miner) payers(v NodeID) int {
	n := 0
	var buf []uint32
	buf = x.g.edgesOf(v, buf)
	for _, e := range buf {
		if x.g.edges[e].links&paidIn != 0 {
			n++
		}
	}
	return n
}

func (x *miner) expand(u NodeID) {
	g := x.g
	s := x.m[u]
	if g.isHub(u) {
		x.capped[u] = true
		return
	}
	if s.role == MemberIP && int(g.deg[u]) > x.o.IPShare {
		x.capped[u] = true
		return
	}
	if s.role == MemberIP && s.pred.edge != none && int(g.deg[u]) < x.o.MinIPShare {
		return
	}
	x.buf = g.edgesOf(u, x.buf)
	edges := slices.Clone(x.buf) // reach may need x.buf
	for _, e := range edges {
		ed := &g.edges[e]
		v := ed.other(u)
		l := ed.links
		switch s.role {
		case MemberVictim:
			if g.kind[v] != kAccount || l&(paidIn|LinkPayment) == 0 {
				continue
			}
			if r := g.labels[v].role; r == RoleMule || r == RoleFraud {
				x.reach(u, e, v, MemberCollection, "confirmed "+r.String()+" account paid by a ring victim")
				continue
			}
			if l&paidIn == 0 || g.isHub(v) {
				continue
			}
			if lo, hi, ok := x.anchor(u, edges); ok && ed.last+near >= lo && ed.first <= hi+near &&
				(l&LinkPayee != 0 || x.payers(v) >= 2) {
				x.reach(u, e, v, MemberCollection, "a new payee of a ring victim at the time of the fraud")
			}
		case MemberCollection:
			if l&(paidIn|LinkPayment) != 0 {
				x.reach(u, e, v, x.customerRole(v, MemberVictim), "paid into a collection account of the ring")
			} else if l&holderLinks != 0 {
				x.reach(u, e, v, x.customerRole(v, MemberAccomplice), "holds a collection account of the ring ("+l.String()+")")
			}
		case MemberAccomplice:
			switch {
			case l&sharedLinks != 0:
				x.reach(u, e, v, sharedRole(g.kind[v]), "used by an accomplice")
			case l&LinkIP != 0:
				x.reach(u, e, v, MemberIP, "used by an accomplice")
			case l&(paidIn|holderLinks) != 0:
				x.reach(u, e, v, MemberCollection, "used by an accomplice ("+l.String()+")")
			}
		default: // a shared device, IP, phone or ID number
			if g.kind[v] == kCustomer {
				x.reach(u, e, v, x.customerRole(v, MemberAccomplice), "shares "+string(kinds[g.kind[u]])+" with the ring")
			}
		}
	}
}

// near is how close in time to a victim's payments into the ring another
// new payee must be to count as the ring's: scams move victims from one
// account to the next within hours.
const near = 24 * 3600

// anchor is the time span of victim u's payments into the ring's known
// collection accounts; for a victim seed with no account among the seeds,
// the seed's time give or take Window.
func (x *miner) anchor(u NodeID, edges []uint32) (lo, hi uint32, ok bool) {
	g := x.g
	lo = ^uint32(0)
	for _, e := range edges {
		ed := &g.edges[e]
		if s, in := x.m[ed.other(u)]; in && s.role == MemberCollection && ed.links&(paidIn|LinkPayment) != 0 {
			lo, hi, ok = min(lo, ed.first), max(hi, ed.last), true
		}
	}
	if s := x.m[u]; !ok && s.pred.edge == none && x.victimSeedsOnly {
		at, w := x.at[s.origin], uint32(x.o.Window/time.Second)
		return at - min(at, w), at + w, true
	}
	return lo, hi, ok
}

// coPaid adds the accounts that several of the ring's victims paid (a ring
// rotates its collection accounts), and reports whether it added any.
func (x *miner) coPaid() bool {
	g := x.g
	type cand struct {
		n     int
		first pred
	}
	cands := map[NodeID]*cand{}
	var keys []NodeID
	for _, u := range x.order {
		if x.m[u].role != MemberVictim {
			continue
		}
		x.buf = g.edgesOf(u, x.buf)
		for _, e := range x.buf {
			v := g.edges[e].other(u)
			if g.kind[v] != kAccount || g.edges[e].links&paidIn == 0 || g.isHub(v) {
				continue
			}
			if _, ok := x.m[v]; ok {
				continue
			}
			c := cands[v]
			if c == nil {
				c = &cand{first: pred{u, e}}
				cands[v] = c
				keys = append(keys, v)
			}
			c.n++
		}
	}
	added := false
	for _, v := range keys {
		c := cands[v]
		if c.n < x.o.MinCoPayers {
			continue
		}
		if all := x.payers(v); 2*c.n < all {
			continue
		}
		x.reach(c.first.node, c.first.edge, v, MemberCollection,
			fmt.Sprintf("paid by %d of the ring's victims (of %d payers)", c.n, x.payers(v)))
		added = true
	}
	return added
}

func (x *miner) run() {
	for {
		for len(x.q) > 0 {
			u := x.q[0]
			x.q = x.q[1:]
			x.expand(u)
		}
		if x.full || !x.coPaid() {
			return
		}
	}
}

func (x *miner) seedRole(s Seed, u NodeID) MemberRole {
	r := s.Role
	if r == RoleNone {
		r = x.g.labels[u].role
	}
	k := x.g.kind[u]
	switch k {
	case kCustomer:
		if r == RoleFraud || r == RoleMule {
			return MemberAccomplice
		}
		return MemberVictim
	case kAccount:
		return MemberCollection
	}
	return sharedRole(k)
}

// Rings groups what the seeds lead to into rings. From a victim it goes to
// the accounts they paid that are confirmed (or, with no account among the
// seeds, paid around the time and by others too); from a collection
// account to the customers who paid it (victims) and who hold it
// (accomplices); from an accomplice to every device, phone, ID number, IP
// and account it used; from a shared device, IP, phone or ID number to the
// customers who used it; and from the victims found, to other accounts
// most of whose payers are the ring's victims. Merchant payments, hubs and
// crowded IPs tie nothing. Seeds whose searches meet form one ring.
func (g *Graph) Rings(seeds []Seed, opts RingOptions) ([]Ring, error) {
	opts.defaults()
	g.mu.RLock()
	defer g.mu.RUnlock()
	x, err := g.search(seeds, opts)
	if err != nil {
		return nil, err
	}
	return x.rings(), nil
}

// search runs one role-aware expansion from the seeds (read lock held).
func (g *Graph) search(seeds []Seed, opts RingOptions) (*miner, error) {
	if len(seeds) == 0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "graph: rings: no seeds")
	}
	x := &miner{g: g, o: opts, m: map[NodeID]*mstate{}, capped: map[NodeID]bool{}, victimSeedsOnly: true}
	for _, s := range seeds {
		u, err := g.node(s.Entity)
		if err != nil {
			return nil, fmt.Errorf("graph: rings: seed %s: %w", s.Entity.Kind, err)
		}
		if g.kind[u] == kAccount {
			x.victimSeedsOnly = false
		}
	}
	for _, s := range seeds {
		u, _ := g.node(s.Entity)
		i := len(x.seeds)
		x.seeds = append(x.seeds, u)
		x.at = append(x.at, unix32(s.At))
		x.parent = append(x.parent, i)
		if prev, ok := x.m[u]; ok {
			x.union(prev.origin, i)
			continue
		}
		x.m[u] = &mstate{role: x.seedRole(s, u), pred: pred{u, none}, origin: i, why: "seed"}
		x.order = append(x.order, u)
		x.q = append(x.q, u)
	}
	// A seed victim and the account they paid are one case: group them
	// before the searches, so that the order of seeds does not matter.
	for i, u := range x.seeds {
		x.buf = g.edgesOf(u, x.buf)
		for _, e := range x.buf {
			if s, ok := x.m[g.edges[e].other(u)]; ok && s.pred.edge == none {
				x.union(i, s.origin)
			}
		}
	}
	x.run()
	return x, nil
}

func (x *miner) rings() []Ring {
	g := x.g
	groups := map[int][]NodeID{}
	var roots []int
	for _, u := range x.order {
		r := x.find(x.m[u].origin)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], u)
	}
	slices.Sort(roots)
	seedsOf := map[int][]NodeID{}
	for i, s := range x.seeds {
		r := x.find(i)
		if !slices.Contains(seedsOf[r], s) {
			seedsOf[r] = append(seedsOf[r], s)
		}
	}
	out := make([]Ring, 0, len(roots))
	for _, r := range roots {
		members := groups[r]
		seeds := seedsOf[r]
		score := g.ppr(seeds, ScoreOptions{Epsilon: x.o.ScoreEpsilon})
		ring := Ring{Truncated: x.full}
		h := fnv.New64a()
		for _, s := range seeds {
			ring.Seeds = append(ring.Seeds, g.ref(s))
			fmt.Fprint(h, g.ref(s).String(), "\x00")
		}
		ring.ID = fmt.Sprintf("ring-%016x", h.Sum64())
		in := map[NodeID]bool{}
		for _, u := range members {
			in[u] = true
		}
		for _, u := range members {
			s := x.m[u]
			m := Member{Entity: g.ref(u), Role: s.role, Score: score[u], Why: s.why, Seed: s.pred.edge == none}
			if l, ok := g.labels[u]; ok {
				m.Label = l.role.String()
			}
			m.Path = x.path(u)
			ring.Members = append(ring.Members, m)
			switch s.role {
			case MemberVictim:
				ring.Victims++
				ring.Score++
			case MemberAccomplice:
				ring.Accomplice++
				ring.Score += 2
			case MemberCollection:
				ring.Accounts++
				ring.Score++
			case MemberDevice, MemberPhone, MemberIDNumber:
				ring.Score++
			}
			if x.capped[u] {
				ring.Capped = append(ring.Capped, fmt.Sprintf("%s has %d neighbours: not expanded (hub degree %d, IP share %d)",
					g.ref(u), g.deg[u], g.hub, x.o.IPShare))
			}
			if g.kind[u] != kCustomer {
				if t, ok := x.tie(u, in); ok {
					ring.Ties = append(ring.Ties, t)
				}
			}
		}
		slices.SortStableFunc(ring.Members, func(a, b Member) int {
			if c := cmp.Compare(roleOrder[a.Role], roleOrder[b.Role]); c != 0 {
				return c
			}
			return cmp.Compare(b.Score, a.Score)
		})
		slices.SortStableFunc(ring.Ties, func(a, b Tie) int { return cmp.Compare(b.Customers, a.Customers) })
		out = append(out, ring)
	}
	slices.SortStableFunc(out, func(a, b Ring) int { return cmp.Compare(b.Score, a.Score) })
	return out
}

// tie reports the ring's customers linked to u, if there are two or more.
func (x *miner) tie(u NodeID, in map[NodeID]bool) (Tie, bool) {
	g := x.g
	t := Tie{Entity: g.ref(u), Role: x.m[u].role}
	var buf []uint32
	buf = g.edgesOf(u, buf)
	for _, e := range buf {
		v := g.edges[e].other(u)
		if in[v] && g.edges[e].links != LinkPayment {
			t.Customers++
			if len(t.Examples) < 5 {
				t.Examples = append(t.Examples, g.ref(v))
			}
		}
	}
	return t, t.Customers >= 2
}

func (x *miner) path(u NodeID) Path {
	var rev []pred
	for {
		s := x.m[u]
		if s.pred.edge == none {
			break
		}
		rev = append(rev, s.pred)
		u = s.pred.node
	}
	p := make(Path, len(rev))
	for i := range rev {
		pr := rev[len(rev)-1-i]
		p[i] = x.g.step(pr.node, pr.edge)
	}
	return p
}
