package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/cases"
)

// TestCaseQueryPlans checks that the desk's work lists are served by the
// indexes of open cases: closed cases accumulate ahead of them in SLA
// order, and walking those on every "next case" would grow without bound.
func TestCaseQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	yes := true
	plan := func(q string, args ...any) string {
		t.Helper()
		rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	for _, c := range []struct {
		f    cases.Filter
		want string
	}{
		{cases.Filter{OpenOnly: true, Unassigned: true}, "USING INDEX cases_open_assignee (assignee=?)"},
		{cases.Filter{OpenOnly: true, Assignee: "amy"}, "USING INDEX cases_open_assignee (assignee=?)"},
		{cases.Filter{OpenOnly: true, Queue: "vulnerable", Unassigned: true}, "USING INDEX cases_open_"},
		{cases.Filter{OpenOnly: true}, "USING INDEX cases_open_sla"},
		{cases.Filter{Overdue: &yes, Now: now}, "USING INDEX cases_open_sla"},
		{cases.Filter{CustomerID: "c"}, "USING INDEX cases_customer (customer_id=?)"},
		{cases.Filter{}, "USING INDEX cases_sla"},
	} {
		q, args := findCasesQuery(c.f)
		if got := plan(q, args...); !strings.Contains(got, c.want) || strings.Contains(got, "SCAN cases") && strings.Contains(c.want, "=?") {
			t.Errorf("filter %+v: plan %q, want %q", c.f, got, c.want)
		}
	}
	if got := plan(sqlDueCases, 1, 10); !strings.Contains(got, "INDEX cases_due") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("due cases: plan %q", got)
	}
}
