package guard

// Caps of the bounded sets in feature state. They bound memory per entity;
// distinct counts saturate at them.
const (
	capCustomerPayees  = 32
	capMerchants       = 16
	capCustomerAdded   = 6
	capCustomerDevices = 6
	capCustomerIPs     = 6
	capNightPayees     = 12
	capInterventions   = 8
	capDeviceCustomers = 32
	capIPCustomers     = 32
	capPayeePayers     = 128
	recentEvents       = 24
)

type intervention struct {
	payee    uint32 // folded hash of the counterparty, 0 if none
	typology uint32 // folded hash of the typology, 0 if none
	t        uint32
	action   Action
}

// customerState is everything Guard remembers about one customer.
type customerState struct {
	first, last   uint32
	registered    uint32
	lastLogin     uint32
	devChange     uint32
	phoneChange   uint32
	profileChange uint32
	loanPayout    uint32
	age           int16
	loanPayoutAmt int64
	lastDevice    uint64
	recentPos     uint8
	recentN       uint8
	// The recent events' types and times, as two arrays rather than one of
	// structs: no padding, 72 bytes less per customer.
	recentTyp     [recentEvents]uint8
	recentT       [recentEvents]uint32
	out           series   // transfers and withdrawals: money sent to accounts
	pay           series   // payments to merchants
	nightRound    []bucket // day buckets of night-time round outflows
	round         []bucket // day buckets of round outflows
	loanApps      []bucket // day buckets of loan applications
	payees        seenSet  // accounts sent money to
	merchants     seenSet  // merchant terminals paid
	added         seenSet  // added with payee_add
	devices       seenSet
	ips           seenSet
	nightPayees   seenSet
	interventions []intervention
}

// deviceState has no last-seen time of its own: events.last (hour
// precision) serves eviction, which keeps the struct in the 80-byte size
// class for the millions of devices a large firm sees.
type deviceState struct {
	customers seenSet
	events    hourRing
	first     uint32 // after events, whose 52 bytes leave it room: 80 in all
}

type ipState struct {
	customers seenSet
	events    hourRing
}

type payeeState struct {
	first, last uint32
	in          series
	payers      seenSet
	// rare holds what few payees have (elderly payers, night-time round
	// sums): a pointer instead of two slice headers saves 40 bytes on each
	// of the millions of ordinary payees.
	rare *payeeRare
}

type payeeRare struct {
	elderly    seenSet
	nightRound []bucket
}

// ensureRare returns p.rare, made if needed.
func (p *payeeState) ensureRare() *payeeRare {
	if p.rare == nil {
		p.rare = new(payeeRare)
	}
	return p.rare
}

// The windows read on every event, ascending.
var (
	outWindows = [6]uint32{600, unitHour, unitDay, 7 * unitDay, 30 * unitDay, 90 * unitDay}
	payWindows = [5]uint32{unitHour, unitDay, 7 * unitDay, 30 * unitDay, 90 * unitDay}
)

// State is the feature state of a Guard engine: bounded, in memory, rebuilt
// after a restart from a snapshot and the events stored after it.
type State struct {
	customers map[uint64]*customerState
	devices   map[uint64]*deviceState
	ips       map[uint64]*ipState
	payees    map[uint64]*payeeState
	labels    labels
	// typologyNames resolves the folded typology hashes kept in
	// interventions; typologies are few, so this stays tiny.
	typologyNames map[uint32]string
	// now is the latest event time seen; eviction of idle entities keys off
	// it, never off the wall clock, so replays evict identically.
	now     uint32
	sweepAt uint32
}

// NewState returns empty feature state.
func NewState() *State {
	return &State{
		customers:     make(map[uint64]*customerState),
		devices:       make(map[uint64]*deviceState),
		ips:           make(map[uint64]*ipState),
		payees:        make(map[uint64]*payeeState),
		labels:        newLabels(),
		typologyNames: map[uint32]string{},
	}
}

