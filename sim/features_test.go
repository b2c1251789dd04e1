package sim

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
)

// These tests run the simulated stream through Guard's own feature
// computation (guard.Engine.Features), to check that the scenarios exercise
// what Guard's rules read. TestGuardSeesScenarios asserts it; the
// TestExplore ones print tables for rule authors (SIM_EXPLORE=1).

// featureStats accumulates how often a feature condition holds for a group
// of events.
type featureStats struct {
	n    int
	hits map[string]int
}

func TestExploreFeatures(t *testing.T) {
	if os.Getenv("SIM_EXPLORE") == "" {
		t.Skip("set SIM_EXPLORE=1")
	}
	e := guard.NewEngine(nil)
	groups := map[string]*featureStats{}
	conds := []struct {
		name string
		f    func(env *guard.Env) bool
	}{
		{"payee.is_new", func(v *guard.Env) bool { return v.Payee.IsNew }},
		{"amount_to_avg>5", func(v *guard.Env) bool { return v.Customer.AmountToAvg > 5 }},
		{"amount_to_max>2", func(v *guard.Env) bool { return v.Customer.AmountToMax > 2 }},
		{"payers_24h>=3", func(v *guard.Env) bool { return v.Payee.Payers24h >= 3 }},
		{"payers_7d>=3", func(v *guard.Env) bool { return v.Payee.Payers7d >= 3 }},
		{"dev.new", func(v *guard.Env) bool { return v.Device.NewForCustomer }},
		{"h_dev_chg<24", func(v *guard.Env) bool { return v.Customer.HoursSinceDeviceChange < 24 }},
		{"h_phone_chg<24", func(v *guard.Env) bool { return v.Customer.HoursSincePhoneChange < 24 }},
		{"dev.cust24h>=5", func(v *guard.Env) bool { return v.Device.Customers24h >= 5 }},
		{"ip.cust24h>=5", func(v *guard.Env) bool { return v.IP.Customers24h >= 5 }},
		{"night", func(v *guard.Env) bool { return v.Event.Night }},
		{"nightround7d>=3", func(v *guard.Env) bool { return v.Customer.NightRoundOut7d >= 3 }},
		{"memo.any", func(v *guard.Env) bool { return v.Memo.Any }},
		{"new_payees_24h>=2", func(v *guard.Env) bool { return v.Customer.NewPayees24h >= 2 }},
		{"h_payout<24", func(v *guard.Env) bool { return v.Customer.HoursSinceLoanPayout < 24 }},
		{"elderly", func(v *guard.Env) bool { return v.Customer.Elderly }},
		{"young", func(v *guard.Env) bool { return v.Customer.Young }},
		{"new_customer", func(v *guard.Env) bool { return v.Customer.NewCustomer }},
		{"out_sum_1h>=10k", func(v *guard.Env) bool { return v.Customer.OutSum1h >= 10000 }},
	}
	s := New(Config{Seed: 1, Customers: 20000, Days: 30, ScamRate: 20, LookalikeRate: 5, QuietDays: 7})
	for {
		it, ok := s.Next()
		if !ok {
			break
		}
		ev, err := guard.DecodeEvent(it.Event)
		if err != nil {
			t.Fatal(err)
		}
		env := e.Features(ev)
		if !ev.Type.Outflow() && ev.Type != guard.LoanApply {
			continue
		}
		if ev.OccurredAt.Unix() < s.start+7*day {
			continue
		}
		l := it.Label
		g := "normal/" + string(ev.Type)
		switch {
		case l.Role == RoleLookalike:
			g = "look/" + l.Stage + "/" + string(ev.Type)
		case l.ScamID != "":
			g = l.Typology + "/" + string(ev.Type)
		}
		st := groups[g]
		if st == nil {
			st = &featureStats{hits: map[string]int{}}
			groups[g] = st
		}
		st.n++
		for _, c := range conds {
			if c.f(&env) {
				st.hits[c.name]++
			}
		}
	}
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	fmt.Printf("%-44s %7s", "group", "n")
	for _, c := range conds {
		fmt.Printf(" %s", c.name)
	}
	fmt.Println()
	for _, g := range names {
		st := groups[g]
		fmt.Printf("%-44s %7d", g, st.n)
		for _, c := range conds {
			fmt.Printf(" %*.0f%%", len(c.name)-1, 100*float64(st.hits[c.name])/float64(st.n))
		}
		fmt.Println()
	}
}

// TestExploreRepeatPayees measures how often Guard calls a payee new that
// the customer paid before within 90 days (payee memory evicted).
func TestExploreRepeatPayees(t *testing.T) {
	if os.Getenv("SIM_EXPLORE") == "" {
		t.Skip("set SIM_EXPLORE=1")
	}
	e := guard.NewEngine(nil)
	s := New(Config{Seed: 2, Customers: 5000, Days: 80, ScamRate: -1, LookalikeRate: -1})
	seen := map[[2]string]int64{}
	var repeats, newAgain int
	byStage := map[string][2]int{}
	for {
		it, ok := s.Next()
		if !ok {
			break
		}
		ev, _ := guard.DecodeEvent(it.Event)
		env := e.Features(ev)
		if !ev.Type.Outflow() {
			continue
		}
		k := [2]string{ev.Customer.ID, ev.Counterparty.Account}
		if last, ok := seen[k]; ok && ev.OccurredAt.Unix()-last < 85*86400 && (it.Label.Stage == "rent" || it.Label.Stage == "family") {
			repeats++
			c := byStage[it.Label.Stage]
			c[0]++
			if env.Payee.IsNew {
				newAgain++
				c[1]++
			}
			byStage[it.Label.Stage] = c
		}
		if _, ok := seen[k]; !ok {
			seen[k] = ev.OccurredAt.Unix()
		}
	}
	fmt.Printf("rent/family transfers to a payee paid before: %d, called new by Guard: %d (%v)\n", repeats, newAgain, byStage)
}

