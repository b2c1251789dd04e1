package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/postgres"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// store opens a store; reopen closes it and opens it again on the same
// data, as a restarted process would.
type storeKind struct {
	name string
	open func(t *testing.T) (s outbox.Store, reopen func() outbox.Store)
}

func storeKinds() []storeKind {
	return []storeKind{
		{"SQLite", func(t *testing.T) (outbox.Store, func() outbox.Store) {
			path := filepath.Join(t.TempDir(), "xiaobao.db")
			var db *sqlite.DB
			open := func() outbox.Store {
				var err error
				if db, err = sqlite.Open(t.Context(), path); err != nil {
					t.Fatal(err)
				}
				return db
			}
			s := open()
			t.Cleanup(func() { _ = db.Close() })
			return s, func() outbox.Store { _ = db.Close(); return open() }
		}},
		{"PostgreSQL", func(t *testing.T) (outbox.Store, func() outbox.Store) {
			dsn, schema := pgSchema(t)
			var db *postgres.DB
			open := func() outbox.Store {
				var err error
				if db, err = postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4)); err != nil {
					t.Fatal(err)
				}
				return db
			}
			s := open()
			t.Cleanup(func() { _ = db.Close() })
			return s, func() outbox.Store { _ = db.Close(); return open() }
		}},
	}
}

// receiver is a correct receiver (outbox.Receiver) on a real HTTP server,
// whose answers a test scripts: fail[n] is the status of request n (from
// 0) before the receiver acts; beyond it, it acts and answers 200.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []*http.Request
	fail  []int
	acted []string // ids, in the order acted upon
}

func newReceiver(t *testing.T, clock xiaobao.Clock, fail ...int) *receiver {
	r := &receiver{fail: fail}
	verify := outbox.Receiver([]string{secretNew}, outbox.DefaultTolerance, clock, outbox.NewMemoryDedup(),
		func(_ context.Context, env outbox.Envelope) error {
			r.mu.Lock()
			r.acted = append(r.acted, env.ID)
			r.mu.Unlock()
			return nil
		})
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		n := len(r.reqs)
		r.reqs = append(r.reqs, req.Clone(context.Background()))
		r.mu.Unlock()
		if n < len(r.fail) && r.fail[n] != 0 {
			_, _ = io.Copy(io.Discard, req.Body)
			if r.fail[n] == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "120")
			}
			w.WriteHeader(r.fail[n])
			return
		}
		verify.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) snapshot() (reqs []*http.Request, acted []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...), append([]string(nil), r.acted...)
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func message(n int, key string) outbox.Message {
	return outbox.Message{
		ID: fmt.Sprintf("msg_%d", n), Sink: "payments", Topic: "hold.released", Key: key,
		Payload:   json.RawMessage(fmt.Sprintf(`{"hold_id":"hld_%d","amount":"5000.00"}`, n)),
		CreatedAt: t0,
	}
}

type fixture struct {
	store  outbox.Store
	reopen func() outbox.Store
	clock  *xiaobao.ManualClock
	recv   *receiver
	reg    *prometheus.Registry
	d      *outbox.Dispatcher
}

func newFixture(t *testing.T, sk storeKind, fail ...int) *fixture {
	f := &fixture{clock: xiaobao.NewManualClock(t0)}
	f.store, f.reopen = sk.open(t)
	f.recv = newReceiver(t, f.clock, fail...)
	f.reg = prometheus.NewRegistry()
	f.d = f.dispatcher(t, outbox.NewMetrics(f.reg))
	return f
}

func (f *fixture) dispatcher(t *testing.T, m *outbox.Metrics) *outbox.Dispatcher {
	web, err := outbox.NewWebhookSender(f.recv.srv.URL+"/hooks/xiaobao", []string{secretNew, secretOld}, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	d, err := outbox.NewDispatcher(outbox.Config{
		Store: f.store, Senders: map[string]outbox.Sender{"payments": web}, Clock: f.clock, Metrics: m,
		MaxAttempts: 3, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) dispatch(t *testing.T, want int) {
	t.Helper()
	n, err := f.d.Dispatch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("Dispatch delivered %d, want %d", n, want)
	}
}

func (f *fixture) entry(t *testing.T, id string) *outbox.Entry {
	t.Helper()
	e, err := f.store.GetOutbox(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func forEachStore(t *testing.T, fn func(t *testing.T, sk storeKind)) {
	for _, sk := range storeKinds() {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			fn(t, sk)
		})
	}
}

// TestDeliveredAfterRestart: a message committed before a crash is
// delivered by the dispatcher of the next process.
func TestDeliveredAfterRestart(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, sk storeKind) {
		f := newFixture(t, sk)
		if err := f.store.AppendOutbox(t.Context(), []outbox.Message{message(1, "case_1")}); err != nil {
			t.Fatal(err)
		}
		f.store = f.reopen()
		f.d = f.dispatcher(t, nil)
		f.dispatch(t, 1)
		reqs, acted := f.recv.snapshot()
		if len(reqs) != 1 || len(acted) != 1 || acted[0] != "msg_1" {
			t.Fatalf("%d requests, acted on %v", len(reqs), acted)
		}
		r := reqs[0]
		if r.Method != http.MethodPost || r.URL.Path != "/hooks/xiaobao" || r.Header.Get(outbox.IdempotencyKeyHeader) != "msg_1" ||
			r.Header.Get(outbox.TopicHeader) != "hold.released" || r.Header.Get(outbox.AttemptHeader) != "1" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %v", r.Method, r.URL.Path, r.Header)
		}
		if e := f.entry(t, "msg_1"); e.State != outbox.Delivered || !e.DeliveredAt.Equal(t0) {
			t.Errorf("entry %+v", e)
		}
		f.dispatch(t, 0) // nothing is sent twice
	})
}

