// Package postgres keeps every xiaobao store in PostgreSQL, through pgx/v5
// and its pool. database/sql is used only by goose, at migration time.
//
// Hot paths are single statements: pgx prepares and caches each statement on
// each connection (QueryExecModeCacheStatement, the default), and a batch of
// records is one INSERT … SELECT FROM unnest($1, $2, …) with one array per
// column, so saving 1 or 256 records is one round trip and atomic without an
// explicit transaction.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

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

// DB is an open PostgreSQL database. It implements guard.Store and
// auth.KeyStore and is safe for concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	schema string
	sealer guard.Sealer // nil: raw events and accounts stored as they came
	// pageSize is how many rows Replay, EventIDs and Outcomes read per
	// query: defaultPageSize, smaller in tests to cross page boundaries.
	pageSize int
}

// Option configures Open.
type Option func(*options)

type options struct {
	schema   string
	maxConns int32
}

// WithSchema keeps the tables in schema, creating it if needed: every
// connection gets search_path=schema. Without it, the search_path of the DSN
// (a search_path=… parameter, sent to the server at connect) or the server's
// default applies.
func WithSchema(schema string) Option { return func(o *options) { o.schema = schema } }

// WithMaxConns sets the size of the connection pool (default: pgxpool's,
// the larger of 4 and the number of CPUs, or pool_max_conns in the DSN). It
// is at least 2: migrating holds one connection for its lock and uses
// another.
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = max(n, 2) } }

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as pgx takes it) and applies any pending migrations.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{pool: pool, pageSize: defaultPageSize}
	if err := db.open(ctx, o); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return db, nil
}

func (db *DB) open(ctx context.Context, o options) error {
	if o.schema != "" {
		// Two instances creating the schema at once can both pass IF NOT
		// EXISTS and one then fails on the catalog's unique index: the
		// schema exists either way.
		_, err := db.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{o.schema}.Sanitize())
		if err != nil && pgCode(err) != uniqueViolation {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	var schema *string
	if err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return errors.New("no schema of the search_path exists: create it, or use WithSchema")
	}
	db.schema = *schema
	return migrate(ctx, db.pool, db.schema)
}

// migrate applies the embedded migrations with a goose Provider (no global
// goose state) over a database/sql view of the pool. The migration lock is a
// session advisory lock whose id derives from the schema, so instances
// starting together migrate once, while separate schemas (parallel tests)
// do not wait for each other.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write([]byte("xiaobao migrate " + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64()>>1)),
		lock.WithLockTimeout(1, 600), // try every second, for 10 minutes
	)
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Schema returns the schema that holds the tables.
func (db *DB) Schema() string { return db.schema }

// Pool returns the connection pool, for other adapters (a job queue, say)
// that want to share it.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// pgCode returns the SQLSTATE of err, "" if it is not a server error.
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

const (
	uniqueViolation          = "23505"
	characterNotInRepertoire = "22021" // invalid UTF-8, NUL in text
	untranslatableCharacter  = "22P05"
)

// textError maps PostgreSQL's refusal of a string (NUL bytes, invalid UTF-8:
// text columns cannot hold them, unlike SQLite's) to EINVALID.
func textError(err error) error {
	switch pgCode(err) {
	case characterNotInRepertoire, untranslatableCharacter:
		return xiaobao.Errorf(xiaobao.EINVALID, "text must be valid UTF-8 without NUL characters")
	}
	return nil
}

func notFound(format string, args ...any) error {
	return xiaobao.Errorf(xiaobao.ENOTFOUND, format, args...)
}

// utc returns t in UTC: pgx returns timestamptz in the local time zone.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
