package guard

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // 18:00 in +08:00

type evOpt func(*Event)

func mkEvent(id string, typ EventType, at time.Time, customer string, opts ...evOpt) *Event {
	ev := &Event{ID: id, Type: typ, OccurredAt: at.UTC(), Offset: 8 * 3600,
		Customer: Customer{ID: customer, Age: -1}, Currency: "CNY"}
	for _, o := range opts {
		o(ev)
	}
	return ev
}

func amount(yuan int64) evOpt {
	return func(e *Event) { e.Amount, e.HasAmount = xiaobao.Money(yuan*100), true }
}
func payee(acct string) evOpt { return func(e *Event) { e.Counterparty.Account = acct } }
func device(id string) evOpt  { return func(e *Event) { e.Device.ID = id } }
func ip(addr string) evOpt    { return func(e *Event) { e.Device.IP = addr } }
func age(a int) evOpt         { return func(e *Event) { e.Customer.Age = a } }

func TestSeriesWindows(t *testing.T) {
	var s series
	base := stamp(t0.Unix())
	// One event per minute for 3 hours, 10 yuan each.
	for i := uint32(0); i < 180; i++ {
		s.add(base+i*60, 1000, &customerLevels)
	}
	now := base + 179*60
	tests := []struct {
		w   uint32
		n   int
		sum int64
	}{
		{600, 10, 10000},
		{3600, 60, 60000},
		{unitDay, 180, 180000},
		{7 * unitDay, 180, 180000},
	}
	for _, tc := range tests {
		n, sum, _ := s.window(now, tc.w, &customerLevels)
		if n != tc.n || sum != tc.sum {
			t.Errorf("window %ds: got n=%d sum=%d, want n=%d sum=%d", tc.w, n, sum, tc.n, tc.sum)
		}
	}
	if len(s.l[0]) > 62 || len(s.l[1]) > 50 {
		t.Errorf("levels not pruned: %d minute and %d hour buckets", len(s.l[0]), len(s.l[1]))
	}
	// 100 days later everything has fallen out.
	later := now + 100*unitDay
	s.add(later, 500, &customerLevels)
	if n, _, _ := s.window(later, 90*unitDay, &customerLevels); n != 1 {
		t.Errorf("after 100 days: got n=%d, want 1", n)
	}
	if len(s.l[2]) != 1 {
		t.Errorf("day buckets not pruned: %d", len(s.l[2]))
	}
}

func TestSeriesOutOfOrder(t *testing.T) {
	var s series
	base := stamp(t0.Unix())
	s.add(base+600, 100, &customerLevels)
	s.add(base, 200, &customerLevels) // arrives late
	s.add(base+300, 300, &customerLevels)
	n, sum, max := s.window(base+600, 3600, &customerLevels)
	if n != 3 || sum != 600 || max != 300 {
		t.Fatalf("got n=%d sum=%d max=%d", n, sum, max)
	}
	for i := 1; i < len(s.l[0]); i++ {
		if s.l[0][i-1].i >= s.l[0][i].i {
			t.Fatalf("minute buckets out of order: %+v", s.l[0])
		}
	}
}

func TestSeenSetBounded(t *testing.T) {
	var s seenSet
	for i := 0; i < 100; i++ {
		s.add(uint64(i+1), uint32(i), 8)
	}
	if len(s) != 8 {
		t.Fatalf("len %d, want 8", len(s))
	}
	if s.find(100) < 0 || s.find(1) >= 0 {
		t.Fatal("least recently seen keys must be evicted first")
	}
	if got := s.distinct(99, 5); got != 5 {
		t.Fatalf("distinct in 5s: %d, want 5", got)
	}
}

func TestLocalTimeFeatures(t *testing.T) {
	e := NewEngine(nil)
	// 2026-03-01 18:30 UTC is 02:30 on Monday 2 March in +08:00.
	ev := mkEvent("e1", Transfer, time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC), "c1", amount(2000), payee("p1"))
	env := e.Features(ev)
	if env.Event.Hour != 2 || !env.Event.Night || env.Event.Weekday != 1 || env.Event.Weekend {
		t.Fatalf("local time features wrong: %+v", env.Event)
	}
	if !env.Event.Round || env.Event.RoundLevel != 1000 {
		t.Fatalf("round features wrong: %+v", env.Event)
	}
	ev2 := mkEvent("e2", Transfer, time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC), "c1", amount(2000), payee("p1"))
	ev2.Offset = 0 // the same instant in UTC is 18:30 on Sunday
	env = e.Features(ev2)
	if env.Event.Hour != 18 || env.Event.Night || !env.Event.Weekend {
		t.Fatalf("offset ignored: %+v", env.Event)
	}
}

