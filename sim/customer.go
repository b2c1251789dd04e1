package sim

import "math"

// Habits: each is a point process of the customer's own; the customer's
// next action is the earliest of them.
const (
	hLogin = iota
	hShop
	hFriend
	hFamily
	hRent
	hRepay
	hLoan
	hPayout
	hWithdraw
	hCard
	hProfile
	hPhone
	nHabits
)

var habitStage = [nHabits]string{"login", "shop", "friend", "family", "rent", "repay", "loan", "payout",
	"withdraw", "card", "profile", "phone"}

// Diurnal profiles: relative activity per local hour.
const (
	profStandard = iota
	profNightOwl
	profEarly
	profOffice
	nProfiles
)

var diurnalRaw = [nProfiles][24]float64{
	{0.25, 0.12, 0.06, 0.04, 0.04, 0.08, 0.3, 0.9, 1.4, 1.3, 1.3, 1.6, 2.0, 1.6, 1.3, 1.3, 1.4, 1.6, 2.0, 2.1, 1.9, 1.6, 1.1, 0.6},
	{0.9, 0.6, 0.35, 0.15, 0.08, 0.06, 0.1, 0.4, 0.9, 1.1, 1.2, 1.5, 1.8, 1.5, 1.3, 1.3, 1.4, 1.6, 1.9, 2.1, 2.2, 2.1, 1.8, 1.4},
	{0.05, 0.03, 0.02, 0.03, 0.08, 0.5, 1.5, 2.2, 2.4, 2.3, 2.0, 1.8, 1.4, 1.0, 1.2, 1.5, 1.7, 1.6, 1.3, 1.1, 0.8, 0.4, 0.15, 0.08},
	{0.02, 0.01, 0.01, 0.01, 0.01, 0.03, 0.2, 0.8, 1.6, 2, 2, 1.8, 1.4, 1.6, 1.8, 1.8, 1.6, 1.4, 1.2, 1.1, 1, 0.8, 0.5, 0.2},
}

// diurnal holds each profile normalised to mean 1 and its maximum, for
// thinning.
var diurnal, diurnalMax = func() (w [nProfiles][24]float64, mx [nProfiles]float64) {
	for p := range diurnalRaw {
		sum := 0.0
		for _, v := range diurnalRaw[p] {
			sum += v
		}
		for h, v := range diurnalRaw[p] {
			w[p][h] = v * 24 / sum
			mx[p] = math.Max(mx[p], w[p][h])
		}
	}
	return
}()

// customer is one member of the population, and the agent of its habits.
type customer struct {
	idx       uint32
	age       uint8
	prof      uint8
	nDev      uint8
	busy      bool // in a campaign or look-alike episode: not picked for another
	renter    bool
	family    bool
	student   bool
	salaryDay uint8
	rentDay   uint8
	dueDay    uint8
	loanLeft  uint8
	nFriends  uint8
	reg       int64
	income    int64 // fen a month
	savings   int64 // fen: what a scam can take
	rent      int64
	famAmt    int64
	install   int64
	pending   int64 // loan amount awaiting payout
	dev       [2]uint64
	ip        [2]uint32
	rate      [nHabits]float32 // per day, for the Poisson habits
	next      [nHabits]int64
}

// Stable per-customer keys.
const (
	kName = iota + 1
	kCard
	kLandlord
	kFamily
	kFriend
	kMerchant
	kDevice
	kIP
)

func (c *customer) nameKey(s *Sim) uint64 { return key(s.seed, uint64(c.idx), kName) }

// ownCard is the customer's long-used bank card.
func (c *customer) ownCard(s *Sim) party {
	return party{kind: pCard, acct: key(s.seed, uint64(c.idx), kCard), name: c.nameKey(s)}
}

func (c *customer) familyParty(s *Sim) party {
	k := key(s.seed, uint64(c.idx), kFamily)
	// Family shares the customer's surname (the name key modulo the
	// number of surnames picks it).
	l := uint64(len(surnames))
	return party{kind: pCard, acct: k, name: k - k%l + c.nameKey(s)%l}
}

func (c *customer) friendParty(s *Sim, i int) party {
	k := key(s.seed, uint64(c.idx), kFriend, uint64(i))
	return party{kind: pCard, acct: k, name: k}
}

func (c *customer) landlord(s *Sim) party {
	k := key(s.seed, uint64(c.idx), kLandlord)
	return party{kind: pCard, acct: k, name: k}
}

// device returns one of the customer's devices and an IP: mostly the
// primary phone, at home or on mobile data.
func (c *customer) device(r *rng) (uint64, uint32) {
	d := c.dev[0]
	if c.nDev > 1 && r.chance(0.2) {
		d = c.dev[1]
	}
	ip := c.ip[0]
	if r.chance(0.4) {
		ip = c.ip[1]
	}
	return d, ip
}

func newDeviceKey(s *Sim, parts ...uint64) uint64 {
	k := key(s.seed^0xdead, parts...)
	if k == 0 {
		k = 1
	}
	return k
}

