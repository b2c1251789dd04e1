package service_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/sessionlog"
)

// TestJournal: with a journal an answer waits for the append, not the
// store; after a crash (the service never closed) the next start stores
// what the journal holds, and a retried message is answered once.
func TestJournal(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.svc.Close()
	path := filepath.Join(t.TempDir(), "service-log")
	log1, err := sessionlog.Open(path, sessionlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log1.Close()
	b.cfg.Journal, b.cfg.FlushInterval = log1, time.Hour
	b.open(t)
	req := service.AskRequest{Text: "提前还款怎么操作", CustomerID: "c9", Channel: "app", MessageID: "wx-9"}
	r := ask(t, b.svc, req)
	if ts, err := b.db.ServiceTurns(ctx, r.SessionID); err != nil || len(ts) != 0 {
		t.Fatalf("turns in the store before the store interval: %d, %v; want them in the journal only", len(ts), err)
	}
	if p, _, _ := log1.Pending(); len(p) == 0 {
		t.Fatal("nothing in the journal after an answer")
	}
	// The service is not closed before the restart: a crash.
	log2, err := sessionlog.Open(path, sessionlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log2.Close()
	b.cfg.Journal, b.cfg.FlushInterval = log2, 0
	b.open(t)
	ts, err := b.db.ServiceTurns(ctx, r.SessionID)
	if err != nil || len(ts) != 2 || ts[0].MessageID != "wx-9" || ts[0].Reply == nil {
		t.Fatalf("turns after the restart = %+v, %v; want the journaled two with the reply", ts, err)
	}
	if p, _, _ := log2.Pending(); len(p) != 0 {
		t.Errorf("journal holds %d batches after the replay, want none", len(p))
	}
	again := ask(t, b.svc, req)
	if !again.Replayed || again.SessionID != r.SessionID || again.Turn != r.Turn {
		t.Errorf("retry after the crash = %+v, want a replay of %+v", again, r)
	}
	// Reads that must see everything write the store first.
	r2 := ask(t, b.svc, service.AskRequest{Text: "额度", SessionID: r.SessionID})
	v, err := b.svc.GetSession(ctx, r.SessionID)
	if err != nil || len(v.Transcript) != 4 || r2.Turn != 3 {
		t.Errorf("session after a second ask: %d turns, %v", len(v.Transcript), err)
	}
}
