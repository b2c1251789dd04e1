package sim

// The scripts of the typologies. Each draws victims (or creates accounts),
// writes the whole script with ground truth, and schedules it. Victims stop
// partway at random (hang up, get suspicious, run out of money) and some
// retry a transfer a few minutes after it was (presumably) stopped: the
// ones who ignore a warning.

// Typology names.
const (
	TImpersonatedCS   = "impersonated_customer_service"
	TRefund           = "refund_scam"
	TBrushing         = "brushing_part_time"
	TFakeInvestment   = "fake_investment"
	TFakeLoan         = "fake_loan"
	TCreditRepair     = "credit_repair"
	TPolice           = "impersonated_police"
	TAccountTakeover  = "account_takeover"
	TMule             = "mule_account"
	TDeviceFarm       = "device_farm"
	TComplaintAgent   = "complaint_agent_fraud"
	TGambling         = "gambling"
	LTuition          = "tuition"
	LNewFriend        = "new_friend"
	LNewPhone         = "new_phone"
	LFamilyNight      = "family_night"
	LHouseDeposit     = "house_deposit"
	LLateNightPayment = "late_night_merchant"
)

type scenario struct {
	name  string
	rate  float64 // starts per 100,000 customers per day
	build func(s *Sim, t int64) bool
}

var typologies = []scenario{
	{TImpersonatedCS, 1.5, (*Sim).impersonatedCS},
	{TRefund, 1.0, (*Sim).refundScam},
	{TBrushing, 1.5, (*Sim).brushing},
	{TFakeInvestment, 0.6, (*Sim).fakeInvestment},
	{TFakeLoan, 1.0, (*Sim).fakeLoan},
	{TCreditRepair, 0.5, (*Sim).creditRepair},
	{TPolice, 0.5, (*Sim).police},
	{TAccountTakeover, 0.8, (*Sim).accountTakeover},
	{TMule, 0.4, (*Sim).mule},
	{TDeviceFarm, 0.3, (*Sim).deviceFarm},
	{TComplaintAgent, 0.4, (*Sim).complaintAgent},
	{TGambling, 0.4, (*Sim).gambling},
}

var lookalikes = []scenario{
	{LTuition, 3, (*Sim).tuition},
	{LNewFriend, 10, (*Sim).newFriend},
	{LNewPhone, 12, (*Sim).newPhone},
	{LFamilyNight, 6, (*Sim).familyNight},
	{LHouseDeposit, 2, (*Sim).houseDeposit},
	{LLateNightPayment, 15, (*Sim).lateNightPayment},
}

// Typologies lists the campaign typologies.
func Typologies() []string {
	out := make([]string, len(typologies))
	for i, t := range typologies {
		out[i] = t.name
	}
	return out
}

// LookalikeKinds lists the kinds of legitimate look-alikes.
func LookalikeKinds() []string {
	out := make([]string, len(lookalikes))
	for i, t := range lookalikes {
		out[i] = t.name
	}
	return out
}

// DefaultRates returns the default start rates of every typology and
// look-alike kind, in starts per 100,000 customers per day. For a gambling
// ring, a mule account, a device farm or a complaint agent one start is
// one scheme with many customers.
func DefaultRates() map[string]float64 {
	m := map[string]float64{}
	for _, t := range typologies {
		m[t.name] = t.rate
	}
	for _, t := range lookalikes {
		m[t.name] = t.rate
	}
	return m
}

// spawner starts campaigns of one scenario as a Poisson process.
type spawner struct {
	sc     scenario
	perSec float64
}

func (sp *spawner) step(s *Sim, now int64) (bool, int64, bool) {
	sp.sc.build(s, now)
	return false, now + 1 + int64(s.r.exp()/sp.perSec), true
}