func TestCustomerAndPayeeFeatures(t *testing.T) {
	e := NewEngine(nil)
	at := t0
	// 30 days of rent to the same landlord and small payments.
	for d := 0; d < 30; d++ {
		e.Features(mkEvent(fmt.Sprintf("r%d", d), Transfer, at.AddDate(0, 0, d), "c1", amount(300), payee("landlord"), device("d1")))
	}
	at = at.AddDate(0, 0, 30)
	env := e.Features(mkEvent("big", Transfer, at, "c1", amount(9000), payee("new-payee"), device("d1")))
	c := env.Customer
	if !env.Payee.IsNew || c.OutHistory != 30 || c.OutAvg90d != 300 || c.AmountToAvg != 30 {
		t.Fatalf("history features wrong: is_new=%v hist=%d avg=%v ratio=%v", env.Payee.IsNew, c.OutHistory, c.OutAvg90d, c.AmountToAvg)
	}
	if c.OutCount24h != 1 || c.OutSum24h != 9000 {
		t.Fatalf("window must include the current event: %d %v", c.OutCount24h, c.OutSum24h)
	}
	env = e.Features(mkEvent("rent", Transfer, at.Add(time.Hour), "c1", amount(300), payee("landlord"), device("d1")))
	if env.Payee.IsNew || env.Payee.KnownDays < 29 {
		t.Fatalf("known payee: is_new=%v known_days=%v", env.Payee.IsNew, env.Payee.KnownDays)
	}
	// Fan-in: 12 customers pay one account within an hour.
	var last Env
	for i := 0; i < 12; i++ {
		last = e.Features(mkEvent(fmt.Sprintf("m%d", i), Transfer, at.Add(time.Duration(i)*time.Minute), fmt.Sprintf("v%d", i), amount(5000), payee("mule"), age(65)))
	}
	if last.Payee.Payers1h != 12 || last.Payee.Payers24h != 12 || last.Payee.ElderlyPayers7d != 12 || last.Payee.InCount1h != 12 {
		t.Fatalf("fan-in features wrong: %+v", last.Payee)
	}
	// payee_add then transfer: still new for the first transfer.
	e.Features(mkEvent("add", PayeeAdd, at.Add(2*time.Hour), "c1", payee("safe")))
	env = e.Features(mkEvent("t", Transfer, at.Add(2*time.Hour+3*time.Minute), "c1", amount(50000), payee("safe")))
	if !env.Payee.IsNew || env.Payee.AddedHours > 0.1 {
		t.Fatalf("payee added then paid: is_new=%v added_hours=%v", env.Payee.IsNew, env.Payee.AddedHours)
	}
}

func TestDeviceChangeFeatures(t *testing.T) {
	e := NewEngine(nil)
	e.Features(mkEvent("l1", Login, t0, "c1", device("d1")))
	env := e.Features(mkEvent("l2", Login, t0.Add(24*time.Hour), "c1", device("d2")))
	if !env.Device.NewForCustomer {
		t.Fatal("a second device must be new for the customer")
	}
	env = e.Features(mkEvent("t1", Transfer, t0.Add(26*time.Hour), "c1", device("d2"), amount(100), payee("p")))
	if h := env.Customer.HoursSinceDeviceChange; h < 1.9 || h > 2.1 {
		t.Fatalf("hours since observed device change: %v", h)
	}
	if env.Customer.HoursSincePhoneChange != Never {
		t.Fatalf("never changed phone: %v", env.Customer.HoursSincePhoneChange)
	}
	// A device farm: 10 customers on one device.
	for i := 0; i < 10; i++ {
		env = e.Features(mkEvent(fmt.Sprintf("f%d", i), LoanApply, t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("farm%d", i), device("farm-phone"), ip("10.0.0.1"), amount(5000)))
	}
	if env.Device.Customers1h != 10 || env.IP.Customers1h != 10 {
		t.Fatalf("device/ip fan-out: %+v %+v", env.Device, env.IP)
	}
}

