package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
)

// TestQueryPlans checks that every FindDecisions filter is served by the
// index meant for it, so that a schema or query change cannot silently turn
// a lookup into a scan of every record.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	friction, allow, block := guard.Friction, guard.Allow, guard.Block
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		f    guard.DecisionFilter
		want string
	}{
		{guard.DecisionFilter{}, "SCAN records"}, // newest first by rowid, stops at the limit
		{guard.DecisionFilter{CustomerID: "c"}, "SEARCH record_keys USING PRIMARY KEY (k=?)"},
		{guard.DecisionFilter{Account: "a"}, "SEARCH record_keys USING PRIMARY KEY (k=?)"},
		{guard.DecisionFilter{DeviceID: "d"}, "SEARCH record_keys USING PRIMARY KEY (k=?)"},
		{guard.DecisionFilter{Account: "a", DeviceID: "d"}, "SEARCH record_keys USING PRIMARY KEY (k=?)"},
		// A range of actions: the index gives them out of seq order, so the
		// planner may as well walk records newest first; either is fine.
		{guard.DecisionFilter{MinAction: &friction}, "records"},
		{guard.DecisionFilter{Action: &block}, "USING INDEX records_alerts"},
		{guard.DecisionFilter{Typology: "x"}, "USING INDEX records_typology"},
		{guard.DecisionFilter{From: at, To: at.Add(time.Hour)}, "USING INDEX records_occurred_at"},
		{guard.DecisionFilter{CustomerID: "c", MinAction: &allow, BeforeSeq: 10}, "SEARCH record_keys USING PRIMARY KEY (k=? AND seq<?)"},
		{guard.DecisionFilter{BeforeSeq: 10}, "USING INTEGER PRIMARY KEY"},
	} {
		q, args := findQuery(c.f)
		rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, c.want) {
			t.Errorf("filter %+v: plan %q, want %q", c.f, got, c.want)
		}
		// An entity's records come in seq order: a sort would read every
		// record of a busy customer or payee before returning the first page.
		if strings.Contains(c.want, "record_keys") && strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("filter %+v: plan %q sorts", c.f, got)
		}
	}
}
