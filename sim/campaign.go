package sim

import (
	"slices"
	"strconv"
)

// Side effects a step has on the population when it happens.
const (
	fxNone      = iota
	fxNewDevice // the customer's primary device becomes step.arg
)

type step struct {
	t   int64
	fx  uint8
	arg uint64
	sp  spec
}

// campaign is a scripted sequence of events over one or more customers (a
// scam, a scheme, a gambling ring or a look-alike episode). Its script is
// drawn when it starts; it holds its customers busy until it ends.
type campaign struct {
	steps []step
	pos   int
	hold  []*customer
}

func (cp *campaign) step(s *Sim, now int64) (bool, int64, bool) {
	st := &cp.steps[cp.pos]
	s.cur = st.sp
	if st.fx == fxNewDevice {
		st.sp.c.dev[0] = st.arg
	}
	cp.pos++
	if cp.pos == len(cp.steps) {
		for _, c := range cp.hold {
			c.busy = false
		}
		cp.steps = nil
		return true, 0, false
	}
	return true, cp.steps[cp.pos].t, true
}

// plan builds a campaign's script.
type plan struct {
	s        *Sim
	cp       *campaign
	scam     string
	typology string
	role     string
	stage    string // default stage (look-alikes: the kind)
}

// add appends an event of c at t with c's usual device, and returns it for
// the caller to fill in (before the next add).
func (p *plan) add(t int64, c *customer, typ, stage string) *spec {
	dev, ip := c.device(&p.s.r)
	if stage == "" {
		stage = p.stage
	}
	p.cp.steps = append(p.cp.steps, step{t: t, sp: spec{typ: typ, c: c, dev: dev, ip: ip, amt: -1,
		scam: p.scam, typology: p.typology, role: p.role, stage: stage}})
	return &p.cp.steps[len(p.cp.steps)-1].sp
}

// money adds an outflow or money event with its amount, counterparty, memo
// and the money at risk (0 for none).
func (p *plan) money(t int64, c *customer, typ, stage string, amt int64, cp party, memo string, risk int64) *spec {
	sp := p.add(t, c, typ, stage)
	sp.amt, sp.cp, sp.memo, sp.risk = amt, cp, memo, risk
	return sp
}

// hold marks c busy for the campaign.
func (p *plan) hold(c *customer) {
	c.busy = true
	p.cp.hold = append(p.cp.hold, c)
}

// start sorts the script, drops what falls after the end of the run and
// schedules the campaign; it reports whether anything was scheduled.
func (p *plan) start(now int64) bool {
	s, cp := p.s, p.cp
	for i := range cp.steps {
		cp.steps[i].t = max(cp.steps[i].t, now)
	}
	slices.SortStableFunc(cp.steps, func(a, b step) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	n := len(cp.steps)
	for n > 0 && cp.steps[n-1].t >= s.end {
		n--
	}
	cp.steps = cp.steps[:n]
	if n == 0 {
		for _, c := range cp.hold {
			c.busy = false
		}
		return false
	}
	cp.steps = slices.Clip(cp.steps)
	s.push(cp.steps[0].t, cp)
	return true
}

// pickCustomer finds a random free customer of the base population for
// which ok holds, or nil.
func (s *Sim) pickCustomer(ok func(c *customer) bool) *customer {
	for range 400 {
		c := &s.pop[s.r.intn(len(s.pop))]
		if !c.busy && (ok == nil || ok(c)) {
			return c
		}
	}
	return nil
}

func ageIn(lo, hi int) func(c *customer) bool {
	return func(c *customer) bool { return int(c.age) >= lo && int(c.age) <= hi }
}

// fraudPool remembers recent fraud collection accounts, so that one
// account receives from several victims (the fan-in Guard looks for).
type fraudPool struct {
	keys [256]uint64
	ts   [256]int64
	n    int
	made uint64
}

// fraudPayee returns a collection account for a victim paying at t: with
// probability reuse one used in the last week, else a fresh one.
func (s *Sim) fraudPayee(t int64, reuse float64) party {
	f := &s.pool
	r := &s.r
	if f.n > 0 && r.chance(reuse) {
		for range 8 {
			i := r.intn(min(f.n, len(f.keys)))
			if f.ts[i] >= t-7*day && f.ts[i] <= t {
				return party{kind: pCard, acct: f.keys[i], name: f.keys[i]}
			}
		}
	}
	f.made++
	k := key(s.seed, 0xF7A0D, f.made)
	i := f.n % len(f.keys)
	f.keys[i], f.ts[i] = k, t
	f.n++
	return party{kind: pCard, acct: k, name: k}
}

// freshAccount returns an account nobody used before (a mule card, a
// gambling collector, an agent's account).
func (s *Sim) freshAccount() party {
	s.pool.made++
	k := key(s.seed, 0xACC7, s.pool.made)
	return party{kind: pCard, acct: k, name: k}
}

func (s *Sim) freshDevice() uint64 {
	s.pool.made++
	return newDeviceKey(s, 0xDE71CE, s.pool.made)
}

func (s *Sim) freshIP() uint32 {
	s.pool.made++
	return ipOf(key(s.seed, 0x1F, s.pool.made))
}

// Time helpers for scripts.

func (s *Sim) mins(lo, hi float64) int64  { return int64(s.r.uniform(lo, hi) * 60) }
func (s *Sim) hours(lo, hi float64) int64 { return int64(s.r.uniform(lo, hi) * 3600) }

// at returns the first time at or after t at a local hour drawn from
// [lo, hi) (hi may pass 24 for windows over midnight).
func (s *Sim) at(t int64, lo, hi float64) int64 {
	return nextLocal(t, int64(s.r.uniform(lo, hi)*3600))
}

// newPlan starts a campaign of typology typ.
func (s *Sim) newPlan(typ, role string) *plan {
	s.campaigns[typ]++
	return &plan{s: s, cp: &campaign{}, scam: typ + "-" + strconv.Itoa(s.campaigns[typ]), typology: typ, role: role}
}

// newEpisode starts a look-alike episode of kind.
func (s *Sim) newEpisode(kind string) *plan {
	s.lookalike[kind]++
	return &plan{s: s, cp: &campaign{}, role: RoleLookalike, stage: kind}
}

// balance is what a victim can be made to move: part of their savings.
func (s *Sim) balance(c *customer, lo, hi float64) int64 {
	return max(cents(float64(c.savings)/100*s.r.uniform(lo, hi)), 10000)
}
