package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// Environment of the child process of TestKilledMidSend.
const (
	envCrashDB  = "XIAOBAO_OUTBOX_CRASH_DB"
	envCrashURL = "XIAOBAO_OUTBOX_CRASH_URL"
)

// TestKilledMidSend kills a dispatcher process (SIGKILL: no deferred
// function, no outcome recorded) while its webhook request is at the
// receiver, after the receiver acted. The next dispatcher, once the lease
// has run out, sends the message again with the same id, and the receiver
// does not act twice.
func TestKilledMidSend(t *testing.T) {
	if path := os.Getenv(envCrashDB); path != "" {
		crashChild(path, os.Getenv(envCrashURL))
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "xiaobao.db")
	var (
		mu     sync.Mutex
		ids    []string
		acted  []string
		cmd    *exec.Cmd
		exited = make(chan struct{})
	)
	receive := outbox.Receiver([]string{secretNew}, time.Hour, nil, outbox.NewMemoryDedup(),
		func(_ context.Context, env outbox.Envelope) error {
			mu.Lock()
			acted = append(acted, env.ID)
			first := len(acted) == 1
			child := cmd
			mu.Unlock()
			if first {
				// The dispatcher dies before it hears the answer.
				_ = child.Process.Kill()
				<-exited
			}
			return nil
		})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get(outbox.IdempotencyKeyHeader))
		mu.Unlock()
		receive.ServeHTTP(w, r)
	}))
	defer srv.Close()

	out := &lockedWriter{}
	mu.Lock()
	cmd = exec.Command(os.Args[0], "-test.run=^TestKilledMidSend$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDB+"="+path, envCrashURL+"="+srv.URL)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Start()
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("the child was not killed in time\n%s", out.String())
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) || exitErr.Exited() {
		t.Fatalf("child was not killed: %v\n%s", waitErr, out.String())
	}

	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err := db.GetOutbox(t.Context(), "msg_crash")
	if err != nil {
		t.Fatal(err)
	}
	if e.State != outbox.Pending || e.Attempts != 1 {
		t.Fatalf("after the crash: %+v", e)
	}
	// The next process, once the dead one's lease has run out.
	clock := xiaobao.NewManualClock(e.LeaseUntil)
	web, err := outbox.NewWebhookSender(srv.URL, []string{secretNew}, clock)
	if err != nil {
		t.Fatal(err)
	}
	d, err := outbox.NewDispatcher(outbox.Config{Store: db, Senders: map[string]outbox.Sender{"payments": web}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.Dispatch(t.Context()); err != nil || n != 1 {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != "msg_crash" || ids[1] != "msg_crash" || len(acted) != 1 {
		t.Errorf("requests with ids %v, acted on %v; want two requests, one action", ids, acted)
	}
}

func crashChild(path, url string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Println(err)
		os.Exit(2)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		fail(err)
	}
	m := message(0, "case_1")
	m.ID, m.CreatedAt = "msg_crash", time.Now().UTC()
	if err := db.AppendOutbox(ctx, []outbox.Message{m}); err != nil {
		fail(err)
	}
	web, err := outbox.NewWebhookSender(url, []string{secretNew}, nil)
	if err != nil {
		fail(err)
	}
	d, err := outbox.NewDispatcher(outbox.Config{Store: db, Senders: map[string]outbox.Sender{"payments": web}})
	if err != nil {
		fail(err)
	}
	n, err := d.Dispatch(ctx)
	fail(fmt.Errorf("the dispatcher finished (%d delivered, %v) instead of being killed", n, err))
}

type lockedWriter struct {
	mu  sync.Mutex
	buf []byte
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