// TestRetryThenDeliver: a receiver that answers 500 and then 200 has the
// message acted upon once, after the back-off.
func TestRetryThenDeliver(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, sk storeKind) {
		f := newFixture(t, sk, 500)
		if err := f.store.AppendOutbox(t.Context(), []outbox.Message{message(1, "")}); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t, 0)
		e := f.entry(t, "msg_1")
		if e.State != outbox.Pending || e.Attempts != 1 || e.LastError != "receiver answered 500" {
			t.Fatalf("after a 500: %+v", e)
		}
		wait := e.NextAttemptAt.Sub(t0)
		if wait < 5*time.Second || wait > 10*time.Second {
			t.Errorf("first retry after %v, want 5s to 10s", wait)
		}
		f.clock.Advance(wait - time.Microsecond)
		f.dispatch(t, 0) // not due yet
		f.clock.Advance(time.Microsecond)
		f.dispatch(t, 1)
		reqs, acted := f.recv.snapshot()
		if len(reqs) != 2 || len(acted) != 1 {
			t.Fatalf("%d requests, acted on %v", len(reqs), acted)
		}
		if got := reqs[1].Header.Get(outbox.AttemptHeader); got != "2" {
			t.Errorf("second request is attempt %s", got)
		}
		if got := metricSum(t, f.reg, "xiaobao_outbox_failed_total", "retry"); got != 1 {
			t.Errorf("failed_total{outcome=retry} = %v", got)
		}
		if got := metricSum(t, f.reg, "xiaobao_outbox_delivered_total", ""); got != 1 {
			t.Errorf("delivered_total = %v", got)
		}
	})
}

// TestRedeliveryAfterCrash: a dispatcher dies after the receiver acted but
// before the delivery was recorded. Once its lease runs out the message is
// sent again with the same id, and the receiver does not act twice.
func TestRedeliveryAfterCrash(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, sk storeKind) {
		f := newFixture(t, sk)
		ctx := t.Context()
		if err := f.store.AppendOutbox(ctx, []outbox.Message{message(1, "")}); err != nil {
			t.Fatal(err)
		}
		// The doomed dispatcher: claims, sends, and is gone.
		claimed, err := f.store.ClaimOutbox(ctx, f.clock.Now(), 5*time.Minute, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v, %v", claimed, err)
		}
		web, _ := outbox.NewWebhookSender(f.recv.srv.URL, []string{secretNew}, f.clock)
		if err := web.Send(ctx, outbox.Delivery{Message: claimed[0].Message, Attempt: claimed[0].Attempts}); err != nil {
			t.Fatal(err)
		}
		f.store = f.reopen()
		f.d = f.dispatcher(t, nil)
		f.dispatch(t, 0) // still leased to the dead dispatcher
		f.clock.Advance(5 * time.Minute)
		f.dispatch(t, 1)
		reqs, acted := f.recv.snapshot()
		if len(reqs) != 2 || len(acted) != 1 {
			t.Fatalf("%d requests, acted on %v", len(reqs), acted)
		}
		if a, b := reqs[0].Header.Get(outbox.IdempotencyKeyHeader), reqs[1].Header.Get(outbox.IdempotencyKeyHeader); a != "msg_1" || b != a {
			t.Errorf("idempotency keys %q, %q", a, b)
		}
		if e := f.entry(t, "msg_1"); e.State != outbox.Delivered || e.Attempts != 2 {
			t.Errorf("entry %+v", e)
		}
	})
}

