package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, e := range ex {
			// xmax = 0 only for a row this statement inserted.
			var inserted bool
			if err := tx.QueryRow(ctx, `INSERT INTO faq_examples (id, text, faq_id, source, status, count, by, at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (id) DO UPDATE SET count = faq_examples.count + excluded.count, updated_at = excluded.updated_at,
				status = CASE WHEN excluded.status = 'active' THEN 'active' ELSE faq_examples.status END
				RETURNING xmax = 0`,
				e.ID, e.Text, e.FAQID, e.Source, e.Status, e.Count, e.By, e.At, e.UpdatedAt).Scan(&inserted); err != nil {
				return fmt.Errorf("example %s: %w", e.ID, err)
			}
			if inserted {
				added++
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

func scanFAQExample(row pgx.Row) (*faq.Example, error) {
	var e faq.Example
	if err := row.Scan(&e.ID, &e.Text, &e.FAQID, &e.Source, &e.Status, &e.Count, &e.By, &e.At, &e.UpdatedAt); err != nil {
		return nil, err
	}
	e.At, e.UpdatedAt = utc(e.At), utc(e.UpdatedAt)
	return &e, nil
}

// FAQExamples returns examples, the most recently updated first.
func (db *DB) FAQExamples(ctx context.Context, status string, limit int) ([]faq.Example, error) {
	if checkText("", status) != nil {
		return nil, nil
	}
	q, args := sqlFAQExampleColumns, []any{}
	if status != "" {
		q += ` WHERE status = $1`
		args = append(args, status)
	}
	q += ` ORDER BY updated_at DESC, id COLLATE "C"`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := db.pool.Query(ctx, q, args...)
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
	if checkText("", id) != nil {
		return nil, notFound("faq example not found")
	}
	e, err := scanFAQExample(db.pool.QueryRow(ctx, sqlFAQExampleColumns+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("faq example %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("faq example: %w", err)
	}
	return e, nil
}

// AcceptFAQExample makes an example active.
func (db *DB) AcceptFAQExample(ctx context.Context, id, by string, at time.Time) (bool, error) {
	if err := checkText("faq example", by); err != nil {
		return false, err
	}
	if checkText("", id) != nil {
		return false, notFound("faq example not found")
	}
	var changed bool
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM faq_examples WHERE id = $1 FOR UPDATE`, id).Scan(&status); errors.Is(err, pgx.ErrNoRows) {
			return notFound("faq example %q not found", id)
		} else if err != nil {
			return err
		}
		if status == faq.ExampleActive {
			return nil
		}
		changed = true
		_, err := tx.Exec(ctx, `UPDATE faq_examples SET status = 'active', by = $1, updated_at = $2 WHERE id = $3`, by, at, id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("accept faq example: %w", err)
	}
	return changed, nil
}

// DeleteFAQExample removes an example.
func (db *DB) DeleteFAQExample(ctx context.Context, id string) (bool, error) {
	if checkText("", id) != nil {
		return false, nil
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM faq_examples WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("delete faq example: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}
