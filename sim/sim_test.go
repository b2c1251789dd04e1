package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
)

// run streams a whole simulation, decoding every event with the Guard
// decoder; it fails the test on the first event the decoder rejects.
func run(t *testing.T, cfg Config, each func(it Item, ev *guard.Event)) *Sim {
	t.Helper()
	s := New(cfg)
	for {
		it, ok := s.Next()
		if !ok {
			return s
		}
		// DecodeEvent keeps the bytes as Raw; the simulator never reuses them.
		ev, err := guard.DecodeEvent(it.Event)
		if err != nil {
			t.Fatalf("event %s is invalid: %v\n%s", it.Label.EventID, err, it.Event)
		}
		each(it, ev)
	}
}

func TestDeterminism(t *testing.T) {
	digest := func(seed uint64) ([32]byte, int) {
		s := New(Config{Seed: seed, Customers: 3000, Days: 10, ScamRate: 10, LookalikeRate: 5})
		var ev, lb bytes.Buffer
		if err := WriteNDJSON(&ev, s, 0, &lb); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		h.Write(ev.Bytes())
		h.Write(lb.Bytes())
		var d [32]byte
		copy(d[:], h.Sum(nil))
		return d, s.Emitted()
	}
	a, na := digest(42)
	b, nb := digest(42)
	if a != b || na != nb {
		t.Fatalf("two runs with the same seed differ: %d and %d events", na, nb)
	}
	if na < 50000 {
		t.Fatalf("only %d events", na)
	}
	c, _ := digest(43)
	if a == c {
		t.Fatal("different seeds gave the same output")
	}
}

func TestEventsValidAndOrdered(t *testing.T) {
	cfg := Config{Seed: 3, Customers: 5000, Days: 14, ScamRate: 10, LookalikeRate: 5}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("", 8*3600))
	end := start.AddDate(0, 0, cfg.Days)
	ids := map[string]bool{}
	var last time.Time
	types := map[guard.EventType]int{}
	n := 0
	run(t, cfg, func(it Item, ev *guard.Event) {
		n++
		if ev.ID != it.Label.EventID || !strings.HasPrefix(ev.ID, "sim-3-") {
			t.Fatalf("event id %q, label %q", ev.ID, it.Label.EventID)
		}
		if ids[ev.ID] {
			t.Fatalf("duplicate event id %s", ev.ID)
		}
		ids[ev.ID] = true
		if ev.Offset != 8*3600 {
			t.Fatalf("%s: offset %d", ev.ID, ev.Offset)
		}
		if ev.OccurredAt.Before(last) {
			t.Fatalf("%s at %v is before the previous event at %v", ev.ID, ev.OccurredAt, last)
		}
		last = ev.OccurredAt
		if ev.OccurredAt.Before(start) || !ev.OccurredAt.Before(end) {
			t.Fatalf("%s at %v is outside the period", ev.ID, ev.OccurredAt)
		}
		if ev.Customer.Age < 18 || ev.Customer.Age > 100 {
			t.Fatalf("%s: age %d", ev.ID, ev.Customer.Age)
		}
		if ev.Customer.RegisteredAt.IsZero() || ev.Customer.RegisteredAt.After(ev.OccurredAt) {
			t.Fatalf("%s: registered at %v, after the event at %v", ev.ID, ev.Customer.RegisteredAt, ev.OccurredAt)
		}
		if ev.Device.ID == "" || ev.Device.IP == "" {
			t.Fatalf("%s has no device or IP", ev.ID)
		}
		if ev.Type.NeedsAmount() && (!ev.HasAmount || ev.Amount <= 0) {
			t.Fatalf("%s: %s without an amount", ev.ID, ev.Type)
		}
		if ev.Type.NeedsCounterparty() && ev.Counterparty.Account == "" {
			t.Fatalf("%s: %s without a counterparty", ev.ID, ev.Type)
		}
		if ev.Currency != "CNY" {
			t.Fatalf("%s: currency %q", ev.ID, ev.Currency)
		}
		types[ev.Type]++
		l := it.Label
		switch l.Role {
		case RoleNormal, RoleLookalike:
			if l.ScamID != "" || l.Typology != "" || l.AtRisk != "0.00" {
				t.Fatalf("%s: legitimate event with scam label %+v", ev.ID, l)
			}
		case RoleVictim, RoleFraudster, RoleMule, RoleFarm, RoleGambler:
			if l.ScamID == "" || l.Typology == "" {
				t.Fatalf("%s: campaign event without a campaign: %+v", ev.ID, l)
			}
		default:
			t.Fatalf("%s: role %q", ev.ID, l.Role)
		}
		if _, err := strconv.ParseFloat(l.AtRisk, 64); err != nil || !strings.Contains(l.AtRisk, ".") {
			t.Fatalf("%s: at_risk %q", ev.ID, l.AtRisk)
		}
		if l.Stage == "" {
			t.Fatalf("%s: no stage", ev.ID)
		}
		// The raw document must also be plain JSON with only contract names.
		if n%97 == 0 {
			var m map[string]any
			if err := json.Unmarshal(it.Event, &m); err != nil {
				t.Fatal(err)
			}
			for k := range m {
				switch k {
				case "event_id", "type", "occurred_at", "customer", "device", "amount", "currency", "counterparty", "memo":
				default:
					t.Fatalf("%s: unknown member %q", ev.ID, k)
				}
			}
		}
	})
	for _, typ := range guard.EventTypes {
		if types[typ] == 0 {
			t.Errorf("no %s events in %d", typ, n)
		}
	}
	t.Logf("%d events: %v", n, types)
}