// TestFailures: permanent refusals and exhausted attempts end in dead
// messages; 401, 408 and 429 are retried, 429 after its Retry-After.
func TestFailures(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, sk storeKind) {
		f := newFixture(t, sk, 422, 429, 401, 408, 503)
		ctx := t.Context()
		// One at a time, so that requests meet the scripted answers in
		// order: a line of one key.
		if err := f.store.AppendOutbox(ctx, []outbox.Message{message(1, "k"), message(2, "k")}); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t, 0)
		if e := f.entry(t, "msg_1"); e.State != outbox.Dead || !strings.Contains(e.LastError, "422") {
			t.Fatalf("after a 422: %+v", e)
		}
		f.dispatch(t, 0) // msg_2: 429 Retry-After 120
		e := f.entry(t, "msg_2")
		if e.State != outbox.Pending || !e.NextAttemptAt.Equal(t0.Add(120*time.Second)) {
			t.Fatalf("after a 429: %+v", e)
		}
		f.clock.Advance(120 * time.Second)
		f.dispatch(t, 0) // 401
		if e := f.entry(t, "msg_2"); e.State != outbox.Dead || e.Attempts != 2 {
			// MaxAttempts is 3: the next failure kills it.
			if e.State != outbox.Pending {
				t.Fatalf("after a 401: %+v", e)
			}
		}
		f.clock.Advance(time.Hour)
		f.dispatch(t, 0) // 408, the third attempt: dead
		if e := f.entry(t, "msg_2"); e.State != outbox.Dead || e.Attempts != 3 {
			t.Fatalf("after three attempts: %+v", e)
		}
		// An operator redrives it: 503, then it goes through.
		if err := f.store.RedriveOutbox(ctx, "msg_2", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t, 0)
		f.clock.Advance(time.Hour)
		f.dispatch(t, 1)
		if _, acted := f.recv.snapshot(); len(acted) != 1 || acted[0] != "msg_2" {
			t.Errorf("acted on %v", acted)
		}
		if got := metricSum(t, f.reg, "xiaobao_outbox_failed_total", "dead"); got != 2 {
			t.Errorf("failed_total{outcome=dead} = %v, want 2", got)
		}
		if got := metricSum(t, f.reg, "xiaobao_outbox_messages", "dead"); got != 1 {
			t.Errorf("messages{state=dead} = %v, want 1", got)
		}
	})
}

// TestOrderPerKey: messages of one key reach the receiver in the order
// written, one at a time, though each is retried.
func TestOrderPerKey(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, sk storeKind) {
		f := newFixture(t, sk, 500)
		var msgs []outbox.Message
		for n := 1; n <= 5; n++ {
			msgs = append(msgs, message(n, "case_1"))
		}
		if err := f.store.AppendOutbox(t.Context(), msgs); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t, 0)
		f.clock.Advance(time.Minute)
		f.dispatch(t, 5)
		_, acted := f.recv.snapshot()
		if strings.Join(acted, ",") != "msg_1,msg_2,msg_3,msg_4,msg_5" {
			t.Errorf("acted in order %v", acted)
		}
	})
}

// TestNoSender: a message for a sink without a sender waits, and dies
// after its attempts like any other.
func TestNoSender(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, sk storeKind) {
		f := newFixture(t, sk)
		m := message(1, "")
		m.Sink = "sms"
		if err := f.store.AppendOutbox(t.Context(), []outbox.Message{m}); err != nil {
			t.Fatal(err)
		}
		f.dispatch(t, 0)
		if e := f.entry(t, "msg_1"); e.State != outbox.Pending || !strings.Contains(e.LastError, `no sender for sink "sms"`) {
			t.Errorf("entry %+v", e)
		}
	})
}

// metricSum sums the samples of metric name in reg whose outcome or state
// label is label (all of them, if label is empty).
func metricSum(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			match := label == ""
			for _, lp := range mt.GetLabel() {
				if (lp.GetName() == "outcome" || lp.GetName() == "state") && lp.GetValue() == label {
					match = true
				}
			}
			if match {
				sum += mt.GetCounter().GetValue() + mt.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// pgSchema returns the test server's DSN and a fresh schema name, dropped
// when t ends; it skips (or fails, under XIAOBAO_REQUIRE_SERVICES=1)
// without XIAOBAO_TEST_POSTGRES, as package postgres's tests do.
func pgSchema(t *testing.T) (string, string) {
	t.Helper()
	dsn := os.Getenv("XIAOBAO_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("XIAOBAO_REQUIRE_SERVICES") == "1" {
			t.Fatal("XIAOBAO_REQUIRE_SERVICES=1 but XIAOBAO_TEST_POSTGRES is not set")
		}
		t.Skip("set XIAOBAO_TEST_POSTGRES=postgres://... to run the PostgreSQL tests")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "xbtest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	return dsn, schema
}