func (s *Sim) schedule() {
	scale := float64(len(s.pop)) / 100000 / float64(day)
	add := func(list []scenario, mult float64) {
		if mult < 0 {
			return
		}
		for _, sc := range list {
			rate := sc.rate
			if v, ok := s.cfg.Rates[sc.name]; ok {
				rate = v
			}
			perSec := rate * mult * scale
			if perSec <= 0 {
				continue
			}
			sp := &spawner{sc: sc, perSec: perSec}
			first := s.start + int64(s.cfg.QuietDays)*day + int64(s.r.exp()/perSec)
			s.push(first, sp)
		}
	}
	add(typologies, s.cfg.ScamRate)
	add(lookalikes, s.cfg.LookalikeRate)
}

// ---- scams ----

// impersonatedCS: "customer service" calls a young customer about a
// student loan that must be cancelled or it will hurt their credit; within
// the hour the victim moves the balance (and sometimes a fresh loan) to a
// "safe account".
func (s *Sim) impersonatedCS(t0 int64) bool {
	r := &s.r
	v := s.pickCustomer(ageIn(18, 26))
	if v == nil {
		return false
	}
	p := s.newPlan(TImpersonatedCS, RoleVictim)
	p.hold(v)
	t := s.at(t0, 10, 21.5)
	p.add(t, v, "login", "contact")
	payee := s.fraudPayee(t, 0.3)
	t += s.mins(2, 8)
	p.add(t, v, "payee_add", "payee_add").cp = payee
	bal := s.balance(v, 0.5, 1)
	if r.chance(0.5) {
		loan := roundTo(yuan(r.logn(8000, 0.5)), 1000)
		t += s.mins(3, 10)
		p.money(t, v, "loan_apply", "loan", loan, party{}, "", loan)
		t += s.mins(1, 5)
		p.money(t, v, "loan_payout", "loan", loan, v.ownCard(s), "", loan)
		bal += loan
	}
	n := r.rangeInt(1, 3)
	for i := range n {
		if r.chance(0.15) {
			break // hung up
		}
		amt := bal / int64(n-i)
		if i < n-1 {
			amt = cents(float64(amt) / 100 * r.uniform(0.6, 1.2))
		}
		bal -= amt
		if i > 0 && r.chance(0.3) {
			payee = s.fraudPayee(t, 0.3)
		}
		t += s.mins(3, 20)
		memo := pick(r, memoCS)
		p.money(t, v, "transfer", "transfer", amt, payee, memo, amt)
		if r.chance(0.25) {
			t += s.mins(2, 8)
			p.money(t, v, "transfer", "retry", amt, payee, memo, amt)
		}
	}
	return p.start(t0)
}

// refundScam (快递理赔): a "courier" offers double compensation for a lost
// parcel; a small verification transfer, then growing ones.
func (s *Sim) refundScam(t0 int64) bool {
	r := &s.r
	v := s.pickCustomer(ageIn(22, 55))
	if v == nil {
		return false
	}
	p := s.newPlan(TRefund, RoleVictim)
	p.hold(v)
	t := s.at(t0, 9, 21)
	p.add(t, v, "login", "contact")
	payee := s.fraudPayee(t, 0.3)
	if r.chance(0.6) {
		t += s.mins(3, 12)
		p.add(t, v, "payee_add", "payee_add").cp = payee
	}
	t += s.mins(2, 10)
	test := cents(r.uniform(1, 10))
	p.money(t, v, "transfer", "test", test, payee, pick(r, memoRefund), test)
	left := s.balance(v, 0.4, 1)
	amt := cents(r.logn(2000, 0.6))
	for i := range r.rangeInt(1, 3) {
		if r.chance(0.2) || left <= 0 {
			break
		}
		if i > 0 && r.chance(0.3) {
			loan := roundTo(yuan(r.logn(5000, 0.4)), 1000)
			t += s.mins(3, 10)
			p.money(t, v, "loan_apply", "loan", loan, party{}, "", loan)
			t += s.mins(1, 5)
			p.money(t, v, "loan_payout", "loan", loan, v.ownCard(s), "", loan)
			left += loan
		}
		amt = min(amt, left)
		t += s.mins(3, 25)
		p.money(t, v, "transfer", stageFor(i), amt, payee, pick(r, memoRefund), amt)
		left -= amt
		amt = cents(float64(amt) / 100 * r.uniform(1.5, 3))
	}
	return p.start(t0)
}

