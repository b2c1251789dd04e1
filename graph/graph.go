// Package graph mines fraud rings after the fact: from one confirmed case it
// finds the entities behind it — collection (mule) accounts, the other
// victims who paid them, farm accounts sharing devices or IPs — and proposes
// them for review, each with the path of evidence that ties it to the case.
//
// The graph links customers to the devices, IPs, phones, hashed ID numbers
// and counterparty accounts they use. It is built incrementally from Guard
// events and confirmed outcomes, held in memory in compact arrays (integer
// node ids, interned names, adjacency in CSR form plus a short append-only
// tail), and queried without I/O; time is always passed in.
package graph

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Ref names an entity outside the graph: its kind and its value (for an ID
// number, the hash guard.HashIDNumber gives, the value block lists hold).
type Ref struct {
	Kind  guard.EntityKind `json:"kind"`
	Value string           `json:"value"`
}

func (r Ref) String() string { return string(r.Kind) + ":" + r.Value }

// The node kinds, in the order of their internal codes.
var kinds = []guard.EntityKind{"", guard.KindCustomer, guard.KindDevice, guard.KindIP, guard.KindPhone,
	guard.KindAccount, guard.KindIDHash}

const (
	kCustomer uint8 = iota + 1
	kDevice
	kIP
	kPhone
	kAccount
	kIDHash
)

func kindCode(k guard.EntityKind) uint8 {
	for i, v := range kinds {
		if i > 0 && v == k {
			return uint8(i)
		}
	}
	return 0
}

// Link is how a customer used an entity; one edge may carry several.
type Link uint16

const (
	LinkDevice     Link = 1 << iota // the customer acted from the device
	LinkIP                          // … from the IP
	LinkPhone                       // the customer's phone number
	LinkIDNumber                    // the customer's resident ID number
	LinkTransfer                    // the customer transferred money to the account
	LinkPayment                     // … paid the account (a merchant)
	LinkWithdrawal                  // … withdrew to the account (usually their own card)
	LinkPayee                       // … added the account as a payee
	LinkCard                        // … bound the account (a card) to their profile
	LinkPayout                      // a loan was paid out to the account
)

var linkNames = []string{"device", "ip", "phone", "id_number", "transfer", "payment", "withdrawal",
	"payee_add", "card_bind", "loan_payout"}

// Names lists the links set in l.
func (l Link) Names() []string {
	var out []string
	for i, n := range linkNames {
		if l&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func (l Link) String() string { return strings.Join(l.Names(), "+") }

// Money edges carry amounts; "paid in" links make an account a collection
// point, "holder" links make it the customer's own.
const (
	moneyLinks  = LinkTransfer | LinkPayment | LinkWithdrawal
	paidIn      = LinkTransfer | LinkPayee
	holderLinks = LinkCard | LinkPayout | LinkWithdrawal
	sharedLinks = LinkDevice | LinkPhone | LinkIDNumber
)

// Role is a confirmed label on an entity.
type Role uint8

const (
	RoleNone   Role = iota
	RoleVictim      // a customer who lost money to a scheme
	RoleFraud       // a fraudster, a farm account, a device or IP the scheme used
	RoleMule        // an account that collected or moved the scheme's money
)

var roleNames = []string{"", "victim", "fraud", "mule"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", r)
}

// ParseRole reads a role's name ("" is RoleNone).
func ParseRole(s string) (Role, bool) {
	i := slices.Index(roleNames, s)
	return Role(max(i, 0)), i >= 0
}

// MarshalText writes the role's name, so that JSON carries "victim", not 1.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role's name.
func (r *Role) UnmarshalText(b []byte) error {
	v, ok := ParseRole(string(b))
	if !ok {
		return fmt.Errorf("unknown role %q (want victim, fraud or mule)", b)
	}
	*r = v
	return nil
}

// Options tune the graph. Zero values take the defaults noted.
type Options struct {
	// HubDegree is the number of distinct neighbours above which a node is
	// a hub (a merchant terminal, a shared NAT IP, a device model sent as
	// a device id): queries reach it but never expand through it, because
	// everything is two hops from everything through a hub. Default 200.
	HubDegree int
}

// DefaultHubDegree is Options.HubDegree's default.
const DefaultHubDegree = 200

// NodeID is a node's index in the graph.
type NodeID uint32

// edge is one customer–entity pair with everything observed between them.
// 32 bytes: the graph's memory is mostly edges.
type edge struct {
	a, b        NodeID // a is the customer
	first, last uint32 // unix seconds
	n           uint32 // events, saturating
	links       Link
	amount      int64 // fen, money links only
}

type label struct {
	role Role
	at   uint32
}

// Graph is the entity graph. It is safe for concurrent use: queries share
// a read lock, additions take the write lock.
type Graph struct {
	mu  sync.RWMutex
	hub int

	// Interned names: node i's value is arena[off[i]:off[i+1]].
	arena []byte
	noff  []uint32
	kind  []uint8
	deg   []uint32 // distinct neighbours
	slots []uint32 // open addressing, node id+1, 0 empty
	seed  maphash.Seed

	edges []edge
	// CSR over edges[:compacted]: node u's edges are adj[off[u]:off[u+1]],
	// in ascending edge id. Later edges hang off dhead in linked lists
	// (dnext holds the next pointer for each end) until the next
	// compaction, so additions never move the CSR arrays.
	compacted uint32
	off       []uint32
	adj       []uint32
	dhead     []uint32
	dnext     []uint32

	labels map[NodeID]label
}

// New returns an empty graph.
func New(opts Options) *Graph {
	if opts.HubDegree <= 0 {
		opts.HubDegree = DefaultHubDegree
	}
	return &Graph{
		hub:    opts.HubDegree,
		noff:   []uint32{0, 0},
		kind:   []uint8{0}, // node 0 is unused so that 0 can mean "none"
		deg:    []uint32{0},
		dhead:  []uint32{0},
		slots:  make([]uint32, 1024),
		seed:   maphash.MakeSeed(),
		off:    []uint32{0, 0},
		labels: map[NodeID]label{},
	}
}

// Nodes returns the number of nodes.
func (g *Graph) Nodes() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.kind) - 1
}

// Edges returns the number of edges.
func (g *Graph) Edges() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.edges)
}

