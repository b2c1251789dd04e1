package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao/postgres"
	"github.com/xiaobao-org/xiaobao/staff"
	"github.com/xiaobao-org/xiaobao/storetest"
)

// The tests run against the server named by XIAOBAO_TEST_POSTGRES, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, and are skipped
// without it, unless XIAOBAO_REQUIRE_SERVICES=1 (as in CI), which turns a
// missing or unreachable server into a failure. Each test works in a schema
// of its own, dropped at the end, so tests run in parallel and leave nothing.
const (
	envDSN     = "XIAOBAO_TEST_POSTGRES"
	envRequire = "XIAOBAO_REQUIRE_SERVICES"
)

var (
	reachOnce sync.Once
	reachErr  error
)

// testDSN returns the DSN of the test server, skipping or failing tb when
// there is none.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(envDSN)
	required := os.Getenv(envRequire) == "1"
	if dsn == "" {
		if required {
			tb.Fatalf("%s=1 but %s is not set", envRequire, envDSN)
		}
		tb.Skip("set " + envDSN + "=postgres://... to run the PostgreSQL tests")
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			reachErr = err
			return
		}
		reachErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	if reachErr != nil {
		if required {
			tb.Fatalf("PostgreSQL at %s unreachable: %v", redact(dsn), reachErr)
		}
		tb.Skipf("PostgreSQL at %s unreachable: %v", redact(dsn), reachErr)
	}
	return dsn
}

// redact hides a password in dsn.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return "the " + envDSN + " server"
}

// newSchema returns a fresh schema name, dropped when tb ends.
func newSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "xbtest_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// open returns a database migrated in a new schema, closed and dropped when
// tb ends.
func open(tb testing.TB) *postgres.DB {
	tb.Helper()
	dsn := testDSN(tb)
	schema := newSchema(tb, dsn) // registered first: cleanups run last-in first-out
	db, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		db := open(t)
		// Pages of 7 rows: the paged reads cross many page boundaries
		// (and fall inside ties of Outcomes' order) with little data.
		postgres.SetPageSize(db, 7)
		return db
	})
}

// TestSearchPathInDSN checks that a search_path parameter in the DSN alone
// places the tables, and that opening again finds the migrations applied.
func TestSearchPathInDSN(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	ctx := t.Context()

	// The schema of a DSN's search_path must exist: Open says so clearly.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	withPath := dsn + sep + "search_path=" + url.QueryEscape(schema)
	if _, err := postgres.Open(ctx, withPath); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("Open with a missing search_path schema: %v", err)
	}

	first, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SaveRecords(ctx, storetest.NewRecords(1, 3)); err != nil {
		t.Fatal(err)
	}
	first.Close()

	db, err := postgres.Open(ctx, withPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Schema() != schema {
		t.Fatalf("Schema() = %q, want %q", db.Schema(), schema)
	}
	if seq, err := db.MaxSeq(ctx); err != nil || seq != 3 {
		t.Fatalf("MaxSeq = %d, %v; want 3", seq, err)
	}
}

// TestOpenConcurrently checks that instances starting together on one
// schema migrate it once (goose's advisory lock).
func TestOpenConcurrently(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), dsn, postgres.WithSchema(schema))
			if err != nil {
				errs <- err
				return
			}
			db.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkSaveRecords(b *testing.B) {
	storetest.BenchSaveRecords(b, func(b *testing.B) storetest.Store { return open(b) })
}

func TestStaffStore(t *testing.T) {
	storetest.ExerciseStaff(t, func(t *testing.T) staff.Store { return open(t) })
}
