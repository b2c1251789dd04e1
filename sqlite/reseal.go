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

// ResealOutcomes re-seals every outcome's account and note that fn
// changes, in the latest outcomes and their history.
func (db *DB) ResealOutcomes(ctx context.Context, fn func(column, decisionID, stored string) (string, bool, error)) (changed int, err error) {
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