// Customers returns the number of customers in state.
func (s *State) Customers() int { return len(s.customers) }

func hoursBetween(from, to uint32) float64 {
	if from == 0 {
		return Never
	}
	if to < from {
		return 0
	}
	return float64(to-from) / 3600
}

func daysBetween(from, to uint32) float64 {
	if from == 0 || to < from {
		return 0
	}
	return float64(to-from) / 86400
}

func fold(h uint64) uint32 {
	f := uint32(h>>32) ^ uint32(h)
	if f == 0 {
		f = 1
	}
	return f
}

func ageBand(age int) string {
	switch {
	case age < 0:
		return "unknown"
	case age < 18:
		return "minor"
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 45:
		return "35-44"
	case age < 60:
		return "45-59"
	case age < 70:
		return "60-69"
	}
	return "70+"
}

func roundLevel(m int64) int {
	if m <= 0 || m%10000 != 0 { // whole hundreds of yuan, in fen
		return 0
	}
	y := m / 100
	switch {
	case y%10000 == 0:
		return 10000
	case y%1000 == 0:
		return 1000
	}
	return 100
}

func countBuckets(bs []bucket, t uint32, days uint32) int {
	now := t / unitDay
	n := 0
	for k := len(bs) - 1; k >= 0; k-- {
		if bs[k].i > now {
			continue
		}
		if now-bs[k].i >= days {
			break
		}
		n += int(bs[k].n)
	}
	return n
}

