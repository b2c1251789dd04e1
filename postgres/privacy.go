package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/privacy"
)

var _ privacy.Store = (*DB)(nil)

const sqlConsentColumns = `SELECT seq, customer_id, purpose, granted, channel, policy_version, at, evidence, idempotency_key, recorded_at, recorded_by FROM privacy_consents`

func scanConsent(row pgx.Row) (*privacy.Consent, error) {
	var c privacy.Consent
	if err := row.Scan(&c.Seq, &c.CustomerID, &c.Purpose, &c.Granted, &c.Channel, &c.PolicyVersion, &c.At, &c.Evidence,
		&c.IdempotencyKey, &c.RecordedAt, &c.RecordedBy); err != nil {
		return nil, err
	}
	c.At, c.RecordedAt = utc(c.At), utc(c.RecordedAt)
	return &c, nil
}

// RecordConsent stores c unless its idempotency key is already stored.
// The insert and the look-up of an earlier one are separate statements:
// ON CONFLICT DO NOTHING makes the insert safe against a concurrent retry,
// and the row it found is then read back.
func (db *DB) RecordConsent(ctx context.Context, c *privacy.Consent) (*privacy.Consent, bool, error) {
	if err := checkText("consent", c.CustomerID, string(c.Purpose), string(c.Channel), c.PolicyVersion, c.Evidence, c.IdempotencyKey, c.RecordedBy); err != nil {
		return nil, false, err
	}
	nc := *c
	err := db.pool.QueryRow(ctx, `INSERT INTO privacy_consents (customer_id, purpose, granted, channel, policy_version, at, evidence, idempotency_key, recorded_at, recorded_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (idempotency_key) DO NOTHING RETURNING seq`,
		c.CustomerID, string(c.Purpose), c.Granted, string(c.Channel), c.PolicyVersion, c.At, c.Evidence, c.IdempotencyKey, c.RecordedAt, c.RecordedBy).
		Scan(&nc.Seq)
	if err == nil {
		return &nc, true, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, fmt.Errorf("record consent: %w", err)
	}
	old, err := scanConsent(db.pool.QueryRow(ctx, sqlConsentColumns+` WHERE idempotency_key = $1`, c.IdempotencyKey))
	if err != nil {
		return nil, false, fmt.Errorf("record consent: %w", err)
	}
	if !privacy.SameConsent(old, c) {
		return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "request id %q was already used for a different consent change", c.IdempotencyKey)
	}
	return old, false, nil
}

