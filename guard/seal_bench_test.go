package guard_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/journal"
	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/vault"
)

// BenchmarkServiceSealed is Guard's durable throughput as serve runs it —
// decide, journal inline, index into SQLite in the background, all waited
// for — with personal data sealed at rest and without: the cost of
// encryption. Each op is one event; the store is new for each run.
func BenchmarkServiceSealed(b *testing.B) {
	evs := simEvents(b, 20000, 1<<17)
	for _, sealed := range []bool{false, true} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			db, err := sqlite.Open(ctx, filepath.Join(dir, "x.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			jo := journal.Options{}
			if sealed {
				m, _ := vault.GenerateMasterKey()
				v, err := vault.Open(ctx, vault.Config{Store: db, Master: m})
				if err != nil {
					b.Fatal(err)
				}
				db.SetSealer(v)
				jo.Sealer = v
			}
			j, err := journal.Open(filepath.Join(dir, "journal"), jo)
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			svc, err := guard.Open(ctx, guard.Config{Store: db, Journal: j, InlineCommit: true, SnapshotInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]*guard.Event, 0, 64)
			b.ResetTimer()
			for i := 0; i < b.N; i += len(batch) {
				batch = batch[:0]
				for k := i; k < b.N && len(batch) < cap(batch); k++ {
					ev := *evs[k%len(evs)]
					ev.ID = ev.ID + "-" + name + "-" + itoa(k/len(evs))
					batch = append(batch, &ev)
				}
				for _, r := range svc.SubmitBatch(ctx, batch) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			// Close indexes what is still queued: the store's work counts.
			if err := svc.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
