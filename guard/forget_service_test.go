package guard_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/journal"
)

// TestServiceForget checks, with the journal and without, that Forget
// returns once the store holds every decision made before, and leaves a
// snapshot without the customer that a restart starts from.
func TestServiceForget(t *testing.T) {
	for _, withJournal := range []bool{false, true} {
		t.Run(fmt.Sprintf("journal=%v", withJournal), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			db := openStore(t, dir)
			cfg := guard.Config{Store: db, SnapshotInterval: -1}
			if withJournal {
				j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
				if err != nil {
					t.Fatal(err)
				}
				cfg.Journal, cfg.InlineCommit = j, true
			}
			s, err := guard.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var last *guard.Decision
			for i := range 6 {
				customer := []string{"cus-gone", "cus-stays"}[i%2]
				d, _, err := s.Submit(ctx, event(t, fmt.Sprintf("f-%d", i), "payment", customer, base.Add(time.Duration(i)*time.Second), "12.50", "term-1", ""))
				if err != nil {
					t.Fatal(err)
				}
				last = d
			}
			seq, err := s.Forget(ctx, "cus-gone")
			if err != nil {
				t.Fatal(err)
			}
			if seq != last.Seq {
				t.Errorf("Forget returned seq %d, want the last decision's %d", seq, last.Seq)
			}
			// The store holds every record up to seq now, not later.
			recs, err := db.FindDecisions(ctx, guard.DecisionFilter{CustomerID: "cus-gone"})
			if err != nil || len(recs) != 3 {
				t.Errorf("stored records of the customer when Forget returned: %d, %v", len(recs), err)
			}
			if s.KnowsCustomer("cus-gone") || !s.KnowsCustomer("cus-stays") {
				t.Error("feature state after Forget")
			}
			snapSeq, _, err := db.LoadSnapshot(ctx)
			if err != nil || snapSeq != seq {
				t.Errorf("snapshot at seq %d, %v; want %d", snapSeq, err, seq)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// A restart starts from that snapshot: nothing brings them back.
			cfg.Journal, cfg.InlineCommit = nil, false
			s2, err := guard.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if s2.KnowsCustomer("cus-gone") || !s2.KnowsCustomer("cus-stays") {
				t.Error("feature state after a restart")
			}
		})
	}
}
