package sqlite

import (
	"context"
	"database/sql"

	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/storetest"
)

// OutboxTx is db with storetest's hook into its write transactions.
type OutboxTx struct{ *DB }

// InsertInTx writes msgs with insertOutbox in one write transaction.
func (db OutboxTx) InsertInTx(ctx context.Context, msgs []outbox.Message, fail bool) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if err := db.insertOutbox(ctx, tx, msgs); err != nil {
			return err
		}
		if fail {
			return storetest.ErrRollback()
		}
		return nil
	})
}
