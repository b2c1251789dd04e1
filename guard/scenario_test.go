package guard_test

// A small builder for realistic event sequences: people with an ordinary
// life (logins, shop payments, rent, family transfers, repayments) over
// weeks, then the events of a scam or of a legitimate look-alike. Events are
// collected first and decided in time order by a fresh engine with the
// built-in pack, so several people can act in the same world (mule fan-in,
// device farms).

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// scCST is China Standard Time, the offset every scenario event is sent with.
var scCST = time.FixedZone("CST", 8*3600)

// scBase is "today" in scenarios: Tuesday 10 March 2026, 00:00 +08:00.
var scBase = time.Date(2026, 3, 10, 0, 0, 0, 0, scCST)

// scAt returns the local time hh:mm on day (0 = scBase, negative = before).
func scAt(day int, hm string) time.Time {
	var h, m int
	if _, err := fmt.Sscanf(hm, "%d:%d", &h, &m); err != nil {
		panic("bad time " + hm)
	}
	return scBase.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// scAcct is a counterparty account.
type scAcct struct{ Account, Name string }

// scMerchants are shops everybody pays: their fan-in is huge and harmless.
var scMerchants = []scAcct{
	{"M-meituan", "美团外卖"}, {"M-jd", "京东商城"}, {"M-didi", "滴滴出行"},
	{"M-711", "7-ELEVEn便利店"}, {"M-pdd", "拼多多"}, {"M-taobao", "淘宝"},
	{"M-hema", "盒马鲜生"}, {"M-metro", "地铁出行"}, {"M-luckin", "瑞幸咖啡"},
	{"M-yonghui", "永辉超市"},
}

var scSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"}
var scGiven = []string{"秀英", "建国", "丽", "强", "敏", "静", "磊", "洋", "军", "芳", "海燕", "志明"}

// scPerson is a customer with habits.
type scPerson struct {
	ID, Phone, IDNo string
	Age             int
	Reg             time.Time
	Device, IP      string
	Family          []scAcct // people they send money to, known from their history
	Rent            *scAcct  // landlord paid on the 1st, if any
	RentAmt         float64
	OwnCard         scAcct     // their own card at another bank
	Withdraws       bool       // withdraws to the own card on the 20th
	RepayDay        int        // day of month they repay a loan, 0 if none
	RepayAmt        float64    // monthly instalment
	Spend           [2]float64 // shop payment range, yuan
	FamilyAmt       [2]float64 // family transfer range, yuan (rounded to 100)
	shops           []scAcct
	rng             *rand.Rand
}

// scItem is one planned event (or a hook run on the engine at a time).
type scItem struct {
	at    time.Time
	ev    *guard.Event
	tag   string
	quiet bool // ordinary life: must be allowed
	hook  func(*guard.Engine)
	n     int
}

// scWorld collects planned events.
type scWorld struct {
	items []*scItem
	seq   int
}

func scNewWorld() *scWorld { return &scWorld{} }

func scHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// person makes a customer aged age, registered three years ago, with their
// own phone, home IP, two or three family members and a few favourite shops.
func (w *scWorld) person(id string, age int) *scPerson {
	r := rand.New(rand.NewPCG(scHash(id), 20260310))
	p := &scPerson{
		ID:        id,
		Phone:     fmt.Sprintf("1%010d", scHash(id+"phone")%1e10),
		Age:       age,
		Reg:       scBase.AddDate(-3, 0, -r.IntN(300)),
		Device:    "dev-" + id,
		IP:        fmt.Sprintf("10.%d.%d.%d", r.IntN(250), r.IntN(250), 1+r.IntN(250)),
		OwnCard:   scAcct{"6222-own-" + id, "本人"},
		Spend:     [2]float64{15, 180},
		FamilyAmt: [2]float64{300, 1500},
		rng:       r,
	}
	for i := 0; i < 2+r.IntN(2); i++ {
		name := scSurnames[r.IntN(len(scSurnames))] + scGiven[r.IntN(len(scGiven))]
		p.Family = append(p.Family, scAcct{fmt.Sprintf("6217-fam-%s-%d", id, i), name})
	}
	perm := r.Perm(len(scMerchants))
	for _, i := range perm[:4+r.IntN(3)] {
		p.shops = append(p.shops, scMerchants[i])
	}
	return p
}

// scEv is a planned event under construction.
type scEv struct{ it *scItem }

func (w *scWorld) add(it *scItem) {
	w.seq++
	it.n = w.seq
	w.items = append(w.items, it)
}

// ev plans an event of p at local time at, from p's own device and IP.
func (w *scWorld) ev(p *scPerson, at time.Time, typ guard.EventType) scEv {
	ev := &guard.Event{
		ID:         fmt.Sprintf("ev-%s-%d", p.ID, w.seq+1),
		Type:       typ,
		OccurredAt: at.UTC(),
		Offset:     8 * 3600,
		Customer:   guard.Customer{ID: p.ID, Age: p.Age, RegisteredAt: p.Reg.UTC(), Phone: p.Phone, IDNumber: p.IDNo},
		Device:     guard.Device{ID: p.Device, IP: p.IP},
		Currency:   "CNY",
	}
	it := &scItem{at: at, ev: ev}
	w.add(it)
	return scEv{it}
}

func (e scEv) to(a scAcct) scEv {
	e.it.ev.Counterparty = guard.Counterparty{Account: a.Account, Name: a.Name}
	return e
}

func (e scEv) amt(yuan float64) scEv {
	e.it.ev.Amount = xiaobao.Money(math.Round(yuan * 100))
	e.it.ev.HasAmount = true
	return e
}

func (e scEv) memo(m string) scEv { e.it.ev.Memo = m; return e }
func (e scEv) dev(id string) scEv { e.it.ev.Device.ID = id; return e }
func (e scEv) ip(ip string) scEv  { e.it.ev.Device.IP = ip; return e }
func (e scEv) tag(t string) scEv  { e.it.tag = t; return e }
func (e scEv) quiet() scEv        { e.it.quiet = true; return e }

// transfer plans a transfer of p.
func (w *scWorld) transfer(p *scPerson, at time.Time, to scAcct, yuan float64, memo string) scEv {
	return w.ev(p, at, guard.Transfer).to(to).amt(yuan).memo(memo)
}

// pay plans a shop payment of p.
func (w *scWorld) pay(p *scPerson, at time.Time, to scAcct, yuan float64) scEv {
	return w.ev(p, at, guard.Payment).to(to).amt(yuan)
}

// hook runs f on the engine at local time at (labels, flags).
func (w *scWorld) hook(at time.Time, f func(*guard.Engine)) {
	w.add(&scItem{at: at, hook: f})
}

// list puts an entity on a list at local time at, as an analyst would.
func (w *scWorld) list(at time.Time, list guard.ListName, kind guard.EntityKind, value string) {
	e := &guard.ListEntry{List: list, Kind: kind, Value: value, Reason: "test", Source: "test", CreatedAt: at.UTC()}
	w.hook(at, func(eng *guard.Engine) { eng.SetLists(eng.Lists().With([]*guard.ListEntry{e})) })
}

func (p *scPerson) between(lo, hi float64) float64 {
	return lo + p.rng.Float64()*(hi-lo)
}

func (p *scPerson) clock(day int, fromH, toH int) time.Time {
	h := fromH + p.rng.IntN(toH-fromH)
	return scAt(day, fmt.Sprintf("%02d:%02d", h, p.rng.IntN(60)))
}

// life plans p's ordinary life on the days [from, to) relative to scBase:
// a morning login, one to three shop payments in the daytime, a family
// transfer every week, rent on the 1st, a repayment on RepayDay and a
// withdrawal to the own card on the 20th. All of it must be allowed.
func (w *scWorld) life(p *scPerson, from, to int) {
	for d := from; d < to; d++ {
		date := scBase.AddDate(0, 0, d)
		if p.rng.IntN(5) > 0 {
			w.ev(p, p.clock(d, 7, 9), guard.Login).quiet()
		}
		for i, n := 0, 1+p.rng.IntN(3); i < n; i++ {
			shop := p.shops[p.rng.IntN(len(p.shops))]
			amt := math.Round(p.between(p.Spend[0], p.Spend[1])*100) / 100
			w.pay(p, p.clock(d, 9, 22), shop, amt).quiet()
		}
		if (d-from)%7 == 3 && len(p.Family) > 0 {
			fam := p.Family[((d-from)/7)%len(p.Family)]
			amt := math.Round(p.between(p.FamilyAmt[0], p.FamilyAmt[1])/100) * 100
			w.transfer(p, p.clock(d, 10, 21), fam, amt, "").quiet()
		}
		if p.Rent != nil && date.Day() == 1 {
			w.transfer(p, scAt(d, "09:15"), *p.Rent, p.RentAmt, "房租").quiet()
		}
		if p.RepayDay != 0 && date.Day() == p.RepayDay {
			w.ev(p, scAt(d, "12:05"), guard.Repayment).amt(p.RepayAmt).quiet()
		}
		if p.Withdraws && date.Day() == 20 {
			w.ev(p, scAt(d, "18:40"), guard.Withdrawal).to(p.OwnCard).amt(math.Round(p.between(2000, 6000))).quiet()
		}
	}
}

// richLife plans an ordinary life with the irregular things honest people
// do: a first payment to a new friend, a big purchase at a shop, a late-night
// snack, a new phone, a red envelope to a relative's new account, a trip
// booked with an agency. Nothing in it is a scam; the events are not marked
// quiet, so callers measure how often Guard intervenes.
func (w *scWorld) richLife(p *scPerson, from, to int) {
	w.life(p, from, to)
	r := p.rng
	newPhone := from + r.IntN(to-from)
	for d := from; d < to; d++ {
		switch {
		case d == newPhone && r.IntN(3) == 0:
			p.Device = fmt.Sprintf("dev-%s-new", p.ID)
			w.ev(p, p.clock(d, 19, 21), guard.DeviceChange)
			w.ev(p, p.clock(d, 21, 22), guard.Login)
		case r.IntN(12) == 0: // a new friend or colleague, a few hundred yuan
			friend := scAcct{fmt.Sprintf("6217-friend-%s-%d", p.ID, d), scSurnames[r.IntN(10)] + scGiven[r.IntN(12)]}
			w.transfer(p, p.clock(d, 9, 23), friend, math.Round(p.between(30, 800)), "")
		case r.IntN(20) == 0: // a big purchase at a shop
			w.pay(p, p.clock(d, 10, 21), p.shops[r.IntN(len(p.shops))], math.Round(p.between(1500, 9000)*100)/100)
		case r.IntN(15) == 0: // a late snack or taxi
			w.pay(p, p.clock(d, 0, 4), p.shops[r.IntN(len(p.shops))], math.Round(p.between(20, 120)*100)/100)
		case r.IntN(40) == 0: // a red envelope to a relative's new account
			rel := scAcct{fmt.Sprintf("6217-rel-%s-%d", p.ID, d), scSurnames[r.IntN(10)] + scGiven[r.IntN(12)]}
			w.transfer(p, p.clock(d, 9, 21), rel, float64(200*(1+r.IntN(10))), "红包")
		case r.IntN(60) == 0: // a trip or a course booked with a company
			w.transfer(p, p.clock(d, 9, 21), scAcct{fmt.Sprintf("6217-co-%s-%d", p.ID, d), "某某旅行社有限公司"}, math.Round(p.between(2000, 15000)), "")
		}
	}
}

// scRun is the outcome of replaying a world.
type scRun struct {
	byTag map[string]*guard.Decision
	evTag map[string]*guard.Event
	all   []*guard.Decision
	quiet []bool
}

// scRuleset parses and compiles the built-in pack.
func scRuleset(t testing.TB) *guard.Ruleset {
	t.Helper()
	p, err := guard.ParsePack(guard.BuiltinPack())
	if err != nil {
		t.Fatalf("parse builtin pack: %v", err)
	}
	rs, err := guard.NewRuleset(p)
	if err != nil {
		t.Fatalf("ruleset: %v", err)
	}
	return rs
}

// sorted returns the items in time order (stable for equal times).
func (w *scWorld) sorted() []*scItem {
	items := append([]*scItem(nil), w.items...)
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].at.Equal(items[j].at) {
			return items[i].at.Before(items[j].at)
		}
		return items[i].n < items[j].n
	})
	return items
}

