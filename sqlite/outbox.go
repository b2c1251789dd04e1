package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/outbox"
)

var _ outbox.Store = (*DB)(nil)

// insertOutbox writes msgs in tx, the transaction of the business change
// that caused them; a message whose ID exists already is skipped, so a
// retried transaction writes it once. Payloads are sealed when the store
// has a key (SetSealer): a notification may name a customer.
func (db *DB) insertOutbox(ctx context.Context, tx *sql.Tx, msgs []outbox.Message) error {
	return insertOutboxSealed(ctx, tx, db.sealer, msgs)
}

func insertOutboxSealed(ctx context.Context, tx *sql.Tx, sealer guard.Sealer, msgs []outbox.Message) error {
	if err := outbox.Validate(msgs); err != nil {
		return err
	}
	for i := range msgs {
		m := &msgs[i]
		payload, err := guard.SealText(sealer, string(m.Payload), outbox.SealAD(m.ID))
		if err != nil {
			return fmt.Errorf("outbox message %s: %w", m.ID, err)
		}
		at := toMicro(m.CreatedAt)
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, sink, topic, order_key, payload, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			m.ID, m.Sink, m.Topic, m.Key, payload, at, at); err != nil {
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
	return db.write(ctx, func(tx *sql.Tx) error { return db.insertOutbox(ctx, tx, msgs) })
}

const sqlOutboxColumns = `seq, id, sink, topic, order_key, payload, created_at, state, attempts, claim, next_attempt_at, lease_until, last_error, delivered_at`

func (db *DB) scanOutbox(sc interface{ Scan(...any) error }) (outbox.Entry, error) {
	var (
		e                    outbox.Entry
		payload, state       string
		created, next, lease int64
		delivered            sql.NullInt64
	)
	if err := sc.Scan(&e.Seq, &e.ID, &e.Sink, &e.Topic, &e.Key, &payload, &created, &state, &e.Attempts, &e.Claim,
		&next, &lease, &e.LastError, &delivered); err != nil {
		return e, err
	}
	plain, err := guard.OpenText(db.sealer, payload, outbox.SealAD(e.ID))
	if err != nil {
		return e, fmt.Errorf("outbox message %s: %w", e.ID, err)
	}
	e.Payload, e.State = []byte(plain), outbox.State(state)
	e.CreatedAt, e.NextAttemptAt, e.LeaseUntil, e.DeliveredAt = fromMicro(created), fromMicro(next), fromMicro(lease), fromNullMicro(delivered)
	return e, nil
}

// ClaimOutbox leases due messages; see outbox.Store. The single writer
// connection makes the select-and-update atomic.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]outbox.Entry, error) {
	// The dispatcher asks every second, and the one writer connection is
	// Guard's too: look on a reader first, and take the write lock only
	// when something is due.
	var due int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM outbox
		WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1)`, toMicro(now), toMicro(now)).Scan(&due)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	var out []outbox.Entry
	err = db.write(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET claim = claim + 1, attempts = attempts + 1, lease_until = ?
			WHERE seq IN (
				SELECT o.seq FROM outbox o
				WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND o.lease_until <= ?
					AND (o.order_key = '' OR NOT EXISTS (
						SELECT 1 FROM outbox p
						WHERE p.sink = o.sink AND p.order_key = o.order_key AND p.state = 'pending' AND p.order_key <> '' AND p.seq < o.seq))
				ORDER BY o.seq LIMIT ?)
			RETURNING `+sqlOutboxColumns,
			toMicro(now.Add(lease)), toMicro(now), toMicro(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := db.scanOutbox(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	slices.SortFunc(out, func(a, b outbox.Entry) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// MarkOutboxDelivered records an acknowledgement; see outbox.Store.
func (db *DB) MarkOutboxDelivered(ctx context.Context, id string, now time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'delivered', delivered_at = ?, lease_until = 0, last_error = ''
			WHERE id = ? AND state = 'pending'`, toMicro(now), id)
		return err
	})
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
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, next_attempt_at = ?, lease_until = 0, last_error = ?
			WHERE id = ? AND claim = ? AND state = 'pending'`, string(state), toMicro(f.NextAttemptAt), f.Err, id, f.Claim)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark outbox message %s failed: %w", id, err)
	}
	return nil
}

// ListOutbox lists messages for operators, oldest first.
func (db *DB) ListOutbox(ctx context.Context, f outbox.Filter) (outbox.Page, error) {
	limit := outbox.ClampLimit(f.Limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+sqlOutboxColumns+` FROM outbox
		WHERE (? = '' OR state = ?) AND (? = '' OR sink = ?) AND (? = '' OR topic = ?) AND seq > ?
		ORDER BY seq LIMIT ?`,
		string(f.State), string(f.State), f.Sink, f.Sink, f.Topic, f.Topic, f.After, limit+1)
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
	e, err := db.scanOutbox(db.r.QueryRowContext(ctx, `SELECT `+sqlOutboxColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no outbox message %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("get outbox message %s: %w", id, err)
	}
	return &e, nil
}

// RedriveOutbox makes a message due again; see outbox.Store.
func (db *DB) RedriveOutbox(ctx context.Context, id string, now time.Time) error {
	var state string
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT state FROM outbox WHERE id = ?`, id).Scan(&state); err != nil {
			return err
		}
		if state == string(outbox.Delivered) {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0
			WHERE id = ?`, toMicro(now), id)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
	rows, err := db.r.QueryContext(ctx, `SELECT sink, topic, state, count(*) FROM outbox
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
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?`, toMicro(t))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge outbox: %w", err)
	}
	return n, nil
}
