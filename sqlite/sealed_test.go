package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/storetest"
	"github.com/xiaobao-org/xiaobao/vault"
)

// newVault returns a vault over the store's own key table.
func newVault(tb testing.TB, ks vault.KeyStore) *vault.Vault {
	tb.Helper()
	m, _ := vault.GenerateMasterKey()
	v, err := vault.Open(context.Background(), vault.Config{Store: ks, Master: m})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestStoreSealed runs the conformance suite with raw events sealed and
// accounts kept as blind indexes: everything reads back the same.
func TestStoreSealed(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		db := open(t)
		db.SetSealer(newVault(t, db))
		return db
	})
}

// TestSealedAtRest reads the database file's tables directly, as someone
// holding a copy of it would: no raw event, account or name is there.
func TestSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t)
	db.SetSealer(newVault(t, db))
	recs := storetest.NewRecords(1, 20)
	if err := db.SaveRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT raw, coalesce(account, '') FROM records UNION ALL SELECT k, '' FROM record_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stored [][]byte
	for rows.Next() {
		var b []byte
		var a string
		if err := rows.Scan(&b, &a); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, b, []byte(a))
	}
	for _, r := range recs {
		for _, secret := range []string{r.Event.Counterparty.Account, r.Event.Counterparty.Name, string(r.Event.Raw[:40])} {
			if secret == "" {
				continue
			}
			for _, b := range stored {
				if bytes.Contains(b, []byte(secret)) {
					t.Fatalf("%q is stored in the clear: %q", secret, b)
				}
			}
		}
	}
	// And the store still finds by account and reads the event back.
	acct := recs[3].Event.Counterparty.Account
	got, err := db.FindDecisions(ctx, guard.DecisionFilter{Account: acct})
	if err != nil || len(got) == 0 {
		t.Fatalf("find by account: %d, %v", len(got), err)
	}
	for _, g := range got {
		if !bytes.Contains(g.Event.Raw, []byte(acct)) {
			t.Errorf("record %d: raw %s lacks the account", g.Seq, g.Event.Raw)
		}
	}
	// Outcomes: the account and the staff's note are sealed too, and a
	// retry is still told from a change.
	o := &guard.Outcome{DecisionID: recs[0].Decision.ID, ID: "out_1", Kind: guard.OutcomeConfirmedFraud, Note: "客户说对方自称警察 13812345678",
		Source: "caller", RecordedAt: storetest.BaseTime, CustomerID: recs[0].Event.Customer.ID, Account: acct}
	for i, want := range []bool{true, false} {
		created, err := db.SaveOutcome(ctx, o)
		if err != nil || created != want {
			t.Fatalf("save %d: created %v, %v; want %v", i, created, err, want)
		}
	}
	o.Note += "。已劝阻"
	if created, err := db.SaveOutcome(ctx, o); err != nil || !created {
		t.Fatalf("changed note: created %v, %v", created, err)
	}
	got1, err := db.Outcome(ctx, o.DecisionID)
	if err != nil || got1.Note != o.Note || got1.Account != acct {
		t.Fatalf("outcome read back = %+v, %v", got1, err)
	}
	// List entries: a listed phone is kept as a blind index and a sealed
	// copy, found by its value, and read back as it was.
	phone := "13912345678"
	if err := db.PutListEntries(ctx, []*guard.ListEntry{{List: guard.BlockList, Kind: guard.KindPhone, Value: phone, Reason: "mule", CreatedAt: storetest.BaseTime}}); err != nil {
		t.Fatal(err)
	}
	les, err := db.ListEntries(ctx, guard.ListFilter{Kind: guard.KindPhone, Value: phone})
	if err != nil || len(les) != 1 || les[0].Value != phone {
		t.Fatalf("listed phone read back = %+v, %v", les, err)
	}
	var listed int
	if err := raw.QueryRow(`SELECT count(*) FROM list_entries WHERE value LIKE '%' || ? || '%' OR value_sealed LIKE '%' || ? || '%'`, phone, phone).Scan(&listed); err != nil || listed != 0 {
		t.Errorf("the listed phone is stored in the clear (%d rows, %v)", listed, err)
	}
	if err := db.DeleteListEntry(ctx, guard.BlockList, guard.KindPhone, phone); err != nil {
		t.Errorf("delete by value: %v", err)
	}
	var note, account string
	if err := raw.QueryRow(`SELECT note, account FROM outcomes`).Scan(&note, &account); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(note, "13812345678") || strings.Contains(note, "警察") || account == acct {
		t.Errorf("outcome stored in the clear: %q %q", note, account)
	}
}

func TestReseal(t *testing.T) {
	storetest.ExerciseReseal(t, func(t *testing.T) storetest.ResealStore { return open(t) })
}