// observe computes the features of ev into env and then folds ev into the
// state. It is the one code path for live decisions, replay and training.
func (s *State) observe(ev *Event, env *Env) {
	t := stamp(ev.OccurredAt.Unix())
	if t > s.now {
		s.now = t
	}
	amt := int64(ev.Amount)
	outflow := ev.Type.Outflow()

	// The event.
	e := &env.Event
	local := ev.OccurredAt.Unix() + int64(ev.Offset)
	e.Type = string(ev.Type)
	e.Amount = ev.Amount.Yuan()
	e.Currency = ev.Currency
	sec := ((local % 86400) + 86400) % 86400
	e.Hour = int(sec / 3600)
	e.Night = e.Hour < 6
	days := local / 86400
	if local < 0 && local%86400 != 0 {
		days--
	}
	e.Weekday = int((days + 4) % 7) // 1970-01-01 was a Thursday
	if e.Weekday < 0 {
		e.Weekday += 7
	}
	e.Weekend = e.Weekday == 0 || e.Weekday == 6
	e.RoundLevel = roundLevel(amt)
	e.Round = e.RoundLevel > 0
	e.Memo = ev.Memo
	e.HasDevice = ev.Device.ID != ""
	e.HasIP = ev.Device.IP != ""
	e.HasPayee = ev.Counterparty.Account != ""
	e.Channel = ""
	if raw, ok := ev.Extra["channel"]; ok && len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		e.Channel = string(raw[1 : len(raw)-1])
	}
	nightRound := outflow && e.Night && e.Round

	// The customer.
	ch := fnv64(ev.Customer.ID)
	c := s.customers[ch]
	if c == nil {
		c = &customerState{first: t, age: -1}
		s.customers[ch] = c
	}
	if ev.Customer.Age >= 0 {
		c.age = int16(ev.Customer.Age)
	}
	if !ev.Customer.RegisteredAt.IsZero() {
		c.registered = stamp(ev.Customer.RegisteredAt.Unix())
	}
	ce := &env.Customer
	ce.ID = ev.Customer.ID
	ce.Age = int(c.age)
	ce.AgeKnown = c.age >= 0
	ce.AgeBand = ageBand(ce.Age)
	ce.Elderly = c.age >= 60
	ce.Young = c.age >= 18 && c.age < 25
	if c.registered != 0 {
		ce.TenureDays = daysBetween(c.registered, t)
	} else {
		ce.TenureDays = daysBetween(c.first, t)
	}
	ce.SeenDays = daysBetween(c.first, t)
	ce.NewCustomer = ce.TenureDays < 7
	ce.HoursSinceDeviceChange = hoursBetween(c.devChange, t)
	ce.HoursSincePhoneChange = hoursBetween(c.phoneChange, t)
	ce.HoursSinceProfileChange = hoursBetween(c.profileChange, t)
	ce.HoursSinceLogin = hoursBetween(c.lastLogin, t)
	ce.HoursSinceLoanPayout = hoursBetween(c.loanPayout, t)
	ce.LastLoanPayout = float64(c.loanPayoutAmt) / 100
	victimAt := s.labels.victims[ch]
	ce.ConfirmedVictim = victimAt != 0 && t >= victimAt && t-victimAt < 90*unitDay
	ce.HoursSinceFlag, ce.FlagTypology = Never, ""
	if f, ok := s.labels.flags[ch]; ok {
		ce.HoursSinceFlag = hoursBetween(f.at, t)
		ce.FlagTypology = f.typology
	}
	// Windows are read before this event is added (so they are its
	// history) and the event is then added to each, which is exact: the
	// event lies within every window that ends at it.
	var ow [6]agg
	var pw [5]agg
	c.out.windows(t, &customerLevels, outWindows[:], ow[:])
	c.pay.windows(t, &customerLevels, payWindows[:], pw[:])
	// History is compared like with like: a payment with earlier payments,
	// a transfer or withdrawal with earlier transfers and withdrawals.
	hist := ow[5]
	if ev.Type == Payment {
		hist = pw[4]
	}
	ce.OutHistory = hist.n
	ce.OutAvg90d, ce.OutMax90d, ce.AmountToAvg, ce.AmountToMax = 0, 0, 0, 0
	if hist.n > 0 {
		ce.OutAvg90d = float64(hist.sum) / float64(hist.n) / 100
		ce.OutMax90d = float64(hist.max) / 100
		if outflow {
			ce.AmountToAvg = e.Amount / max(ce.OutAvg90d, 1)
			ce.AmountToMax = e.Amount / max(ce.OutMax90d, 1)
		}
	}
	ni := 0
	for i := range c.interventions {
		if t >= c.interventions[i].t && t-c.interventions[i].t < 7*unitDay {
			ni++
		}
	}
	ce.Interventions7d = ni

	// Device: new for this customer? A new device on an existing customer is
	// an observed device change even without a device_change event.
	dh := uint64(0)
	if ev.Device.ID != "" {
		dh = fnv64(ev.Device.ID)
	}
	env.Device = DeviceEnv{ID: ev.Device.ID}
	if dh != 0 {
		isNew, _ := c.devices.add(dh, t, capCustomerDevices)
		env.Device.NewForCustomer = isNew && c.last != 0 && len(c.devices) > 1
		if c.lastDevice != 0 && c.lastDevice != dh && ev.Type != DeviceChange {
			if isNew {
				c.devChange = t
			}
		}
		c.lastDevice = dh
	}
	if ip := ev.Device.IP; ip != "" {
		c.ips.add(fnv64(ip), t, capCustomerIPs)
	}

	// Payee, for this customer.
	ph := uint64(0)
	if ev.Counterparty.Account != "" {
		ph = fnv64(ev.Counterparty.Account)
	}
	pe := &env.Payee
	*pe = PayeeEnv{Account: ev.Counterparty.Account, Name: ev.Counterparty.Name}
	if pe.Name != "" {
		f := lexScan(pe.Name)
		pe.Institution = f&wInstitution != 0
		pe.Company = f&wCompany != 0
	}
	pe.AddedHours = Never
	if ph != 0 {
		// is_new means never paid before: a payee added with payee_add a
		// minute ago is still new for the first transfer, because the add is
		// part of the same scam script.
		if i := c.added.find(ph); i >= 0 {
			pe.AddedHours = hoursBetween(c.added[i].first, t)
		}
		switch {
		case ev.Type == Payment:
			// Merchants are remembered apart, so shopping never pushes the
			// landlord or family out of the customer's known payees.
			isNew, first := c.merchants.add(ph, t, capMerchants)
			pe.IsNew = isNew
			if !isNew {
				pe.KnownDays = daysBetween(first, t)
			}
		case outflow:
			isNew, first := c.payees.add(ph, t, capCustomerPayees)
			pe.IsNew = isNew
			if !isNew {
				pe.KnownDays = daysBetween(first, t)
			}
		case ev.Type == PayeeAdd:
			i := c.payees.find(ph)
			pe.IsNew = i < 0 && c.added.find(ph) < 0
			if i >= 0 {
				pe.KnownDays = daysBetween(c.payees[i].first, t)
			}
			c.added.add(ph, t, capCustomerAdded)
		}
	}

	// Journey events that change the customer.
	switch ev.Type {
	case Login:
		c.lastLogin = t
	case DeviceChange:
		c.devChange = t
	case PhoneChange:
		c.phoneChange = t
	case ProfileChange:
		c.profileChange = t
	case LoanPayout:
		c.loanPayout = t
		c.loanPayoutAmt = amt
	case LoanApply:
		c.loanApps = addBucket(c.loanApps, t/unitDay, amt, 8)
	}

	// Recent non-windowed events, for short-window counts by type.
	c.recentT[c.recentPos], c.recentTyp[c.recentPos] = t, uint8(ev.Type.index())
	c.recentPos = (c.recentPos + 1) % recentEvents
	if c.recentN < recentEvents {
		c.recentN++
	}
	ce.Events1h, ce.Events24h, ce.Logins1h, ce.Logins24h = 0, 0, 0, 0
	ce.LoanApps24h, ce.LoanApps7d, ce.CardBinds24h, ce.ProfileChanges24h, ce.PayeeAdds24h = 0, 0, 0, 0, 0
	for i := 0; i < int(c.recentN); i++ {
		rt := c.recentT[i]
		if rt > t {
			continue
		}
		age := t - rt
		typ := EventTypes[c.recentTyp[i]]
		if age < unitDay {
			ce.Events24h++
			if age < unitHour {
				ce.Events1h++
			}
			switch typ {
			case Login:
				ce.Logins24h++
				if age < unitHour {
					ce.Logins1h++
				}
			case LoanApply:
				ce.LoanApps24h++
			case CardBind:
				ce.CardBinds24h++
			case ProfileChange:
				ce.ProfileChanges24h++
			case PayeeAdd:
				ce.PayeeAdds24h++
			}
		}
	}

	// Outflow windows, including this event.
	if outflow {
		if ev.Type == Payment {
			c.pay.add(t, amt, &customerLevels)
		} else {
			c.out.add(t, amt, &customerLevels)
		}
		if e.Round {
			c.round = addBucket(c.round, t/unitDay, amt, keepDays)
		}
		if nightRound {
			c.nightRound = addBucket(c.nightRound, t/unitDay, amt, keepDays)
			if ph != 0 {
				c.nightPayees.add(ph, t, capNightPayees)
			}
		}
	}
	switch {
	case ev.Type == Payment:
		for i := range pw {
			pw[i].plus(amt)
		}
	case outflow:
		for i := range ow {
			ow[i].plus(amt)
		}
	}
	ce.OutCount10m, ce.OutSum10m = ow[0].n, float64(ow[0].sum)/100
	ce.OutCount1h, ce.OutSum1h = ow[1].n, float64(ow[1].sum)/100
	ce.OutCount24h, ce.OutSum24h = ow[2].n, float64(ow[2].sum)/100
	ce.OutCount7d, ce.OutSum7d = ow[3].n, float64(ow[3].sum)/100
	ce.OutCount30d, ce.OutSum30d = ow[4].n, float64(ow[4].sum)/100
	ce.OutCount90d, ce.OutSum90d = ow[5].n, float64(ow[5].sum)/100
	ce.PayCount1h, ce.PaySum1h = pw[0].n, float64(pw[0].sum)/100
	ce.PayCount24h, ce.PaySum24h = pw[1].n, float64(pw[1].sum)/100
	ce.PayCount7d, ce.PaySum7d = pw[2].n, float64(pw[2].sum)/100
	ce.PayCount30d, ce.PaySum30d = pw[3].n, float64(pw[3].sum)/100
	ce.LoanApps7d = countBuckets(c.loanApps, t, 7)
	ce.NightRoundOut7d = countBuckets(c.nightRound, t, 7)
	ce.NightRoundOut30d = countBuckets(c.nightRound, t, 30)
	ce.RoundOut7d = countBuckets(c.round, t, 7)
	ce.NightRoundPayees7d = c.nightPayees.distinct(t, 7*unitDay)
	pc := c.payees.counts(t)
	ce.Payees1h, ce.Payees24h, ce.Payees7d = pc.h1, pc.d1, pc.d7
	ce.NewPayees24h, ce.NewPayees7d = pc.new1, pc.new7
	dc := c.devices.counts(t)
	ce.Devices24h, ce.Devices30d = dc.d1, dc.d30
	ce.IPs24h = c.ips.distinct(t, unitDay)

	// Device, across customers.
	if dh != 0 {
		d := s.devices[dh]
		if d == nil {
			d = &deviceState{first: t}
			s.devices[dh] = d
		}
		d.customers.add(ch, t, capDeviceCustomers)
		d.events.add(t)
		de := &env.Device
		cc := d.customers.counts(t)
		de.Customers1h, de.Customers24h, de.Customers30d, de.NewCustomers24h = cc.h1, cc.d1, cc.d30, cc.new1
		de.Events1h, de.Events24h = d.events.counts(t)
		de.SeenDays = daysBetween(d.first, t)
		de.ConfirmedFraud = int(s.labels.deviceFraud[dh])
	}

	// IP, across customers.
	env.IP = IPEnv{}
	if ip := ev.Device.IP; ip != "" {
		h := fnv64(ip)
		st := s.ips[h]
		if st == nil {
			st = &ipState{}
			s.ips[h] = st
		}
		st.customers.add(ch, t, capIPCustomers)
		st.events.add(t)
		cc := st.customers.counts(t)
		env.IP.Customers1h, env.IP.Customers24h = cc.h1, cc.d1
		env.IP.Events1h, env.IP.Events24h = st.events.counts(t)
	}

	// Payee, across customers: inbound money and fan-in.
	if ph != 0 {
		p := s.payees[ph]
		if p == nil {
			p = &payeeState{first: t}
			s.payees[ph] = p
		}
		p.last = max(p.last, t)
		if outflow {
			p.in.add(t, amt, &payeeLevels)
			// Fan-in across customers is a mule signal for accounts; every
			// merchant has it, so terminals are not tracked (which also keeps
			// busy merchants from costing a 128-entry scan per payment).
			if ev.Type != Payment {
				p.payers.add(ch, t, capPayeePayers)
				if c.age >= 60 {
					r := p.ensureRare()
					r.elderly.add(ch, t, capPayeePayers/4)
				}
			}
			if nightRound {
				r := p.ensureRare()
				r.nightRound = addBucket(r.nightRound, t/unitDay, amt, keepDays)
			}
		}
		pe.SeenDays = daysBetween(p.first, t)
		pe.InCount1h, _, _ = p.in.window(t, unitHour, &payeeLevels)
		n, sum, _ := p.in.window(t, unitDay, &payeeLevels)
		pe.InCount24h, pe.InSum24h = n, float64(sum)/100
		n, sum, _ = p.in.window(t, 7*unitDay, &payeeLevels)
		pe.InCount7d, pe.InSum7d = n, float64(sum)/100
		pc := p.payers.counts(t)
		pe.Payers1h, pe.Payers24h, pe.Payers7d, pe.Payers30d, pe.NewPayers24h = pc.h1, pc.d1, pc.d7, pc.d30, pc.new1
		if r := p.rare; r != nil {
			pe.ElderlyPayers7d = r.elderly.distinct(t, 7*unitDay)
			pe.NightRoundIn7d = countBuckets(r.nightRound, t, 7)
		}
		pe.Reported = int(s.labels.payeeReported[ph])
		pe.FalseAlarms = int(s.labels.payeeFalseAlarms[ph])
		pe.IsReported = pe.Reported > 0
	}

	if c.last < t {
		c.last = t
	}
	s.maybeSweep()
}

