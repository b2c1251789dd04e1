package http

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/outbox"
)

func TestOutboxEndpoints(t *testing.T) {
	f := setup(t)
	wantProblem(t, f.get("/v1/outbox"), 404, "not_found")

	f.srv.cfg.Outbox = f.db
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var msgs []outbox.Message
	for n := 1; n <= 3; n++ {
		msgs = append(msgs, outbox.Message{ID: fmt.Sprintf("msg_%d", n), Sink: "sms", Topic: "customer.notify",
			Payload: json.RawMessage(`{"phone":"13800138000","text":"您的转账已暂缓"}`), CreatedAt: at})
	}
	if err := f.db.AppendOutbox(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.ClaimOutbox(ctx, at, time.Minute, 2)
	if err != nil || len(c) != 2 {
		t.Fatalf("claim: %v, %v", c, err)
	}
	if err := f.db.MarkOutboxFailed(ctx, "msg_1", outbox.Failure{Claim: c[0].Claim, Dead: true, Err: "receiver refused the message: 422"}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.MarkOutboxDelivered(ctx, "msg_2", at); err != nil {
		t.Fatal(err)
	}

	type page struct {
		Messages []outboxEntryJSON `json:"messages"`
		Next     string            `json:"next"`
	}
	w := f.get("/v1/outbox?state=dead")
	wantStatus(t, w, 200)
	if p := decode[page](t, w); len(p.Messages) != 1 || p.Messages[0].ID != "msg_1" || p.Messages[0].LastError == "" || p.Messages[0].Attempts != 1 {
		t.Errorf("dead messages: %+v", p)
	}
	w = f.get("/v1/outbox?sink=sms&limit=2")
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), "13800138000") || strings.Contains(w.Body.String(), "payload") {
		t.Errorf("the listing shows payloads: %s", w.Body.String())
	}
	p := decode[page](t, w)
	if len(p.Messages) != 2 || p.Next == "" {
		t.Fatalf("first page: %+v", p)
	}
	p = decode[page](t, f.get("/v1/outbox?sink=sms&limit=2&after="+p.Next))
	if len(p.Messages) != 1 || p.Messages[0].ID != "msg_3" || p.Next != "" || p.Messages[0].NextAttemptAt == nil {
		t.Errorf("second page: %+v", p)
	}
	wantProblem(t, f.get("/v1/outbox?state=lost"), 400, "invalid", "state")
	wantProblem(t, f.get("/v1/outbox?limit=0"), 400, "invalid", "limit")
	wantProblem(t, f.get("/v1/outbox?colour=red"), 400, "invalid", "colour")
	reader := f.newKey(auth.ScopeCasesRead)
	wantStatus(t, f.do(request{method: "GET", path: "/v1/outbox", key: reader}), 403)

	// Redrive: idempotent on a dead message, a conflict on a delivered one.
	for range 2 {
		w = f.post("/v1/outbox/msg_1/redrive", "")
		wantStatus(t, w, 200)
		if e := decode[outboxEntryJSON](t, w); e.State != outbox.Pending || e.Attempts != 0 {
			t.Errorf("redriven: %+v", e)
		}
	}
	wantProblem(t, f.post("/v1/outbox/msg_2/redrive", ""), 409, "conflict")
	wantProblem(t, f.post("/v1/outbox/msg_404/redrive", ""), 404, "not_found")
	wantStatus(t, f.do(request{method: "POST", path: "/v1/outbox/msg_1/redrive", key: reader}), 403)
}
