package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// kb is a small FAQ for the tests: it matches by keyword, so each test
// controls whether an answer is confident, ambiguous or missing. The real
// retrieval is package faq's and is tested there.
func kb(text string, k int) service.Answers {
	entries := []struct {
		id, word, cat string
	}{
		{"faq_repay_fail", "还款失败", "repayment"},
		{"faq_repay_early", "提前还款", "repayment"},
		{"faq_transfer_held", "转账", "transfer"},
		{"faq_limit", "额度", "limit"},
	}
	var res service.Answers
	for _, e := range entries {
		if strings.Contains(text, e.word) {
			res.Hits = append(res.Hits, service.Answer{FAQID: e.id, Score: 0.9, Answer: "答案：" + e.word, Question: e.word + "怎么办", Category: e.cat})
		}
	}
	switch {
	case strings.Contains(text, "还款") && len(res.Hits) == 0:
		// Ambiguous: which repayment question?
		res.Hits = []service.Answer{
			{FAQID: "faq_repay_fail", Score: 0.4, Answer: "答案：还款失败", Question: "还款失败怎么办", Category: "repayment"},
			{FAQID: "faq_repay_early", Score: 0.38, Answer: "答案：提前还款", Question: "怎么提前还款", Category: "repayment"},
		}
		res.Clarify = true
	case len(res.Hits) == 1:
		res.Confident = true
	case len(res.Hits) == 0:
		res.Hits = []service.Answer{{FAQID: "faq_limit", Score: 0.1, Answer: "答案：额度", Category: "limit"}}
	}
	if len(res.Hits) > k {
		res.Hits = res.Hits[:k]
	}
	return res
}

type bundle struct {
	svc     *service.Service
	db      *sqlite.DB
	clock   *xiaobao.ManualClock
	mu      sync.Mutex
	flags   []string
	alerts  []service.Alert
	history map[string][]service.Event
	cfg     service.Config
}

func (b *bundle) flagged() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.flags...)
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &bundle{db: db, clock: xiaobao.NewManualClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)), history: map[string][]service.Event{}}
	b.cfg = service.Config{
		Store: db, Clock: b.clock, Answer: kb,
		History: func(_ context.Context, customerID string, _ time.Time) ([]service.Event, error) {
			return b.history[customerID], nil
		},
		Flag: func(customerID, typology string, _ time.Time) {
			b.mu.Lock()
			b.flags = append(b.flags, customerID+":"+typology)
			b.mu.Unlock()
		},
		OnScamWarning: func(a service.Alert) {
			b.mu.Lock()
			b.alerts = append(b.alerts, a)
			b.mu.Unlock()
		},
	}
	b.open(t)
	return b
}

