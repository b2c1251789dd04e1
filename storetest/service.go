package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/service"
)

// ExerciseService runs the service-store conformance suite; open is as
// for Exercise.
func ExerciseService(t *testing.T, open func(t *testing.T) service.Store) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 123456000, time.UTC)
	later := at.Add(time.Hour)
	yes, five := true, 5

	// Sessions and turns.
	s1 := &service.Session{ID: "ses_1", CustomerID: "c1", Channel: "app", Status: service.StatusOpen, OpenedAt: at, UpdatedAt: at, Turns: 2,
		Warnings: []string{service.ScamVictim}, ScamType: "impersonated_police", Topics: []string{"transfer_held"}, Clarifying: true,
		Queue: "fraud", Priority: 1, RouteReason: "疑似正在被骗"}
	s2 := &service.Session{ID: "ses_2", CustomerID: "c2", Status: service.StatusOpen, OpenedAt: later, UpdatedAt: later}
	turns := []*service.Turn{
		{SessionID: "ses_1", Seq: 1, At: at, Role: service.RoleCustomer, Text: "对方让我转到安全账户 手机号 138****0000", MessageID: "m1",
			Warnings: []service.Warning{{Kind: service.ScamVictim, Score: 0.9, Detail: "安全账户", Type: "impersonated_police", Signals: []string{"safe_account"}}}},
		{SessionID: "ses_1", Seq: 2, At: at, Role: service.RoleBot, Text: "请不要转账", FAQID: "faq_9", Score: 0.75},
	}
	if err := s.SaveServiceSessions(ctx, []*service.Session{s1, s2}, turns); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServiceSession(ctx, "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s1, got); diff != "" {
		t.Errorf("session read back (-want +got):\n%s", diff)
	}
	gt, err := s.ServiceTurns(ctx, "ses_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(turns, gt); diff != "" {
		t.Errorf("turns read back (-want +got):\n%s", diff)
	}
	// The result of a message id, by session or by customer and channel.
	reply := &service.AskResult{SessionID: "ses_1", Turn: 4, Answers: []service.Answer{{FAQID: "faq_9", Score: 0.75, Answer: "请不要转账"}},
		Warnings: []service.Warning{}, Route: service.Route{Queue: "fraud", Priority: 1, Reason: "疑似正在被骗"}}
	if err := s.SaveServiceSessions(ctx, nil, []*service.Turn{{SessionID: "ses_1", Seq: 4, At: at, Role: service.RoleCustomer, Text: "还是要转吗", MessageID: "m4", Reply: reply}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []service.ReplyQuery{{SessionID: "ses_1", MessageID: "m4"}, {CustomerID: "c1", Channel: "app", MessageID: "m4"}} {
		r, err := s.ServiceReply(ctx, q)
		if err != nil {
			t.Fatalf("reply %+v: %v", q, err)
		}
		if diff := cmp.Diff(reply, r); diff != "" {
			t.Errorf("reply %+v read back (-want +got):\n%s", q, diff)
		}
	}
	for _, q := range []service.ReplyQuery{
		{SessionID: "ses_1", MessageID: "m1"},               // a turn without a stored result
		{SessionID: "ses_2", MessageID: "m4"},               // another session
		{CustomerID: "c2", Channel: "app", MessageID: "m4"}, // another customer
		{CustomerID: "c1", Channel: "web", MessageID: "m4"}, // another channel
		{SessionID: "ses_1", MessageID: "bad\x00"},          // not text
	} {
		if _, err := s.ServiceReply(ctx, q); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("reply %+v: %v, want ENOTFOUND", q, err)
		}
	}

	if _, err := s.ServiceSession(ctx, "ses_none"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("missing session: %v", err)
	}
	if ts, err := s.ServiceTurns(ctx, "ses_none"); err != nil || len(ts) != 0 {
		t.Errorf("turns of a missing session: %v, %v", ts, err)
	}

	// Upsert: the latest snapshot wins; a turn stored again is kept.
	s1.Status, s1.ClosedAt, s1.Resolved, s1.CSAT, s1.CSATComment, s1.CSATAt = service.StatusClosed, &later, &yes, &five, "很好", &later
	s1.AgentID, s1.HandedOffAt, s1.Turns, s1.UpdatedAt, s1.ClosedBy, s1.Clarifying = "agent_1", &at, 3, later, "agent_1", false
	again := *turns[1]
	again.Text = "changed"
	t3 := &service.Turn{SessionID: "ses_1", Seq: 3, At: later, Role: service.RoleAgent, Text: "您好", AgentID: "agent_1"}
	if err := s.SaveServiceSessions(ctx, []*service.Session{s1}, []*service.Turn{&again, t3}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ServiceSession(ctx, "ses_1")
	if diff := cmp.Diff(s1, got); diff != "" {
		t.Errorf("updated session (-want +got):\n%s", diff)
	}
	gt, _ = s.ServiceTurns(ctx, "ses_1")
	if len(gt) != 4 || gt[1].Text != "请不要转账" || gt[2].AgentID != "agent_1" {
		t.Errorf("turns after a repeat = %+v", gt)
	} else if diff := cmp.Diff(reply, gt[3].Reply); diff != "" {
		t.Errorf("reply of a turn read back (-want +got):\n%s", diff)
	}

	// Feedback: one verdict per turn, the latest wins.
	if _, err := s.ServiceFeedback(ctx, "ses_1", 4); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("feedback before any: %v", err)
	}
	f1 := &service.Feedback{SessionID: "ses_1", Turn: 4, FAQID: "faq_9", Helpful: false, At: at}
	f2 := &service.Feedback{SessionID: "ses_2", Turn: 1, FAQID: "faq_1", Helpful: true, At: later}
	for _, f := range []*service.Feedback{f1, f2} {
		if err := s.PutServiceFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	f1b := &service.Feedback{SessionID: "ses_1", Turn: 4, FAQID: "faq_9", Helpful: true, At: at.Add(time.Minute)}
	if err := s.PutServiceFeedback(ctx, f1b); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ServiceFeedback(ctx, "ses_1", 4); err != nil || !cmp.Equal(got, f1b) {
		t.Errorf("feedback read back = %+v, %v; want %+v", got, err, f1b)
	}
	fb, err := s.ServiceFeedbackBetween(ctx, at, later)
	if err != nil || len(fb) != 1 || !cmp.Equal(fb[0], f1b) {
		t.Errorf("feedback in [at, later) = %+v, %v; want only %+v", fb, err, f1b)
	}
	if fb, _ := s.ServiceFeedbackBetween(ctx, at, later.Add(time.Second)); len(fb) != 2 {
		t.Errorf("feedback in [at, later] = %d, want 2", len(fb))
	}
	if err := s.PutServiceFeedback(ctx, &service.Feedback{SessionID: "ses_1", Turn: 1, FAQID: "x\x00", At: at}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("NUL in a faq id: %v, want EINVALID", err)
	}
	if err := s.SaveServiceSessions(ctx, []*service.Session{{ID: "bad\x00", Status: "open", OpenedAt: at, UpdatedAt: at}}, nil); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("NUL in an id: %v", err)
	}
	if err := s.SaveServiceSessions(ctx, nil, nil); err != nil {
		t.Errorf("empty save: %v", err)
	}

	// Search.
	for _, tt := range []struct {
		name string
		f    service.SessionFilter
		want []string
	}{
		{"all newest first", service.SessionFilter{}, []string{"ses_2", "ses_1"}},
		{"customer", service.SessionFilter{CustomerID: "c1"}, []string{"ses_1"}},
		{"agent", service.SessionFilter{AgentID: "agent_1"}, []string{"ses_1"}},
		{"status", service.SessionFilter{Status: service.StatusOpen}, []string{"ses_2"}},
		{"from", service.SessionFilter{From: at.Add(time.Minute)}, []string{"ses_2"}},
		{"to", service.SessionFilter{To: later}, []string{"ses_1"}},
		{"before", service.SessionFilter{Before: later}, []string{"ses_1"}},
		{"limit", service.SessionFilter{Limit: 1}, []string{"ses_2"}},
		{"none", service.SessionFilter{CustomerID: "nobody"}, nil},
	} {
		ss, err := s.FindServiceSessions(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var ids []string
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		if !cmp.Equal(ids, tt.want) {
			t.Errorf("%s: sessions %v, want %v", tt.name, ids, tt.want)
		}
	}

	// Agents and queues.
	a := &service.Agent{ID: "agent_1", Name: "王芳", Skills: []string{"fraud", "general"}, Presence: service.Online, Capacity: 3, UpdatedAt: at}
	if err := s.PutServiceAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Presence, a.UpdatedAt = service.Away, later
	if err := s.PutServiceAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.PutServiceAgent(ctx, &service.Agent{ID: "agent_0", Skills: []string{}, Presence: service.Offline, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	as, err := s.ServiceAgents(ctx)
	if err != nil || len(as) != 2 || as[0].ID != "agent_0" {
		t.Fatalf("agents = %v, %v", as, err)
	}
	if diff := cmp.Diff(a, as[1]); diff != "" {
		t.Errorf("agent (-want +got):\n%s", diff)
	}
	q := &service.Queue{Name: "fraud", Description: "反诈", Skills: []string{"fraud"}, Strategy: service.RoundRobin, Overflow: "general", UpdatedAt: at}
	for range 2 {
		if err := s.PutServiceQueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	qs, err := s.ServiceQueues(ctx)
	if err != nil || len(qs) != 1 {
		t.Fatalf("queues = %v, %v", qs, err)
	}
	if diff := cmp.Diff(q, qs[0]); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}

	// Guides: versions in order, conflicts, history.
	g1 := &service.Guide{ID: "repay_early", Version: 1, Title: "提前还款", Category: "repayment", FAQIDs: []string{"faq_1"},
		Steps:     []service.Step{{Title: "打开借款详情", Body: "在“我的借款”中选择要还的借款"}, {Title: "选择提前还款", Action: "open:repay/early"}},
		CreatedAt: at, CreatedBy: "li.na", Comment: "first"}
	if err := s.SaveServiceGuide(ctx, g1); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveServiceGuide(ctx, g1); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("saving version 1 twice: %v, want conflict", err)
	}
	skip := *g1
	skip.Version = 3
	if err := s.SaveServiceGuide(ctx, &skip); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("skipping a version: %v, want conflict", err)
	}
	g2 := *g1
	g2.Version, g2.Title, g2.Deleted, g2.FAQIDs, g2.CreatedAt = 2, "提前还款（新）", true, []string{}, later
	if err := s.SaveServiceGuide(ctx, &g2); err != nil {
		t.Fatal(err)
	}
	other := &service.Guide{ID: "dispute", Version: 1, Title: "争议交易", FAQIDs: []string{}, Steps: []service.Step{{Title: "联系客服"}}, CreatedAt: at, CreatedBy: "x"}
	if err := s.SaveServiceGuide(ctx, other); err != nil {
		t.Fatal(err)
	}
	if g, err := s.ServiceGuide(ctx, "repay_early", 0); err != nil || !cmp.Equal(g, &g2) {
		t.Errorf("latest guide = %+v, %v", g, err)
	}
	if g, err := s.ServiceGuide(ctx, "repay_early", 1); err != nil || !cmp.Equal(g, g1) {
		t.Errorf("guide v1 = %+v, %v; diff %s", g, err, cmp.Diff(g1, g))
	}
	if _, err := s.ServiceGuide(ctx, "repay_early", 9); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("missing version: %v", err)
	}
	if _, err := s.ServiceGuide(ctx, "nope", 0); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("missing guide: %v", err)
	}
	vs, err := s.ServiceGuideVersions(ctx, "repay_early")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
		t.Errorf("versions = %v, %v", vs, err)
	}
	gs, err := s.ServiceGuides(ctx)
	if err != nil || len(gs) != 2 || gs[0].ID != "dispute" || gs[1].Version != 2 {
		t.Errorf("guides = %v, %v", gs, err)
	}
}
