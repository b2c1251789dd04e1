// Package sim is an agent-based, deterministic simulator of the customers of
// a Chinese consumer-finance or payment app, and of the scams, black-industry
// schemes and gambling that prey on them, for testing and evaluating Guard.
//
// Every customer is an agent with daily habits (logins, merchant payments,
// rent, salary-day transfers to family, loans and repayments, withdrawals to
// their own card). Campaigns are agents too: a scam runs its script over
// minutes to weeks against one or more victims, some of whom stop partway
// and some of whom retry after a warning. Legitimate look-alikes (a first
// tuition payment, a new phone, a house deposit) are generated beside them,
// because a detector is only as good as its false alarms on these.
//
// Events stream in non-decreasing event time from a heap of per-agent
// next-action times; each agent makes its next event only when it is due,
// so memory depends on the population and the campaigns running, never on
// the number of events. The same Config gives byte-identical output.
//
// Each event is one JSON document of the Guard contract
// (occurred_at in +08:00), and each comes with a Label: the ground truth.
package sim

import (
	"slices"
	"time"
)

// Config says what to simulate. Zero values take the defaults noted.
type Config struct {
	Seed      uint64
	Customers int       // the base population; default 10,000
	Start     time.Time // default 2026-03-01 00:00 +08:00
	Days      int       // default 30
	// ScamRate scales the campaign rates (DefaultRates): 0 means 1, a
	// negative value turns campaigns off.
	ScamRate float64
	// LookalikeRate scales the look-alike rates the same way.
	LookalikeRate float64
	// Rates overrides the default start rate of a typology or look-alike
	// kind, in starts per 100,000 customers per day (before ScamRate or
	// LookalikeRate); 0 turns it off.
	Rates map[string]float64
	// QuietDays delays campaigns and look-alikes by that many days, so
	// Guard's features see some normal history first.
	QuietDays int
}

// Item is one simulated event and its ground truth.
type Item struct {
	// Event is one Guard contract event as JSON. It is never reused or
	// modified by the simulator, so it may be kept.
	Event []byte
	Label Label
}

// Label is the ground truth of one event.
type Label struct {
	EventID string `json:"event_id"`
	// ScamID names the campaign (scam, scheme or gambling ring) the event
	// belongs to; empty for legitimate events, look-alikes included.
	ScamID string `json:"scam_id"`
	// Typology is one of Typologies() for campaign events, empty otherwise.
	Typology string `json:"typology"`
	// Role is victim, fraudster, mule, farm, gambler, lookalike or normal.
	Role string `json:"role"`
	// AtRisk is the money (a decimal string, yuan) this event would lose to
	// the scheme if it went through: the amount of a victim's transfer, of
	// a fraudster's withdrawal, of a farm account's loan. "0.00" for
	// events that move no money to the scheme. Not additive across a
	// chain: a retry after a warning, or a loan and its payout and the
	// withdrawal of it, each carry the same money.
	AtRisk string `json:"at_risk"`
	// Stage is the step of the script (contact, payee_add, test, transfer,
	// escalate, retry, loan, takeover, cashout, collect, register, apply,
	// profile, dispute, fee, bet, groom), the look-alike kind for
	// look-alikes (tuition, new_friend, new_phone, family_night,
	// house_deposit, late_night_merchant), or the habit for normal events
	// (login, shop, friend, family, rent, repay, loan, payout, withdraw,
	// card, profile, phone).
	Stage string `json:"stage"`
}

// Roles.
const (
	RoleVictim    = "victim"
	RoleFraudster = "fraudster"
	RoleMule      = "mule"
	RoleFarm      = "farm"
	RoleGambler   = "gambler"
	RoleLookalike = "lookalike"
	RoleNormal    = "normal"
)

// party kinds.
const (
	pNone = iota
	pCard
	pMerchant
	pNightMerchant
	pOrg
)

// party is a counterparty: the account and the name are derived from keys.
type party struct {
	kind uint8
	org  uint8  // for pOrg: orgUniversity or orgAgency
	acct uint64 // account key
	name uint64 // name key (a person) or org index
}