func (b *bundle) open(t *testing.T) {
	t.Helper()
	svc, err := service.Open(context.Background(), b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.svc = svc
	t.Cleanup(func() { svc.Close() })
}

func ask(t *testing.T, svc *service.Service, req service.AskRequest) *service.AskResult {
	t.Helper()
	r, err := svc.Ask(context.Background(), req)
	if err != nil {
		t.Fatalf("Ask(%+v): %v", req, err)
	}
	return r
}

func TestAskSelfServiceAndRedaction(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	r := ask(t, b.svc, service.AskRequest{Text: "提前还款怎么操作？我的手机号13812345678", CustomerID: "c1", Channel: "app", MessageID: "m1"})
	if r.SessionID == "" || !r.Confident || len(r.Answers) != 1 || r.Answers[0].FAQID != "faq_repay_early" || r.Route.Queue != "" || r.Route.Reason == "" {
		t.Fatalf("ask = %+v", r)
	}
	if len(r.Warnings) != 0 || r.Turn != 1 {
		t.Errorf("warnings %v turn %d", r.Warnings, r.Turn)
	}
	// The same message again: the first result, no new turn.
	again := ask(t, b.svc, service.AskRequest{Text: "提前还款怎么操作？我的手机号13812345678", SessionID: r.SessionID, MessageID: "m1"})
	if !again.Replayed || again.Turn != 1 {
		t.Errorf("replay = %+v", again)
	}
	if err := b.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	turns, err := b.db.ServiceTurns(ctx, r.SessionID)
	if err != nil || len(turns) != 2 {
		t.Fatalf("stored turns = %v, %v", turns, err)
	}
	if strings.Contains(turns[0].Text, "13812345678") || !strings.Contains(turns[0].Text, "提前还款") {
		t.Errorf("stored customer turn not redacted: %q", turns[0].Text)
	}
	if turns[1].Role != service.RoleBot || turns[1].FAQID != "faq_repay_early" {
		t.Errorf("bot turn = %+v", turns[1])
	}
}

func TestAskValidation(t *testing.T) {
	b := setup(t)
	for _, tt := range []struct {
		req   service.AskRequest
		field string
	}{
		{service.AskRequest{}, "text"},
		{service.AskRequest{Text: "  "}, "text"},
		{service.AskRequest{Text: strings.Repeat("长", service.MaxTextRunes+1)}, "text"},
		{service.AskRequest{Text: "hi", CustomerID: "a b"}, "customer_id"},
		{service.AskRequest{Text: "hi", SessionID: "x/y"}, "session_id"},
		{service.AskRequest{Text: "hi", Channel: "手机"}, "channel"},
	} {
		_, err := b.svc.Ask(context.Background(), tt.req)
		fe := xiaobao.ErrorFields(err)
		if xiaobao.ErrorCode(err) != xiaobao.EINVALID || len(fe) != 1 || fe[0].Field != tt.field {
			t.Errorf("Ask(%+v) = %v, want invalid %s", tt.req, err, tt.field)
		}
	}
}

// TestScamWarningRaisesGuardRisk: a scam warning flags the customer in
// Guard and tells the case hook, once per session and typology; an
// ordinary question sharing its words does neither.
func TestScamWarningRaisesGuardRisk(t *testing.T) {
	b := setup(t)
	r := ask(t, b.svc, service.AskRequest{Text: "怎么注销账户，会影响征信吗", CustomerID: "c9"})
	if len(r.Warnings) != 0 || len(b.flagged()) != 0 {
		t.Fatalf("look-alike raised %v, flags %v", r.Warnings, b.flagged())
	}
	text := "有个警官打电话说我涉嫌洗钱，要我把钱转到安全账户"
	r = ask(t, b.svc, service.AskRequest{Text: text, CustomerID: "c9", SessionID: r.SessionID})
	if len(r.Warnings) == 0 || r.Warnings[0].Kind != service.ScamVictim || r.Warnings[0].Type != "impersonated_police" {
		t.Fatalf("warnings = %+v", r.Warnings)
	}
	if r.Route.Queue != "fraud" || r.Route.Priority != service.PriorityUrgent || r.Route.Reason == "" {
		t.Errorf("route = %+v", r.Route)
	}
	ask(t, b.svc, service.AskRequest{Text: text, SessionID: r.SessionID})
	if got := b.flagged(); len(got) != 1 || got[0] != "c9:impersonated_police" {
		t.Errorf("flags = %v", got)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.alerts) != 1 || b.alerts[0].SessionID != r.SessionID || b.alerts[0].CustomerID != "c9" {
		t.Errorf("alerts = %+v", b.alerts)
	}
}

func TestClarifyThenHuman(t *testing.T) {
	b := setup(t)
	r := ask(t, b.svc, service.AskRequest{Text: "还款的事", CustomerID: "c2"})
	if !r.Clarify || r.Confident || len(r.Answers) != 2 || r.Route.Queue != "" {
		t.Fatalf("first ask = %+v", r)
	}
	r = ask(t, b.svc, service.AskRequest{Text: "都不是", SessionID: r.SessionID})
	if r.Route.Queue == "" || !strings.Contains(r.Route.Reason, "澄清") || r.Route.Priority != service.PriorityRoutine {
		t.Fatalf("after a failed clarify: %+v", r.Route)
	}
	// Asking for a person works at any time.
	r2 := ask(t, b.svc, service.AskRequest{Text: "转人工"})
	if r2.Route.Queue != "general" || !strings.Contains(r2.Route.Reason, "转人工") {
		t.Errorf("human request: %+v", r2.Route)
	}
}

func TestPredictOnOpen(t *testing.T) {
	b := setup(t)
	now := b.clock.Now()
	b.history["c3"] = []service.Event{
		{Type: "repayment", Action: "allow", Status: "failed", At: now.Add(-time.Hour)},
		{Type: "profile_change", Action: "allow", Change: "credit_limit", At: now.Add(-30 * time.Hour)},
	}
	v, err := b.svc.OpenSession(context.Background(), service.OpenRequest{CustomerID: "c3", Channel: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Predicted) != 2 || v.Predicted[0].Name != "repayment_failed" || len(v.Suggested) == 0 || v.Suggested[0].FAQID != "faq_repay_fail" || !v.Suggested[0].Predicted {
		t.Fatalf("open = predicted %+v suggested %+v", v.Predicted, v.Suggested)
	}
	// A vague first question gets the predicted answers.
	r := ask(t, b.svc, service.AskRequest{Text: "怎么回事啊", SessionID: v.ID})
	if len(r.Predicted) != 2 {
		t.Errorf("predicted on the first turn = %+v", r.Predicted)
	}
	found := false
	for _, a := range r.Answers {
		found = found || (a.FAQID == "faq_repay_fail" && a.Predicted)
	}
	if !found {
		t.Errorf("answers %+v lack the predicted repayment answer", r.Answers)
	}
	r = ask(t, b.svc, service.AskRequest{Text: "还有别的", SessionID: v.ID})
	if len(r.Predicted) != 0 {
		t.Errorf("predicted again on a later turn: %+v", r.Predicted)
	}
}

func TestHandoffCloseAndStats(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for _, a := range []*service.Agent{
		{ID: "ag_fraud", Name: "张伟", Skills: []string{"fraud"}, Presence: service.Online, Capacity: 1},
		{ID: "ag_gen", Name: "李娜", Skills: []string{"general", "disputes"}, Presence: service.Online, Capacity: 1},
	} {
		if _, err := b.svc.PutAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	scam := ask(t, b.svc, service.AskRequest{Text: "对方让我下载向日葵开远程控制，说帮我退款", CustomerID: "c5"})
	h, err := b.svc.Handoff(ctx, scam.SessionID, service.HandoffRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Route.AgentID != "ag_fraud" || h.Session.Status != service.StatusHandedOff || len(h.Transcript) != 3 || len(h.Warnings) == 0 {
		t.Fatalf("hand-off = %+v", h)
	}
	if again, _ := b.svc.Handoff(ctx, scam.SessionID, service.HandoffRequest{}); again.Route.AgentID != "ag_fraud" {
		t.Errorf("second hand-off moved the session: %+v", again.Route)
	}
	// The fraud agent is full: the next scam overflows to disputes.
	s2 := ask(t, b.svc, service.AskRequest{Text: "有人叫我把验证码告诉他，说是客服", CustomerID: "c6"})
	h2, err := b.svc.Handoff(ctx, s2.SessionID, service.HandoffRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h2.Route.AgentID != "ag_gen" || h2.Route.OverflowFrom != "fraud" {
		t.Fatalf("overflow hand-off = %+v", h2.Route)
	}
	// Everyone is busy: the third waits, and gets the first free seat.
	s3 := ask(t, b.svc, service.AskRequest{Text: "转人工", CustomerID: "c7"})
	h3, err := b.svc.Handoff(ctx, s3.SessionID, service.HandoffRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h3.Session.Status != service.StatusQueued || !h3.Route.Waiting {
		t.Fatalf("third hand-off = %+v", h3.Route)
	}
	if _, err := b.svc.AddTurn(ctx, s2.SessionID, service.RoleAgent, "您好，请不要告诉任何人验证码", ""); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	if _, err := b.svc.CloseSession(ctx, s2.SessionID, &yes, "ag_gen"); err != nil {
		t.Fatal(err)
	}
	v3, err := b.svc.GetSession(ctx, s3.SessionID)
	if err != nil || v3.Status != service.StatusHandedOff || v3.AgentID != "ag_gen" {
		t.Fatalf("waiting session after a seat freed: %+v, %v", v3, err)
	}
	if _, err := b.svc.Ask(ctx, service.AskRequest{Text: "还在吗", SessionID: s2.SessionID}); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("ask on a closed session: %v", err)
	}
	// CSAT and FCR: c5 resolved and never back; c6 resolved but back
	// within a week; c7 not resolved.
	if _, err := b.svc.CloseSession(ctx, scam.SessionID, &yes, "ag_fraud"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CloseSession(ctx, s3.SessionID, &no, "ag_gen"); err != nil {
		t.Fatal(err)
	}
	for id, score := range map[string]int{scam.SessionID: 5, s2.SessionID: 3, s3.SessionID: 2} {
		if _, err := b.svc.Rate(ctx, id, score, "电话13812345678"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.svc.Rate(ctx, s3.SessionID, 6, ""); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("CSAT 6: %v", err)
	}
	b.clock.Advance(48 * time.Hour)
	ask(t, b.svc, service.AskRequest{Text: "额度", CustomerID: "c6"})
	from := b.clock.Now().Add(-72 * time.Hour)
	st, err := b.svc.Stats(ctx, from, from.Add(47*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 3 || st.Closed != 3 || st.HandedOff != 3 || st.CSATCount != 3 || *st.CSAT != 3.333 || st.FCR == nil || *st.FCR != 0.333 {
		t.Errorf("stats = %+v (fcr %v)", st, st.FCR)
	}
	if st.Warnings[service.ScamVictim] != 2 || len(st.Agents) != 2 || st.Agents[0].AgentID != "ag_fraud" || *st.Agents[0].FCR != 1 {
		t.Errorf("stats warnings %v agents %+v", st.Warnings, st.Agents)
	}
	got, err := b.db.ServiceSession(ctx, s2.SessionID)
	if err != nil || got.CSAT == nil || *got.CSAT != 3 || strings.Contains(got.CSATComment, "13812345678") {
		t.Errorf("stored rating = %+v, %v", got, err)
	}
}

// TestRestart: the sessions agents hold keep their seats across a
// restart, and the waiting line is restored.
func TestRestart(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.PutAgent(ctx, &service.Agent{ID: "a1", Skills: []string{"general"}, Presence: service.Online, Capacity: 1}); err != nil {
		t.Fatal(err)
	}
	r1 := ask(t, b.svc, service.AskRequest{Text: "转人工"})
	r2 := ask(t, b.svc, service.AskRequest{Text: "转人工"})
	for _, id := range []string{r1.SessionID, r2.SessionID} {
		if _, err := b.svc.Handoff(ctx, id, service.HandoffRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.svc.Close(); err != nil {
		t.Fatal(err)
	}
	b.open(t)
	if a := b.svc.Router().Agent("a1"); a == nil || a.Load != 1 {
		t.Fatalf("agent after restart = %+v", a)
	}
	if _, err := b.svc.CloseSession(ctx, r1.SessionID, nil, "a1"); err != nil {
		t.Fatal(err)
	}
	v, err := b.svc.GetSession(ctx, r2.SessionID)
	if err != nil || v.Status != service.StatusHandedOff || v.AgentID != "a1" {
		t.Errorf("waiting session after restart and release = %+v, %v", v, err)
	}
	// A session open before the restart goes on.
	r3 := ask(t, b.svc, service.AskRequest{Text: "额度", SessionID: r2.SessionID})
	if r3.Turn <= 3 {
		t.Errorf("turn after restart = %d", r3.Turn)
	}
}

func TestIdleSweep(t *testing.T) {
	b := setup(t)
	r := ask(t, b.svc, service.AskRequest{Text: "额度", CustomerID: "c1"})
	b.clock.Advance(31 * time.Minute)
	b.svc.Sweep()
	v, err := b.svc.GetSession(context.Background(), r.SessionID)
	if err != nil || v.Status != service.StatusClosed || v.ClosedBy != "timeout" || v.Resolved != nil {
		t.Errorf("idle session = %+v, %v", v, err)
	}
	// The customer's second session within a week counts as a repeat contact.
	for range 3 {
		ask(t, b.svc, service.AskRequest{Text: "额度", CustomerID: "c1"})
	}
	r = ask(t, b.svc, service.AskRequest{Text: "还是没解决，额度怎么样了", CustomerID: "c1"})
	if len(r.Warnings) == 0 || r.Warnings[0].Kind != service.ComplaintRisk {
		t.Errorf("repeat contact warnings = %+v", r.Warnings)
	}
}

func TestGuides(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	g := &service.Guide{ID: "repay_early", Title: "如何提前还款", Category: "repayment", FAQIDs: []string{"faq_repay_early"},
		Steps: []service.Step{{Title: "打开“我的借款”"}, {Title: "点击“提前还款”", Action: "open:repay/early"}}}
	g1, err := b.svc.PutGuide(ctx, g, 0, "li.na")
	if err != nil || g1.Version != 1 {
		t.Fatalf("put = %+v, %v", g1, err)
	}
	r := ask(t, b.svc, service.AskRequest{Text: "提前还款"})
	if r.Answers[0].Guide == nil || r.Answers[0].Guide.ID != "repay_early" || r.Answers[0].Guide.Steps != 2 {
		t.Fatalf("answer guide = %+v", r.Answers[0].Guide)
	}
	edit := *g1
	edit.Title = "提前还款指南"
	if _, err := b.svc.PutGuide(ctx, &edit, 0, "wang"); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("stale edit: %v", err)
	}
	if _, err := b.svc.PutGuide(ctx, &service.Guide{ID: "x", Title: "", Steps: nil}, 0, "a"); xiaobao.ErrorCode(err) != xiaobao.EINVALID || len(xiaobao.ErrorFields(err)) != 2 {
		t.Errorf("bad guide: %v", err)
	}
	g2, err := b.svc.PutGuide(ctx, &edit, 1, "wang")
	if err != nil || g2.Version != 2 || g2.CreatedBy != "wang" {
		t.Fatalf("edit = %+v, %v", g2, err)
	}
	if _, err := b.svc.DeleteGuide(ctx, "repay_early", "wang"); err != nil {
		t.Fatal(err)
	}
	if r := ask(t, b.svc, service.AskRequest{Text: "提前还款"}); r.Answers[0].Guide != nil {
		t.Errorf("deleted guide still launched: %+v", r.Answers[0].Guide)
	}
	vs, err := b.svc.GuideVersions(ctx, "repay_early")
	if err != nil || len(vs) != 3 || !vs[0].Deleted || vs[2].Title != "如何提前还款" {
		t.Errorf("history = %+v, %v", vs, err)
	}
	if gs, _ := b.svc.Guides(ctx, false); len(gs) != 0 {
		t.Errorf("guides without deleted = %+v", gs)
	}
	if gs, _ := b.svc.Guides(ctx, true); len(gs) != 1 {
		t.Errorf("all guides = %+v", gs)
	}
}

func TestConcurrentAsks(t *testing.T) {
	b := setup(t)
	first := ask(t, b.svc, service.AskRequest{Text: "额度", CustomerID: "cc"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				sid := first.SessionID
				if j%2 == 0 {
					sid = ""
				}
				if _, err := b.svc.Ask(context.Background(), service.AskRequest{Text: "转账被拦截了", SessionID: sid, CustomerID: "cc"}); err != nil {
					t.Error(i, err)
				}
			}
		})
	}
	wg.Wait()
	v, err := b.svc.GetSession(context.Background(), first.SessionID)
	if err != nil || v.Turns != 2+8*10*2 {
		t.Errorf("session turns = %d, %v", v.Turns, err)
	}
}

// TestMessageIDAcrossRestart: a retried message id gets its first result
// back, not a second turn — within a session and for a message that
// opened one, after more than the 32 ids kept in memory, and after a
// restart; and an answered turn is in the store before Ask returns.
func TestMessageIDAcrossRestart(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	first := service.AskRequest{Text: "提前还款怎么操作", CustomerID: "c7", Channel: "app", MessageID: "wx-1"}
	r1 := ask(t, b.svc, first)
	// Stored on return: read the store directly, without a flush.
	ts, err := b.db.ServiceTurns(ctx, r1.SessionID)
	if err != nil || len(ts) != 2 || ts[0].MessageID != "wx-1" {
		t.Fatalf("turns in the store when Ask returned = %+v, %v", ts, err)
	}
	again := ask(t, b.svc, first) // no session id: the same session, not a new one
	if !again.Replayed || again.SessionID != r1.SessionID || again.Turn != r1.Turn {
		t.Fatalf("retry of a first message = %+v, want a replay of %+v", again, r1)
	}
	for i := range 40 {
		ask(t, b.svc, service.AskRequest{Text: "额度怎么提", SessionID: r1.SessionID, MessageID: fmt.Sprintf("wx-%d", i+2)})
	}
	old := ask(t, b.svc, service.AskRequest{Text: "额度怎么提", SessionID: r1.SessionID, MessageID: "wx-3"})
	if !old.Replayed || old.Turn != 5 {
		t.Errorf("retry of an old message = %+v, want turn 5 replayed", old)
	}

	b.svc.Close()
	b.open(t)
	for _, req := range []service.AskRequest{first, {Text: "提前还款怎么操作", SessionID: r1.SessionID, MessageID: "wx-1"}} {
		r := ask(t, b.svc, req)
		if !r.Replayed || r.SessionID != r1.SessionID || r.Turn != 1 || len(r.Answers) != len(r1.Answers) {
			t.Errorf("retry %+v after a restart = %+v, want a replay of %+v", req, r, r1)
		}
	}
	ts, _ = b.db.ServiceTurns(ctx, r1.SessionID)
	if len(ts) != 82 {
		t.Errorf("%d turns stored, want 82 (41 asks, no repeats)", len(ts))
	}
	// The same message id from another customer is another message.
	other := ask(t, b.svc, service.AskRequest{Text: "提前还款怎么操作", CustomerID: "c8", Channel: "app", MessageID: "wx-1"})
	if other.Replayed || other.SessionID == r1.SessionID {
		t.Errorf("another customer's message wx-1 = %+v", other)
	}
}
