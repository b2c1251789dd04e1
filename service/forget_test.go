package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
)

// erase carries out the store's part of a deletion of customer, as the
// server does after Forget.
func erase(t *testing.T, b *bundle, customer string) *privacy.ErasureReport {
	t.Helper()
	req := &privacy.Request{ID: "dsr-" + customer, CustomerID: customer, Kind: privacy.KindDeletion, Status: privacy.StatusInProgress}
	e, _, err := privacy.NewErasure(req, privacy.DefaultPolicy(), 0, "key:admin", b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := b.db.Erase(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantClosed(t *testing.T, what string, err error) {
	t.Helper()
	if xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("%s after Forget: %v, want the session closed", what, err)
	}
}

func TestForget(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.PutAgent(ctx, &service.Agent{ID: "a1", Skills: []string{"general"}, Presence: service.Online, Capacity: 1}); err != nil {
		t.Fatal(err)
	}
	// The customer: a session the bot serves (opened by a message id), one
	// with the only agent, one closed and rated; another customer waits
	// for the agent.
	open := ask(t, b.svc, service.AskRequest{Text: "提前还款怎么操作，我是张三", CustomerID: "cust-a", Channel: "app", MessageID: "m1"})
	held := ask(t, b.svc, service.AskRequest{Text: "额度怎么提高", CustomerID: "cust-a", Channel: "app"})
	if h, err := b.svc.Handoff(ctx, held.SessionID, service.HandoffRequest{}); err != nil || h.Route.AgentID != "a1" {
		t.Fatalf("hand-off to the agent: %+v, %v", h, err)
	}
	done := ask(t, b.svc, service.AskRequest{Text: "转账被拦截了", CustomerID: "cust-a", Channel: "app"})
	if _, err := b.svc.CloseSession(ctx, done.SessionID, nil, "customer"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Rate(ctx, done.SessionID, 5, "张三很满意"); err != nil {
		t.Fatal(err)
	}
	other := ask(t, b.svc, service.AskRequest{Text: "额度", CustomerID: "cust-b", Channel: "app"})
	if h, err := b.svc.Handoff(ctx, other.SessionID, service.HandoffRequest{}); err != nil || !h.Route.Waiting {
		t.Fatalf("hand-off of the other customer: %+v, %v", h, err)
	}

	b.svc.Forget("cust-a")

	// The sessions are closed: nothing more is said or stored in them.
	_, err := b.svc.Ask(ctx, service.AskRequest{Text: "还在吗", CustomerID: "cust-a", SessionID: open.SessionID})
	wantClosed(t, "Ask", err)
	_, err = b.svc.AddTurn(ctx, held.SessionID, service.RoleAgent, "您好", "a1")
	wantClosed(t, "AddTurn", err)
	for _, id := range []string{open.SessionID, held.SessionID, done.SessionID} {
		_, err = b.svc.Rate(ctx, id, 1, "张三")
		wantClosed(t, "Rate "+id, err)
	}
	for _, id := range []string{open.SessionID, held.SessionID} {
		se, err := b.db.ServiceSession(ctx, id)
		if err != nil || se.Status != service.StatusClosed || se.ClosedBy != "erasure" {
			t.Errorf("stored session %s after Forget: %+v, %v; want closed by the erasure", id, se, err)
		}
	}
	// The agent's seat went to the customer in line.
	if v, err := b.svc.GetSession(ctx, other.SessionID); err != nil || v.Status != service.StatusHandedOff || v.AgentID != "a1" {
		t.Errorf("the waiting session after Forget: %+v, %v", v, err)
	}

	rep := erase(t, b, "cust-a")
	if rep.Run.Conversations != 3 || rep.Run.Turns == 0 {
		t.Errorf("erasure after Forget: %+v", rep.Run)
	}
	if err := b.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ss, err := b.db.FindServiceSessions(ctx, service.SessionFilter{CustomerID: "cust-a"}); err != nil || len(ss) != 0 {
		t.Errorf("sessions of the customer after the erasure: %d, %v", len(ss), err)
	}

	// The first message retried is new processing: neither the old
	// session nor its answer is found.
	again, err := b.svc.Ask(ctx, service.AskRequest{Text: "提前还款怎么操作", CustomerID: "cust-a", Channel: "app", MessageID: "m1"})
	if err != nil || again.Replayed || again.SessionID == open.SessionID {
		t.Fatalf("the first message again after the erasure: %+v, %v", again, err)
	}
	// The recent contacts forgot the erased sessions.
	h, err := b.svc.Handoff(ctx, again.SessionID, service.HandoffRequest{})
	if err != nil || h.RecentContacts != 0 {
		t.Errorf("recent contacts of a new session after the erasure: %+v, %v", h, err)
	}
	if ss, err := b.svc.FindSessions(ctx, service.SessionFilter{CustomerID: "cust-a"}); err != nil || len(ss) != 1 || ss[0].ID != again.SessionID {
		t.Errorf("the new session is stored: %v, %v", ss, err)
	}
}

// TestForgetRacingAsks forgets and erases a customer while asks and
// ratings keep coming in their session: none stores the customer again.
func TestForgetRacingAsks(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	first := ask(t, b.svc, service.AskRequest{Text: "提前还款", CustomerID: "cust-r", Channel: "app"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = b.svc.Ask(ctx, service.AskRequest{Text: "转账", CustomerID: "cust-r", SessionID: first.SessionID})
				_, _ = b.svc.Rate(ctx, first.SessionID, 3, "")
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	b.svc.Forget("cust-r")
	erase(t, b, "cust-r")
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err := b.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ss, err := b.db.FindServiceSessions(ctx, service.SessionFilter{CustomerID: "cust-r"})
	if err != nil {
		t.Fatal(err)
	}
	for _, se := range ss {
		if se.ID == first.SessionID {
			t.Errorf("the erased session was stored again: %+v", se)
		}
	}
	if ts, err := b.db.ServiceTurns(ctx, first.SessionID); err != nil || len(ts) != 0 {
		t.Errorf("turns of the erased session stored again: %d, %v", len(ts), err)
	}
}