// makeCustomer draws a customer. base says it belongs to the base population.
func (s *Sim) makeCustomer(c *customer, idx uint32, t int64) {
	r := &s.r
	*c = customer{idx: idx}
	u := r.f64()
	switch {
	case u < 0.14:
		c.age = uint8(r.rangeInt(18, 24))
		c.student = r.chance(0.8)
	case u < 0.66:
		c.age = uint8(r.rangeInt(22, 40))
	case u < 0.85:
		c.age = uint8(r.rangeInt(41, 59))
	default:
		c.age = uint8(r.rangeInt(60, 79))
	}
	// Registration: days to years before t, a few very recent.
	maxYears := 8.0
	if c.age < 25 {
		maxYears = float64(c.age-17) * 0.8
	}
	if r.chance(0.06) {
		c.reg = t - int64(r.uniform(1, 30)*float64(day))
	} else {
		c.reg = t - int64(r.uniform(30, 365*maxYears+31)*float64(day))
	}
	c.reg -= c.reg % 60
	c.prof = profStandard
	switch {
	case c.age < 28 && r.chance(0.6):
		c.prof = profNightOwl
	case c.age >= 55:
		c.prof = profEarly
	}
	switch {
	case c.student:
		c.income = yuan(r.logn(1800, 0.3))
		c.savings = yuan(r.logn(2500, 0.8))
	case c.age >= 60:
		c.income = yuan(r.logn(3500, 0.4))
		c.savings = yuan(r.logn(120000, 0.9))
	default:
		c.income = yuan(r.logn(7500, 0.5))
		c.savings = yuan(r.logn(30000, 1.0))
	}
	c.nDev = 1
	if r.chance(0.3) {
		c.nDev = 2
	}
	c.dev[0] = newDeviceKey(s, uint64(idx), kDevice, 0)
	c.dev[1] = newDeviceKey(s, uint64(idx), kDevice, 1)
	c.ip[0] = ipOf(key(s.seed, uint64(idx), kIP, 0))
	c.ip[1] = ipOf(key(s.seed, uint64(idx), kIP, 1))
	c.salaryDay = uint8(pick(r, []int{5, 10, 10, 15, 15, 20, 25, 28, r.rangeInt(1, 28)}))
	if !c.student && c.age < 60 && r.chance(0.5) {
		c.renter = true
		c.rentDay = uint8(r.rangeInt(1, 28))
		c.rent = roundTo(yuan(r.logn(2400, 0.4)), 100)
	}
	if !c.student && c.age < 60 && r.chance(0.5) {
		c.family = true
		c.famAmt = roundTo(yuan(r.logn(1200, 0.5)), 100)
	}
	if !c.student && r.chance(0.35) || c.student && r.chance(0.15) {
		c.loanLeft = uint8(r.rangeInt(1, 12))
		c.install = cents(r.logn(900, 0.6))
		c.dueDay = uint8(r.rangeInt(1, 28))
	}
	c.nFriends = uint8(r.rangeInt(3, 8))
	c.rate[hLogin] = float32(r.uniform(0.3, 1.5))
	c.rate[hShop] = float32(r.logn(1.0, 0.6))
	if c.age >= 60 {
		c.rate[hShop] *= 0.5
	}
	c.rate[hFriend] = float32(r.uniform(0.03, 0.25))
	c.rate[hLoan] = float32(r.uniform(0.002, 0.01))
	c.rate[hWithdraw] = float32(r.uniform(0.02, 0.1))
	c.rate[hCard] = 1.0 / 300
	c.rate[hProfile] = 1.0 / 150
	c.rate[hPhone] = 1.0 / 1500
	for h := range c.next {
		c.next[h] = never
	}
}

func (s *Sim) populate() {
	n := s.cfg.Customers
	s.pop = make([]customer, n)
	s.heap = make([]entry, 0, n+64)
	s.agents = make([]agent, 0, n+64)
	for i := range s.pop {
		c := &s.pop[i]
		s.makeCustomer(c, uint32(i), s.start)
		for h := range c.next {
			c.next[h] = c.schedule(s, h, s.start)
		}
		s.push(c.due(), c)
	}
}

// newCustomer makes a customer outside the base population (a farm
// account, a rented mule account), registered at reg.
func (s *Sim) newCustomer(reg int64) *customer {
	c := &customer{}
	s.makeCustomer(c, uint32(len(s.pop))+s.extra, reg)
	s.extra++
	c.reg = reg - reg%60
	c.busy = true
	return c
}

func (c *customer) due() int64 {
	m := c.next[0]
	for _, t := range c.next[1:] {
		m = min(m, t)
	}
	return m
}

