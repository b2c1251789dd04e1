package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

const sqlOutcomeColumns = `SELECT decision_id, id, kind, amount_lost, amount_saved, typology, note, source, recorded_at, customer_id, account FROM outcomes`

func (db *DB) scanOutcome(sc interface{ Scan(...any) error }) (*guard.Outcome, error) {
	var (
		o                 guard.Outcome
		kind              string
		lost, saved, recd int64
	)
	if err := sc.Scan(&o.DecisionID, &o.ID, &kind, &lost, &saved, &o.Typology, &o.Note, &o.Source, &recd, &o.CustomerID, &o.Account); err != nil {
		return nil, err
	}
	o.Kind = guard.OutcomeKind(kind)
	o.AmountLost, o.AmountSaved = xiaobao.Money(lost), xiaobao.Money(saved)
	o.RecordedAt = fromMicro(recd)
	if err := guard.OpenOutcome(db.sealer, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// SaveOutcome records o as the latest outcome of its decision and adds it to
// the history. If the latest outcome already has the same kind, amounts,
// typology and note, it is a retry: nothing changes and created is false.
func (db *DB) SaveOutcome(ctx context.Context, o *guard.Outcome) (created bool, err error) {
	if o == nil || o.DecisionID == "" {
		return false, xiaobao.Errorf(xiaobao.EINVALID, "outcome needs a decision id")
	}
	if err := checkText("outcome", o.DecisionID, o.ID, string(o.Kind), o.Typology, o.Note, o.Source, o.CustomerID, o.Account); err != nil {
		return false, err
	}
	account, note, noteFP, err := guard.SealOutcome(db.sealer, o)
	if err != nil {
		return false, xiaobao.Errorf(xiaobao.EINVALID, "outcome %s", err)
	}
	args := []any{o.DecisionID, o.ID, string(o.Kind), int64(o.AmountLost), int64(o.AmountSaved),
		o.Typology, note, o.Source, toMicro(o.RecordedAt), o.CustomerID, account, noteFP}
	err = db.write(ctx, func(tx *sql.Tx) error {
		// The upsert changes the row only when the outcome differs; RETURNING
		// then yields a row exactly when something was written.
		var one int
		// A sealed note differs from itself at every sealing: its
		// fingerprint says whether it changed.
		err := tx.QueryRowContext(ctx, `INSERT INTO outcomes
			(decision_id, id, kind, amount_lost, amount_saved, typology, note, source, recorded_at, customer_id, account, note_fp)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (decision_id) DO UPDATE SET
				id = excluded.id, kind = excluded.kind, amount_lost = excluded.amount_lost,
				amount_saved = excluded.amount_saved, typology = excluded.typology, note = excluded.note,
				source = excluded.source, recorded_at = excluded.recorded_at,
				customer_id = excluded.customer_id, account = excluded.account, note_fp = excluded.note_fp
			WHERE outcomes.kind <> excluded.kind OR outcomes.amount_lost <> excluded.amount_lost
				OR outcomes.amount_saved <> excluded.amount_saved OR outcomes.typology <> excluded.typology
				OR outcomes.note_fp <> excluded.note_fp
				OR (excluded.note_fp = '' AND outcomes.note <> excluded.note)
			RETURNING 1`, args...).Scan(&one)
		if err == sql.ErrNoRows {
			return nil // the same outcome again
		} else if err != nil {
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, `INSERT INTO outcome_history
			(decision_id, id, kind, amount_lost, amount_saved, typology, note, source, recorded_at, customer_id, account, note_fp)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save outcome of %s: %w", o.DecisionID, err)
	}
	return created, nil
}

// Outcome returns the latest outcome of a decision.
func (db *DB) Outcome(ctx context.Context, decisionID string) (*guard.Outcome, error) {
	o, err := db.scanOutcome(db.outcomeByDecID.QueryRowContext(ctx, decisionID))
	if err == sql.ErrNoRows {
		return nil, notFound("no outcome for decision %q", decisionID)
	} else if err != nil {
		return nil, fmt.Errorf("outcome of %s: %w", decisionID, err)
	}
	return o, nil
}

// Outcomes calls fn for the latest outcome of every decision, in
// (recorded_at, decision_id) order, reading pages of db.pageSize rows.
func (db *DB) Outcomes(ctx context.Context, fn func(*guard.Outcome) error) error {
	var (
		first   = true
		lastAt  int64
		lastDec string
		page    = make([]*guard.Outcome, 0, db.pageSize)
	)
	for {
		page = page[:0]
		q, args := sqlOutcomeColumns+` ORDER BY recorded_at, decision_id LIMIT ?`, []any{db.pageSize}
		if !first {
			q = sqlOutcomeColumns + ` WHERE (recorded_at, decision_id) > (?, ?) ORDER BY recorded_at, decision_id LIMIT ?`
			args = []any{lastAt, lastDec, db.pageSize}
		}
		rows, err := db.r.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("outcomes: %w", err)
		}
		for rows.Next() {
			o, err := db.scanOutcome(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("outcomes: %w", err)
			}
			page = append(page, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("outcomes: %w", err)
		}
		for _, o := range page {
			if err := fn(o); err != nil {
				return err
			}
		}
		if len(page) < db.pageSize {
			return nil
		}
		first = false
		last := page[len(page)-1]
		lastAt, lastDec = toMicro(last.RecordedAt), last.DecisionID
	}
}