// spec is one event to write. Amount < 0 means none.
type spec struct {
	typ  string
	c    *customer
	dev  uint64
	ip   uint32
	amt  int64
	cp   party
	memo string

	scam     string
	typology string
	role     string
	stage    string
	risk     int64
}

// agent is anything that acts: a customer, a campaign, a spawner. step is
// called at the agent's due time now; it may fill s.cur and report emit,
// and returns the agent's next due time (never before now) or alive=false.
type agent interface {
	step(s *Sim, now int64) (emit bool, next int64, alive bool)
}

// The heap holds one packed key per agent: the agent's due time (seconds
// after Sim.base) in the high 32 bits and its slot in the low 32 bits, so
// agents due at the same second act in slot order and a comparison is one
// integer compare. Eight bytes an entry keep the heap in cache.
type entry uint64

func (e entry) slot() uint32 { return uint32(e) }

// Sim is a running simulation. It is not safe for concurrent use.
type Sim struct {
	cfg   Config
	seed  uint64
	r     rng
	start int64
	end   int64

	pop    []customer
	extra  uint32 // customers created by campaigns (farms, mules), numbered after pop
	heap   []entry
	agents []agent  // by slot
	free   []uint32 // free slots, reused last-in first-out
	base   int64    // time origin of heap keys

	n   uint64 // events emitted
	cur spec
	tf  timeFmt
	rf  timeFmt
	buf []byte

	pool      fraudPool
	campaigns map[string]int
	lookalike map[string]int
}

// New builds the population and schedules everything. It does not emit.
func New(cfg Config) *Sim {
	if cfg.Customers <= 0 {
		cfg.Customers = 10000
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CST", offset))
	}
	if cfg.Days <= 0 {
		cfg.Days = 30
	}
	if cfg.ScamRate == 0 {
		cfg.ScamRate = 1
	}
	if cfg.LookalikeRate == 0 {
		cfg.LookalikeRate = 1
	}
	s := &Sim{
		cfg:       cfg,
		seed:      cfg.Seed,
		r:         rng{s: mix(cfg.Seed ^ 0x5851f42d4c957f2d)},
		start:     cfg.Start.Unix(),
		campaigns: map[string]int{},
		lookalike: map[string]int{},
	}
	s.end = s.start + int64(cfg.Days)*day
	s.base = s.start - day
	s.populate()
	s.schedule()
	return s
}

// Config returns the configuration with defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Emitted returns the number of events emitted so far.
func (s *Sim) Emitted() int { return int(s.n) }

// Campaigns returns how many campaigns of each typology have started so far
// (a campaign started near the end may have emitted nothing yet).
func (s *Sim) Campaigns() map[string]int {
	m := make(map[string]int, len(s.campaigns))
	for k, v := range s.campaigns {
		m[k] = v
	}
	return m
}

// Lookalikes returns how many look-alike episodes of each kind have started.
func (s *Sim) Lookalikes() map[string]int {
	m := make(map[string]int, len(s.lookalike))
	for k, v := range s.lookalike {
		m[k] = v
	}
	return m
}

func (s *Sim) key(t int64, slot uint32) entry {
	d := t - s.base
	if t >= s.end {
		d = s.end - s.base // all that is due after the end is the same
	}
	return entry(uint64(d)<<32 | uint64(slot))
}

func (s *Sim) push(t int64, a agent) {
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.agents[slot] = a
	} else {
		slot = uint32(len(s.agents))
		s.agents = append(s.agents, a)
	}
	s.heap = append(s.heap, s.key(t, slot))
	s.up(len(s.heap) - 1)
}

func (s *Sim) up(i int) {
	h := s.heap
	x := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p] <= x {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = x
}

func (s *Sim) down(i int) {
	h := s.heap
	n := len(h)
	x := h[i]
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r] < h[l] {
			m = r
		}
		if x <= h[m] {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
}

