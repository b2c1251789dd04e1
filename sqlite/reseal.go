package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// ResealRaw walks up to limit records after afterSeq in seq order and
// writes back each raw event that fn changes (fn re-encrypts it under the
// primary data key after a rotation). It returns the last seq read, 0 when
// there was none left.
func (db *DB) ResealRaw(ctx context.Context, afterSeq int64, limit int, fn func(eventID string, raw []byte) ([]byte, bool, error)) (last int64, changed int, err error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, event_id, raw FROM records WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("reseal: %w", err)
	}
	type update struct {
		seq int64
		raw []byte
	}
	var ups []update
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
			ups = append(ups, update{seq, out})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reseal: %w", err)
	}
	if len(ups) == 0 {
		return last, 0, nil
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE records SET raw = ? WHERE seq = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, u := range ups {
			if _, err := st.ExecContext(ctx, u.raw, u.seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("reseal: %w", err)
	}
	return last, len(ups), nil
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
			key = "hid"
		}
		rows, err := db.r.QueryContext(ctx, `SELECT `+key+`, decision_id, account, note FROM `+table)
		if err != nil {
			return changed, fmt.Errorf("reseal outcomes: %w", err)
		}
		type update struct {
			key           any
			account, note string
		}
		var ups []update
		for rows.Next() {
			var (
				k                  any
				dec, account, note string
				a, n               string
				changedA, changedN bool
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
				ups = append(ups, update{k, a, n})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return changed, fmt.Errorf("reseal outcomes: %w", err)
		}
		if len(ups) == 0 {
			continue
		}
		err = db.write(ctx, func(tx *sql.Tx) error {
			for _, u := range ups {
				if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET account = ?, note = ? WHERE `+key+` = ?`, u.account, u.note, u.key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return changed, fmt.Errorf("reseal outcomes: %w", err)
		}
		changed += len(ups)
	}
	return changed, nil
}

func (db *DB) resealLists(ctx context.Context, fn func(table, column, rowKey, stored string) (string, bool, error)) (int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT list, kind, value, value_sealed FROM list_entries WHERE value_sealed <> ''`)
	if err != nil {
		return 0, fmt.Errorf("reseal lists: %w", err)
	}
	type update struct{ list, kind, value, sealed string }
	var ups []update
	for rows.Next() {
		var u update
		if err := rows.Scan(&u.list, &u.kind, &u.value, &u.sealed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reseal lists: %w", err)
		}
		out, ok, err := fn("list_entries", "value", u.list+"/"+u.kind+"/"+u.value, u.sealed)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("reseal list entry: %w", err)
		}
		if ok {
			u.sealed = out
			ups = append(ups, u)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reseal lists: %w", err)
	}
	if len(ups) == 0 {
		return 0, nil
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, `UPDATE list_entries SET value_sealed = ? WHERE list = ? AND kind = ? AND value = ?`, u.sealed, u.list, u.kind, u.value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reseal lists: %w", err)
	}
	return len(ups), nil
}