// MemoryBytes estimates the memory the graph holds, from its arrays'
// capacities (the label map and the Go allocator's slack excluded).
func (g *Graph) MemoryBytes() int64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := int64(cap(g.arena)) + 4*int64(cap(g.noff)) + int64(cap(g.kind)) + 4*int64(cap(g.deg)) +
		4*int64(cap(g.slots)) + 32*int64(cap(g.edges)) + 4*int64(cap(g.off)) + 4*int64(cap(g.adj)) +
		4*int64(cap(g.dhead)) + 4*int64(cap(g.dnext))
	return n
}

func (g *Graph) hash(k uint8, v string) uint64 {
	var h maphash.Hash
	h.SetSeed(g.seed)
	h.WriteByte(k)
	h.WriteString(v)
	return h.Sum64()
}

func (g *Graph) name(u NodeID) string { return string(g.arena[g.noff[u]:g.noff[u+1]]) }

func (g *Graph) nameEq(u NodeID, v string) bool {
	return string(g.arena[g.noff[u]:g.noff[u+1]]) == v // no allocation: compared in place
}

func (g *Graph) ref(u NodeID) Ref { return Ref{Kind: kinds[g.kind[u]], Value: g.name(u)} }

// lookup returns the node of (k, v), or 0.
func (g *Graph) lookup(k uint8, v string) NodeID {
	mask := uint64(len(g.slots) - 1)
	for i := g.hash(k, v) & mask; ; i = (i + 1) & mask {
		s := g.slots[i]
		if s == 0 {
			return 0
		}
		if u := NodeID(s - 1); g.kind[u] == k && g.nameEq(u, v) {
			return u
		}
	}
}

