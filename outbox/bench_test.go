package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// countingSender acknowledges every message at once: the benchmark
// measures the outbox's own cost (claim, record), not a receiver's.
type countingSender struct{ n atomic.Int64 }

func (s *countingSender) Send(context.Context, outbox.Delivery) error { s.n.Add(1); return nil }

// BenchmarkDispatchSQLite measures delivering messages through the SQLite
// store: one op is one message written, claimed, sent and recorded.
func BenchmarkDispatchSQLite(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "xiaobao.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := &countingSender{}
	d, err := outbox.NewDispatcher(outbox.Config{Store: db, Senders: map[string]outbox.Sender{"payments": s},
		Clock: xiaobao.NewManualClock(t0)})
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 256
	msgs := make([]outbox.Message, 0, chunk)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := message(i, "")
		m.ID = fmt.Sprintf("msg_%d", i)
		msgs = append(msgs, m)
		if len(msgs) == chunk {
			if err := db.AppendOutbox(b.Context(), msgs); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
			if _, err := d.Dispatch(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(s.n.Load())/b.Elapsed().Seconds(), "msgs/s")
}
