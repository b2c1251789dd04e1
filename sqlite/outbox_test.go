package sqlite_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/storetest"
)

func TestOutboxStore(t *testing.T) {
	storetest.ExerciseOutbox(t, func(t *testing.T) storetest.OutboxStore { return sqlite.OutboxTx{DB: open(t)} })
}

// TestOutboxStoreSealed runs the suite with payloads sealed: they read
// back the same.
func TestOutboxStoreSealed(t *testing.T) {
	storetest.ExerciseOutbox(t, func(t *testing.T) storetest.OutboxStore {
		db := open(t)
		db.SetSealer(newVault(t, db))
		return sqlite.OutboxTx{DB: db}
	})
}

// TestOutboxSealedAtRest reads the outbox table directly: a payload naming
// a customer is not there in clear.
func TestOutboxSealedAtRest(t *testing.T) {
	t.Parallel()
	db := open(t)
	db.SetSealer(newVault(t, db))
	m := storetest.NewOutboxMessage(1, "")
	if err := (sqlite.OutboxTx{DB: db}).InsertInTx(t.Context(), []outbox.Message{m}, false); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var payload string
	if err := raw.QueryRow(`SELECT payload FROM outbox`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(payload, "hld_0001") || strings.Contains(payload, "放行") {
		t.Errorf("payload stored in clear: %s", payload)
	}
}