// campaignInfo collects what one campaign did, for the typology checks.
type campaignInfo struct {
	typology  string
	roles     map[string]int
	customers map[string]int // customer → age
	payees    map[string]map[string]bool
	devices   map[string]map[string]bool // device → customers
	ips       map[string]map[string]bool
	risk      float64
	outflows  int
	nightRnd  int
	memoHits  int
	memos     int
	first     time.Time
	last      time.Time
}

func TestTypologiesAndLookalikes(t *testing.T) {
	const days, customers, scale = 30, 10000, 40.0
	cfg := Config{Seed: 11, Customers: customers, Days: days, ScamRate: scale, LookalikeRate: 4}
	camps := map[string]*campaignInfo{}
	look := map[string]int{}
	lookEvents := map[string]int{}
	s := run(t, cfg, func(it Item, ev *guard.Event) {
		l := it.Label
		if l.Role == RoleLookalike {
			lookEvents[l.Stage]++
			return
		}
		if l.ScamID == "" {
			return
		}
		c := camps[l.ScamID]
		if c == nil {
			c = &campaignInfo{typology: l.Typology, roles: map[string]int{}, customers: map[string]int{},
				payees: map[string]map[string]bool{}, devices: map[string]map[string]bool{},
				ips: map[string]map[string]bool{}, first: ev.OccurredAt}
			camps[l.ScamID] = c
		}
		if c.typology != l.Typology {
			t.Fatalf("campaign %s has typologies %s and %s", l.ScamID, c.typology, l.Typology)
		}
		c.last = ev.OccurredAt
		c.roles[l.Role]++
		c.customers[ev.Customer.ID] = ev.Customer.Age
		add := func(m map[string]map[string]bool, k string) {
			if m[k] == nil {
				m[k] = map[string]bool{}
			}
			m[k][ev.Customer.ID] = true
		}
		add(c.devices, ev.Device.ID)
		add(c.ips, ev.Device.IP)
		r, _ := strconv.ParseFloat(l.AtRisk, 64)
		c.risk += r
		if ev.Type.Outflow() {
			c.outflows++
			add(c.payees, ev.Counterparty.Account)
			h := ev.LocalTime().Hour()
			if h < 6 && int64(ev.Amount)%10000 == 0 {
				c.nightRnd++
			}
			if ev.Memo != "" {
				c.memos++
				if strings.ContainsAny(ev.Memo, "安注刷投理保解征赔单资核") {
					c.memoHits++
				}
			}
		}
	})
	for k, v := range s.Lookalikes() {
		look[k] = v
	}

	// Rates: distinct campaigns against the configured Poisson mean.
	byTyp := map[string][]*campaignInfo{}
	for _, c := range camps {
		byTyp[c.typology] = append(byTyp[c.typology], c)
	}
	started := s.Campaigns()
	rates := DefaultRates()
	for _, typ := range Typologies() {
		want := rates[typ] * scale * customers / 100000 * days
		got := len(byTyp[typ])
		tol := 4*math.Sqrt(want) + 0.15*want + 2
		t.Logf("%-30s campaigns %4d (started %4d, expected %6.1f)", typ, got, started[typ], want)
		if math.Abs(float64(started[typ])-want) > tol {
			t.Errorf("%s: %d campaigns started, expected about %.1f", typ, started[typ], want)
		}
		if float64(got) < want-tol {
			t.Errorf("%s: %d campaigns emitted events, expected about %.1f", typ, got, want)
		}
	}
	for _, kind := range LookalikeKinds() {
		want := rates[kind] * 4 * customers / 100000 * days
		tol := 4*math.Sqrt(want) + 0.15*want + 2
		t.Logf("%-30s episodes %4d (expected %6.1f), events %d", kind, look[kind], want, lookEvents[kind])
		if math.Abs(float64(look[kind])-want) > tol || lookEvents[kind] == 0 {
			t.Errorf("look-alike %s: %d episodes, %d events, expected about %.1f episodes", kind, look[kind], lookEvents[kind], want)
		}
	}

	// The shape of each typology.
	frac := func(typ string, ok func(c *campaignInfo) bool) float64 {
		n := 0
		for _, c := range byTyp[typ] {
			if ok(c) {
				n++
			}
		}
		return float64(n) / float64(max(1, len(byTyp[typ])))
	}
	check := func(typ, what string, f, min float64) {
		t.Helper()
		if f < min {
			t.Errorf("%s: only %.0f%% of campaigns %s (want %.0f%%)", typ, 100*f, what, 100*min)
		}
	}
	ages := func(lo, hi int) func(c *campaignInfo) bool {
		return func(c *campaignInfo) bool {
			for _, a := range c.customers {
				if a < lo || a > hi {
					return false
				}
			}
			return true
		}
	}
	check(TImpersonatedCS, "have young victims", frac(TImpersonatedCS, ages(18, 26)), 1)
	check(TImpersonatedCS, "finish within two hours", frac(TImpersonatedCS, func(c *campaignInfo) bool { return c.last.Sub(c.first) < 2*time.Hour }), 1)
	check(TPolice, "have victims aged 40 or more", frac(TPolice, ages(40, 100)), 1)
	check(TPolice, "have elderly victims", frac(TPolice, ages(60, 100)), 0.5)
	check(TMule, "collect from 4+ distinct customers", frac(TMule, func(c *campaignInfo) bool {
		for _, payers := range c.payees {
			if len(payers) >= 4 {
				return true
			}
		}
		return false
	}), 0.9)
	// (A farm that started just before the end has fewer accounts.)
	check(TDeviceFarm, "share a device or an IP among 8+ accounts", frac(TDeviceFarm, func(c *campaignInfo) bool {
		for _, m := range []map[string]map[string]bool{c.devices, c.ips} {
			for _, cs := range m {
				if len(cs) >= 8 {
					return true
				}
			}
		}
		return false
	}), 0.9)
	check(TGambling, "bet round sums at night", frac(TGambling, func(c *campaignInfo) bool { return c.nightRnd > 0 }), 0.8)
	check(TGambling, "have several gamblers", frac(TGambling, func(c *campaignInfo) bool { return c.roles[RoleGambler] > 0 && len(c.customers) >= 3 }), 0.8)
	check(TAccountTakeover, "use a device of their own", frac(TAccountTakeover, func(c *campaignInfo) bool { return c.roles[RoleFraudster] > 0 }), 1)
	// A fake investment takes weeks: judge those that began early enough.
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("", 8*3600)).AddDate(0, 0, days)
	var early, earlyRisk, long int
	for _, c := range byTyp[TFakeInvestment] {
		if end.Sub(c.first) > 24*24*time.Hour {
			early++
			if c.risk > 0 {
				earlyRisk++
			}
			if c.last.Sub(c.first) > 7*24*time.Hour {
				long++
			}
		}
	}
	if early < 3 || float64(earlyRisk) < 0.8*float64(early) || float64(long) < 0.8*float64(early) {
		t.Errorf("fake investment: of %d early campaigns %d put money at risk and %d lasted a week", early, earlyRisk, long)
	}
	check(TBrushing, "go on over days", frac(TBrushing, func(c *campaignInfo) bool { return c.last.Sub(c.first) > 12*time.Hour }), 0.5)
	check(TComplaintAgent, "coach several customers", frac(TComplaintAgent, func(c *campaignInfo) bool { return len(c.customers) >= 3 }), 0.8)
	for _, typ := range Typologies() {
		if typ != TFakeInvestment {
			check(typ, "put money at risk", frac(typ, func(c *campaignInfo) bool { return c.risk > 0 }), 0.6)
		}
	}
	// Some victims stop partway, some retry: both appear.
	var oneTransfer, retries int
	for _, c := range byTyp[TImpersonatedCS] {
		if c.outflows <= 1 {
			oneTransfer++
		}
	}
	_ = retries
	if oneTransfer == 0 {
		t.Errorf("no impersonated customer service victim stopped early")
	}
}

