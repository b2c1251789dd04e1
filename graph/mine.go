package graph

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
)

// MineOptions tune Mine. Zero values take the defaults noted.
type MineOptions struct {
	Ring RingOptions
	// MinShared is how many customers must share a device, phone or ID
	// number for it to start a search (a family shares a tablet; a farm
	// shares one phone among dozens of accounts). Default 4.
	MinShared int
	// MinSharedIP is the same for an IP, which households and offices
	// share more. Default 6.
	MinSharedIP int
	// MinFanIn is how many distinct customers must have transferred to an
	// account for it to start a search as a possible mule. Default 5.
	MinFanIn int
	// Since ignores edges last seen before it (zero: all history).
	Since time.Time
}

// Candidate is an entity whose shape alone suggests a ring.
type Candidate struct {
	Entity    Ref    `json:"entity"`
	Customers int    `json:"customers"`
	Why       string `json:"why"`
}

// Mining is what Mine returns.
type Mining struct {
	Candidates []Candidate `json:"candidates"`
	Rings      []Ring      `json:"rings"`
	// Hubs are entities with more neighbours than the hub degree: never
	// expanded, listed for an analyst to look at.
	Hubs []Candidate `json:"hubs,omitempty"`
}

// Mine searches all history for rings without a confirmed case: devices,
// phones, ID numbers and IPs shared by many customers (device farms) and
// accounts that many unrelated customers transferred to (mule accounts).
// Each starts a search as in Rings; confirmed labels count as seeds too.
func (g *Graph) Mine(opts MineOptions) (*Mining, error) {
	if opts.MinShared <= 0 {
		opts.MinShared = 4
	}
	if opts.MinSharedIP <= 0 {
		opts.MinSharedIP = 6
	}
	if opts.MinFanIn <= 0 {
		opts.MinFanIn = 5
	}
	ring := opts.Ring
	if ring.ScoreEpsilon <= 0 {
		ring.ScoreEpsilon = 1e-3
	}
	ring.defaults()
	since := unix32(opts.Since)
	res := &Mining{}
	var seeds []Seed
	g.mu.RLock()
	var buf []uint32
	for u := NodeID(1); int(u) < len(g.kind); u++ {
		k := g.kind[u]
		if l, ok := g.labels[u]; ok && l.role != RoleVictim {
			seeds = append(seeds, Seed{Entity: g.ref(u), Role: l.role})
			continue
		}
		if k == kCustomer {
			continue
		}
		if g.isHub(u) {
			res.Hubs = append(res.Hubs, Candidate{Entity: g.ref(u), Customers: int(g.deg[u]),
				Why: fmt.Sprintf("%d customers, above the hub degree %d", g.deg[u], g.hub)})
			continue
		}
		n, merchant := 0, false
		buf = g.edgesOf(u, buf)
		for _, e := range buf {
			ed := &g.edges[e]
			if ed.last < since {
				continue
			}
			switch {
			case k == kAccount && ed.links&LinkPayment != 0:
				merchant = true
			case k == kAccount && ed.links&paidIn != 0:
				n++
			case k != kAccount:
				n++
			}
		}
		var c *Candidate
		switch {
		case k == kAccount && !merchant && n >= opts.MinFanIn:
			c = &Candidate{Why: fmt.Sprintf("%d customers transferred to it", n)}
		case k == kIP && n >= opts.MinSharedIP && n <= ring.IPShare:
			c = &Candidate{Why: fmt.Sprintf("%d customers acted from it", n)}
		case k != kAccount && k != kIP && n >= opts.MinShared:
			c = &Candidate{Why: fmt.Sprintf("%d customers used it", n)}
		}
		if c != nil {
			c.Entity, c.Customers = g.ref(u), n
			res.Candidates = append(res.Candidates, *c)
			seeds = append(seeds, Seed{Entity: c.Entity, Role: RoleFraud})
		}
	}
	g.mu.RUnlock()
	// One search per seed, each with its own member budget, so that a big
	// history does not exhaust one search's budget on its seeds alone; a
	// seed already found by an earlier search is part of that ring. The
	// read lock is taken per search, so the graph keeps following the
	// store while a long mining run goes on.
	covered := map[NodeID]bool{}
	for _, sd := range seeds {
		g.mu.RLock()
		u, err := g.node(sd.Entity)
		if err != nil || covered[u] {
			g.mu.RUnlock()
			continue
		}
		x, err := g.search([]Seed{sd}, ring)
		if err != nil {
			g.mu.RUnlock()
			return nil, fmt.Errorf("graph: mine: %w", err)
		}
		for _, v := range x.order {
			covered[v] = true
		}
		res.Rings = append(res.Rings, x.rings()...)
		g.mu.RUnlock()
	}
	slices.SortStableFunc(res.Rings, func(a, b Ring) int { return cmp.Compare(b.Score, a.Score) })
	return res, nil
}

// ProposalType says what a proposal asks a reviewer to do.
type ProposalType string

const (
	// ProposeBlock asks to add an entity to the block list.
	ProposeBlock ProposalType = "block_list_candidate"
	// ProposeCase asks to open a case on a customer: an accomplice to
	// investigate, or a victim to contact.
	ProposeCase ProposalType = "case_review"
)

// Proposal is one thing a ring suggests doing. Nothing is done until a
// reviewer accepts it: ReviewRequired is always true, because a ring is
// inferred from links, and a wrong block stops an innocent customer's
// money.
type Proposal struct {
	Type           ProposalType `json:"type"`
	RingID         string       `json:"ring_id"`
	Entity         Ref          `json:"entity"`
	Role           MemberRole   `json:"role"`
	Score          float64      `json:"score"`
	Reason         string       `json:"reason"`
	Evidence       Path         `json:"evidence"`
	ReviewRequired bool         `json:"review_required"`
	// Entry is the block-list entry to save if the reviewer accepts.
	Entry *guard.ListEntry `json:"entry,omitempty"`
}

// Proposals turns rings into review items: block-list candidates for the
// collection accounts and the devices, phones and ID numbers the ring
// shares, and cases for its accomplices and its victims not yet confirmed.
// IPs are never proposed for blocking (whoever shares them next is likely
// innocent); confirmed entities are not proposed again.
func Proposals(rings []Ring, now time.Time) []Proposal {
	var out []Proposal
	for _, r := range rings {
		for _, m := range r.Members {
			if m.Seed || m.Label == m.Role.confirmedLabel() && m.Label != "" {
				continue
			}
			p := Proposal{RingID: r.ID, Entity: m.Entity, Role: m.Role, Score: m.Score, Evidence: m.Path,
				ReviewRequired: true}
			reason := fmt.Sprintf("%s of %s: %s", m.Role, r.ID, m.Why)
			switch m.Role {
			case MemberCollection, MemberDevice, MemberPhone, MemberIDNumber:
				p.Type = ProposeBlock
				p.Reason = reason
				p.Entry = &guard.ListEntry{List: guard.BlockList, Kind: m.Entity.Kind, Value: m.Entity.Value,
					Reason: reason, Source: "graph", CreatedAt: now}
			case MemberAccomplice:
				p.Type = ProposeCase
				p.Reason = "investigate: " + reason
			case MemberVictim:
				p.Type = ProposeCase
				p.Reason = "contact and protect: " + reason
			default:
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

func (r MemberRole) confirmedLabel() string {
	switch r {
	case MemberVictim:
		return RoleVictim.String()
	case MemberCollection:
		return RoleMule.String()
	case MemberAccomplice:
		return RoleFraud.String()
	}
	return ""
}