func stageFor(i int) string {
	if i == 0 {
		return "transfer"
	}
	return "escalate"
}

// brushing (刷单返利): small tasks are rebated with a commission, then the
// "combo tasks" grow over days until the victim runs out or stops.
func (s *Sim) brushing(t0 int64) bool {
	r := &s.r
	v := s.pickCustomer(ageIn(18, 35))
	if v == nil {
		return false
	}
	p := s.newPlan(TBrushing, RoleVictim)
	p.hold(v)
	payees := []party{s.fraudPayee(t0, 0.3)}
	t := s.at(t0, 19, 23)
	for range r.rangeInt(2, 3) {
		// Rebated with commission: nothing is lost yet.
		p.money(t, v, "transfer", "test", cents(r.uniform(20, 100)), payees[0], pick(r, memoBrush), 0)
		t += s.mins(10, 40)
	}
	left := s.balance(v, 0.6, 1)
	amt := cents(r.uniform(200, 500))
	days := r.rangeInt(1, 5)
	for d := 1; d <= days; d++ {
		t = s.at(t0+int64(d)*day, 19, 23)
		stop := false
		for range r.rangeInt(1, 3) {
			if r.chance(0.2) || left <= 0 {
				stop = true
				break
			}
			if r.chance(0.3) {
				payees = append(payees, s.fraudPayee(t, 0.3))
			}
			payee := payees[r.intn(len(payees))]
			a := min(amt, left)
			memo := pick(r, memoBrush)
			p.money(t, v, "transfer", "escalate", a, payee, memo, a)
			if r.chance(0.15) {
				p.money(t+s.mins(2, 10), v, "transfer", "retry", a, payee, memo, a)
			}
			left -= a
			amt = cents(float64(amt) / 100 * r.uniform(2, 3))
			t += s.mins(15, 60)
		}
		if stop {
			break
		}
	}
	return p.start(t0)
}

// fakeInvestment (杀猪盘): weeks of chat (the victim opens the app more),
// then transfers growing far above the victim's history over weeks, funded
// by savings and loans, ending with a "withdrawal fee".
func (s *Sim) fakeInvestment(t0 int64) bool {
	r := &s.r
	// Pig-butchering crews pick people with money.
	v := s.pickCustomer(func(c *customer) bool { return c.age >= 28 && c.age <= 58 && c.savings >= yuan(30000) })
	if v == nil {
		return false
	}
	p := s.newPlan(TFakeInvestment, RoleVictim)
	p.hold(v)
	groom := r.rangeInt(7, 21)
	for d := 1; d < groom; d += r.rangeInt(1, 3) {
		p.add(s.at(t0+int64(d)*day, 20, 24), v, "login", "groom")
	}
	t := t0 + int64(groom)*day
	payee := s.fraudPayee(t, 0.2)
	span := float64(r.rangeInt(7, 21))
	n := r.rangeInt(4, 10)
	left := s.balance(v, 0.7, 1.2)
	amt := roundTo(yuan(r.logn(3000, 0.5)), 1000)
	for i := range n {
		ti := s.at(t+int64(float64(i)*span/float64(n)*float64(day)), 9, 23)
		if i > 0 && r.chance(0.12) {
			break
		}
		if i == 0 {
			p.add(ti-s.mins(2, 30), v, "payee_add", "payee_add").cp = payee
		}
		if i == n/2 && n > 1 && r.chance(0.5) {
			payee = s.fraudPayee(ti, 0.2)
			p.add(ti-s.mins(2, 10), v, "payee_add", "payee_add").cp = payee
		}
		if left < amt && r.chance(0.5) {
			loan := roundTo(yuan(r.logn(30000, 0.5)), 1000)
			p.money(ti-s.mins(30, 90), v, "loan_apply", "loan", loan, party{}, "", loan)
			p.money(ti-s.mins(5, 25), v, "loan_payout", "loan", loan, v.ownCard(s), "", loan)
			left += loan
		}
		a := min(amt, left)
		if a < 100000 {
			break
		}
		stage := "transfer"
		if i > 0 {
			stage = "escalate"
		}
		p.money(ti, v, "transfer", stage, a, payee, pick(r, memoInvest), a)
		left -= a
		amt = roundTo(int64(float64(amt)*r.uniform(1.3, 2.5)), 1000)
	}
	if r.chance(0.5) {
		fee := roundTo(yuan(r.logn(8000, 0.6)), 100)
		p.money(s.at(t+int64(span+1)*day, 9, 22), v, "transfer", "fee", fee, payee, pick(r, memoInvestFx), fee)
	}
	return p.start(t0)
}