// intern returns the node of (k, v), adding it if new.
func (g *Graph) intern(k uint8, v string) (NodeID, error) {
	mask := uint64(len(g.slots) - 1)
	i := g.hash(k, v) & mask
	for ; ; i = (i + 1) & mask {
		s := g.slots[i]
		if s == 0 {
			break
		}
		if u := NodeID(s - 1); g.kind[u] == k && g.nameEq(u, v) {
			return u, nil
		}
	}
	if uint64(len(g.arena))+uint64(len(v)) > 1<<32-1 || len(g.kind) >= 1<<32-2 {
		return 0, fmt.Errorf("graph: intern %s %q: graph full (%d nodes, %d name bytes)",
			kinds[k], v, len(g.kind), len(g.arena))
	}
	u := NodeID(len(g.kind))
	g.arena = append(g.arena, v...)
	g.noff = append(g.noff, uint32(len(g.arena)))
	g.kind = append(g.kind, k)
	g.deg = append(g.deg, 0)
	g.dhead = append(g.dhead, 0)
	g.slots[i] = uint32(u) + 1
	if 2*len(g.kind) > len(g.slots) { // keep the load under one half
		g.rehash()
	}
	return u, nil
}

func (g *Graph) rehash() {
	slots := make([]uint32, 2*len(g.slots))
	mask := uint64(len(slots) - 1)
	for u := 1; u < len(g.kind); u++ {
		i := g.hash(g.kind[u], g.name(NodeID(u))) & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint32(u) + 1
	}
	g.slots = slots
}

// edgesOf appends node u's edge ids to buf in ascending order.
func (g *Graph) edgesOf(u NodeID, buf []uint32) []uint32 {
	buf = buf[:0]
	if int(u)+1 < len(g.off) {
		buf = append(buf, g.adj[g.off[u]:g.off[u+1]]...)
	}
	start := len(buf)
	for p := g.dhead[u]; p != 0; {
		e := p - 1
		buf = append(buf, e)
		j := 2 * (e - g.compacted)
		if g.edges[e].a == u {
			p = g.dnext[j]
		} else {
			p = g.dnext[j+1]
		}
	}
	// The tail lists are newest first; ascending order everywhere keeps
	// results independent of when the graph was last compacted.
	for i, j := start, len(buf)-1; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	return buf
}

func (e *edge) other(u NodeID) NodeID {
	if e.a == u {
		return e.b
	}
	return e.a
}

// findEdge returns the edge between a and b, scanning the end with fewer
// neighbours (a hub's partner is almost never a hub), or -1.
func (g *Graph) findEdge(a, b NodeID, buf []uint32) (int, []uint32) {
	u, v := a, b
	if g.deg[v] < g.deg[u] {
		u, v = v, u
	}
	buf = g.edgesOf(u, buf)
	for _, e := range buf {
		if g.edges[e].other(u) == v {
			return int(e), buf
		}
	}
	return -1, buf
}

// AddLink records one observation of customer using entity at time at.
// amount counts only for money links.
func (g *Graph) AddLink(customer string, entity Ref, l Link, at time.Time, amount xiaobao.Money) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addLink(customer, entity, l, at, amount)
}

