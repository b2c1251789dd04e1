package eval

import (
	"context"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

// benchItems decodes a simulated history once: the benchmarks time the
// replay and the evaluation, not the simulator or the decoder.
func benchItems(b *testing.B) []Item {
	b.Helper()
	s := sim.New(sim.Config{Seed: 1, Customers: 20000, Days: 8, Start: time.Date(2026, 3, 1, 0, 0, 0, 0, cst)})
	var items []Item
	for {
		it, ok := s.Next()
		if !ok {
			break
		}
		ev, err := guard.DecodeEvent(it.Event)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, Item{Event: ev, Label: it.Label})
	}
	return items
}

// BenchmarkReplay is `xiaobao eval`'s speed with one pack set: the built-in
// pack deciding every event in time order, outcomes fed after their delay,
// and every figure accounted for. Run it with -cpu 1 for the one-core
// figure; compare with BenchmarkDecideOnly, the engine alone on the same
// events, to see what the evaluation adds.
func BenchmarkReplay(b *testing.B) {
	items := benchItems(b)
	rs := builtin(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Run(context.Background(), SliceSource(items), Config{Runs: []RunSpec{{Name: "builtin", Ruleset: rs}}, LabelDelay: DefaultLabelDelay}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(items)*b.N), "ns/event")
}

func BenchmarkDecideOnly(b *testing.B) {
	items := benchItems(b)
	rs := builtin(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e := guard.NewEngine(rs)
		for i := range items {
			e.Decide(items[i].Event)
		}
	}
	b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(items)*b.N), "ns/event")
}
