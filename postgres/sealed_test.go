package postgres_test

import (
	"context"
	"testing"

	"github.com/xiaobao-org/xiaobao/storetest"
	"github.com/xiaobao-org/xiaobao/vault"
)

// TestStoreSealed runs the conformance suite with raw events sealed and
// accounts kept as blind indexes: everything reads back the same.
func TestStoreSealed(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		db := open(t)
		m, _ := vault.GenerateMasterKey()
		v, err := vault.Open(context.Background(), vault.Config{Store: db, Master: m})
		if err != nil {
			t.Fatal(err)
		}
		db.SetSealer(v)
		return db
	})
}

func TestReseal(t *testing.T) {
	storetest.ExerciseReseal(t, func(t *testing.T) storetest.ResealStore { return open(t) })
}
