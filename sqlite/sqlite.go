// Package sqlite keeps every xiaobao store in one SQLite file, through the
// pure-Go driver modernc.org/sqlite.
//
// SQLite allows one writer at a time, so DB holds exactly one writing
// connection and a separate pool of read-only connections: writers queue in
// Go (on the single connection) instead of spinning on SQLITE_BUSY, and reads
// never wait for writes thanks to WAL mode.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Interface checks.
var (
	_ guard.Store   = (*DB)(nil)
	_ auth.KeyStore = (*DB)(nil)
)

// DB is an open SQLite database. It implements guard.Store and auth.KeyStore
// and is safe for concurrent use.
type DB struct {
	path   string
	sealer guard.Sealer // nil: raw events and accounts stored as they came
	// pageSize is how many rows Replay, EventIDs and Outcomes read per
	// query: defaultPageSize, smaller in tests to cross page boundaries.
	pageSize int

	// w is the one connection that writes (MaxOpenConns 1). Every write
	// transaction is BEGIN IMMEDIATE (_txlock=immediate), so it takes the
	// write lock up front and can never fail half-way with SQLITE_BUSY when
	// upgrading a read lock.
	w *sql.DB
	// r is the pool of read-only connections (query_only).
	r *sql.DB

	// The checkpointer goroutine copies committed WAL frames into the
	// database file while the writer goes on; see checkpointer.
	dirty atomic.Bool
	stop  chan struct{}
	done  chan struct{}

	// Prepared statements of the hot paths. Those on w live on its single
	// connection, so tx.StmtContext reuses them without preparing again.
	insertRecord   [maxInsertRows + 1]*sql.Stmt // by number of rows: 1, 2, 4, … 64
	insertKey      [maxInsertRows + 1]*sql.Stmt // likewise
	upsertList     [maxListRows + 1]*sql.Stmt   // likewise
	decisionByID   *sql.Stmt
	decisionByEvt  *sql.Stmt
	replayPage     *sql.Stmt
	eventIDsPage   *sql.Stmt
	outcomeByDecID *sql.Stmt
	// wstmts are other statements of w prepared on first use (query →
	// *sql.Stmt): small transactions that commit often, such as service
	// turns, would otherwise spend much of their time parsing SQL.
	wstmts sync.Map
}

// wstmt returns the statement q prepared on the writer connection.
func (db *DB) wstmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := db.wstmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.w.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.wstmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Open opens (creating it if needed) the SQLite database file at path and
// applies any pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		// Two pools on ":memory:" would be two different databases.
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	db := &DB{path: path, pageSize: defaultPageSize}
	if err := db.open(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dsn returns the driver DSN for path.
//
// journal_mode=WAL with synchronous=NORMAL: a commit appends to the WAL file
// with write(2) before it returns but does not fsync, so a committed
// transaction survives a crash of the process (kill -9, panic, OOM kill):
// the data is in the OS page cache and the next open recovers it from the
// WAL. Only an OS crash or power loss can lose the last transactions before
// a checkpoint; the database is never corrupted either way. FULL would fsync
// every commit and cost ~1 ms each on typical disks.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "temp_store(MEMORY)")
	// Readers keep SQLite's default cache (2 MiB). The writer gets 128 MiB:
	// decisions are indexed in large background transactions, each record
	// touching a leaf of every secondary index, and with a small cache
	// those leaves are spilled to the WAL mid-transaction and read back
	// (measured: most of the indexing time). SQLite walks the cache at each
	// commit, which is cheap when commits are few and large.
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_txlock", "immediate")
		q.Add("_pragma", "cache_size(-131072)")
		// The checkpointer goroutine normally checkpoints long before the
		// WAL holds this many pages (128 MiB); should it fall behind, the
		// writer checkpoints itself after a commit, as SQLite does by
		// default every 1000 pages.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutoCheckpointPages))
		// Once reset, keep the WAL file from staying larger than this.
		q.Add("_pragma", "journal_size_limit(67108864)")
	}
	return path + "?" + q.Encode()
}

