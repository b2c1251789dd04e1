package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/outbox"
)

var _ outbox.Store = (*DB)(nil)

// insertOutbox writes msgs in tx, the transaction of the business change
// that caused them; a message whose ID exists already is skipped, so a
// retried transaction writes it once. Payloads are sealed when the store
// has a key (SetSealer): a notification may name a customer.
func (db *DB) insertOutbox(ctx context.Context, tx pgx.Tx, msgs []outbox.Message) error {
	return insertOutboxSealed(ctx, tx, db.sealer, msgs)
}

func insertOutboxSealed(ctx context.Context, tx pgx.Tx, sealer guard.Sealer, msgs []outbox.Message) error {
	if err := outbox.Validate(msgs); err != nil {
		return err
	}
	for i := range msgs {
		m := &msgs[i]
		payload, err := guard.SealText(sealer, string(m.Payload), outbox.SealAD(m.ID))
		if err != nil {
			return fmt.Errorf("outbox message %s: %w", m.ID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, sink, topic, order_key, payload, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING`,
			m.ID, m.Sink, m.Topic, m.Key, payload, m.CreatedAt); err != nil {
			return fmt.Errorf("insert outbox message %s: %w", m.ID, err)
		}
	}
	return nil
}

// AppendOutbox writes msgs in a transaction of their own.
func (db *DB) AppendOutbox(ctx context.Context, msgs []outbox.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return db.insertOutbox(ctx, tx, msgs) })
}

const sqlOutboxColumns = `seq, id, sink, topic, order_key, payload, created_at, state, attempts, claim, next_attempt_at, lease_until, last_error, delivered_at`

func (db *DB) scanOutbox(sc interface{ Scan(...any) error }) (outbox.Entry, error) {
	var (
		e              outbox.Entry
		payload, state string
	)
	if err := sc.Scan(&e.Seq, &e.ID, &e.Sink, &e.Topic, &e.Key, &payload, &e.CreatedAt, &state, &e.Attempts, &e.Claim,
		&e.NextAttemptAt, &e.LeaseUntil, &e.LastError, &e.DeliveredAt); err != nil {
		return e, err
	}
	plain, err := guard.OpenText(db.sealer, payload, outbox.SealAD(e.ID))
	if err != nil {
		return e, fmt.Errorf("outbox message %s: %w", e.ID, err)
	}
	e.Payload, e.State = []byte(plain), outbox.State(state)
	e.CreatedAt, e.NextAttemptAt, e.LeaseUntil, e.DeliveredAt = utc(e.CreatedAt), utc(e.NextAttemptAt), utc(e.LeaseUntil), utcPtr(e.DeliveredAt)
	return e, nil
}

// ClaimOutbox leases due messages; see outbox.Store. SKIP LOCKED lets
// instances claim side by side, each its own rows; a line's later message
// stays unclaimable while an earlier one is pending, leased or not.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]outbox.Entry, error) {
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT o.seq FROM outbox o
			WHERE o.state = 'pending' AND o.next_attempt_at <= $1 AND o.lease_until <= $1
				AND (o.order_key = '' OR NOT EXISTS (
					SELECT 1 FROM outbox p
					WHERE p.sink = o.sink AND p.order_key = o.order_key AND p.state = 'pending' AND p.order_key <> '' AND p.seq < o.seq))
			ORDER BY o.seq LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE outbox SET claim = outbox.claim + 1, attempts = outbox.attempts + 1, lease_until = $2
		FROM due WHERE outbox.seq = due.seq
		RETURNING outbox.`+sqlOutboxColumns, now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	defer rows.Close()
	var out []outbox.Entry
	for rows.Next() {
		e, err := db.scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("claim outbox: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	slices.SortFunc(out, func(a, b outbox.Entry) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// MarkOutboxDelivered records an acknowledgement; see outbox.Store.
func (db *DB) MarkOutboxDelivered(ctx context.Context, id string, now time.Time) error {
	_, err := db.pool.Exec(ctx, `UPDATE outbox SET state = 'delivered', delivered_at = $1, lease_until = 'epoch', last_error = ''
		WHERE id = $2 AND state = 'pending'`, now, id)
	if err != nil {
		return fmt.Errorf("mark outbox message %s delivered: %w", id, err)
	}
	return nil
}

// MarkOutboxFailed records a failed attempt; see outbox.Store.
func (db *DB) MarkOutboxFailed(ctx context.Context, id string, f outbox.Failure) error {
	state := outbox.Pending
	if f.Dead {
		state = outbox.Dead
	}
	_, err := db.pool.Exec(ctx, `UPDATE outbox SET state = $1, next_attempt_at = $2, lease_until = 'epoch', last_error = $3
		WHERE id = $4 AND claim = $5 AND state = 'pending'`, string(state), f.NextAttemptAt, f.Err, id, f.Claim)
	if err != nil {
		return fmt.Errorf("mark outbox message %s failed: %w", id, err)
	}
	return nil
}

// ListOutbox lists messages for operators, oldest first.
func (db *DB) ListOutbox(ctx context.Context, f outbox.Filter) (outbox.Page, error) {
	limit := outbox.ClampLimit(f.Limit)
	rows, err := db.pool.Query(ctx, `SELECT `+sqlOutboxColumns+` FROM outbox
		WHERE ($1 = '' OR state = $1) AND ($2 = '' OR sink = $2) AND ($3 = '' OR topic = $3) AND seq > $4
		ORDER BY seq LIMIT $5`,
		string(f.State), f.Sink, f.Topic, f.After, limit+1)
	if err != nil {
		return outbox.Page{}, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var p outbox.Page
	for rows.Next() {
		e, err := db.scanOutbox(rows)
		if err != nil {
			return outbox.Page{}, fmt.Errorf("list outbox: %w", err)
		}
		p.Entries = append(p.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return outbox.Page{}, fmt.Errorf("list outbox: %w", err)
	}
	if len(p.Entries) > limit {
		p.Entries = p.Entries[:limit]
		p.Next = p.Entries[limit-1].Seq
	}
	return p, nil
}

// GetOutbox returns one message.
func (db *DB) GetOutbox(ctx context.Context, id string) (*outbox.Entry, error) {
	e, err := db.scanOutbox(db.pool.QueryRow(ctx, `SELECT `+sqlOutboxColumns+` FROM outbox WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("no outbox message %q", id)
	} else if err != nil {
		if te := textError(err); te != nil {
			return nil, notFound("no outbox message %q", id)
		}
		return nil, fmt.Errorf("get outbox message %s: %w", id, err)
	}
	return &e, nil
}

// RedriveOutbox makes a message due again; see outbox.Store.
func (db *DB) RedriveOutbox(ctx context.Context, id string, now time.Time) error {
	var state string
	err := db.pool.QueryRow(ctx, `WITH old AS (SELECT state FROM outbox WHERE id = $1 FOR UPDATE),
			upd AS (UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $2, lease_until = 'epoch'
				WHERE id = $1 AND state <> 'delivered')
		SELECT state FROM old`, id, now).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || textError(err) != nil:
		return notFound("no outbox message %q", id)
	case err != nil:
		return fmt.Errorf("redrive outbox message %s: %w", id, err)
	case state == string(outbox.Delivered):
		return xiaobao.Errorf(xiaobao.ECONFLICT, "outbox message %q was delivered", id)
	}
	return nil
}

// OutboxCounts counts pending and dead messages; see outbox.Store.
func (db *DB) OutboxCounts(ctx context.Context) ([]outbox.Count, error) {
	rows, err := db.pool.Query(ctx, `SELECT sink, topic, state, count(*) FROM outbox
		WHERE state IN ('pending', 'dead') GROUP BY sink, topic, state ORDER BY sink, topic, state`)
	if err != nil {
		return nil, fmt.Errorf("count outbox: %w", err)
	}
	defer rows.Close()
	var out []outbox.Count
	for rows.Next() {
		var c outbox.Count
		var state string
		if err := rows.Scan(&c.Sink, &c.Topic, &state, &c.N); err != nil {
			return nil, fmt.Errorf("count outbox: %w", err)
		}
		c.State = outbox.State(state)
		out = append(out, c)
	}
	return out, rows.Err()
}

// PurgeOutbox deletes messages delivered before t.
func (db *DB) PurgeOutbox(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < $1`, t)
	if err != nil {
		return 0, fmt.Errorf("purge outbox: %w", err)
	}
	return tag.RowsAffected(), nil
}