// fakeLoan: the victim applies for a loan, a fake lender then asks for an
// unfreezing fee, a deposit, a "capital check", each larger.
func (s *Sim) fakeLoan(t0 int64) bool {
	r := &s.r
	v := s.pickCustomer(func(c *customer) bool { return c.age >= 20 && c.age <= 45 && c.income < yuan(9000) })
	if v == nil {
		return false
	}
	p := s.newPlan(TFakeLoan, RoleVictim)
	p.hold(v)
	t := s.at(t0, 9, 22)
	p.money(t, v, "loan_apply", "apply", roundTo(yuan(r.uniform(20000, 50000)), 1000), party{}, "", 0)
	payee := s.fraudPayee(t, 0.3)
	t += s.mins(10, 90)
	if r.chance(0.5) {
		p.add(t, v, "payee_add", "payee_add").cp = payee
		t += s.mins(1, 5)
	}
	fee := roundTo(yuan(r.uniform(200, 800)), 100)
	for i := range r.rangeInt(2, 5) {
		if i > 0 && r.chance(0.25) {
			break
		}
		stage := "fee"
		p.money(t, v, "transfer", stage, fee, payee, pick(r, memoFakeLoan), fee)
		fee = roundTo(int64(float64(fee)*r.uniform(1.8, 3)), 100)
		t = s.at(t+s.hours(0.3, 20), 8, 23.5)
	}
	return p.start(t0)
}

// creditRepair (征信修复): fees to "repair" a credit record.
func (s *Sim) creditRepair(t0 int64) bool {
	r := &s.r
	v := s.pickCustomer(func(c *customer) bool { return c.age >= 25 && c.age <= 45 && (c.loanLeft > 0 || r.chance(0.3)) })
	if v == nil {
		return false
	}
	p := s.newPlan(TCreditRepair, RoleVictim)
	p.hold(v)
	t := s.at(t0, 9, 22)
	if r.chance(0.3) {
		p.add(t, v, "profile_change", "profile").memo = pick(r, memoAgentPro)
		t += s.mins(10, 120)
	}
	payee := s.fraudPayee(t, 0.4)
	for i := range r.rangeInt(1, 3) {
		if i > 0 && r.chance(0.3) {
			break
		}
		fee := roundTo(yuan(r.uniform(500, 3000)), 100)
		p.money(t, v, "transfer", "fee", fee, payee, pick(r, memoCredit), fee)
		t = s.at(t+s.hours(12, 72), 9, 22)
	}
	return p.start(t0)
}

// police (冒充公检法): the victim, often elderly, is told their account is
// involved in money laundering and moves large round sums to "safe
// accounts" in one morning.
func (s *Sim) police(t0 int64) bool {
	r := &s.r
	var v *customer
	if r.chance(0.7) {
		v = s.pickCustomer(ageIn(60, 90))
	} else {
		v = s.pickCustomer(ageIn(40, 59))
	}
	if v == nil {
		return false
	}
	p := s.newPlan(TPolice, RoleVictim)
	p.hold(v)
	t := s.at(t0, 8.5, 10.5)
	p.add(t, v, "login", "contact")
	left := s.balance(v, 0.5, 1)
	payee := s.fraudPayee(t, 0.35)
	t += s.mins(5, 20)
	p.add(t, v, "payee_add", "payee_add").cp = payee
	for i := range r.rangeInt(2, 5) {
		if i > 0 && r.chance(0.15) || left < 500000 {
			break
		}
		if i > 0 && r.chance(0.35) {
			payee = s.fraudPayee(t, 0.35)
			t += s.mins(3, 10)
			p.add(t, v, "payee_add", "payee_add").cp = payee
		}
		step := int64(10000)
		if r.chance(0.3) {
			step = 1000
		}
		amt := roundTo(yuan(r.uniform(10000, 50000)), step)
		if amt > left {
			amt = left - left%(step*100) // what is left, in round sums
			if amt <= 0 {
				amt = left - left%100000
			}
		}
		t += s.mins(5, 40)
		memo := pick(r, memoPolice)
		p.money(t, v, "transfer", stageFor(i), amt, payee, memo, amt)
		if r.chance(0.3) {
			t += s.mins(3, 15)
			p.money(t, v, "transfer", "retry", amt, payee, memo, amt)
		}
		left -= amt
	}
	return p.start(t0)
}

