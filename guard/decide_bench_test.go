package guard_test

import (
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

// simEvents decodes n events of a simulated population, in event time.
func simEvents(tb testing.TB, customers, n int) []*guard.Event {
	tb.Helper()
	s := sim.New(sim.Config{Seed: 42, Customers: customers, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)), Days: 365})
	evs := make([]*guard.Event, 0, n)
	for len(evs) < n {
		it, ok := s.Next()
		if !ok {
			break
		}
		ev, err := guard.DecodeEvent(it.Event)
		if err != nil {
			tb.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// BenchmarkDecideBuiltin is Guard's in-process throughput: features, the
// whole built-in pack, lists and the ladder, one goroutine, on realistic
// simulated traffic (50,000 customers, events in time order). Run with
// -cpu 1 for the one-core figure; each op is one event.
func BenchmarkDecideBuiltin(b *testing.B) {
	const n = 1 << 20
	evs := simEvents(b, 50000, n)
	p, err := guard.ParsePack(guard.BuiltinPack())
	if err != nil {
		b.Fatal(err)
	}
	rs, err := guard.NewRuleset(p)
	if err != nil {
		b.Fatal(err)
	}
	e := guard.NewEngine(rs)
	// Warm up feature state with the first quarter so the measured events
	// meet customers with history, as a running server does.
	warm := len(evs) / 4
	for _, ev := range evs[:warm] {
		e.Decide(ev)
	}
	evs = evs[warm:]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%len(evs) == 0 {
			b.StopTimer()
			e = guard.NewEngine(rs) // time must not run backwards in one state
			b.StartTimer()
		}
		e.Decide(evs[i%len(evs)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
