package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// testPack is a rule pack whose decisions the tests can predict.
const testPack = `pack: test
description: {zh: 测试规则包, en: test pack}
rules:
  - id: T_BIG
    name: {zh: 大额, en: big amount}
    description: {zh: 金额不少于一万元, en: amount of at least 10000 yuan}
    nodes: [transfer, withdrawal]
    when: event.amount >= 10000
    score: 0.95
    action: hold
    typology: test_big
    code: T_BIG
  - id: T_BLOCKED
    name: {zh: 黑名单收款人, en: block-listed payee}
    description: {zh: 收款账户在黑名单中, en: the payee account is on the block list}
    nodes: [transfer]
    when: lists.block_account
    score: 0.99
    action: block
    typology: test_listed
    code: T_BLOCKED
  - id: T_SHADOW
    name: {zh: 影子规则, en: shadow rule}
    description: {zh: 金额不少于五千元, en: amount of at least 5000 yuan}
    nodes: [transfer]
    when: event.amount >= 5000
    score: 0.5
    action: remind
    code: T_SHADOW
    mode: shadow
`

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fixture is a server on a real guard.Service on a real SQLite database.
type fixture struct {
	t     testing.TB
	db    *sqlite.DB
	svc   *guard.Service
	srv   *server
	reg   *prometheus.Registry
	logs  *syncBuffer
	admin string // secret of an admin key
}

// setup starts a fixture; opts adjust the server config. The test pack is
// loaded and active.
func setup(t testing.TB, opts ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "xiaobao.db"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := guard.Open(ctx, guard.Config{Store: db, Logger: logger, Observer: m, SnapshotInterval: -1, SkipBuiltin: true})
	if err != nil {
		_ = db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := svc.LoadPack(ctx, []byte(testPack), "test", "", true); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Guard: svc, Keys: db, Logger: logger, Registry: reg, Metrics: m}
	for _, o := range opts {
		o(&cfg)
	}
	f := &fixture{t: t, db: db, svc: svc, srv: newServer(cfg), reg: reg, logs: logs}
	f.admin = f.newKey(auth.ScopeAdmin)
	return f
}

// newKey stores a key with scopes directly and returns its secret.
func (f *fixture) newKey(scopes ...string) string {
	f.t.Helper()
	secret := auth.NewSecret()
	k := &auth.Key{ID: auth.NewID(), Name: "test " + strings.Join(scopes, ","), Hash: auth.HashSecret(secret),
		Prefix: secret[:7], Scopes: scopes, CreatedAt: time.Now().UTC()}
	if err := f.db.CreateKey(context.Background(), k); err != nil {
		f.t.Fatal(err)
	}
	return secret
}

// request is one test request.
type request struct {
	method, path string
	key          string // secret; "" sends no Authorization
	body         string
	header       map[string]string
}

// do serves req and returns the recorded response.
func (f *fixture) do(req request) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
	if req.key != "" {
		r.Header.Set("Authorization", "Bearer "+req.key)
	}
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w
}

// get, post, put and del are shorthands with the admin key.
func (f *fixture) get(path string) *httptest.ResponseRecorder {
	return f.do(request{method: "GET", path: path, key: f.admin})
}

func (f *fixture) post(path, body string) *httptest.ResponseRecorder {
	return f.do(request{method: "POST", path: path, key: f.admin, body: body})
}

// decode unmarshals a response body into a new T, failing the test on error.
func decode[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v\nbody: %s", v, err, w.Body.String())
	}
	return v
}

// wantStatus fails the test unless w has status code.
func wantStatus(t testing.TB, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status = %d, want %d; body: %s", w.Code, code, w.Body.String())
	}
}

// wantProblem checks that w is a problem with status, code and (at least)
// the named fields in errors.
func wantProblem(t testing.TB, w *httptest.ResponseRecorder, status int, code string, fields ...string) problem {
	t.Helper()
	wantStatus(t, w, status)
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	p := decode[problem](t, w)
	if p.Code != code || p.Type != "/problems/"+code || p.Status != status || p.Title == "" {
		t.Errorf("problem = %+v, want code %s status %d", p, code, status)
	}
	for _, field := range fields {
		found := false
		for _, fe := range p.Errors {
			found = found || fe.Field == field
		}
		if !found {
			t.Errorf("problem errors %+v do not name %q", p.Errors, field)
		}
	}
	return p
}

// event returns a valid transfer event; mods are "name": value pairs that
// replace or add top-level members (raw JSON), or "-name" to remove one.
func event(id string, mods ...string) string {
	members := []struct{ name, raw string }{
		{"event_id", fmt.Sprintf("%q", id)},
		{"type", `"transfer"`},
		{"occurred_at", `"2026-01-02T03:04:05+08:00"`},
		{"customer", `{"id":"cust-1","age":30}`},
		{"amount", `"100.00"`},
		{"counterparty", `{"account":"6222020200112233445"}`},
	}
	for _, m := range mods {
		if name, ok := strings.CutPrefix(m, "-"); ok {
			for i := range members {
				if members[i].name == name {
					members = append(members[:i], members[i+1:]...)
					break
				}
			}
			continue
		}
		name, raw, _ := strings.Cut(m, "=")
		found := false
		for i := range members {
			if members[i].name == name {
				members[i].raw, found = raw, true
			}
		}
		if !found {
			members = append(members, struct{ name, raw string }{name, raw})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", m.name, m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

// decisionJSON is the contract view of a decision.
type decisionJSON struct {
	DecisionID string  `json:"decision_id"`
	EventID    string  `json:"event_id"`
	Seq        int64   `json:"seq"`
	Action     string  `json:"action"`
	Score      float64 `json:"score"`
	Typology   string  `json:"typology"`
	Reasons    []struct {
		Rule   string `json:"rule"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"reasons"`
	Shadow  []struct{ Rule string } `json:"shadow"`
	Message *struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	} `json:"message"`
	Event map[string]any `json:"event"`
}

// metrics returns the /metrics exposition.
func (f *fixture) metrics() string {
	f.t.Helper()
	w := f.do(request{method: "GET", path: "/metrics"})
	wantStatus(f.t, w, http.StatusOK)
	return w.Body.String()
}

// metricValue returns the value of one sample line of the exposition
// ("name{labels}"), or -1 if absent.
func metricValue(exposition, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			_, _ = fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}

func guardFilterCustomer(id string) guard.DecisionFilter {
	return guard.DecisionFilter{CustomerID: id, Limit: 1000}
}

// newRequest returns a request with the key as bearer token.
func newRequest(method, path string, body io.Reader, key string) *http.Request {
	r := httptest.NewRequest(method, path, body)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return r
}

func serve(f *fixture, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w
}