// accountTakeover: a fraudster with the victim's credentials changes the
// phone or device from a new device and IP, binds a card and empties the
// account within hours.
func (s *Sim) accountTakeover(t0 int64) bool {
	r := &s.r
	v := s.pickCustomer(func(c *customer) bool { return c.age >= 20 && c.savings > yuan(5000) })
	if v == nil {
		return false
	}
	p := s.newPlan(TAccountTakeover, RoleFraudster)
	p.hold(v)
	dev, ip := s.freshDevice(), s.freshIP()
	t := s.at(t0, 8, 24)
	if r.chance(0.3) {
		t = s.at(t0, 0, 5)
	}
	own := func(sp *spec) { sp.dev, sp.ip = dev, ip }
	own(p.add(t, v, "login", "takeover"))
	t += s.mins(1, 10)
	if r.chance(0.6) {
		own(p.add(t, v, "phone_change", "takeover"))
	} else {
		own(p.add(t, v, "device_change", "takeover"))
	}
	if r.chance(0.4) {
		t += s.mins(1, 10)
		own(p.add(t, v, "profile_change", "takeover"))
	}
	card := s.freshAccount()
	t += s.mins(5, 30)
	sp := p.add(t, v, "card_bind", "cashout")
	sp.cp = card
	own(sp)
	left := s.balance(v, 0.6, 1)
	n := r.rangeInt(1, 3)
	for i := range n {
		amt := left / int64(n-i)
		left -= amt
		t += s.mins(2, 90)
		if r.chance(0.6) {
			own(p.money(t, v, "withdrawal", "cashout", amt, card, "", amt))
		} else {
			payee := s.fraudPayee(t, 0.3)
			own(p.money(t, v, "transfer", "cashout", amt, payee, "", amt))
		}
	}
	return p.start(t0)
}