func (db *DB) open(ctx context.Context) error {
	var err error
	if db.w, err = sql.Open("sqlite", dsn(db.path, false)); err != nil {
		return err
	}
	// The one writer: never more than one connection, and never closed while
	// idle, so the prepared statements on it stay valid.
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := db.w.PingContext(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, db.w); err != nil {
		return err
	}

	if db.r, err = sql.Open("sqlite", dsn(db.path, true)); err != nil {
		return err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.r.SetMaxOpenConns(n)
	db.r.SetMaxIdleConns(n)
	db.r.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.r.PingContext(ctx); err != nil {
		return err
	}

	prepare := func(p **sql.Stmt, on *sql.DB, query string) {
		if err != nil {
			return
		}
		*p, err = on.PrepareContext(ctx, query)
	}
	prepare(&db.decisionByID, db.r, sqlRecordColumns+` WHERE decision_id = ?`)
	prepare(&db.decisionByEvt, db.r, sqlRecordColumns+` WHERE event_id = ?`)
	prepare(&db.replayPage, db.r, `SELECT seq, event_id, raw, action, coalesce(typology, '') FROM records WHERE seq > ? ORDER BY seq LIMIT ?`)
	prepare(&db.eventIDsPage, db.r, `SELECT seq, event_id FROM records WHERE seq > ? ORDER BY seq LIMIT ?`)
	prepare(&db.outcomeByDecID, db.r, sqlOutcomeColumns+` WHERE decision_id = ?`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	for n := 1; n <= maxInsertRows; n *= 2 {
		if db.insertRecord[n], err = db.w.PrepareContext(ctx, insertRecordSQL(n)); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if db.insertKey[n], err = db.w.PrepareContext(ctx, insertKeySQL(n)); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	for n := 1; n <= maxListRows; n *= 2 {
		if db.upsertList[n], err = db.w.PrepareContext(ctx, upsertListSQL(n)); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	db.stop, db.done = make(chan struct{}), make(chan struct{})
	go db.checkpointer()
	return nil
}

const (
	walAutoCheckpointPages = 32768
	// Guard writes in large transactions every few seconds; checkpointing
	// at the same pace copies each hot index page once per round instead of
	// once per small commit.
	checkpointEvery = 3 * time.Second
)

// checkpointer runs PASSIVE checkpoints from a read connection every
// checkpointEvery while there are new writes. A checkpoint copies WAL frames
// into the database file and fsyncs it; done here, that work runs beside
// the writer instead of inside the commit that happens to cross the
// autocheckpoint threshold, which would stall the decisions waiting on that
// commit. A PASSIVE checkpoint never blocks the writer or readers. After a
// checkpoint that copied every frame, the writer's next transaction starts
// the WAL over from its beginning, so the WAL file stays small.
func (db *DB) checkpointer() {
	defer close(db.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		if !db.dirty.Swap(false) {
			continue
		}
		var busy, log, done int
		err := db.r.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done)
		if err != nil || done < log {
			// Frames remain (a reader holds them, or new commits raced
			// in): try again next time.
			db.dirty.Store(true)
		}
	}
}

// migrate applies the embedded migrations with a goose Provider, which
// touches no global goose state.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the database. The last connection to close checkpoints the
// WAL into the database file.
func (db *DB) Close() error {
	if db.stop != nil {
		close(db.stop)
		<-db.done
		db.stop = nil
	}
	var errs []error
	for _, s := range append(db.insertRecord[:], db.upsertList[:]...) {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	for _, s := range []*sql.Stmt{db.decisionByID, db.decisionByEvt, db.replayPage, db.eventIDsPage, db.outcomeByDecID} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	db.wstmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		// Let SQLite refresh the planner statistics it thinks are stale.
		_, _ = db.w.Exec(`PRAGMA optimize`)
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// Path returns the path of the database file.
func (db *DB) Path() string { return db.path }

// write runs fn in a write transaction (BEGIN IMMEDIATE on the writer
// connection) and commits it if fn returns nil.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.dirty.Store(true)
	return nil
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// Times are stored as unix microseconds, the precision PostgreSQL keeps, so
// both engines return the same values.
func toMicro(t time.Time) int64 { return t.UnixMicro() }

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicro(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicro(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

func notFound(format string, args ...any) error {
	return xiaobao.Errorf(xiaobao.ENOTFOUND, format, args...)
}
