package jobs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xiaobao-org/xiaobao/jobs"
)

// The PostgreSQL tests run against XIAOBAO_TEST_POSTGRES, each in a schema
// of its own, as in package postgres: skipped without it unless
// XIAOBAO_REQUIRE_SERVICES=1.
const (
	envDSN     = "XIAOBAO_TEST_POSTGRES"
	envRequire = "XIAOBAO_REQUIRE_SERVICES"
)

// backend opens queues on one store; each call of open returns a new Queue
// on the same data, as a restarted process would.
type backend struct {
	name string
	open func(t *testing.T) func() *jobs.Queue
}

func backends() []backend {
	return []backend{
		{"SQLite", func(t *testing.T) func() *jobs.Queue {
			path := filepath.Join(t.TempDir(), "jobs.db")
			return func() *jobs.Queue {
				q, err := jobs.OpenSQLite(t.Context(), path, options(t))
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
		}},
		{"PostgreSQL", func(t *testing.T) func() *jobs.Queue {
			pool := testPool(t)
			return func() *jobs.Queue {
				q, err := jobs.OpenPostgres(t.Context(), pool, options(t))
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
		}},
	}
}

func options(t *testing.T) jobs.Options {
	return jobs.Options{
		Workers:      1, // jobs run in scheduled order: see TestCancel
		PollInterval: 100 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
	}
}

// start starts q and stops it when t ends.
func start(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
}

// wait receives from ch, failing t if nothing comes for long: the guard of
// a test that would otherwise hang, not a measure of speed.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func forEach(t *testing.T, fn func(t *testing.T, open func() *jobs.Queue)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open(t))
		})
	}
}

// TestSurvivesRestart schedules a timer in one queue that is never started
// and closed, and checks that a new queue on the same data fires it.
func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func() *jobs.Queue) {
		q := open()
		timer := jobs.Timer{Kind: "hold.expire", Key: "hld_1", At: time.Now().Add(-time.Second), Payload: json.RawMessage(`{"hold": "hld_1"}`)}
		if err := q.Schedule(t.Context(), timer); err != nil {
			t.Fatal(err)
		}
		if err := q.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}

		q = open()
		got := make(chan jobs.Timer, 10)
		q.Handle("hold.expire", func(_ context.Context, tm jobs.Timer) error { got <- tm; return nil })
		start(t, q)
		tm := wait(t, got, "the timer")
		if tm.Kind != "hold.expire" || tm.Key != "hld_1" || string(tm.Payload) != `{"hold":"hld_1"}` || !tm.At.Equal(timer.At.Truncate(time.Microsecond)) {
			t.Errorf("fired %+v", tm)
		}
	})
}

// TestReplaceAndCancel checks that scheduling a key again replaces its
// pending timer and that a cancelled timer does not fire. With one worker
// jobs run in scheduled order, so when the sentinel (due last) fires,
// every earlier timer that was going to fire has.
func TestReplaceAndCancel(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func() *jobs.Queue) {
		q := open()
		ctx := t.Context()
		var mu sync.Mutex
		var fired []string
		sentinel := make(chan struct{}, 1)
		q.Handle("sla.escalate", func(_ context.Context, tm jobs.Timer) error {
			mu.Lock()
			fired = append(fired, tm.Key+"="+string(tm.Payload))
			mu.Unlock()
			if tm.Key == "sentinel" {
				sentinel <- struct{}{}
			}
			return nil
		})
		now := time.Now()
		sched := func(key, payload string, at time.Time) {
			t.Helper()
			if err := q.Schedule(ctx, jobs.Timer{Kind: "sla.escalate", Key: key, At: at, Payload: json.RawMessage(payload)}); err != nil {
				t.Fatal(err)
			}
		}
		sched("case_1", `1`, now.Add(time.Hour))
		sched("case_1", `2`, now.Add(-3*time.Second)) // replaces: due now
		sched("case_2", `1`, now.Add(-3*time.Second))
		sched("case_2", `1`, now.Add(-3*time.Second)) // identical: no-op
		sched("case_3", `1`, now.Add(-3*time.Second))
		if err := q.Cancel(ctx, "sla.escalate", "case_3"); err != nil {
			t.Fatal(err)
		}
		if err := q.Cancel(ctx, "sla.escalate", "case_none"); err != nil {
			t.Fatal(err)
		}
		sched("sentinel", `0`, now.Add(-time.Second))
		start(t, q)
		wait(t, sentinel, "the sentinel")
		mu.Lock()
		defer mu.Unlock()
		want := map[string]bool{"case_1=2": true, "case_2=1": true, "sentinel=0": true}
		if len(fired) != len(want) {
			t.Fatalf("fired %v, want %v", fired, want)
		}
		for _, f := range fired {
			if !want[f] {
				t.Errorf("fired %v, want %v", fired, want)
			}
		}
	})
}

// TestRetryAndReschedule checks that a failing handler is retried, and
// that a handler can schedule its own key again while it runs.
func TestRetryAndReschedule(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func() *jobs.Queue) {
		q := open()
		var calls atomic.Int32
		done := make(chan int32, 10)
		q.Handle("retry", func(ctx context.Context, tm jobs.Timer) error {
			n := calls.Add(1)
			switch n {
			case 1:
				return errors.New("receiver down")
			case 2:
				// Escalate again: the same key, a new time.
				return q.Schedule(ctx, jobs.Timer{Kind: "retry", Key: tm.Key, At: time.Now().Add(-time.Second), Payload: json.RawMessage(`"again"`)})
			}
			done <- n
			return nil
		})
		if err := q.Schedule(t.Context(), jobs.Timer{Kind: "retry", Key: "k", At: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		start(t, q)
		if n := wait(t, done, "the third run"); n != 3 {
			t.Errorf("third run was call %d", n)
		}
	})
}

// TestEvery checks that a sweep runs when the queue starts.
func TestEvery(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func() *jobs.Queue) {
		q := open()
		ran := make(chan struct{}, 10)
		q.Every("sweep", time.Hour, func(context.Context) error { ran <- struct{}{}; return nil })
		start(t, q)
		wait(t, ran, "the sweep")
	})
}

func TestScheduleInvalid(t *testing.T) {
	t.Parallel()
	q, err := jobs.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "jobs.db"), options(t))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(t.Context())
	for _, tm := range []jobs.Timer{
		{Key: "k", At: time.Now()},
		{Kind: "k", At: time.Now()},
		{Kind: "k", Key: "k"},
		{Kind: "k", Key: "k", At: time.Now(), Payload: json.RawMessage(`{`)},
	} {
		if err := q.Schedule(t.Context(), tm); err == nil {
			t.Errorf("Schedule(%+v) succeeded", tm)
		}
	}
	if _, err := jobs.OpenSQLite(t.Context(), ":memory:", options(t)); err == nil {
		t.Error("OpenSQLite(:memory:) succeeded")
	}
}

// testPool returns a pool whose connections use a fresh schema, dropped
// when t ends.
func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("%s=1 but %s is not set", envRequire, envDSN)
		}
		t.Skip("set " + envDSN + "=postgres://... to run the PostgreSQL tests")
	}
	ctx := t.Context()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "xbjobs_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("PostgreSQL unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after the queues' Stop: cleanups run last-in first-out
	return pool
}