// poisson returns the next time after t of a Poisson process of rate per
// day, modulated by diurnal profile prof (thinning).
func poisson(r *rng, t int64, rate float64, prof int) int64 {
	if rate <= 0 {
		return never
	}
	w, mx := &diurnal[prof], diurnalMax[prof]
	perSec := rate * mx / float64(day)
	for range 1000 {
		t += 1 + int64(r.exp()/perSec)
		if r.f64()*mx < w[localHour(t)] {
			return t
		}
	}
	return t
}

// schedule returns when habit h next happens after t.
func (c *customer) schedule(s *Sim, h int, t int64) int64 {
	r := &s.r
	switch h {
	case hLogin, hShop, hFriend:
		return poisson(r, t, float64(c.rate[h]), int(c.prof))
	case hLoan, hWithdraw, hCard, hProfile, hPhone:
		return poisson(r, t, float64(c.rate[h]), profOffice)
	case hFamily:
		if !c.family {
			return never
		}
		return monthly(t, int(c.salaryDay), int64(r.uniform(12, 22)*3600))
	case hRent:
		if !c.renter {
			return never
		}
		return monthly(t, int(c.rentDay), int64(r.uniform(8, 23)*3600))
	case hRepay:
		if c.loanLeft == 0 {
			return never
		}
		return monthly(t, int(c.dueDay), int64(r.uniform(8, 21)*3600))
	}
	return never // hPayout: set by hLoan
}

func (c *customer) step(s *Sim, now int64) (bool, int64, bool) {
	h := 0
	for i, t := range c.next {
		if t < c.next[h] {
			h = i
		}
	}
	c.act(s, h, now)
	if h != hPayout {
		c.next[h] = c.schedule(s, h, now)
	}
	return true, c.due(), true
}

// act fills s.cur with the event of habit h.
func (c *customer) act(s *Sim, h int, now int64) {
	r := &s.r
	sp := &s.cur
	sp.c = c
	sp.dev, sp.ip = c.device(r)
	sp.stage = habitStage[h]
	switch h {
	case hLogin:
		sp.typ = "login"
	case hShop:
		sp.typ = "payment"
		// Merchants are shared by the population; each customer has a
		// few favourites near home and sometimes goes elsewhere.
		nm := uint64(max(1000, len(s.pop)/20))
		var mi uint64
		if r.chance(0.7) {
			mi = key(s.seed, uint64(c.idx), kMerchant, uint64(r.intn(5))) % nm
		} else {
			mi = uint64(r.intn(int(nm)))
		}
		mk := key(s.seed, kMerchant, mi)
		sp.cp = party{kind: pMerchant, acct: mk}
		m := merchantOf(mk, merchantKinds)
		sp.amt = max(cents(r.logn(m.median, m.sigma)), 100)
	case hFriend:
		sp.typ = "transfer"
		sp.cp = c.friendParty(s, r.intn(int(c.nFriends)))
		a := r.logn(150, 0.9)
		if r.chance(0.5) {
			sp.amt = roundTo(yuan(a), 10)
		} else {
			sp.amt = cents(a)
		}
		sp.memo = pick(r, memoFriend)
	case hFamily:
		sp.typ = "transfer"
		sp.cp = c.familyParty(s)
		sp.amt = c.famAmt
		sp.memo = pick(r, memoFamily)
	case hRent:
		sp.typ = "transfer"
		sp.cp = c.landlord(s)
		sp.amt = c.rent
		sp.memo = pick(r, memoRent)
	case hRepay:
		sp.typ = "repayment"
		sp.amt = c.install
		sp.dev, sp.ip = c.dev[0], c.ip[0]
		sp.memo = pick(r, memoRepay)
		c.loanLeft--
	case hLoan:
		sp.typ = "loan_apply"
		sp.amt = roundTo(yuan(r.logn(8000, 0.7)), 1000)
		if r.chance(0.7) {
			c.pending = sp.amt
			c.next[hPayout] = now + int64(r.uniform(2, 40)*60)
		}
	case hPayout:
		sp.typ = "loan_payout"
		sp.amt = c.pending
		sp.cp = c.ownCard(s)
		if c.loanLeft == 0 {
			c.loanLeft = 12
			c.install = c.pending * 109 / 1200
			_, _, d := civil(localDay(now))
			c.dueDay = uint8(min(d, 28))
			c.next[hRepay] = c.schedule(s, hRepay, now)
		}
		c.pending = 0
		c.next[hPayout] = never
	case hWithdraw:
		sp.typ = "withdrawal"
		sp.cp = c.ownCard(s)
		sp.amt = roundTo(yuan(r.logn(float64(c.income)/100*0.4, 0.6)), 100)
		sp.memo = pick(r, memoWithdraw)
	case hCard:
		sp.typ = "card_bind"
		sp.cp = party{kind: pCard, acct: key(s.seed, uint64(c.idx), kCard, uint64(now)), name: c.nameKey(s)}
	case hProfile:
		sp.typ = "profile_change"
		sp.memo = pick(r, memoProfile)
	case hPhone:
		sp.typ = "phone_change"
		sp.dev, sp.ip = c.dev[0], c.ip[0]
	}
}
