package graph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

// history is a simulated history in a graph, with the simulator's ground
// truth turned into rings: campaigns joined by the accounts or devices
// they share (the simulator reuses collection accounts across scams).
type history struct {
	g     *Graph
	rings []*truthRing
	// in maps every scheme entity to its ring.
	in     map[Ref]*truthRing
	events int
	build  time.Duration
}

type truthRing struct {
	id        int
	campaigns []string
	typology  map[string]bool
	victims   map[Ref]bool // victims and gamblers
	accompl   map[Ref]bool // farm accounts, mules, fraudsters' customers
	accounts  map[Ref]bool // accounts the scheme's money or cards went to
	devices   map[Ref]bool // devices and IPs only the scheme used
	seed      Seed
	seedAccts []Seed
	seedFirst time.Time
}

type campaign struct {
	id       string
	typology string
	first    time.Time
	cust     map[Ref]string // role
	accounts map[Ref]bool
	devices  map[Ref]bool
	// paidIn are the accounts victims and gamblers paid: what ties
	// campaigns into one ring.
	paidIn map[Ref]bool
	// seed: the first customer whose money went to the scheme, and the
	// accounts they paid (what their report of the fraud lists).
	seedCust  Ref
	seedAccts []Ref
	seedAt    time.Time
	seedRole  string
}

func simHistory(tb testing.TB, cfg sim.Config) *history {
	tb.Helper()
	start := time.Now()
	s := sim.New(cfg)
	g := New(Options{})
	camps := map[string]*campaign{}
	var order []string
	legit := map[Ref]bool{} // devices, IPs and accounts seen in legitimate events
	n := 0
	for {
		it, ok := s.Next()
		if !ok {
			break
		}
		n++
		ev, err := guard.DecodeEvent(it.Event)
		if err != nil {
			tb.Fatalf("decode simulated event %d: %v", n, err)
		}
		if err := g.AddEvent(ev); err != nil {
			tb.Fatal(err)
		}
		dev, ip := Ref{guard.KindDevice, ev.Device.ID}, Ref{guard.KindIP, ev.Device.IP}
		acct := Ref{guard.KindAccount, NormalizeAccount(ev.Counterparty.Account)}
		l := it.Label
		if l.ScamID == "" {
			legit[dev], legit[ip], legit[acct] = true, true, true
			continue
		}
		c := camps[l.ScamID]
		if c == nil {
			c = &campaign{id: l.ScamID, typology: l.Typology, first: ev.OccurredAt, cust: map[Ref]string{},
				accounts: map[Ref]bool{}, devices: map[Ref]bool{}, paidIn: map[Ref]bool{}}
			camps[l.ScamID] = c
			order = append(order, l.ScamID)
		}
		cust := Ref{guard.KindCustomer, ev.Customer.ID}
		if _, ok := c.cust[cust]; !ok || l.Role != sim.RoleVictim {
			c.cust[cust] = l.Role
		}
		switch ev.Type {
		case guard.Transfer, guard.Withdrawal, guard.Payment, guard.PayeeAdd, guard.CardBind:
			if acct.Value != "" {
				c.accounts[acct] = true
			}
		}
		if ev.Device.ID != "" {
			c.devices[dev] = true
		}
		if ev.Device.IP != "" {
			c.devices[ip] = true
		}
		victim := l.Role == sim.RoleVictim || l.Role == sim.RoleGambler || l.Role == sim.RoleFraudster
		if victim && l.AtRisk != "0.00" && ev.Type.Outflow() && acct.Value != "" {
			if l.Role != sim.RoleFraudster {
				c.paidIn[acct] = true
			}
			if c.seedCust.Value == "" {
				c.seedCust, c.seedAt, c.seedRole = cust, ev.OccurredAt, l.Role
			}
			if c.seedCust == cust && !slices.Contains(c.seedAccts, acct) {
				c.seedAccts = append(c.seedAccts, acct)
			}
		}
		if c.seedCust.Value == "" && l.Role == sim.RoleFarm {
			c.seedCust, c.seedAt, c.seedRole = cust, ev.OccurredAt, l.Role
		}
	}
	g.Compact()
	h := &history{g: g, in: map[Ref]*truthRing{}, events: n}

	// Join campaigns that share a scheme account or device.
	parent := map[string]string{}
	var find func(string) string
	find = func(a string) string {
		if p, ok := parent[a]; ok && p != a {
			r := find(p)
			parent[a] = r
			return r
		}
		return a
	}
	owner := map[Ref]string{}
	for _, id := range order {
		c := camps[id]
		parent[id] = id
		for _, set := range []map[Ref]bool{c.accounts, c.devices} {
			for e := range set {
				if legit[e] {
					delete(set, e)
				}
			}
		}
		for e := range c.paidIn {
			if !legit[e] {
				if o, ok := owner[e]; ok {
					a, b := find(o), find(id)
					if a != b {
						parent[b] = a
					}
				} else {
					owner[e] = id
				}
			}
		}
	}
	byRoot := map[string]*truthRing{}
	for _, id := range order {
		c := camps[id]
		r := byRoot[find(id)]
		if r == nil {
			r = &truthRing{id: len(h.rings), typology: map[string]bool{}, victims: map[Ref]bool{},
				accompl: map[Ref]bool{}, accounts: map[Ref]bool{}, devices: map[Ref]bool{}}
			byRoot[find(id)] = r
			h.rings = append(h.rings, r)
		}
		r.campaigns = append(r.campaigns, id)
		r.typology[c.typology] = true
		for e, role := range c.cust {
			switch role {
			case sim.RoleVictim, sim.RoleGambler:
				r.victims[e] = true
			default:
				r.accompl[e] = true
			}
			h.in[e] = r
		}
		for e := range c.accounts {
			r.accounts[e] = true
			h.in[e] = r
		}
		for e := range c.devices {
			r.devices[e] = true
			h.in[e] = r
		}
		// The ring's seed: its first campaign's first customer to lose
		// money (or, for a farm, its first account).
		if c.seedCust.Value != "" && (r.seed.Entity.Value == "" || c.seedAt.Before(r.seedFirst)) {
			r.seedFirst = c.seedAt
			role := RoleVictim
			if c.seedRole == sim.RoleFarm {
				role = RoleFraud
			}
			r.seed = Seed{Entity: c.seedCust, Role: role, At: c.seedAt}
			r.seedAccts = nil
			for _, a := range c.seedAccts {
				r.seedAccts = append(r.seedAccts, Seed{Entity: a, Role: RoleMule, At: c.seedAt})
			}
		}
	}
	h.build = time.Since(start)
	return h
}

