package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/storetest"
)

func TestErasure(t *testing.T) {
	storetest.ExerciseErasure(t, func(t *testing.T) storetest.ErasureStore { return open(t) })
}

// TestErasureSealedAtRest reads the erasure's tables directly: with a key,
// the restricted records and the erasure itself name the customer only
// by blind index and sealed values.
func TestErasureSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t)
	db.SetSealer(newVault(t, db))
	if err := db.SaveRecords(ctx, storetest.NewRecords(1, 14)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	req := &privacy.Request{ID: "dsr_at_rest", CustomerID: "cus_1", Kind: privacy.KindDeletion, Status: privacy.StatusInProgress}
	e, _, err := privacy.NewErasure(req, privacy.DefaultPolicy(), 14, "key:k", at)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := db.Erase(ctx, e)
	if err != nil || rep.Run.Restricted != 2 {
		t.Fatalf("Erase = %+v, %v", rep, err)
	}
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`SELECT request_id || customer_key || decision_id || event_id || decision || CAST(raw AS TEXT) FROM restricted_records`,
		`SELECT request_id || customer_key || customer_sealed FROM erasures`,
		`SELECT request_id || category || customer_key FROM erasure_restrictions`,
	} {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			n++
			if strings.Contains(s, "cus_1") || strings.Contains(s, "13800138000") {
				t.Errorf("%s: a row names the customer: %.200s", q, s)
			}
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s: no rows, the check could not fail", q)
		}
	}
	got, err := db.RestrictedRecords(ctx, privacy.RestrictedFilter{CustomerID: "cus_1"})
	if err != nil || len(got) != 2 || got[0].Decision.CustomerID != "cus_1" {
		t.Errorf("RestrictedRecords = %d, %v", len(got), err)
	}
}
