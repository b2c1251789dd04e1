package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/privacy"
)

var _ privacy.Store = (*DB)(nil)

const sqlConsentColumns = `SELECT seq, customer_id, purpose, granted, channel, policy_version, at, evidence, idempotency_key, recorded_at, recorded_by FROM privacy_consents`

func scanConsent(sc interface{ Scan(...any) error }) (*privacy.Consent, error) {
	var (
		c            privacy.Consent
		at, recorded int64
	)
	if err := sc.Scan(&c.Seq, &c.CustomerID, &c.Purpose, &c.Granted, &c.Channel, &c.PolicyVersion, &at, &c.Evidence,
		&c.IdempotencyKey, &recorded, &c.RecordedBy); err != nil {
		return nil, err
	}
	c.At, c.RecordedAt = fromMicro(at), fromMicro(recorded)
	return &c, nil
}

// RecordConsent stores c unless its idempotency key is already stored.
func (db *DB) RecordConsent(ctx context.Context, c *privacy.Consent) (*privacy.Consent, bool, error) {
	if err := checkText("consent", c.CustomerID, string(c.Purpose), string(c.Channel), c.PolicyVersion, c.Evidence, c.IdempotencyKey, c.RecordedBy); err != nil {
		return nil, false, err
	}
	var (
		stored  *privacy.Consent
		created bool
	)
	err := db.write(ctx, func(tx *sql.Tx) error {
		old, err := scanConsent(tx.QueryRowContext(ctx, sqlConsentColumns+` WHERE idempotency_key = ?`, c.IdempotencyKey))
		if err == nil {
			stored = old
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		nc := *c
		err = tx.QueryRowContext(ctx, `INSERT INTO privacy_consents (customer_id, purpose, granted, channel, policy_version, at, evidence, idempotency_key, recorded_at, recorded_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			c.CustomerID, c.Purpose, c.Granted, c.Channel, c.PolicyVersion, toMicro(c.At), c.Evidence, c.IdempotencyKey, toMicro(c.RecordedAt), c.RecordedBy).
			Scan(&nc.Seq)
		stored, created = &nc, true
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("record consent: %w", err)
	}
	if !created && !privacy.SameConsent(stored, c) {
		return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "request id %q was already used for a different consent change", c.IdempotencyKey)
	}
	return stored, created, nil
}

// Consents returns a customer's consent history, by time then seq.
func (db *DB) Consents(ctx context.Context, customerID string) ([]*privacy.Consent, error) {
	rows, err := db.r.QueryContext(ctx, sqlConsentColumns+` WHERE customer_id = ? ORDER BY at, seq`, customerID)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	defer rows.Close()
	out := []*privacy.Consent{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("consents: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const sqlRequestColumns = `SELECT id, customer_id, kind, status, channel, details, relationship_ended_at, received_at, due_at,
	verified_at, verified_by, closed_at, resolution, idempotency_key, created_by, updated_at FROM privacy_requests`

func scanRequest(sc interface{ Scan(...any) error }) (*privacy.Request, error) {
	var (
		r                             privacy.Request
		ended, verified, closed       sql.NullInt64
		received, due, updatedAtMicro int64
	)
	if err := sc.Scan(&r.ID, &r.CustomerID, &r.Kind, &r.Status, &r.Channel, &r.Details, &ended, &received, &due,
		&verified, &r.VerifiedBy, &closed, &r.Resolution, &r.IdempotencyKey, &r.CreatedBy, &updatedAtMicro); err != nil {
		return nil, err
	}
	r.RelationshipEndedAt, r.VerifiedAt, r.ClosedAt = fromNullMicro(ended), fromNullMicro(verified), fromNullMicro(closed)
	r.ReceivedAt, r.DueAt, r.UpdatedAt = fromMicro(received), fromMicro(due), fromMicro(updatedAtMicro)
	return &r, nil
}

func requestText(r *privacy.Request) error {
	return checkText("subject request", r.ID, r.CustomerID, string(r.Kind), string(r.Status), string(r.Channel), r.Details,
		r.VerifiedBy, r.Resolution, r.IdempotencyKey, r.CreatedBy)
}

func insertEvent(ctx context.Context, tx *sql.Tx, id string, ev privacy.Event) error {
	if err := checkText("subject request event", ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO privacy_request_events (request_id, n, at, actor, action, from_status, to_status, note)
		VALUES (?, (SELECT COALESCE(MAX(n) + 1, 0) FROM privacy_request_events WHERE request_id = ?), ?, ?, ?, ?, ?, ?)`,
		id, id, toMicro(ev.At), ev.Actor, ev.Action, ev.From, ev.To, ev.Note)
	return err
}

// CreateRequest stores r and its first event unless its idempotency key
// is already stored.
func (db *DB) CreateRequest(ctx context.Context, r *privacy.Request) (*privacy.Request, bool, error) {
	if err := requestText(r); err != nil {
		return nil, false, err
	}
	var (
		stored  *privacy.Request
		created bool
	)
	err := db.write(ctx, func(tx *sql.Tx) error {
		old, err := scanRequest(tx.QueryRowContext(ctx, sqlRequestColumns+` WHERE idempotency_key = ?`, r.IdempotencyKey))
		if err == nil {
			stored = old
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO privacy_requests (id, customer_id, kind, status, channel, details, relationship_ended_at,
			received_at, due_at, verified_at, verified_by, closed_at, resolution, idempotency_key, created_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.CustomerID, r.Kind, r.Status, r.Channel, r.Details, nullMicro(r.RelationshipEndedAt),
			toMicro(r.ReceivedAt), toMicro(r.DueAt), nullMicro(r.VerifiedAt), r.VerifiedBy, nullMicro(r.ClosedAt), r.Resolution,
			r.IdempotencyKey, r.CreatedBy, toMicro(r.UpdatedAt))
		if err != nil {
			return err
		}
		for _, ev := range r.Events {
			if err := insertEvent(ctx, tx, r.ID, ev); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	if isConstraint(err) {
		return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "subject request %s already exists", r.ID)
	} else if err != nil {
		return nil, false, fmt.Errorf("create subject request: %w", err)
	}
	if !created {
		if !privacy.SameRequest(stored, r) {
			return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "request id %q was already used for a different subject request", r.IdempotencyKey)
		}
		r = stored
	}
	got, err := db.Request(ctx, r.ID)
	return got, created, err
}

// Request returns a request with its events.
func (db *DB) Request(ctx context.Context, id string) (*privacy.Request, error) {
	r, err := scanRequest(db.r.QueryRowContext(ctx, sqlRequestColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("subject request %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("subject request %s: %w", id, err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT at, actor, action, from_status, to_status, note FROM privacy_request_events WHERE request_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("subject request %s events: %w", id, err)
	}
	defer rows.Close()
	r.Events = []privacy.Event{}
	for rows.Next() {
		var (
			ev privacy.Event
			at int64
		)
		if err := rows.Scan(&at, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note); err != nil {
			return nil, fmt.Errorf("subject request %s events: %w", id, err)
		}
		ev.At = fromMicro(at)
		r.Events = append(r.Events, ev)
	}
	return r, rows.Err()
}

// UpdateRequest stores r's state if it is still from, and appends ev.
func (db *DB) UpdateRequest(ctx context.Context, r *privacy.Request, from privacy.Status, ev privacy.Event) error {
	if err := requestText(r); err != nil {
		return err
	}
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET status = ?, verified_at = ?, verified_by = ?, closed_at = ?, resolution = ?, updated_at = ?
			WHERE id = ? AND status = ?`,
			r.Status, nullMicro(r.VerifiedAt), r.VerifiedBy, nullMicro(r.ClosedAt), r.Resolution, toMicro(r.UpdatedAt), r.ID, from)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return insertEvent(ctx, tx, r.ID, ev)
	})
	if err != nil {
		return fmt.Errorf("update subject request %s: %w", r.ID, err)
	}
	if n == 0 {
		if _, err := db.Request(ctx, r.ID); err != nil {
			return err
		}
		return xiaobao.Errorf(xiaobao.ECONFLICT, "subject request %s is no longer %s: someone else acted on it", r.ID, from)
	}
	return nil
}

// Requests returns the requests f selects, by due time then id.
func (db *DB) Requests(ctx context.Context, f privacy.RequestFilter) ([]*privacy.Request, error) {
	var (
		where []string
		args  []any
	)
	if f.CustomerID != "" {
		where, args = append(where, `customer_id = ?`), append(args, f.CustomerID)
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, f.Kind)
	}
	if f.Status != "" {
		where, args = append(where, `status = ?`), append(args, f.Status)
	}
	if f.Overdue != nil {
		now := toMicro(f.Now)
		if *f.Overdue {
			where = append(where, `(closed_at IS NULL AND due_at <= ? OR closed_at IS NOT NULL AND closed_at >= due_at)`)
		} else {
			where = append(where, `(closed_at IS NULL AND due_at > ? OR closed_at IS NOT NULL AND closed_at < due_at)`)
		}
		args = append(args, now)
	}
	q := sqlRequestColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY due_at, id LIMIT ?`
	args = append(args, min(limit, 1000))
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("subject requests: %w", err)
	}
	defer rows.Close()
	out := []*privacy.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("subject requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