// component is every entity connected to r by links other than merchant
// payments, never through a hub.
func (g *Graph) component(r Ref) map[Ref]bool {
	u, err := g.node(r)
	if err != nil {
		return nil
	}
	t := g.seedTree([]NodeID{u}, 1<<20, func(e *edge) bool { return e.links != LinkPayment })
	out := make(map[Ref]bool, len(t))
	for v := range t {
		out[g.ref(v)] = true
	}
	return out
}

// efficiency is what mining from one confirmed case per ring finds.
type efficiency struct {
	rings                    int // rings with something to find beyond the seed
	accounts, accountsFound  int
	victims, victimsFound    int
	accompl, accomplFound    int
	devices, devicesFound    int
	proposed, falseLinks     int
	reachable                int
	accountsReachable        int
	crossRing                int // proposals that belong to another true ring
	byTypology               map[string][2]int
	perRingMs                []float64
	falseExamples            []string
	victimOnly               bool
	ringsWithAllVictimsFound int
}

func (e *efficiency) String() string {
	pct := func(a, b int) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%% (%d/%d)", 100*float64(a)/float64(b), a, b)
	}
	slices.Sort(e.perRingMs)
	p99 := 0.0
	if n := len(e.perRingMs); n > 0 {
		p99 = e.perRingMs[min(n-1, n*99/100)]
	}
	return fmt.Sprintf("rings %d; reachable at all %s; collection accounts %s (of the reachable: %s); other victims %s; accomplices %s; devices/IPs %s; "+
		"proposals %d, false links %s, in another true ring %d; per-ring p99 %.1f ms",
		e.rings, pct(e.reachable, e.accounts+e.victims+e.accompl), pct(e.accountsFound, e.accounts), pct(e.accountsFound, e.accountsReachable), pct(e.victimsFound, e.victims), pct(e.accomplFound, e.accompl),
		pct(e.devicesFound, e.devices), e.proposed, pct(e.falseLinks, e.proposed), e.crossRing, p99)
}