// Consents returns a customer's consent history, by time then seq.
func (db *DB) Consents(ctx context.Context, customerID string) ([]*privacy.Consent, error) {
	if checkText("customer id", customerID) != nil {
		return []*privacy.Consent{}, nil
	}
	rows, err := db.pool.Query(ctx, sqlConsentColumns+` WHERE customer_id = $1 ORDER BY at, seq`, customerID)
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

func scanRequest(row pgx.Row) (*privacy.Request, error) {
	var r privacy.Request
	if err := row.Scan(&r.ID, &r.CustomerID, &r.Kind, &r.Status, &r.Channel, &r.Details, &r.RelationshipEndedAt, &r.ReceivedAt, &r.DueAt,
		&r.VerifiedAt, &r.VerifiedBy, &r.ClosedAt, &r.Resolution, &r.IdempotencyKey, &r.CreatedBy, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.RelationshipEndedAt, r.VerifiedAt, r.ClosedAt = utcPtr(r.RelationshipEndedAt), utcPtr(r.VerifiedAt), utcPtr(r.ClosedAt)
	r.ReceivedAt, r.DueAt, r.UpdatedAt = utc(r.ReceivedAt), utc(r.DueAt), utc(r.UpdatedAt)
	return &r, nil
}

func requestText(r *privacy.Request) error {
	return checkText("subject request", r.ID, r.CustomerID, string(r.Kind), string(r.Status), string(r.Channel), r.Details,
		r.VerifiedBy, r.Resolution, r.IdempotencyKey, r.CreatedBy)
}

func insertEvent(ctx context.Context, tx pgx.Tx, id string, ev privacy.Event) error {
	if err := checkText("subject request event", ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO privacy_request_events (request_id, n, at, actor, action, from_status, to_status, note)
		VALUES ($1, (SELECT COALESCE(MAX(n) + 1, 0) FROM privacy_request_events WHERE request_id = $1), $2, $3, $4, $5, $6, $7)`,
		id, ev.At, ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note)
	return err
}

// CreateRequest stores r and its first event unless its idempotency key
// is already stored.
func (db *DB) CreateRequest(ctx context.Context, r *privacy.Request) (*privacy.Request, bool, error) {
	if err := requestText(r); err != nil {
		return nil, false, err
	}
	created := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO privacy_requests (id, customer_id, kind, status, channel, details, relationship_ended_at,
			received_at, due_at, verified_at, verified_by, closed_at, resolution, idempotency_key, created_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (idempotency_key) DO NOTHING`,
			r.ID, r.CustomerID, string(r.Kind), string(r.Status), string(r.Channel), r.Details, r.RelationshipEndedAt,
			r.ReceivedAt, r.DueAt, r.VerifiedAt, r.VerifiedBy, r.ClosedAt, r.Resolution, r.IdempotencyKey, r.CreatedBy, r.UpdatedAt)
		if err != nil || tag.RowsAffected() == 0 {
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
	if pgCode(err) == uniqueViolation {
		return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "subject request %s already exists", r.ID)
	} else if err != nil {
		return nil, false, fmt.Errorf("create subject request: %w", err)
	}
	id := r.ID
	if !created {
		old, err := scanRequest(db.pool.QueryRow(ctx, sqlRequestColumns+` WHERE idempotency_key = $1`, r.IdempotencyKey))
		if err != nil {
			return nil, false, fmt.Errorf("create subject request: %w", err)
		}
		if !privacy.SameRequest(old, r) {
			return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "request id %q was already used for a different subject request", r.IdempotencyKey)
		}
		id = old.ID
	}
	got, err := db.Request(ctx, id)
	return got, created, err
}

// Request returns a request with its events.
func (db *DB) Request(ctx context.Context, id string) (*privacy.Request, error) {
	if checkText("id", id) != nil {
		return nil, notFound("subject request not found")
	}
	r, err := scanRequest(db.pool.QueryRow(ctx, sqlRequestColumns+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("subject request %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("subject request %s: %w", id, err)
	}
	rows, err := db.pool.Query(ctx, `SELECT at, actor, action, from_status, to_status, note FROM privacy_request_events WHERE request_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("subject request %s events: %w", id, err)
	}
	defer rows.Close()
	r.Events = []privacy.Event{}
	for rows.Next() {
		var ev privacy.Event
		if err := rows.Scan(&ev.At, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note); err != nil {
			return nil, fmt.Errorf("subject request %s events: %w", id, err)
		}
		ev.At = utc(ev.At)
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
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE privacy_requests SET status = $3, verified_at = $4, verified_by = $5, closed_at = $6, resolution = $7, updated_at = $8
			WHERE id = $1 AND status = $2`,
			r.ID, string(from), string(r.Status), r.VerifiedAt, r.VerifiedBy, r.ClosedAt, r.Resolution, r.UpdatedAt)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if checkText("filter", f.CustomerID, string(f.Kind), string(f.Status)) != nil {
		return []*privacy.Request{}, nil
	}
	if f.CustomerID != "" {
		where = append(where, `customer_id = `+arg(f.CustomerID))
	}
	if f.Kind != "" {
		where = append(where, `kind = `+arg(string(f.Kind)))
	}
	if f.Status != "" {
		where = append(where, `status = `+arg(string(f.Status)))
	}
	if f.Overdue != nil {
		now := arg(f.Now)
		if *f.Overdue {
			where = append(where, `(closed_at IS NULL AND due_at <= `+now+` OR closed_at IS NOT NULL AND closed_at >= due_at)`)
		} else {
			where = append(where, `(closed_at IS NULL AND due_at > `+now+` OR closed_at IS NOT NULL AND closed_at < due_at)`)
		}
	}
	q := sqlRequestColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY due_at, id LIMIT ` + arg(min(limit, 1000))
	rows, err := db.pool.Query(ctx, q, args...)
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