const ladderPack = `
pack: test
description: {zh: 测试, en: test}
settings:
  thresholds: {remind: 0.3, friction: 0.5, cooling_off: 0.7, hold: 0.9}
rules:
  - id: BIG_NEW
    name: {zh: 大额新收款人, en: big to new payee}
    description: {zh: 测试, en: test}
    nodes: [transfer, payee_add, login]
    when: event.amount >= 1000
    score: 0.1
    action: remind
    typology: fake_investment
    code: BIG_NEW
  - id: SHADOW_ALL
    name: {zh: 影子, en: shadow}
    description: {zh: 测试, en: test}
    nodes: [transfer]
    when: "true"
    score: 0.99
    action: block
    typology: x
    code: SHADOW
    mode: shadow
  - id: LISTED
    name: {zh: 黑名单, en: listed}
    description: {zh: 测试, en: test}
    nodes: ["*"]
    when: lists.block_account || lists.block_device
    score: 0.99
    action: block
    typology: listed_entity
    code: LISTED
messages:
  - {typology: fake_investment, action: remind, zh: 投资提醒, en: investment reminder}
`

func mustRuleset(t testing.TB, src string) *Ruleset {
	t.Helper()
	p, err := ParsePack([]byte(src))
	if err != nil {
		t.Fatalf("parse pack: %v", err)
	}
	rs, err := NewRuleset(p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestLadderEscalationAndCaps(t *testing.T) {
	e := NewEngine(mustRuleset(t, ladderPack))
	want := []Action{Remind, Friction, CoolingOff, Hold, Hold}
	for i, w := range want {
		d := e.Decide(mkEvent(fmt.Sprintf("t%d", i), Transfer, t0.Add(time.Duration(i)*time.Hour), "c1", amount(2000), payee("scammer")))
		if d.Action != w {
			t.Fatalf("attempt %d: action %s, want %s (explanation %+v)", i+1, d.Action, w, d.Explanation)
		}
		if len(d.Shadow) != 1 || d.Shadow[0].Rule != "SHADOW_ALL" {
			t.Fatalf("shadow rule must be logged, not acted on: %+v", d.Shadow)
		}
		if i == 0 && (d.Message == nil || d.Message.ZH != "投资提醒") {
			t.Fatalf("message template not used: %+v", d.Message)
		}
		if i > 0 && d.Explanation.Escalation == "" {
			t.Fatalf("attempt %d: escalation not explained", i+1)
		}
	}
	// A different customer is not escalated.
	if d := e.Decide(mkEvent("o1", Transfer, t0, "c2", amount(2000), payee("scammer"))); d.Action != Remind {
		t.Fatalf("other customer: %s", d.Action)
	}
	// Non-money events stop at friction.
	for i := 0; i < 4; i++ {
		d := e.Decide(mkEvent(fmt.Sprintf("l%d", i), Login, t0.Add(time.Duration(i)*time.Minute), "c3", amount(2000)))
		if d.Action > Friction {
			t.Fatalf("login escalated to %s", d.Action)
		}
	}
	// Allow list caps at remind; block list wins.
	e.SetLists(NewListIndex([]*ListEntry{
		{List: AllowList, Kind: KindAccount, Value: "family"},
		{List: BlockList, Kind: KindAccount, Value: "mule"},
		{List: BlockList, Kind: KindDevice, Value: "bad-phone", ExpiresAt: ptr(t0.Add(time.Hour))},
	}))
	for i := 0; i < 4; i++ {
		d := e.Decide(mkEvent(fmt.Sprintf("f%d", i), Transfer, t0.Add(time.Duration(i)*time.Hour), "c4", amount(2000), payee("family")))
		if d.Action > Remind {
			t.Fatalf("allow-listed payee reached %s", d.Action)
		}
	}
	if d := e.Decide(mkEvent("b1", Transfer, t0, "c5", amount(10), payee("mule"))); d.Action != Block || d.Typology != "listed_entity" {
		t.Fatalf("block list: %s %q", d.Action, d.Typology)
	}
	if d := e.Decide(mkEvent("b2", Transfer, t0.Add(30*time.Minute), "c6", amount(10), payee("x"), device("bad-phone"))); d.Action != Block {
		t.Fatalf("unexpired device block: %s", d.Action)
	}
	if d := e.Decide(mkEvent("b3", Transfer, t0.Add(2*time.Hour), "c6", amount(10), payee("x"), device("bad-phone"))); d.Action == Block {
		t.Fatal("expired entry still blocks")
	}
}

func ptr[T any](v T) *T { return &v }

func TestReasonsCarryValues(t *testing.T) {
	e := NewEngine(mustRuleset(t, ladderPack))
	d := e.Decide(mkEvent("t", Transfer, t0, "c1", amount(2000), payee("p")))
	if len(d.Reasons) != 1 || d.Reasons[0].Values["event.amount"] != 2000.0 || !strings.Contains(d.Reasons[0].Detail, "event.amount=2000") {
		t.Fatalf("reason values: %+v", d.Reasons)
	}
}

func TestPackErrors(t *testing.T) {
	tests := []struct {
		name, src, field, reason string
	}{
		{"empty", "", "pack", "empty"},
		{"yaml", "pack: [", "yaml", ""},
		{"unknown field", "pack: x\nbogus: 1\n", "yaml", "bogus"},
		{"bad feature", strings.Replace(ladderPack, "event.amount >= 1000", "event.amont >= 1000", 1), "rules[0](BIG_NEW).when", "amont"},
		{"not bool", strings.Replace(ladderPack, "event.amount >= 1000", "event.amount + 1", 1), "rules[0](BIG_NEW).when", "bool"},
		{"bad node", strings.Replace(ladderPack, "[transfer, payee_add, login]", "[transfer, teleport]", 1), "rules[0](BIG_NEW).nodes", "teleport"},
		{"bad action", strings.Replace(ladderPack, "action: remind", "action: nag", 1), "rules[0](BIG_NEW).action", "nag"},
		{"dup id", strings.Replace(ladderPack, "id: SHADOW_ALL", "id: BIG_NEW", 1), "rules[1](BIG_NEW).id", "duplicates"},
		{"bad mode", strings.Replace(ladderPack, "mode: shadow", "mode: sometimes", 1), "rules[1](SHADOW_ALL).mode", ""},
		{"score", strings.Replace(ladderPack, "score: 0.1", "score: 1.5", 1), "rules[0](BIG_NEW).score", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePack([]byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			found := false
			for _, f := range xiaobao.ErrorFields(err) {
				if f.Field == tc.field && strings.Contains(f.Reason, tc.reason) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want field %q with %q, got %v", tc.field, tc.reason, xiaobao.ErrorFields(err))
			}
		})
	}
	// Positions are reported for expression errors.
	_, err := ParsePack([]byte(strings.Replace(ladderPack, "event.amount >= 1000", "event.amount >= ", 1)))
	if fe := xiaobao.ErrorFields(err); len(fe) == 0 || !strings.Contains(fe[0].Reason, "(1:") {
		t.Fatalf("expression error without position: %v", fe)
	}
}

// randomHistory makes a reproducible stream of varied events.
func randomHistory(seed uint64, n int) []*Event {
	r := rand.New(rand.NewPCG(seed, 1))
	types := []EventType{Login, Transfer, Transfer, Payment, Withdrawal, PayeeAdd, LoanApply, LoanPayout, Repayment, DeviceChange, PhoneChange}
	evs := make([]*Event, n)
	at := t0
	for i := range evs {
		at = at.Add(time.Duration(r.IntN(300)) * time.Second)
		typ := types[r.IntN(len(types))]
		opts := []evOpt{device(fmt.Sprintf("d%d", r.IntN(400))), ip(fmt.Sprintf("10.0.%d.%d", r.IntN(4), r.IntN(50))), age(18 + r.IntN(70))}
		if typ.NeedsAmount() {
			opts = append(opts, amount(int64(1+r.IntN(20)*r.IntN(1000))))
		}
		if typ.NeedsCounterparty() {
			opts = append(opts, payee(fmt.Sprintf("p%d", r.IntN(300))))
		}
		evs[i] = mkEvent(fmt.Sprintf("e%d", i), typ, at, fmt.Sprintf("c%d", r.IntN(500)), opts...)
	}
	return evs
}

func TestSnapshotAndReplayReproduceState(t *testing.T) {
	rs := mustRuleset(t, ladderPack)
	evs := randomHistory(7, 20000)
	live := NewEngine(rs)
	decisions := make([]*Decision, len(evs))
	for i, ev := range evs[:15000] {
		decisions[i] = live.Decide(ev)
	}
	// Replay with Apply gives byte-identical state.
	replayed := NewEngine(rs)
	for i, ev := range evs[:15000] {
		replayed.Apply(ev, decisions[i].Action, decisions[i].Typology)
	}
	a, _ := live.State().MarshalBinary()
	b, _ := replayed.State().MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("replayed state differs from live state")
	}
	// A snapshot restores the same state, and decisions continue identically.
	restored := NewEngine(rs)
	if err := restored.State().UnmarshalBinary(a); err != nil {
		t.Fatal(err)
	}
	c, _ := restored.State().MarshalBinary()
	if !bytes.Equal(a, c) {
		t.Fatal("snapshot round trip changed the state")
	}
	for _, ev := range evs[15000:] {
		d1, d2 := live.Decide(ev), restored.Decide(ev)
		if d1.Action != d2.Action || d1.Score != d2.Score || len(d1.Reasons) != len(d2.Reasons) {
			t.Fatalf("event %s decided differently after restore: %s/%v vs %s/%v", ev.ID, d1.Action, d1.Score, d2.Action, d2.Score)
		}
	}
	// Corrupt snapshots are refused, not half-loaded.
	a[len(a)/2] ^= 0xff
	if err := NewState().UnmarshalBinary(a); err == nil {
		t.Fatal("corrupt snapshot accepted")
	}
}

func TestLabelsFeedFeatures(t *testing.T) {
	e := NewEngine(nil)
	sub := LabelSubject{CustomerID: "v1", Account: "mule", DeviceID: "d9", At: t0.Unix()}
	e.State().Label(sub, OutcomeConfirmedFraud, +1)
	env := e.Features(mkEvent("x", Transfer, t0.Add(time.Hour), "c2", amount(100), payee("mule")))
	if !env.Payee.IsReported || env.Payee.Reported != 1 {
		t.Fatalf("reported payee not seen: %+v", env.Payee)
	}
	e.State().Label(sub, OutcomeConfirmedFraud, -1)
	e.State().Label(sub, OutcomeFalseAlarm, +1)
	env = e.Features(mkEvent("y", Transfer, t0.Add(2*time.Hour), "c2", amount(100), payee("mule")))
	if env.Payee.IsReported || env.Payee.FalseAlarms != 1 {
		t.Fatalf("taken-back label still counted: %+v", env.Payee)
	}
}

func TestHourRing(t *testing.T) {
	var r hourRing
	base := stamp(t0.Unix())
	for i := uint32(0); i < 30; i++ {
		r.add(base + i*unitHour) // one an hour for 30 hours
		r.add(base + i*unitHour + 60)
	}
	now := base + 29*unitHour
	if h, d := r.counts(now); h != 2 || d != 48 {
		t.Fatalf("counts: hour %d day %d, want 2 and 48", h, d)
	}
	r.add(now - 3*unitHour) // late event inside the ring
	if _, d := r.counts(now); d != 49 {
		t.Fatalf("late event not counted: %d", d)
	}
	r.add(now - 30*unitHour) // too old to count
	if _, d := r.counts(now); d != 49 {
		t.Fatalf("too-old event counted: %d", d)
	}
	if h, d := r.counts(now + 30*unitHour); h != 0 || d != 0 {
		t.Fatalf("a day later: %d %d", h, d)
	}
	r.add(now + 100*unitHour)
	if h, d := r.counts(now + 100*unitHour); h != 1 || d != 1 {
		t.Fatalf("after a long gap: %d %d", h, d)
	}
}