// Next returns the next event, in non-decreasing event time, or false when
// the simulated period is over.
func (s *Sim) Next() (Item, bool) {
	for len(s.heap) > 0 {
		top := s.heap[0]
		t := s.base + int64(top>>32)
		if t >= s.end {
			return Item{}, false
		}
		slot := top.slot()
		s.cur = spec{amt: -1}
		emit, next, alive := s.agents[slot].step(s, t)
		// step may have pushed new agents, all due at or after t and in
		// new or freed slots; ties with the top may then sort either way
		// but deterministically, so find the top again by its slot.
		i := 0
		if s.heap[0] != top {
			i = slices.Index(s.heap, top)
		}
		if alive {
			s.heap[i] = s.key(max(next, t), slot)
			s.down(i)
		} else {
			s.agents[slot] = nil
			s.free = append(s.free, slot)
			last := len(s.heap) - 1
			s.heap[i] = s.heap[last]
			s.heap = s.heap[:last]
			if i < last {
				s.down(i)
				s.up(i)
			}
		}
		if emit {
			return s.emit(t), true
		}
	}
	return Item{}, false
}

const slabSize = 256 << 10

// emit writes s.cur at time t as a contract event.
func (s *Sim) emit(t int64) Item {
	if cap(s.buf)-len(s.buf) < 4096 {
		s.buf = make([]byte, 0, slabSize)
	}
	sp := &s.cur
	b := s.buf
	start := len(b)
	b = append(b, `{"event_id":"`...)
	idStart := len(b)
	b = append(b, "sim-"...)
	b = appendUint(b, s.seed)
	b = append(b, '-')
	b = appendUint(b, s.n)
	idEnd := len(b)
	s.n++
	b = append(b, `","type":"`...)
	b = append(b, sp.typ...)
	b = append(b, `","occurred_at":"`...)
	b = s.tf.append(b, t)
	c := sp.c
	b = append(b, `","customer":{"id":"C`...)
	b = appendPadded(b, uint64(c.idx), 8)
	b = append(b, `","age":`...)
	b = appendUint(b, uint64(c.age))
	b = append(b, `,"registered_at":"`...)
	b = s.rf.append(b, c.reg)
	b = append(b, `"}`...)
	if sp.dev != 0 || sp.ip != 0 {
		b = append(b, `,"device":{`...)
		if sp.dev != 0 {
			b = append(b, `"id":"`...)
			b = appendHex(b, sp.dev, 16)
			b = append(b, '"')
			if sp.ip != 0 {
				b = append(b, ',')
			}
		}
		if sp.ip != 0 {
			b = append(b, `"ip":"`...)
			b = appendIP(b, sp.ip)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	if sp.amt >= 0 {
		b = append(b, `,"amount":"`...)
		b = appendMoney(b, sp.amt)
		b = append(b, `","currency":"CNY"`...)
	}
	if sp.cp.kind != pNone {
		b = append(b, `,"counterparty":{"account":"`...)
		switch sp.cp.kind {
		case pCard:
			b = appendCard(b, sp.cp.acct)
			b = append(b, `","name":"`...)
			b = appendPersonName(b, sp.cp.name)
		case pMerchant:
			b = appendTerminal(b, sp.cp.acct)
			b = append(b, `","name":"`...)
			b = appendMerchantName(b, sp.cp.acct, merchantKinds)
		case pNightMerchant:
			b = appendTerminal(b, sp.cp.acct)
			b = append(b, `","name":"`...)
			b = appendMerchantName(b, sp.cp.acct, nightMerchantKinds)
		case pOrg:
			b = appendOrgAccount(b, sp.cp.acct)
			b = append(b, `","name":"`...)
			b = appendOrgName(b, int(sp.cp.org), sp.cp.name)
		}
		b = append(b, `"}`...)
	}
	if sp.memo != "" {
		b = append(b, `,"memo":"`...)
		b = appendJSONString(b, sp.memo)
		b = append(b, '"')
	}
	b = append(b, '}')
	s.buf = b
	it := Item{Event: b[start:len(b):len(b)]}
	it.Label = Label{
		EventID:  string(b[idStart:idEnd]),
		ScamID:   sp.scam,
		Typology: sp.typology,
		Role:     sp.role,
		AtRisk:   "0.00",
		Stage:    sp.stage,
	}
	if sp.risk > 0 {
		it.Label.AtRisk = moneyString(sp.risk)
	}
	if it.Label.Role == "" {
		it.Label.Role = RoleNormal
	}
	return it
}