func TestStagesAndRetries(t *testing.T) {
	stages := map[string]map[string]int{}
	run(t, Config{Seed: 5, Customers: 10000, Days: 10, ScamRate: 20, LookalikeRate: -1}, func(it Item, ev *guard.Event) {
		l := it.Label
		if l.ScamID == "" {
			if l.Role == RoleLookalike {
				t.Fatalf("look-alike with LookalikeRate < 0: %+v", l)
			}
			return
		}
		if stages[l.Typology] == nil {
			stages[l.Typology] = map[string]int{}
		}
		stages[l.Typology][l.Stage]++
	})
	for _, typ := range []string{TImpersonatedCS, TPolice, TBrushing} {
		if stages[typ]["retry"] == 0 {
			t.Errorf("%s: no retries after a warning: %v", typ, stages[typ])
		}
	}
	if stages[TBrushing]["test"] == 0 || stages[TBrushing]["escalate"] == 0 {
		t.Errorf("brushing stages: %v", stages[TBrushing])
	}
	if stages[TAccountTakeover]["takeover"] == 0 || stages[TAccountTakeover]["cashout"] == 0 {
		t.Errorf("account takeover stages: %v", stages[TAccountTakeover])
	}
}

func TestNoCampaigns(t *testing.T) {
	s := New(Config{Seed: 1, Customers: 2000, Days: 5, ScamRate: -1, LookalikeRate: -1})
	for {
		it, ok := s.Next()
		if !ok {
			break
		}
		if it.Label.Role != RoleNormal {
			t.Fatalf("unexpected %+v", it.Label)
		}
	}
	if s.Emitted() < 10000 {
		t.Fatalf("only %d events", s.Emitted())
	}
}