// replay decides every event in time order with rs; it does not assert.
func (w *scWorld) replay(t testing.TB, rs *guard.Ruleset) *scRun {
	t.Helper()
	eng := guard.NewEngine(rs)
	eng.OnRuleError = func(rule string, err error) { t.Errorf("rule %s failed: %v", rule, err) }
	r := &scRun{byTag: map[string]*guard.Decision{}, evTag: map[string]*guard.Event{}}
	for _, it := range w.sorted() {
		if it.hook != nil {
			it.hook(eng)
			continue
		}
		d := eng.Decide(it.ev)
		r.all = append(r.all, d)
		r.quiet = append(r.quiet, it.quiet)
		if it.tag != "" {
			if _, dup := r.byTag[it.tag]; dup {
				t.Fatalf("duplicate tag %q", it.tag)
			}
			r.byTag[it.tag] = d
			r.evTag[it.tag] = it.ev
		}
	}
	return r
}

// run replays w with the built-in pack and asserts that ordinary life is
// allowed throughout.
func (w *scWorld) run(t *testing.T) *scRun {
	t.Helper()
	r := w.replay(t, scRuleset(t))
	bad := 0
	for i, d := range r.all {
		if r.quiet[i] && d.Action != guard.Allow {
			bad++
			if bad <= 5 {
				t.Errorf("ordinary event %s of %s (%s) was %s, want allow:\n%s", d.EventID, d.CustomerID, d.EventType, d.Action, scExplain(d))
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d ordinary events were not allowed in all", bad)
	}
	return r
}

// scExplain renders a decision for failure messages.
func scExplain(d *guard.Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s %s at %s: action=%s score=%.3f typology=%q\n", d.EventType, d.EventID,
		d.OccurredAt.In(scCST).Format("01-02 15:04"), d.Action, d.Score, d.Typology)
	for _, r := range d.Reasons {
		fmt.Fprintf(&b, "    fired %s (%s, %.2f, %s): %s\n", r.Rule, r.Action, r.Score, r.Typology, r.Detail)
	}
	for _, r := range d.Shadow {
		fmt.Fprintf(&b, "    shadow %s (%s): %s\n", r.Rule, r.Action, r.Detail)
	}
	if x := d.Explanation; x != nil {
		if x.Escalation != "" {
			fmt.Fprintf(&b, "    escalation: %s\n", x.Escalation)
		}
		if x.Cap != "" {
			fmt.Fprintf(&b, "    cap: %s\n", x.Cap)
		}
	}
	return b.String()
}

// get returns the decision of a tagged event.
func (r *scRun) get(t *testing.T, tag string) *guard.Decision {
	t.Helper()
	d, ok := r.byTag[tag]
	if !ok {
		t.Fatalf("no event tagged %q", tag)
	}
	return d
}

// expect asserts that the tagged event reached at least step min, named
// typology, showed a message, and that every reason carries the values that
// made it fire.
func (r *scRun) expect(t *testing.T, tag string, min guard.Action, typology string) *guard.Decision {
	t.Helper()
	d := r.get(t, tag)
	if d.Action < min {
		t.Errorf("%s: action %s, want at least %s\n%s", tag, d.Action, min, scExplain(d))
	}
	if typology != "" && d.Typology != typology {
		t.Errorf("%s: typology %q, want %q\n%s", tag, d.Typology, typology, scExplain(d))
	}
	if d.Action > guard.Allow && (d.Message == nil || d.Message.ZH == "" || d.Message.EN == "") {
		t.Errorf("%s: %s without a customer message", tag, d.Action)
	}
	if len(d.Reasons) == 0 {
		t.Errorf("%s: no reasons", tag)
	}
	for _, rs := range d.Reasons {
		if len(rs.Values) == 0 || rs.Detail == "" {
			t.Errorf("%s: reason %s carries no values", tag, rs.Rule)
		}
	}
	if testing.Verbose() {
		t.Logf("%s:\n%s", tag, scExplain(d))
	}
	return d
}

// atMost asserts that the tagged event stayed at or below step max.
func (r *scRun) atMost(t *testing.T, tag string, max guard.Action) *guard.Decision {
	t.Helper()
	d := r.get(t, tag)
	if d.Action > max {
		t.Errorf("%s: action %s, want at most %s\n%s", tag, d.Action, max, scExplain(d))
	} else if testing.Verbose() {
		t.Logf("%s:\n%s", tag, scExplain(d))
	}
	return d
}

// exactly asserts the step of the tagged event.
func (r *scRun) exactly(t *testing.T, tag string, want guard.Action) *guard.Decision {
	t.Helper()
	d := r.get(t, tag)
	if d.Action != want {
		t.Errorf("%s: action %s, want %s\n%s", tag, d.Action, want, scExplain(d))
	} else if testing.Verbose() {
		t.Logf("%s:\n%s", tag, scExplain(d))
	}
	return d
}