// BenchmarkGuardFeatures feeds simulated events through Guard's decoder and
// feature computation: what a realistic stream costs Guard.
func BenchmarkGuardFeatures(b *testing.B) {
	s := New(Config{Seed: 1, Customers: 20000, Days: 3650})
	items := make([][]byte, 0, b.N)
	for range b.N {
		it, _ := s.Next()
		items = append(items, it.Event)
	}
	e := guard.NewEngine(nil)
	b.ResetTimer()
	for _, raw := range items {
		ev, err := guard.DecodeEvent(raw)
		if err != nil {
			b.Fatal(err)
		}
		e.Features(ev)
	}
}

func TestGuardSeesScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Guard's features over 300k events")
	}
	e := guard.NewEngine(nil)
	n := map[string]int{}
	hit := map[string]int{}
	checks := map[string]struct {
		match func(l Label, ev *guard.Event) bool
		cond  func(v *guard.Env) bool
		min   float64
	}{
		"takeover cash-out follows a device or phone change": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TAccountTakeover && ev.Type.Outflow() },
			func(v *guard.Env) bool {
				return v.Customer.HoursSinceDeviceChange < 24 || v.Customer.HoursSincePhoneChange < 24
			}, 0.95},
		"takeover starts on a device new to the customer": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TAccountTakeover && ev.Type == guard.Login },
			func(v *guard.Env) bool { return v.Device.NewForCustomer }, 0.95},
		"mule collections show fan-in": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TMule && l.Stage == "collect" },
			func(v *guard.Env) bool { return v.Payee.Payers7d >= 3 }, 0.5},
		"farm loans come from a shared device or IP": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TDeviceFarm && ev.Type == guard.LoanApply },
			func(v *guard.Env) bool { return v.Device.Customers24h >= 5 || v.IP.Customers24h >= 5 }, 0.5},
		"farm accounts are new": {
			func(l Label, ev *guard.Event) bool { return l.Role == RoleFarm },
			func(v *guard.Env) bool { return v.Customer.NewCustomer }, 1},
		"gamblers repeat night-time round transfers": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TGambling && l.Stage == "bet" },
			func(v *guard.Env) bool { return v.Customer.NightRoundOut7d >= 3 }, 0.4},
		"police victims move large sums within the hour": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TPolice && ev.Type == guard.Transfer },
			func(v *guard.Env) bool { return v.Customer.OutSum1h >= 10000 }, 0.8},
		"police scripts leave words in memos": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TPolice && ev.Type == guard.Transfer },
			func(v *guard.Env) bool { return v.Memo.SafeAccount || v.Memo.Police }, 0.5},
		"customer-service victims are young": {
			func(l Label, ev *guard.Event) bool { return l.Typology == TImpersonatedCS && ev.Type == guard.Transfer },
			func(v *guard.Env) bool { return v.Customer.Young }, 0.6},
		"brushing memos give the script away": {
			func(l Label, ev *guard.Event) bool {
				return l.Typology == TBrushing && ev.Memo != "" && ev.Memo != "货款"
			},
			func(v *guard.Env) bool { return v.Memo.Rebate }, 1},
		"house deposits are new payees far above the average": {
			func(l Label, ev *guard.Event) bool { return l.Stage == LHouseDeposit && ev.Type == guard.Transfer },
			func(v *guard.Env) bool { return v.Payee.IsNew && v.Customer.AmountToAvg > 5 }, 0.9},
		"a new phone is a device change": {
			func(l Label, ev *guard.Event) bool { return l.Stage == LNewPhone && ev.Type == guard.Login },
			func(v *guard.Env) bool { return v.Customer.HoursSinceDeviceChange < 24 }, 0.9},
		"family-night transfers are night-time and round": {
			func(l Label, ev *guard.Event) bool { return l.Stage == LFamilyNight },
			func(v *guard.Env) bool { return v.Event.Night && v.Event.Round }, 1},
		"legitimate memos carry no scam words": {
			func(l Label, ev *guard.Event) bool { return l.ScamID == "" && ev.Memo != "" },
			func(v *guard.Env) bool { return !v.Memo.Any }, 1},
	}
	s := New(Config{Seed: 4, Customers: 5000, Days: 21, ScamRate: 60, LookalikeRate: 20, QuietDays: 3})
	for {
		it, ok := s.Next()
		if !ok {
			break
		}
		ev, err := guard.DecodeEvent(it.Event)
		if err != nil {
			t.Fatal(err)
		}
		env := e.Features(ev)
		for name, c := range checks {
			if c.match(it.Label, ev) {
				n[name]++
				if c.cond(&env) {
					hit[name]++
				}
			}
		}
	}
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := checks[name]
		f := float64(hit[name]) / float64(max(n[name], 1))
		t.Logf("%-55s %5d events, %5.1f%%", name, n[name], 100*f)
		if n[name] < 10 || f < c.min {
			t.Errorf("%s: %d of %d events (want %.0f%%)", name, hit[name], n[name], 100*c.min)
		}
	}
}