// mule: a (rented or freshly opened) account receives from many distinct
// victims within days and is emptied every few hours.
func (s *Sim) mule(t0 int64) bool {
	r := &s.r
	var m *customer
	if r.chance(0.5) {
		m = s.pickCustomer(ageIn(18, 30))
	} else {
		m = s.newCustomer(t0 - s.hours(24, 20*24))
		m.age = uint8(r.rangeInt(18, 30))
	}
	if m == nil {
		return false
	}
	p := s.newPlan(TMule, RoleMule)
	p.hold(m)
	acct := party{kind: pCard, acct: key(s.seed, 0x3011E, uint64(m.idx)), name: m.nameKey(s)}
	window := s.hours(24, 7*24)
	k := r.rangeInt(5, 25)
	ins := make([]int64, 0, k)
	amts := make([]int64, 0, k)
	for range k {
		v := s.pickCustomer(nil)
		if v == nil {
			continue
		}
		p.hold(v)
		ti := t0 + s.hours(0, float64(window)/3600)
		ti = max(ti, s.at(ti, 8, 24))
		amt := cents(r.logn(3000, 0.8))
		if r.chance(0.4) {
			amt = roundTo(amt, 100)
		}
		if r.chance(0.3) {
			sp := p.add(ti-s.mins(1, 10), v, "payee_add", "payee_add")
			sp.cp, sp.role = acct, RoleVictim
		}
		sp := p.money(ti, v, "transfer", "collect", amt, acct, pick(r, memoMuleIn), amt)
		sp.role = RoleVictim
		ins = append(ins, ti)
		amts = append(amts, amt)
		if r.chance(0.2) {
			ti += s.hours(1, 24)
			sp := p.money(ti, v, "transfer", "collect", amt, acct, pick(r, memoMuleIn), amt)
			sp.role = RoleVictim
			ins = append(ins, ti)
			amts = append(amts, amt)
		}
	}
	if len(ins) == 0 {
		return p.start(t0)
	}
	first := ins[0]
	for _, ti := range ins {
		first = min(first, ti)
	}
	card := s.freshAccount()
	p.add(first+s.mins(10, 60), m, "login", "cashout")
	p.add(first+s.mins(60, 120), m, "card_bind", "cashout").cp = card
	// Cash out every few hours what came in since the last time.
	for t := first + s.hours(2, 12); t < first+window+day; t += s.hours(4, 12) {
		var sum int64
		for i, ti := range ins {
			if ti <= t && ti > t-12*hour-1 && amts[i] > 0 {
				sum += amts[i]
				amts[i] = 0
			}
		}
		if sum == 0 {
			continue
		}
		if r.chance(0.6) {
			p.money(t, m, "withdrawal", "cashout", sum, card, "", sum)
		} else {
			p.money(t, m, "transfer", "cashout", sum, s.fraudPayee(t, 0.5), "", sum)
		}
	}
	return p.start(t0)
}

// deviceFarm: many new accounts registered on one device (or behind one IP
// with emulated devices) bind cards, apply for loans and cash out payouts.
func (s *Sim) deviceFarm(t0 int64) bool {
	r := &s.r
	p := s.newPlan(TDeviceFarm, RoleFarm)
	sharedDev := r.chance(0.6)
	dev := s.freshDevice()
	ips := []uint32{s.freshIP(), s.freshIP(), s.freshIP()}
	if !sharedDev {
		ips = ips[:1]
	}
	window := s.hours(1, 24)
	for range r.rangeInt(8, 40) {
		reg := t0 + s.hours(0, float64(window)/3600)
		c := s.newCustomer(reg)
		c.age = uint8(r.rangeInt(20, 45))
		d := dev
		if !sharedDev {
			d = s.freshDevice()
		}
		ip := pick(r, ips)
		c.dev[0], c.nDev, c.ip[0], c.ip[1] = d, 1, ip, ip
		t := reg + s.mins(1, 5)
		p.add(t, c, "login", "register")
		card := s.freshAccount()
		card.name = c.nameKey(s)
		t += s.mins(1, 10)
		p.add(t, c, "card_bind", "register").cp = card
		if r.chance(0.6) {
			t += s.mins(1, 10)
			p.add(t, c, "profile_change", "register")
		}
		loan := roundTo(yuan(r.uniform(3000, 20000)), 1000)
		t += s.mins(2, 30)
		p.money(t, c, "loan_apply", "apply", loan, party{}, "", loan)
		if r.chance(0.5) {
			t += s.mins(5, 60)
			p.money(t, c, "loan_payout", "cashout", loan, card, "", loan)
			if r.chance(0.9) {
				t += s.mins(1, 30)
				p.money(t, c, "withdrawal", "cashout", loan, card, "", loan)
			}
		}
	}
	return p.start(t0)
}