func (g *Graph) addLink(customer string, entity Ref, l Link, at time.Time, amount xiaobao.Money) error {
	if customer == "" || entity.Value == "" {
		return nil // an absent field links nothing
	}
	k := kindCode(entity.Kind)
	if k == 0 || k == kCustomer {
		return fmt.Errorf("graph: link %s to %s: not an entity a customer uses", customer, entity)
	}
	v := entity.Value
	if k == kAccount {
		v = NormalizeAccount(v)
	}
	a, err := g.intern(kCustomer, customer)
	if err != nil {
		return err
	}
	b, err := g.intern(k, v)
	if err != nil {
		return err
	}
	t := unix32(at)
	var buf [64]uint32
	i, _ := g.findEdge(a, b, buf[:0])
	if i >= 0 {
		e := &g.edges[i]
		e.links |= l
		if e.n < 1<<32-1 {
			e.n++
		}
		e.first, e.last = min(e.first, t), max(e.last, t)
		if l&moneyLinks != 0 {
			e.amount += int64(amount)
		}
		return nil
	}
	if len(g.edges) >= 1<<32-2 {
		return fmt.Errorf("graph: link %s to %s: graph full (%d edges)", customer, entity, len(g.edges))
	}
	e := edge{a: a, b: b, first: t, last: t, n: 1, links: l}
	if l&moneyLinks != 0 {
		e.amount = int64(amount)
	}
	id := uint32(len(g.edges))
	g.edges = append(g.edges, e)
	g.dnext = append(g.dnext, g.dhead[a], g.dhead[b])
	g.dhead[a], g.dhead[b] = id+1, id+1
	g.deg[a]++
	g.deg[b]++
	if d := uint32(len(g.edges)) - g.compacted; d > 4096 && d > g.compacted/2 {
		g.compact()
	}
	return nil
}

