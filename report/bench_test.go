package report

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// yearOfHistory fills a rollup with a year of simulated decisions: perDay
// decisions a day over 16 typologies and every journey node, about 3% of
// them interventions, with outcomes on the holds and blocks.
func yearOfHistory(b *testing.B, perDay int) *Rollup {
	b.Helper()
	r := New(Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	typs := []string{"refund_scam", "fake_investment", "impersonated_police", "impersonated_customer_service", "brushing_part_time",
		"fake_loan", "credit_repair", "account_takeover", "mule_account", "device_farm", "complaint_agent", "gambling",
		"vulnerable_customer", "listed_entity", "romance", "other"}
	start := time.Date(2025, 11, 27, 0, 0, 0, 0, CST)
	batch := make([]Decision, 0, perDay)
	n := 0
	for d := range 365 {
		batch = batch[:0]
		for i := range perDay {
			t := start.AddDate(0, 0, d).Add(time.Duration(i) * 24 * time.Hour / time.Duration(perDay))
			a, typ := guard.Allow, ""
			if x := rng.IntN(100); x < 3 {
				a, typ = guard.Action(1+rng.IntN(5)), typs[rng.IntN(len(typs))]
			}
			batch = append(batch, Decision{OccurredAt: t, Node: guard.EventTypes[rng.IntN(len(guard.EventTypes))], Action: a,
				Typology: typ, Amount: xiaobao.Money(rng.Int64N(10_000_00)), CustomerID: fmt.Sprintf("c%d", rng.IntN(200_000))})
			if a >= guard.Hold {
				n++
				r.AddOutcome(Outcome{DecisionID: fmt.Sprint(n), Kind: guard.OutcomeKinds[rng.IntN(4)], Typology: typ,
					Saved: 1000, DecidedAt: t, Node: guard.Transfer})
			}
			r.ObserveLatency(t, time.Duration(rng.IntN(5000))*time.Microsecond)
		}
		r.AddDecisions(batch...)
	}
	return r
}

// BenchmarkSummarizeYear is the dashboard's request on a year of history
// (20,000 decisions a day, 7.3 million in all): the target is well under
// the console's one-second budget (see docs/benchmarks.md).
func BenchmarkSummarizeYear(b *testing.B) {
	r := yearOfHistory(b, 20_000)
	to := time.Date(2026, 11, 27, 0, 0, 0, 0, CST)
	for _, q := range []Query{{From: to.AddDate(-1, 0, 0), To: to, Bucket: Day}, {From: to.AddDate(0, 0, -30), To: to, Bucket: Day}} {
		b.Run(fmt.Sprintf("%ddays", int(q.To.Sub(q.From).Hours()/24)), func(b *testing.B) {
			for b.Loop() {
				s, err := r.Summarize(q)
				if err != nil || s.Totals.Decisions == 0 {
					b.Fatal(err, s.Totals)
				}
			}
		})
	}
}

// BenchmarkAddRecords is the cost the indexer's hook adds per decision.
func BenchmarkAddDecision(b *testing.B) {
	r := New(Options{})
	d := Decision{OccurredAt: time.Now(), Node: guard.Transfer, Action: guard.Remind, Typology: "refund_scam", Amount: 100, CustomerID: "c"}
	for b.Loop() {
		r.AddDecisions(d)
	}
}