// complaintAgent (代理维权/反催收): an agent coaches borrowers to change their
// contact details, dispute repayments and pay the agent fees (and sometimes
// their repayments, which the agent keeps).
func (s *Sim) complaintAgent(t0 int64) bool {
	r := &s.r
	p := s.newPlan(TComplaintAgent, RoleVictim)
	agentAcct := s.freshAccount()
	for range r.rangeInt(4, 15) {
		c := s.pickCustomer(func(c *customer) bool { return c.loanLeft > 0 && c.age >= 22 })
		if c == nil {
			continue
		}
		p.hold(c)
		t := s.at(t0+s.hours(0, 14*24), 9, 22)
		p.add(t, c, "profile_change", "profile").memo = pick(r, memoAgentPro)
		t = s.at(t+s.hours(12, 72), 9, 22)
		fee := roundTo(yuan(r.logn(1500, 0.5)), 100)
		p.money(t, c, "transfer", "fee", fee, agentAcct, pick(r, memoAgentFee), fee)
		for range r.rangeInt(2, 4) {
			t = s.at(t+s.hours(24, 96), 9, 21)
			p.money(t, c, "repayment", "dispute", cents(r.uniform(50, 500)), party{}, pick(r, memoAgentRep), 0)
		}
		if r.chance(0.4) {
			amt := cents(float64(c.install) / 100 * r.uniform(1, 3))
			t = s.at(t+s.hours(12, 48), 9, 21)
			p.money(t, c, "transfer", "fee", amt, agentAcct, "还款", amt)
		}
		if r.chance(0.3) {
			t = s.at(t+s.hours(12, 48), 9, 21)
			p.add(t, c, "profile_change", "profile").memo = pick(r, memoAgentPro)
		}
	}
	return p.start(t0)
}

var betSizes = []int64{100, 200, 300, 500, 1000, 2000, 3000, 5000}

// gambling: a ring's collector accounts take night-time round transfers
// from many gamblers, rotating so no one account stands out.
func (s *Sim) gambling(t0 int64) bool {
	r := &s.r
	p := s.newPlan(TGambling, RoleGambler)
	collectors := make([]party, r.rangeInt(2, 6))
	for i := range collectors {
		collectors[i] = s.freshAccount()
	}
	rot := 0
	span := r.rangeInt(7, 30)
	for range r.rangeInt(4, 15) {
		g := s.pickCustomer(ageIn(20, 45))
		if g == nil {
			continue
		}
		p.hold(g)
		join := t0 + s.hours(0, float64(span)*12)
		perWeek := r.uniform(2, 5)
		for d := int64(0); join+d*day < t0+int64(span)*day && join+d*day < s.end; d++ {
			if !r.chance(perWeek / 7) {
				continue
			}
			t := s.at(join+d*day, 21.5, 26)
			lvl := r.intn(4)
			for range r.rangeInt(2, 8) {
				amt := betSizes[min(lvl, len(betSizes)-1)] * 100
				p.money(t, g, "transfer", "bet", amt, collectors[rot%len(collectors)], pick(r, memoGamble), amt)
				rot++
				if r.chance(0.4) {
					lvl++
				}
				t += s.mins(3, 25)
			}
			if r.chance(0.05) {
				loan := roundTo(yuan(r.logn(5000, 0.5)), 1000)
				p.money(s.at(t, 10, 20), g, "loan_apply", "loan", loan, party{}, "", loan)
			}
		}
	}
	return p.start(t0)
}

// ---- legitimate look-alikes ----

// tuition: a large first payment to a university's account.
func (s *Sim) tuition(t0 int64) bool {
	r := &s.r
	c := s.pickCustomer(func(c *customer) bool { return c.age <= 20 || c.age >= 40 && c.age <= 55 })
	if c == nil {
		return false
	}
	p := s.newEpisode(LTuition)
	p.hold(c)
	uni := party{kind: pOrg, org: orgUniversity, acct: uint64(r.intn(len(universities))), name: 0}
	uni.name = uni.acct
	t := s.at(t0, 9, 21)
	if r.chance(0.5) {
		p.add(t, c, "payee_add", "").cp = uni
		t += s.mins(1, 10)
	}
	amt := yuan(float64(pick(r, []int{4600, 5000, 5500, 5850, 6000, 6850, 8000, 10000, 12000})))
	if r.chance(0.4) {
		amt += yuan(float64(pick(r, []int{800, 1200, 1500})))
	}
	p.money(t, c, "transfer", "", amt, uni, pick(r, memoTuition), 0)
	return p.start(t0)
}

