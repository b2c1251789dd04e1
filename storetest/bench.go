package storetest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
)

// BenchSaveRecords measures SaveRecords in batches of 1, 16 and 128
// NewRecord records (~400-byte raw event, decision with two reasons), each
// size on a fresh store from open, and reports ns/record besides ns/op, and
// cpu-ns/record: the CPU time of the whole process (every goroutine, the
// engine's background work included) per record, which other load on the
// machine disturbs less than the wall time.
func BenchSaveRecords(b *testing.B, open func(b *testing.B) Store) {
	// Build the records outside the timed loop: only fresh ids are made in
	// it, by copying one of these templates.
	templates := NewRecords(0, 1024)
	for _, size := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := open(b)
			ctx := context.Background()
			batch := make([]*guard.Record, size)
			var seq int64
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				for i := range batch {
					seq++
					batch[i] = clone(templates[seq%int64(len(templates))], seq)
				}
				if err := s.SaveRecords(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(seq), "ns/record")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(seq), "cpu-ns/record")
			}
		})
	}
}

// clone returns a copy of rec with seq and ids for seq. Raw and the decision's
// reasons are shared, which a store never changes.
func clone(rec *guard.Record, seq int64) *guard.Record {
	ev, d := *rec.Event, *rec.Decision
	s := strconv.FormatInt(seq, 10)
	ev.ID = "evt_b" + s
	d.ID, d.EventID, d.Seq = "dec_b"+s, ev.ID, seq
	return &guard.Record{Seq: seq, Event: &ev, Decision: &d}
}