func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 2M events")
	}
	s := New(Config{Seed: 9, Customers: 20000, Days: 365, ScamRate: 5, LookalikeRate: 2})
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var keep []byte
	for range 200_000 {
		it, _ := s.Next()
		keep = it.Event
	}
	before := heap()
	for range 1_800_000 {
		it, ok := s.Next()
		if !ok {
			t.Fatal("the simulation ended early")
		}
		keep = it.Event
	}
	after := heap()
	runtime.KeepAlive(s)
	_ = keep
	growth := int64(after) - int64(before)
	t.Logf("heap %.1f MB after 200k events, %.1f MB after 2M (growth %.2f MB)", float64(before)/1e6, float64(after)/1e6, float64(growth)/1e6)
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d bytes while streaming 1.8M events", growth)
	}
}

func TestTimeHelpers(t *testing.T) {
	loc := time.FixedZone("", 8*3600)
	for _, tm := range []time.Time{
		time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2024, 2, 29, 23, 59, 59, 0, loc),
		time.Date(1999, 12, 31, 12, 0, 0, 0, loc), time.Date(2026, 12, 31, 16, 30, 5, 0, loc),
	} {
		got := string(appendTime(nil, tm.Unix()))
		if want := tm.Format(time.RFC3339); got != want {
			t.Errorf("appendTime: %s, want %s", got, want)
		}
		if h := localHour(tm.Unix()); h != tm.Hour() {
			t.Errorf("localHour %d, want %d", h, tm.Hour())
		}
	}
	base := time.Date(2026, 1, 31, 10, 0, 0, 0, loc).Unix()
	next := time.Unix(monthly(base, 31, 9*3600), 0).In(loc)
	if next.Format("2006-01-02 15") != "2026-02-28 09" {
		t.Errorf("monthly: %v", next)
	}
	night := time.Unix(nextLocal(base, 26*3600), 0).In(loc)
	if night.Format("2006-01-02 15") != "2026-02-01 02" {
		t.Errorf("nextLocal: %v", night)
	}
	for _, c := range []struct {
		fen  int64
		want string
	}{{0, "0.00"}, {5, "0.05"}, {123456, "1234.56"}, {100, "1.00"}} {
		if got := moneyString(c.fen); got != c.want {
			t.Errorf("money %d: %s", c.fen, got)
		}
	}
}

func TestWriteNDJSON(t *testing.T) {
	s := New(Config{Seed: 8, Customers: 1000, Days: 3})
	var ev, lb bytes.Buffer
	if err := WriteNDJSON(&ev, s, 500, &lb); err != nil {
		t.Fatal(err)
	}
	evs := strings.Split(strings.TrimSuffix(ev.String(), "\n"), "\n")
	lbs := strings.Split(strings.TrimSuffix(lb.String(), "\n"), "\n")
	if len(evs) != 500 || len(lbs) != 500 {
		t.Fatalf("%d events, %d labels", len(evs), len(lbs))
	}
	for i := range evs {
		var e struct {
			EventID string `json:"event_id"`
		}
		var l Label
		if err := json.Unmarshal([]byte(evs[i]), &e); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(lbs[i]), &l); err != nil {
			t.Fatal(err)
		}
		if e.EventID != l.EventID || l.Role == "" || l.AtRisk == "" {
			t.Fatalf("line %d: event %s, label %+v", i, e.EventID, l)
		}
	}
	// The rest of the stream continues where it stopped.
	it, _ := s.Next()
	if it.Label.EventID != "sim-8-500" {
		t.Fatalf("next event %s", it.Label.EventID)
	}
}
