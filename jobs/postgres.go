package jobs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// OpenPostgres returns the queue kept in the database of pool, in the
// schema its connections' search_path names (the one postgres.DB uses),
// migrating River's tables. Instances starting together migrate once,
// under an advisory lock derived from the schema. The pool is the
// caller's: Stop does not close it. It needs at least two connections.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Queue, error) {
	q := newQueue(opts)
	driver := riverpgxv5.New(pool)
	if err := migratePostgres(ctx, pool, driver, q.opts); err != nil {
		return nil, fmt.Errorf("jobs: open: migrate: %w", err)
	}
	client, err := river.NewClient(driver, q.riverConfig())
	if err != nil {
		return nil, fmt.Errorf("jobs: open: %w", err)
	}
	q.eng = &engineOf[pgx.Tx]{client: client, st: pgStore{pool}}
	return q, nil
}

func migratePostgres(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver, o Options) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: o.Logger})
	if err != nil {
		return err
	}
	// River's migrations cannot share one transaction (one adds an enum
	// value that the next uses), so the lock is a session lock held on a
	// connection of its own while Migrate uses others.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return errors.New("no schema of the search_path exists")
	}
	h := fnv.New64a()
	h.Write([]byte("xiaobao jobs migrate " + *schema))
	lockID := int64(h.Sum64() >> 1)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID); err != nil {
			// The lock goes with the connection.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS xiaobao_timer (
		kind text NOT NULL,
		key text NOT NULL,
		job_id bigint NOT NULL,
		at timestamptz NOT NULL,
		payload text NOT NULL,
		PRIMARY KEY (kind, key)
	)`)
	return err
}

type pgStore struct{ pool *pgxpool.Pool }

func (s pgStore) begin(ctx context.Context) (pgx.Tx, error) { return s.pool.Begin(ctx) }

func (s pgStore) commit(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) }

func (s pgStore) rollback(tx pgx.Tx) { _ = tx.Rollback(context.Background()) }

func (s pgStore) get(ctx context.Context, tx pgx.Tx, kind, key string) (timerRow, bool, error) {
	var r timerRow
	var payload string
	// FOR UPDATE: two instances rescheduling one key take turns, so one
	// River job stands for it in the end.
	err := tx.QueryRow(ctx, `SELECT job_id, at, payload FROM xiaobao_timer WHERE kind = $1 AND key = $2 FOR UPDATE`, kind, key).
		Scan(&r.jobID, &r.at, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	} else if err != nil {
		return r, false, err
	}
	r.at, r.payload = r.at.UTC().Truncate(time.Microsecond), []byte(payload)
	return r, true, nil
}

func (s pgStore) put(ctx context.Context, tx pgx.Tx, kind, key string, r timerRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO xiaobao_timer (kind, key, job_id, at, payload) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind, key) DO UPDATE SET job_id = excluded.job_id, at = excluded.at, payload = excluded.payload`,
		kind, key, r.jobID, r.at, string(r.payload))
	return err
}

func (s pgStore) del(ctx context.Context, tx pgx.Tx, kind, key string, jobID int64) error {
	_, err := tx.Exec(ctx, `DELETE FROM xiaobao_timer WHERE kind = $1 AND key = $2 AND ($3 = 0 OR job_id = $3)`, kind, key, jobID)
	return err
}