// remember records the intervention a decision made, so a customer who
// dismisses it and tries again climbs the ladder.
func (s *State) remember(ev *Event, action Action, typology string) {
	if action == Allow {
		return
	}
	c := s.customers[fnv64(ev.Customer.ID)]
	if c == nil {
		return
	}
	iv := intervention{t: stamp(ev.OccurredAt.Unix()), action: action}
	if ev.Counterparty.Account != "" {
		iv.payee = fold(fnv64(ev.Counterparty.Account))
	}
	if typology != "" {
		iv.typology = fold(fnv64(typology))
		s.typologyNames[iv.typology] = typology
	}
	if len(c.interventions) < capInterventions {
		c.interventions = append(c.interventions, iv)
		return
	}
	copy(c.interventions, c.interventions[1:])
	c.interventions[len(c.interventions)-1] = iv
}

// priorInterventions counts the interventions the customer was shown
// within window seconds before ev on the same payee (with the strongest of
// them, and whether one was within the last day) and, separately, those on
// the same typology with another payee.
func (s *State) priorInterventions(ev *Event, typology string, window uint32) (payeeN int, strongest Action, recent bool, typologyN int) {
	c := s.customers[fnv64(ev.Customer.ID)]
	if c == nil {
		return 0, Allow, false, 0
	}
	t := stamp(ev.OccurredAt.Unix())
	var payee, typ uint32
	if ev.Counterparty.Account != "" {
		payee = fold(fnv64(ev.Counterparty.Account))
	}
	if typology != "" {
		typ = fold(fnv64(typology))
	}
	for _, iv := range c.interventions {
		if iv.t > t || t-iv.t >= window {
			continue
		}
		switch {
		case payee != 0 && iv.payee == payee:
			payeeN++
			strongest = max(strongest, iv.action)
			recent = recent || t-iv.t < unitDay
		case typ != 0 && iv.typology == typ:
			typologyN++
		}
	}
	return payeeN, strongest, recent, typologyN
}