func unix32(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

func fromUnix32(s uint32) time.Time { return time.Unix(int64(s), 0).UTC() }

// compact rebuilds the CSR arrays over every edge. Triggered when the tail
// reaches half the CSR's size, so the total work stays linear in edges.
func (g *Graph) compact() {
	n := len(g.kind)
	off := make([]uint32, n+1)
	for _, e := range g.edges {
		off[e.a+1]++
		off[e.b+1]++
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	adj := make([]uint32, 2*len(g.edges))
	pos := make([]uint32, n)
	copy(pos, off[:n])
	for i, e := range g.edges {
		adj[pos[e.a]] = uint32(i)
		pos[e.a]++
		adj[pos[e.b]] = uint32(i)
		pos[e.b]++
	}
	g.off, g.adj = off, adj
	g.compacted = uint32(len(g.edges))
	clear(g.dhead)
	g.dnext = g.dnext[:0]
}

// Compact moves every edge into the CSR arrays and releases spare
// capacity: call it after a bulk load, before serving queries.
func (g *Graph) Compact() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.compact()
	g.edges = clip(g.edges)
	g.arena = clip(g.arena)
	g.noff = clip(g.noff)
	g.kind = clip(g.kind)
	g.deg = clip(g.deg)
	g.dhead = clip(g.dhead)
	g.dnext = nil
}

func clip[T any](s []T) []T {
	if cap(s)-len(s) < len(s)/16 {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

// AddEvent adds what an event shows about its customer: the device and IP
// acted from, the phone and ID number, and the counterparty account with
// how it was used.
func (g *Graph) AddEvent(e *guard.Event) error {
	if e == nil || e.Customer.ID == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, at := e.Customer.ID, e.OccurredAt
	add := func(k guard.EntityKind, v string, l Link, amt xiaobao.Money) error {
		if err := g.addLink(c, Ref{Kind: k, Value: v}, l, at, amt); err != nil {
			return fmt.Errorf("graph: add event %s: %w", e.ID, err)
		}
		return nil
	}
	if err := add(guard.KindDevice, e.Device.ID, LinkDevice, 0); err != nil {
		return err
	}
	if err := add(guard.KindIP, e.Device.IP, LinkIP, 0); err != nil {
		return err
	}
	if err := add(guard.KindPhone, e.Customer.Phone, LinkPhone, 0); err != nil {
		return err
	}
	if e.Customer.IDNumber != "" {
		if err := add(guard.KindIDHash, guard.HashIDNumber(e.Customer.IDNumber), LinkIDNumber, 0); err != nil {
			return err
		}
	}
	if acct := NormalizeAccount(e.Counterparty.Account); acct != "" {
		var l Link
		switch e.Type {
		case guard.Transfer:
			l = LinkTransfer
		case guard.Payment:
			l = LinkPayment
		case guard.Withdrawal:
			l = LinkWithdrawal
		case guard.PayeeAdd:
			l = LinkPayee
		case guard.CardBind:
			l = LinkCard
		case guard.LoanPayout:
			l = LinkPayout
		default:
			return nil
		}
		return add(guard.KindAccount, acct, l, e.Amount)
	}
	return nil
}

// NormalizeAccount drops the spaces and hyphens business systems put in
// account numbers, so one account is one node.
func NormalizeAccount(s string) string {
	if !strings.ContainsAny(s, " -") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

// Label records a confirmed role of an entity at time at. The entity is
// added if the graph has not seen it. A later label replaces an earlier one.
func (g *Graph) Label(r Ref, role Role, at time.Time) error {
	k := kindCode(r.Kind)
	if k == 0 || r.Value == "" {
		return fmt.Errorf("graph: label %s as %s: unknown entity kind or empty value", r, role)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	u, err := g.intern(k, r.Value)
	if err != nil {
		return fmt.Errorf("graph: label %s: %w", r, err)
	}
	g.labels[u] = label{role: role, at: unix32(at)}
	return nil
}

// AddOutcome labels what a confirmed fraud outcome names: the customer as
// a victim and the account they paid as a mule. Other outcomes say nothing
// about rings and are ignored.
func (g *Graph) AddOutcome(o *guard.Outcome) error {
	if o == nil || o.Kind != guard.OutcomeConfirmedFraud {
		return nil
	}
	if o.CustomerID != "" {
		if err := g.Label(Ref{guard.KindCustomer, o.CustomerID}, RoleVictim, o.RecordedAt); err != nil {
			return fmt.Errorf("graph: outcome %s: %w", o.ID, err)
		}
	}
	if a := NormalizeAccount(o.Account); a != "" {
		if err := g.Label(Ref{guard.KindAccount, a}, RoleMule, o.RecordedAt); err != nil {
			return fmt.Errorf("graph: outcome %s: %w", o.ID, err)
		}
	}
	return nil
}

// node resolves a reference (read lock held).
func (g *Graph) node(r Ref) (NodeID, error) {
	k := kindCode(r.Kind)
	if k == 0 {
		return 0, xiaobao.Errorf(xiaobao.EINVALID, "graph: unknown entity kind %q", r.Kind)
	}
	v := r.Value
	if k == kAccount {
		v = NormalizeAccount(v)
	}
	u := g.lookup(k, v)
	if u == 0 {
		return 0, xiaobao.Errorf(xiaobao.ENOTFOUND, "graph: %s not in the graph", r.Kind)
	}
	return u, nil
}

func (g *Graph) isHub(u NodeID) bool { return int(g.deg[u]) > g.hub }

// Step is one edge of an evidence path, read from From to To.
type Step struct {
	From   Ref           `json:"from"`
	To     Ref           `json:"to"`
	Links  []string      `json:"links"`
	Count  int           `json:"count"`
	First  time.Time     `json:"first"`
	Last   time.Time     `json:"last"`
	Amount xiaobao.Money `json:"amount,omitempty"`
}

// Path is a chain of edges from an origin (a queried entity or a seed).
type Path []Step

func (p Path) String() string {
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(p[0].From.String())
	for _, s := range p {
		fmt.Fprintf(&b, " -[%s ×%d]- %s", strings.Join(s.Links, "+"), s.Count, s.To)
	}
	return b.String()
}

func (g *Graph) step(from NodeID, e uint32) Step {
	ed := &g.edges[e]
	s := Step{From: g.ref(from), To: g.ref(ed.other(from)), Links: ed.links.Names(), Count: int(ed.n),
		First: fromUnix32(ed.first), Last: fromUnix32(ed.last)}
	if ed.links&moneyLinks != 0 {
		s.Amount = xiaobao.Money(ed.amount)
	}
	return s
}