// newFriend: a first payment to someone new.
func (s *Sim) newFriend(t0 int64) bool {
	r := &s.r
	c := s.pickCustomer(nil)
	if c == nil {
		return false
	}
	p := s.newEpisode(LNewFriend)
	p.hold(c)
	pal := s.freshAccount()
	t := s.at(t0, 8, 23.5)
	if r.chance(0.6) {
		p.add(t, c, "payee_add", "").cp = pal
		t += s.mins(1, 30)
	}
	amt := cents(r.logn(500, 0.7))
	if r.chance(0.6) {
		amt = roundTo(amt, 100)
	}
	p.money(t, c, "transfer", "", amt, pal, pick(r, memoNewPal), 0)
	return p.start(t0)
}

// newPhone: the customer moves to a new phone and goes on as before; some
// soon send money to family, as a fraudster after a takeover would.
func (s *Sim) newPhone(t0 int64) bool {
	r := &s.r
	c := s.pickCustomer(nil)
	if c == nil {
		return false
	}
	p := s.newEpisode(LNewPhone)
	p.hold(c)
	dev := s.freshDevice()
	ip := c.ip[0]
	if r.chance(0.3) {
		ip = s.freshIP()
	}
	t := s.at(t0, 9, 23)
	sp := p.add(t, c, "device_change", "")
	sp.dev, sp.ip = dev, ip
	st := &p.cp.steps[len(p.cp.steps)-1]
	st.fx, st.arg = fxNewDevice, dev
	t += s.mins(1, 10)
	sp = p.add(t, c, "login", "")
	sp.dev, sp.ip = dev, ip
	if r.chance(0.4) {
		t += s.hours(1, 12)
		amt := roundTo(yuan(r.logn(1500, 0.6)), 100)
		sp = p.money(t, c, "transfer", "", amt, c.familyParty(s), pick(r, memoFamily), 0)
		sp.dev, sp.ip = dev, ip
	}
	return p.start(t0)
}

// familyNight: a round transfer to family in the small hours.
func (s *Sim) familyNight(t0 int64) bool {
	r := &s.r
	c := s.pickCustomer(func(c *customer) bool { return c.age >= 22 })
	if c == nil {
		return false
	}
	p := s.newEpisode(LFamilyNight)
	p.hold(c)
	t := s.at(t0, 0, 5)
	amt := roundTo(yuan(r.uniform(1000, 5000)), 500)
	p.money(t, c, "transfer", "", amt, c.familyParty(s), pick(r, memoNight), 0)
	return p.start(t0)
}

// houseDeposit: a well-established customer pays a big deposit to a new
// landlord or agency.
func (s *Sim) houseDeposit(t0 int64) bool {
	r := &s.r
	c := s.pickCustomer(func(c *customer) bool {
		return c.age >= 28 && c.age <= 55 && c.reg < t0-730*day
	})
	if c == nil {
		return false
	}
	p := s.newEpisode(LHouseDeposit)
	p.hold(c)
	payee := s.freshAccount()
	if r.chance(0.4) {
		payee = party{kind: pOrg, org: orgAgency, acct: payee.acct, name: uint64(r.intn(1 << 20))}
	}
	t := s.at(t0, 9, 20)
	p.add(t, c, "payee_add", "").cp = payee
	t += s.mins(2, 20)
	amt := roundTo(yuan(r.uniform(20000, 100000)), pick(r, []int64{5000, 10000}))
	p.money(t, c, "transfer", "", amt, payee, pick(r, memoHouse), 0)
	return p.start(t0)
}

// lateNightPayment: an emergency or a hotel, paid in the small hours.
func (s *Sim) lateNightPayment(t0 int64) bool {
	r := &s.r
	c := s.pickCustomer(nil)
	if c == nil {
		return false
	}
	p := s.newEpisode(LLateNightPayment)
	p.hold(c)
	mk := key(s.seed, 0x7A17, uint64(r.intn(500)))
	m := merchantOf(mk, nightMerchantKinds)
	t := s.at(t0, 0, 5)
	p.money(t, c, "payment", "", max(cents(r.logn(m.median, m.sigma)), 100), party{kind: pNightMerchant, acct: mk}, "", 0)
	return p.start(t0)
}