// lastTypology returns the typology of the latest intervention on ev's
// payee, so an escalated retry is explained in the same terms.
func (s *State) lastTypology(ev *Event) string {
	c := s.customers[fnv64(ev.Customer.ID)]
	if c == nil || ev.Counterparty.Account == "" {
		return ""
	}
	payee := fold(fnv64(ev.Counterparty.Account))
	for i := len(c.interventions) - 1; i >= 0; i-- {
		if iv := c.interventions[i]; iv.payee == payee && iv.typology != 0 {
			return s.typologyNames[iv.typology]
		}
	}
	return ""
}

// maybeSweep evicts entities idle for more than 91 days, a slice at a time,
// so memory stays bounded by the active population without a pause.
func (s *State) maybeSweep() {
	if s.now < s.sweepAt {
		return
	}
	// Once per day of event time: a full pass costs ~20 ns an entity, which
	// spread over a day's events is a few entities an event even in replay.
	s.sweepAt = s.now + unitDay
	cut := s.now - keepDays*unitDay
	for h, c := range s.customers {
		if c.last < cut {
			delete(s.customers, h)
		}
	}
	for h, d := range s.devices {
		if d.events.last*unitHour < cut {
			delete(s.devices, h)
		}
	}
	for h, st := range s.ips {
		if st.events.last*unitHour < cut {
			delete(s.ips, h)
		}
	}
	for h, p := range s.payees {
		if p.last < cut {
			delete(s.payees, h)
		}
	}
}
