package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMain lets the test binary stand in for xiaobao where a command starts
// a copy of its own executable (bench --compare-bare starts "bare").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		if err := run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const testBootstrapKey = "xb_test-bootstrap-key-0123456789"

// instance is a running `xiaobao serve`.
type instance struct {
	t      testing.TB
	base   string // http://ADDR
	cancel context.CancelFunc
	done   chan error
	logs   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startServe runs `xiaobao serve` in-process on a free port with data dir
// dir and waits until it listens.
func startServe(t testing.TB, dir string, extra ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	in := &instance{t: t, cancel: cancel, done: make(chan error, 1), logs: &lockedBuffer{}}
	getenv := func(k string) string {
		if k == "XIAOBAO_BOOTSTRAP_KEY" {
			return testBootstrapKey
		}
		return ""
	}
	args := append([]string{"xiaobao", "serve", "--addr", "127.0.0.1:0", "--data", dir}, extra...)
	go func() {
		err := run(ctx, args, getenv, strings.NewReader(""), pw, in.logs)
		_ = pw.Close()
		in.done <- err
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		cancel()
		t.Fatalf("serve exited before listening: %v\nlogs:\n%s", <-in.done, in.logs.String())
	}
	addr, ok := strings.CutPrefix(sc.Text(), "listening on ")
	if !ok {
		t.Fatalf("unexpected first line %q", sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	in.base = "http://" + addr
	return in
}

// stop shuts the instance down as SIGTERM would and checks it exited cleanly.
func (in *instance) stop() {
	in.t.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		if err != nil {
			in.t.Fatalf("serve returned %v\nlogs:\n%s", err, in.logs.String())
		}
	case <-time.After(30 * time.Second):
		in.t.Fatal("serve did not stop")
	}
}

// call sends a request with the bootstrap key and decodes a JSON answer.
func call(t testing.TB, method, url, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testBootstrapKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp
}

type decision struct {
	DecisionID string         `json:"decision_id"`
	EventID    string         `json:"event_id"`
	Action     string         `json:"action"`
	Event      map[string]any `json:"event"`
}

// testEvent is event i of a small, varied stream.
func testEvent(prefix string, i int) string {
	return fmt.Sprintf(`{"event_id":"%s-%d","type":"transfer","occurred_at":"2026-03-01T%02d:%02d:00+08:00",`+
		`"customer":{"id":"cust-%d","age":%d,"phone":"13800138000"},"device":{"id":"dev-%d","ip":"10.0.0.%d"},`+
		`"amount":"%d.00","counterparty":{"account":"62220202001%08d","name":"王五"},"memo":"第%d笔"}`,
		prefix, i, i/60%24, i%60, i%7, 20+i%60, i%5, i%250, 100+i*997%50000, i%11, i)
}

func TestServeRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by serve
	testRestart(t, dir)
}

// TestServeRestartPostgres is TestServeRestart on PostgreSQL, in a schema of
// its own. It needs XIAOBAO_TEST_POSTGRES (a postgres:// URL) and is
// skipped without it unless XIAOBAO_REQUIRE_SERVICES=1.
func TestServeRestartPostgres(t *testing.T) {
	dsn := os.Getenv("XIAOBAO_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("XIAOBAO_REQUIRE_SERVICES") == "1" {
			t.Fatal("XIAOBAO_REQUIRE_SERVICES=1 but XIAOBAO_TEST_POSTGRES is not set")
		}
		t.Skip("set XIAOBAO_TEST_POSTGRES=postgres://... to run")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "xbcmd_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	// With --db the data directory holds only the journal: no SQLite file.
	dir := filepath.Join(t.TempDir(), "data")
	testRestart(t, dir, "--db", dsn, "--db-schema", schema)
	if _, err := os.Stat(filepath.Join(dir, "xiaobao.db")); !os.IsNotExist(err) {
		t.Errorf("serve created a SQLite file with --db: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal")); err != nil {
		t.Errorf("serve kept no journal with --db: %v", err)
	}
}

// testRestart posts events, restarts on the same store and reads them back.
func testRestart(t *testing.T, dir string, extra ...string) {
	in := startServe(t, dir, append([]string{"--log-level", "warn", "--snapshot-interval", "100ms"}, extra...)...)

	// Liveness and readiness need no key.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		resp, err := http.Get(in.base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}

	decided := map[string]decision{}
	for i := range 30 {
		var d decision
		resp := call(t, "POST", in.base+"/v1/events", testEvent("rs", i), &d)
		if resp.StatusCode != 200 || d.DecisionID == "" {
			t.Fatalf("event %d: %d %+v", i, resp.StatusCode, d)
		}
		decided[d.EventID] = d
	}
	time.Sleep(150 * time.Millisecond) // let a periodic snapshot happen
	for i := 30; i < 40; i++ {
		var d decision
		call(t, "POST", in.base+"/v1/events", testEvent("rs", i), &d)
		decided[d.EventID] = d
	}
	in.stop()

	// Restart on the same data: every decision is there, replays return it.
	in = startServe(t, dir, append([]string{"--log-level", "warn"}, extra...)...)
	defer in.stop()
	for id, want := range decided {
		var got decision
		resp := call(t, "GET", in.base+"/v1/decisions/"+want.DecisionID, "", &got)
		if resp.StatusCode != 200 || got.DecisionID != want.DecisionID || got.Action != want.Action || got.EventID != id {
			t.Errorf("after restart %s: %d %+v, want %+v", id, resp.StatusCode, got, want)
		}
		if got.Event == nil || strings.Contains(fmt.Sprint(got.Event), "13800138000") {
			t.Errorf("event missing or unmasked: %v", got.Event)
		}
	}
	var again decision
	resp := call(t, "POST", in.base+"/v1/events", testEvent("rs", 7), &again)
	if resp.Header.Get("Idempotent-Replayed") != "true" || again.DecisionID != decided["rs-7"].DecisionID {
		t.Errorf("replay after restart: %v %+v", resp.Header, again)
	}
	var page struct {
		Decisions []decision `json:"decisions"`
	}
	call(t, "GET", in.base+"/v1/decisions?limit=1000", "", &page)
	if len(page.Decisions) != 40 {
		t.Errorf("%d decisions stored, want 40", len(page.Decisions))
	}
	// The bootstrap key was stored once, not once per start.
	var keys struct {
		Keys []struct{ Name string } `json:"keys"`
	}
	call(t, "GET", in.base+"/v1/keys", "", &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Name != "bootstrap" {
		t.Errorf("keys = %+v", keys)
	}
}

func TestRunCommands(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	dup := filepath.Join(dir, "dup.yaml")
	pack := func(name, when string) string {
		return "pack: " + name + "\ndescription: {zh: 测试, en: test}\nrules:\n" +
			"  - id: R1\n    name: {zh: 规则, en: rule}\n    description: {zh: 规则, en: rule}\n" +
			"    nodes: [transfer]\n    when: " + when + "\n    score: 0.5\n    action: remind\n    code: R1\n"
	}
	_ = os.WriteFile(good, []byte(pack("good", "event.amount > 100")), 0o600)
	_ = os.WriteFile(bad, []byte(pack("bad", "event.amount > ")), 0o600)
	_ = os.WriteFile(dup, []byte(pack("dup", "event.amount > 5")), 0o600)

	tests := []struct {
		name    string
		args    []string
		wantErr bool
		wantOut []string
	}{
		{"version", []string{"version"}, false, []string{"xiaobao "}},
		{"help", []string{"help"}, false, []string{"xiaobao serve"}},
		{"no command", nil, true, nil},
		{"unknown command", []string{"fly"}, true, nil},
		{"builtin", []string{"rules", "builtin"}, false, []string{"pack: builtin"}},
		{"validate good", []string{"rules", "validate", good}, false, []string{"good.yaml: ok: pack good, 1 rules"}},
		{"validate bad", []string{"rules", "validate", good, bad}, true, []string{"bad.yaml: rules[0](R1).when: "}},
		{"validate missing", []string{"rules", "validate", filepath.Join(dir, "nope.yaml")}, true, []string{"nope.yaml"}},
		{"validate conflict", []string{"rules", "validate", good, dup}, true, []string{"R1"}},
		{"validate nothing", []string{"rules", "validate"}, true, nil},
		{"serve bad flag", []string{"serve", "--colour"}, true, nil},
		{"serve bad db", []string{"serve", "--db", "mysql://x"}, true, nil},
		{"serve schema without db", []string{"serve", "--db-schema", "x"}, true, nil},
		{"serve help", []string{"serve", "-h"}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"xiaobao"}, tt.args...), func(string) string { return "" }, nil, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v\nstdout: %s\nstderr: %s", err, tt.wantErr, stdout.String(), stderr.String())
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
		})
	}
}
