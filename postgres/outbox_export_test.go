package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/storetest"
)

// OutboxTx is db with storetest's hook into its transactions.
type OutboxTx struct{ *DB }

// InsertInTx writes msgs with insertOutbox in one transaction.
func (db OutboxTx) InsertInTx(ctx context.Context, msgs []outbox.Message, fail bool) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := db.insertOutbox(ctx, tx, msgs); err != nil {
			return err
		}
		if fail {
			return storetest.ErrRollback()
		}
		return nil
	})
}
