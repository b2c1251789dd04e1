package graph

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func cust(id string) Ref { return Ref{guard.KindCustomer, id} }
func acct(id string) Ref { return Ref{guard.KindAccount, id} }
func dev(id string) Ref  { return Ref{guard.KindDevice, id} }
func ip(id string) Ref   { return Ref{guard.KindIP, id} }

type link struct {
	c    string
	e    Ref
	l    Link
	hour int
	amt  xiaobao.Money
}

func build(t *testing.T, opts Options, links []link) *Graph {
	t.Helper()
	g := New(opts)
	for _, l := range links {
		if err := g.AddLink(l.c, l.e, l.l, t0.Add(time.Duration(l.hour)*time.Hour), l.amt); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// ring: victims v1..v3 pay mule account M; v1 also pays R, which v2 pays
// too (a rotated collection account); farm accounts f1, f2 share device D
// and f2 binds card M (it holds the mule account); v1 has a friend account
// F and everyone shops at merchant S.
var ringLinks = []link{
	{"v1", acct("M"), LinkTransfer, 1, 50000},
	{"v2", acct("M"), LinkTransfer, 2, 30000},
	{"v3", acct("M"), LinkTransfer | LinkPayee, 3, 20000},
	{"v1", acct("R"), LinkTransfer, 4, 10000},
	{"v2", acct("R"), LinkTransfer, 5, 10000},
	{"v1", acct("F"), LinkTransfer, 200, 1000},
	{"f1", dev("D"), LinkDevice, 1, 0},
	{"f2", dev("D"), LinkDevice, 1, 0},
	{"f2", acct("M"), LinkCard, 0, 0},
	{"f1", acct("C1"), LinkCard, 1, 0},
	{"v1", dev("dv1"), LinkDevice, 1, 0},
	{"x1", acct("S"), LinkPayment, 1, 100},
	{"v1", acct("S"), LinkPayment, 1, 100},
	{"x2", acct("S"), LinkPayment, 1, 100},
	{"x2", acct("F2"), LinkTransfer, 1, 100},
}

func TestAddLinkMergesEdges(t *testing.T) {
	g := build(t, Options{}, []link{
		{"c", acct("6222 0200-1"), LinkPayee, 1, 0},
		{"c", acct("62220200 1"), LinkTransfer, 3, 500},
		{"c", acct("622202001"), LinkTransfer, 2, 700},
	})
	if g.Nodes() != 2 || g.Edges() != 1 {
		t.Fatalf("nodes %d edges %d, want 2 and 1", g.Nodes(), g.Edges())
	}
	nb, err := g.Neighbourhood(cust("c"), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	s := nb.Reached[0].Paths[0][0]
	want := Step{From: cust("c"), To: acct("622202001"), Links: []string{"transfer", "payee_add"}, Count: 3,
		First: t0.Add(time.Hour), Last: t0.Add(3 * time.Hour), Amount: 1200}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("step %+v\nwant %+v", s, want)
	}
}

func TestNeighbourhood(t *testing.T) {
	g := build(t, Options{HubDegree: 4}, ringLinks)
	tests := []struct {
		origin  Ref
		hops    int
		want    map[string]int // entity → distance
		paths   map[string]int // entity → number of shortest paths
		capped  int
		errCode string
	}{
		{origin: cust("v1"), hops: 1, want: map[string]int{"account:M": 1, "account:R": 1, "account:F": 1,
			"device:dv1": 1, "account:S": 1}},
		{origin: cust("v3"), hops: 2, want: map[string]int{"account:M": 1, "customer:v1": 2, "customer:v2": 2,
			"customer:f2": 2}},
		// v2 reaches R in one hop, and v1 in two ways: through M and R.
		{origin: cust("v2"), hops: 2, want: map[string]int{"account:M": 1, "account:R": 1, "customer:v1": 2,
			"customer:v3": 2, "customer:f2": 2}, paths: map[string]int{"customer:v1": 2}},
		// M has 4 neighbours, the hub degree: expanded; v1 has 5: a hub.
		{origin: acct("S"), hops: 2, want: map[string]int{"customer:x1": 1, "customer:v1": 1, "customer:x2": 1,
			"account:F2": 2}, capped: 1},
		{origin: cust("f1"), hops: 3, want: map[string]int{"device:D": 1, "account:C1": 1, "customer:f2": 2,
			"account:M": 3}, capped: 0},
		{origin: cust("f1"), hops: 4, want: map[string]int{"device:D": 1, "account:C1": 1, "customer:f2": 2,
			"account:M": 3, "customer:v1": 4, "customer:v2": 4, "customer:v3": 4}},
		{origin: cust("nobody"), hops: 1, errCode: xiaobao.ENOTFOUND},
		{origin: cust("v1"), hops: 0, errCode: xiaobao.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.origin, tt.hops), func(t *testing.T) {
			nb, err := g.Neighbourhood(tt.origin, tt.hops, 100)
			if tt.errCode != "" {
				if xiaobao.ErrorCode(err) != tt.errCode {
					t.Fatalf("error %v, want code %s", err, tt.errCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, r := range nb.Reached {
				got[r.Entity.String()] = r.Distance
				for _, p := range r.Paths {
					if len(p) != r.Distance || p[0].From != tt.origin || p[len(p)-1].To != r.Entity {
						t.Errorf("path to %s is not a shortest path from the origin: %s", r.Entity, p)
					}
				}
				if n, ok := tt.paths[r.Entity.String()]; ok && len(r.Paths) != n {
					t.Errorf("%s: %d paths, want %d", r.Entity, len(r.Paths), n)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reached %v\nwant    %v", got, tt.want)
			}
			if len(nb.Capped) != tt.capped {
				t.Errorf("capped %q, want %d", nb.Capped, tt.capped)
			}
		})
	}
}

func TestNeighbourhoodLimit(t *testing.T) {
	g := build(t, Options{}, ringLinks)
	nb, err := g.Neighbourhood(acct("M"), 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(nb.Reached) != 4 || !nb.Truncated {
		t.Errorf("reached %d (truncated %v), want 4 and truncated", len(nb.Reached), nb.Truncated)
	}
}

// Hub capping: a merchant with many payers must not tie them together.
func TestHubCapping(t *testing.T) {
	var links []link
	for i := range 50 {
		links = append(links, link{fmt.Sprintf("c%d", i), acct("MERCHANT"), LinkPayment, i, 100})
		links = append(links, link{fmt.Sprintf("c%d", i), ip("NAT"), LinkIP, i, 0})
	}
	links = append(links, link{"c0", acct("MULE"), LinkTransfer, 1, 100}, link{"c1", acct("MULE"), LinkTransfer, 1, 100})
	g := build(t, Options{HubDegree: 20}, links)
	nb, err := g.Neighbourhood(cust("c0"), 2, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(nb.Reached) != 4 || len(nb.Capped) != 2 {
		t.Errorf("reached %d entities with %d capped, want 4 (merchant, NAT, mule, c1) and 2 capped: %v",
			len(nb.Reached), len(nb.Capped), nb.Capped)
	}
	for _, c := range nb.Capped {
		if !strings.Contains(c, "hub degree 20") {
			t.Errorf("capping explanation %q does not say why", c)
		}
	}
	rings, err := g.Rings([]Seed{{Entity: cust("c0")}, {Entity: acct("MULE")}}, RingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rings) != 1 || len(rings[0].Members) != 3 {
		t.Fatalf("rings %+v, want one ring of c0, MULE and c1", rings)
	}
	sc, err := g.Score([]Ref{acct("MULE")}, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sc {
		if s.Entity.Kind == guard.KindCustomer && s.Entity.Value != "c0" && s.Entity.Value != "c1" {
			t.Errorf("score leaked through a hub to %s (%g)", s.Entity, s.Score)
		}
	}
}

func TestRings(t *testing.T) {
	g := build(t, Options{}, ringLinks)
	tests := []struct {
		name  string
		seeds []Seed
		want  map[string]MemberRole
		rings int
	}{
		{"victim and account", []Seed{{Entity: cust("v3")}, {Entity: acct("M")}}, map[string]MemberRole{
			"customer:v3": MemberVictim, "account:M": MemberCollection, "customer:v1": MemberVictim,
			"customer:v2": MemberVictim, "customer:f2": MemberAccomplice, "device:D": MemberDevice,
			"customer:f1": MemberAccomplice, "account:C1": MemberCollection, "account:R": MemberCollection,
		}, 1},
		// Alone, v3's payee M is paid by others around the time of the fraud.
		{"victim only", []Seed{{Entity: cust("v3"), At: t0.Add(3 * time.Hour)}}, map[string]MemberRole{
			"customer:v3": MemberVictim, "account:M": MemberCollection, "customer:v1": MemberVictim,
			"customer:v2": MemberVictim, "customer:f2": MemberAccomplice, "device:D": MemberDevice,
			"customer:f1": MemberAccomplice, "account:C1": MemberCollection, "account:R": MemberCollection,
		}, 1},
		{"farm device", []Seed{{Entity: dev("D")}}, map[string]MemberRole{
			"device:D": MemberDevice, "customer:f1": MemberAccomplice, "customer:f2": MemberAccomplice,
			"account:C1": MemberCollection, "account:M": MemberCollection, "customer:v1": MemberVictim,
			"customer:v2": MemberVictim, "customer:v3": MemberVictim, "account:R": MemberCollection,
		}, 1},
		// A victim's friend and merchant tie nothing: x2 stays apart.
		{"unrelated seeds", []Seed{{Entity: cust("v1"), At: t0}, {Entity: cust("x2"), At: t0}}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rings, err := g.Rings(tt.seeds, RingOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rings) != tt.rings {
				t.Fatalf("%d rings, want %d: %+v", len(rings), tt.rings, rings)
			}
			if tt.want == nil {
				return
			}
			got := map[string]MemberRole{}
			for _, m := range rings[0].Members {
				got[m.Entity.String()] = m.Role
				if !m.Seed && (len(m.Path) == 0 || m.Path[len(m.Path)-1].To != m.Entity || m.Why == "") {
					t.Errorf("%s: unexplained membership: %q %s", m.Entity, m.Why, m.Path)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("members %v\nwant    %v", got, tt.want)
			}
			if len(rings[0].Ties) == 0 || rings[0].Ties[0].Entity != acct("M") || rings[0].Ties[0].Customers != 4 {
				t.Errorf("ties %+v, want M first with 4 customers", rings[0].Ties)
			}
		})
	}
}

func TestProposalsNeedReview(t *testing.T) {
	g := build(t, Options{}, ringLinks)
	if err := g.Label(cust("v2"), RoleVictim, t0); err != nil {
		t.Fatal(err)
	}
	rings, err := g.Rings([]Seed{{Entity: cust("v3")}, {Entity: acct("M")}}, RingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	props := Proposals(rings, t0)
	got := map[string]ProposalType{}
	for _, p := range props {
		got[p.Entity.String()] = p.Type
		if !p.ReviewRequired || len(p.Evidence) == 0 {
			t.Errorf("%s: review %v, evidence %s", p.Entity, p.ReviewRequired, p.Evidence)
		}
		if (p.Type == ProposeBlock) != (p.Entry != nil) {
			t.Errorf("%s: block-list entry %+v for a %s", p.Entity, p.Entry, p.Type)
		}
	}
	want := map[string]ProposalType{"account:R": ProposeBlock, "account:C1": ProposeBlock, "device:D": ProposeBlock,
		"customer:v1": ProposeCase, "customer:f1": ProposeCase, "customer:f2": ProposeCase}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("proposals %v\nwant      %v", got, want)
	}
}

func TestMine(t *testing.T) {
	links := append([]link(nil), ringLinks...)
	for i := range 3 { // f1..f5 on one farm device
		links = append(links, link{fmt.Sprintf("f%d", i+3), dev("D"), LinkDevice, 1, 0})
	}
	g := build(t, Options{}, links)
	m, err := g.Mine(MineOptions{MinFanIn: 3})
	if err != nil {
		t.Fatal(err)
	}
	var cands []string
	for _, c := range m.Candidates {
		cands = append(cands, c.Entity.String())
	}
	if !reflect.DeepEqual(cands, []string{"account:M", "device:D"}) {
		t.Errorf("candidates %v, want M (3 payers) and D (5 customers)", cands)
	}
	if len(m.Rings) != 1 || m.Rings[0].Accomplice != 5 || m.Rings[0].Victims != 3 {
		t.Errorf("rings %+v, want one with 5 accomplices and 3 victims", m.Rings)
	}
}

// Results must not depend on when the graph was compacted nor on map order.
func TestDeterminism(t *testing.T) {
	var links []link
	for i := range 3000 {
		links = append(links, link{fmt.Sprintf("c%d", i%700), acct(fmt.Sprintf("a%d", (i*7)%900)), LinkTransfer, i % 100, 100})
		links = append(links, link{fmt.Sprintf("c%d", i%700), dev(fmt.Sprintf("d%d", (i*13)%500)), LinkDevice, i % 100, 0})
	}
	run := func(compact bool) string {
		g := build(t, Options{HubDegree: 40}, links)
		if compact {
			g.Compact()
		}
		sc, err := g.Score([]Ref{cust("c1"), acct("a3")}, ScoreOptions{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		rings, err := g.Rings([]Seed{{Entity: dev("d7"), Role: RoleFraud}}, RingOptions{MaxMembers: 200})
		if err != nil {
			t.Fatal(err)
		}
		nb, err := g.Neighbourhood(cust("c5"), 2, 100)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%v|%v|%v", sc, rings, nb)
	}
	a, b, c := run(false), run(true), run(false)
	if a != b || a != c {
		t.Error("results differ between runs or with compaction")
	}
}

func TestAddEventAndOutcome(t *testing.T) {
	g := New(Options{})
	ev := &guard.Event{ID: "e1", Type: guard.Transfer, OccurredAt: t0,
		Customer:     guard.Customer{ID: "c1", Phone: "13800000000", IDNumber: "11010119900307651x"},
		Device:       guard.Device{ID: "d1", IP: "10.0.0.1"},
		Amount:       48000,
		Counterparty: guard.Counterparty{Account: "6222 0200 1234"}}
	if err := g.AddEvent(ev); err != nil {
		t.Fatal(err)
	}
	if err := g.AddOutcome(&guard.Outcome{ID: "o1", Kind: guard.OutcomeConfirmedFraud, CustomerID: "c1",
		Account: "622202001234", RecordedAt: t0}); err != nil {
		t.Fatal(err)
	}
	nb, err := g.Neighbourhood(cust("c1"), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range nb.Reached {
		got[string(r.Entity.Kind)] = r.Entity.Value + "/" + r.Label
	}
	want := map[string]string{"device": "d1/", "ip": "10.0.0.1/", "phone": "13800000000/",
		"id_hash": guard.HashIDNumber("11010119900307651X") + "/", "account": "622202001234/mule"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reached %v\nwant    %v", got, want)
	}
	if err := g.Label(Ref{"planet", "x"}, RoleFraud, t0); err == nil {
		t.Error("labelled an unknown kind")
	}
}

// TestMineManyCandidates checks that batch mining over a history with more
// candidates than one search's member budget still expands every farm:
// each candidate gets its own search (a single search over all of them
// used to stop at its seeds).
func TestMineManyCandidates(t *testing.T) {
	g, _, _ := synthetic(20_000)
	m, err := g.Mine(MineOptions{Ring: RingOptions{MaxMembers: 300}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Candidates) <= 300 {
		t.Fatalf("only %d candidates; the test needs more than the member budget", len(m.Candidates))
	}
	farms := 0
	for _, r := range m.Rings {
		if len(r.Seeds) != 1 || r.Seeds[0].Kind != guard.KindDevice || !strings.HasPrefix(r.Seeds[0].Value, "farm") {
			continue
		}
		farms++
		if r.Accomplice < 2 {
			t.Errorf("farm ring %s has %d accomplices, want the customers sharing the device", r.Seeds[0].Value, r.Accomplice)
		}
	}
	if farms < 50 {
		t.Errorf("%d farm rings, want one per farm device (about 100)", farms)
	}
}
