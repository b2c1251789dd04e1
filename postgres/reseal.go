package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ResealRaw walks up to limit records after afterSeq in seq order and
// writes back each raw event that fn changes (fn re-encrypts it under the
// primary data key after a rotation). It returns the last seq read, 0 when
// there was none left.
func (db *DB) ResealRaw(ctx context.Context, afterSeq int64, limit int, fn func(eventID string, raw []byte) ([]byte, bool, error)) (last int64, changed int, err error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, event_id, raw FROM records WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("reseal: %w", err)
	}
	b := &pgx.Batch{}
	for rows.Next() {
		var (
			seq int64
			id  string
			raw []byte
		)
		if err := rows.Scan(&seq, &id, &raw); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("reseal: %w", err)
		}
		last = seq
		out, ok, err := fn(id, raw)
		if err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("reseal event %s: %w", id, err)
		}
		if ok {
			b.Queue(`UPDATE records SET raw = $1 WHERE seq = $2`, out, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reseal: %w", err)
	}
	if b.Len() == 0 {
		return last, 0, nil
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, fmt.Errorf("reseal: %w", err)
	}
	return last, b.Len(), nil
}

// ResealFields re-seals every sealed text field that fn changes: outcome
// accounts and notes (latest and history) and listed values.
func (db *DB) ResealFields(ctx context.Context, fn func(table, column, rowKey, stored string) (string, bool, error)) (changed int, err error) {
	if changed, err = db.resealOutcomes(ctx, func(column, decisionID, stored string) (string, bool, error) {
		return fn("outcomes", column, decisionID, stored)
	}); err != nil {
		return changed, err
	}
	n, err := db.resealLists(ctx, fn)
	return changed + n, err
}

func (db *DB) resealOutcomes(ctx context.Context, fn func(column, decisionID, stored string) (string, bool, error)) (changed int, err error) {
	for _, table := range []string{"outcomes", "outcome_history"} {
		key := "decision_id"
		if table == "outcome_history" {
			key = "hid::text"
		}
		rows, err := db.pool.Query(ctx, `SELECT `+key+`, decision_id, account, note FROM `+table)
		if err != nil {
			return changed, fmt.Errorf("reseal outcomes: %w", err)
		}
		b := &pgx.Batch{}
		for rows.Next() {
			var (
				k, dec, account, note string
				a, n                  string
				changedA, changedN    bool
			)
			if err := rows.Scan(&k, &dec, &account, &note); err != nil {
				rows.Close()
				return changed, fmt.Errorf("reseal outcomes: %w", err)
			}
			if a, changedA, err = fn("account", dec, account); err == nil {
				n, changedN, err = fn("note", dec, note)
			}
			if err != nil {
				rows.Close()
				return changed, fmt.Errorf("reseal outcome of %s: %w", dec, err)
			}
			if changedA || changedN {
				b.Queue(`UPDATE `+table+` SET account = $1, note = $2 WHERE `+key+` = $3`, a, n, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return changed, fmt.Errorf("reseal outcomes: %w", err)
		}
		if b.Len() == 0 {
			continue
		}
		if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
			return changed, fmt.Errorf("reseal outcomes: %w", err)
		}
		changed += b.Len()
	}
	return changed, nil
}

func (db *DB) resealLists(ctx context.Context, fn func(table, column, rowKey, stored string) (string, bool, error)) (int, error) {
	rows, err := db.pool.Query(ctx, `SELECT list, kind, value, value_sealed FROM list_entries WHERE value_sealed <> ''`)
	if err != nil {
		return 0, fmt.Errorf("reseal lists: %w", err)
	}
	b := &pgx.Batch{}
	for rows.Next() {
		var list, kind, value, sealed string
		if err := rows.Scan(&list, &kind, &value, &sealed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reseal lists: %w", err)
		}
		out, ok, err := fn("list_entries", "value", list+"/"+kind+"/"+value, sealed)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("reseal list entry: %w", err)
		}
		if ok {
			b.Queue(`UPDATE list_entries SET value_sealed = $1 WHERE list = $2 AND kind = $3 AND value = $4`, out, list, kind, value)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reseal lists: %w", err)
	}
	if b.Len() == 0 {
		return 0, nil
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("reseal lists: %w", err)
	}
	return b.Len(), nil
}
