package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// OpenSQLite opens (creating it if needed) the queue kept in the SQLite
// file at path, migrating River's tables.
//
// The queue wants a file of its own (serve uses DATA/jobs.db), not the
// main store's: River polls and writes its tables every second or so, and
// SQLite has one writer per file. In the main file those writes would queue
// behind Guard's large group commits and delay them. The price is that
// scheduling a timer is not atomic with a change in the main store; callers
// schedule after their commit and keep a periodic sweep (Every) that
// repairs a timer lost to a crash between the two.
//
// River's SQLite driver is used over a single connection, as its
// documentation advises: River runs several services at once, and one
// connection makes them take turns in Go instead of failing with
// SQLITE_BUSY.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Queue, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("jobs: open %q: want a plain file path", path)
	}
	q := newQueue(opts)
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("jobs: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	fail := func(err error) (*Queue, error) {
		_ = db.Close()
		return nil, fmt.Errorf("jobs: open %s: %w", path, err)
	}
	driver := riversqlite.New(db)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: q.opts.Logger})
	if err != nil {
		return fail(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fail(fmt.Errorf("migrate: %w", err))
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS xiaobao_timer (
		kind TEXT NOT NULL,
		key TEXT NOT NULL,
		job_id INTEGER NOT NULL,
		at INTEGER NOT NULL, -- unix microseconds
		payload TEXT NOT NULL,
		PRIMARY KEY (kind, key)
	) WITHOUT ROWID`); err != nil {
		return fail(fmt.Errorf("migrate: %w", err))
	}
	client, err := river.NewClient(driver, q.riverConfig())
	if err != nil {
		return fail(err)
	}
	q.eng = &engineOf[*sql.Tx]{client: client, st: sqliteStore{db}, close: db.Close}
	return q, nil
}

// sqliteDSN: WAL with synchronous=NORMAL, as the main store: a committed
// schedule survives a crash of the process.
func sqliteDSN(path string) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", "foreign_keys(ON)")
	return path + "?" + v.Encode()
}

type sqliteStore struct{ db *sql.DB }

func (s sqliteStore) begin(ctx context.Context) (*sql.Tx, error) { return s.db.BeginTx(ctx, nil) }

func (s sqliteStore) commit(_ context.Context, tx *sql.Tx) error { return tx.Commit() }

func (s sqliteStore) rollback(tx *sql.Tx) { _ = tx.Rollback() }

func (s sqliteStore) get(ctx context.Context, tx *sql.Tx, kind, key string) (timerRow, bool, error) {
	var r timerRow
	var at int64
	var payload string
	err := tx.QueryRowContext(ctx, `SELECT job_id, at, payload FROM xiaobao_timer WHERE kind = ? AND key = ?`, kind, key).
		Scan(&r.jobID, &at, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	} else if err != nil {
		return r, false, err
	}
	r.at, r.payload = time.UnixMicro(at).UTC(), []byte(payload)
	return r, true, nil
}

func (s sqliteStore) put(ctx context.Context, tx *sql.Tx, kind, key string, r timerRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO xiaobao_timer (kind, key, job_id, at, payload) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET job_id = excluded.job_id, at = excluded.at, payload = excluded.payload`,
		kind, key, r.jobID, r.at.UnixMicro(), string(r.payload))
	return err
}

func (s sqliteStore) del(ctx context.Context, tx *sql.Tx, kind, key string, jobID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM xiaobao_timer WHERE kind = ? AND key = ? AND (? = 0 OR job_id = ?)`, kind, key, jobID, jobID)
	return err
}