// mineEach mines every true ring from its one confirmed case: the first
// victim and the account they paid (what a confirmed-fraud outcome names),
// or with victimOnly the victim alone.
func (h *history) mineEach(tb testing.TB, victimOnly bool) *efficiency {
	ef := &efficiency{byTypology: map[string][2]int{}, victimOnly: victimOnly}
	for _, r := range h.rings {
		if r.seed.Entity.Value == "" {
			continue
		}
		seeds := []Seed{r.seed}
		if !victimOnly {
			seeds = append(seeds, r.seedAccts...)
		}
		isSeed := map[Ref]bool{}
		for _, s := range seeds {
			isSeed[s.Entity] = true
		}
		want := func(set map[Ref]bool) int {
			n := 0
			for e := range set {
				if !isSeed[e] {
					n++
				}
			}
			return n
		}
		wa, wv, wc, wd := want(r.accounts), want(r.victims), want(r.accompl), want(r.devices)
		if wa+wv+wc == 0 {
			continue
		}
		ef.rings++
		// Reachable members have a path from the seed over anything but
		// merchant payments and hubs: the most any miner could find.
		comp := h.g.component(r.seed.Entity)
		for _, set := range []map[Ref]bool{r.accounts, r.victims, r.accompl} {
			for e := range set {
				if comp[e] && !isSeed[e] {
					ef.reachable++
					if set[e] && r.accounts[e] {
						ef.accountsReachable++
					}
				}
			}
		}
		t0 := time.Now()
		rings, err := h.g.Rings(seeds, RingOptions{})
		if err != nil {
			tb.Fatalf("ring %d (%v): %v", r.id, r.campaigns, err)
		}
		props := Proposals(rings, r.seedFirst)
		ef.perRingMs = append(ef.perRingMs, float64(time.Since(t0).Microseconds())/1000)
		found := map[Ref]bool{}
		for _, rg := range rings {
			for _, m := range rg.Members {
				found[m.Entity] = true
			}
		}
		got := func(set map[Ref]bool) int {
			n := 0
			for e := range set {
				if !isSeed[e] && found[e] {
					n++
				}
			}
			return n
		}
		ga, gv, gc, gd := got(r.accounts), got(r.victims), got(r.accompl), got(r.devices)
		ef.accounts += wa
		ef.accountsFound += ga
		ef.victims += wv
		ef.victimsFound += gv
		ef.accompl += wc
		ef.accomplFound += gc
		ef.devices += wd
		ef.devicesFound += gd
		if gv == wv {
			ef.ringsWithAllVictimsFound++
		}
		for typ := range r.typology {
			x := ef.byTypology[typ]
			x[0] += ga + gv + gc
			x[1] += wa + wv + wc
			ef.byTypology[typ] = x
		}
		for _, p := range props {
			ef.proposed++
			switch t := h.in[p.Entity]; {
			case t == nil:
				ef.falseLinks++
				if len(ef.falseExamples) < 5 {
					ef.falseExamples = append(ef.falseExamples, fmt.Sprintf("%s %s: %s", p.Entity, p.Role, p.Evidence))
				}
			case t != r:
				ef.crossRing++
			}
		}
	}
	return ef
}

func (e *efficiency) typologies() string {
	var ks []string
	for k := range e.byTypology {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, cmp.Compare)
	var b strings.Builder
	for _, k := range ks {
		x := e.byTypology[k]
		fmt.Fprintf(&b, "  %-30s found %d of %d\n", k, x[0], x[1])
	}
	return b.String()
}

// effConfig is the simulation the efficiency figures use: 20,000 customers
// over 30 days with three times the default scam rates, so that every
// typology starts several rings.
var effConfig = sim.Config{Seed: 11, Customers: 20000, Days: 30, ScamRate: 3}

func TestMiningEfficiency(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 30 days of 20,000 customers (about 10 s); run without -short")
	}
	h := simHistory(t, effConfig)
	t.Logf("history: %d events, %d nodes, %d edges, %.0f bytes per edge, built in %v",
		h.events, h.g.Nodes(), h.g.Edges(), float64(h.g.MemoryBytes())/float64(h.g.Edges()), h.build.Round(time.Millisecond))
	for _, victimOnly := range []bool{false, true} {
		ef := h.mineEach(t, victimOnly)
		mode := "victim + confirmed account"
		if victimOnly {
			mode = "victim only"
		}
		t.Logf("%s: %s\nby typology (accounts, victims, accomplices found):\n%s", mode, ef, ef.typologies())
		for _, x := range ef.falseExamples {
			t.Logf("false link: %s", x)
		}
		// Thresholds: a little under what this build achieves (see
		// docs/graph.md), so that a regression fails.
		minAcct, minVict, maxFalse := 0.30, 0.95, 0.02
		if victimOnly {
			minAcct = 0.50
		}
		if ef.rings < 20 {
			t.Errorf("%s: only %d rings to mine: the simulation changed", mode, ef.rings)
		}
		if r := float64(ef.accountsFound) / float64(max(1, ef.accounts)); r < minAcct {
			t.Errorf("%s: collection-account recall %.3f < %.2f", mode, r, minAcct)
		}
		if r := float64(ef.victimsFound) / float64(max(1, ef.victims)); r < minVict {
			t.Errorf("%s: other-victim recall %.3f < %.2f", mode, r, minVict)
		}
		if r := float64(ef.falseLinks) / float64(max(1, ef.proposed)); r > maxFalse {
			t.Errorf("%s: false-link rate %.3f > %.2f", mode, r, maxFalse)
		}
	}
}
