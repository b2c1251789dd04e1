package postgres_test

import (
	"context"
	"testing"

	"github.com/xiaobao-org/xiaobao/postgres"
	"github.com/xiaobao-org/xiaobao/storetest"
	"github.com/xiaobao-org/xiaobao/vault"
)

func TestOutboxStore(t *testing.T) {
	storetest.ExerciseOutbox(t, func(t *testing.T) storetest.OutboxStore { return postgres.OutboxTx{DB: open(t)} })
}

// TestOutboxStoreSealed runs the suite with payloads sealed: they read
// back the same.
func TestOutboxStoreSealed(t *testing.T) {
	storetest.ExerciseOutbox(t, func(t *testing.T) storetest.OutboxStore {
		db := open(t)
		m, _ := vault.GenerateMasterKey()
		v, err := vault.Open(context.Background(), vault.Config{Store: db, Master: m})
		if err != nil {
			t.Fatal(err)
		}
		db.SetSealer(v)
		return postgres.OutboxTx{DB: db}
	})
}
