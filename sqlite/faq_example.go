package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/xiaobao-org/xiaobao/faq"
)

// AddFAQExamples stores examples; one already stored has its count
// raised and becomes active if the new one is.
func (db *DB) AddFAQExamples(ctx context.Context, ex []faq.Example) (int, error) {
	for _, e := range ex {
		if err := checkText("faq example", e.ID, e.Text, e.FAQID, e.Source, e.Status, e.By); err != nil {
			return 0, err
		}
	}
	added := 0
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, e := range ex {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM faq_examples WHERE id = ?`, e.ID).Scan(&n); err != nil {
				return err
			}
			added += 1 - n
			if _, err := tx.ExecContext(ctx, `INSERT INTO faq_examples (id, text, faq_id, source, status, count, by, at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET count = faq_examples.count + excluded.count, updated_at = excluded.updated_at,
				status = CASE WHEN excluded.status = 'active' THEN 'active' ELSE faq_examples.status END`,
				e.ID, e.Text, e.FAQID, e.Source, e.Status, e.Count, e.By, toMicro(e.At), toMicro(e.UpdatedAt)); err != nil {
				return fmt.Errorf("example %s: %w", e.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add faq examples: %w", err)
	}
	return added, nil
}

const sqlFAQExampleColumns = `SELECT id, text, faq_id, source, status, count, by, at, updated_at FROM faq_examples`

func scanFAQExample(row interface{ Scan(...any) error }) (*faq.Example, error) {
	var (
		e       faq.Example
		at, upd int64
	)
	if err := row.Scan(&e.ID, &e.Text, &e.FAQID, &e.Source, &e.Status, &e.Count, &e.By, &at, &upd); err != nil {
		return nil, err
	}
	e.At, e.UpdatedAt = fromMicro(at), fromMicro(upd)
	return &e, nil
}

// FAQExamples returns examples, the most recently updated first.
func (db *DB) FAQExamples(ctx context.Context, status string, limit int) ([]faq.Example, error) {
	q, args := sqlFAQExampleColumns, []any{}
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY updated_at DESC, id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list faq examples: %w", err)
	}
	defer rows.Close()
	var out []faq.Example
	for rows.Next() {
		e, err := scanFAQExample(rows)
		if err != nil {
			return nil, fmt.Errorf("list faq examples: %w", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list faq examples: %w", err)
	}
	return out, nil
}

// FAQExample returns one example.
func (db *DB) FAQExample(ctx context.Context, id string) (*faq.Example, error) {
	e, err := scanFAQExample(db.r.QueryRowContext(ctx, sqlFAQExampleColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("faq example %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("faq example: %w", err)
	}
	return e, nil
}

// AcceptFAQExample makes an example active.
func (db *DB) AcceptFAQExample(ctx context.Context, id, by string, at time.Time) (bool, error) {
	var changed bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM faq_examples WHERE id = ?`, id).Scan(&status); errors.Is(err, sql.ErrNoRows) {
			return notFound("faq example %q not found", id)
		} else if err != nil {
			return err
		}
		if status == faq.ExampleActive {
			return nil
		}
		changed = true
		_, err := tx.ExecContext(ctx, `UPDATE faq_examples SET status = 'active', by = ?, updated_at = ? WHERE id = ?`, by, toMicro(at), id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("accept faq example: %w", err)
	}
	return changed, nil
}

// DeleteFAQExample removes an example.
func (db *DB) DeleteFAQExample(ctx context.Context, id string) (bool, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM faq_examples WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delete faq example: %w", err)
	}
	return n > 0, nil
}
