package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/service"
)

func TestFeedback(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		learned []service.Helpful
		fail    error
	)
	b.svc.Close()
	b.cfg.OnHelpful = func(_ context.Context, h service.Helpful) error {
		mu.Lock()
		defer mu.Unlock()
		if fail != nil {
			return fail
		}
		learned = append(learned, h)
		return nil
	}
	b.open(t)

	// A clarifying question: the customer picks the second answer.
	r := ask(t, b.svc, service.AskRequest{Text: "还款的事，我电话13812345678", CustomerID: "c1", Channel: "app"})
	if !r.Clarify || len(r.Answers) != 2 {
		t.Fatalf("ask = %+v, want a clarifying question", r)
	}
	fail = errors.New("faq store down")
	if _, err := b.svc.GiveFeedback(ctx, r.SessionID, r.Turn, "faq_repay_early", true); err == nil {
		t.Fatal("feedback stored although the FAQ could not learn it")
	}
	fail = nil
	f, err := b.svc.GiveFeedback(ctx, r.SessionID, r.Turn, "faq_repay_early", true)
	if err != nil || !f.Helpful || f.FAQID != "faq_repay_early" {
		t.Fatalf("feedback = %+v, %v", f, err)
	}
	// The same verdict again (a retry) teaches nothing twice.
	if _, err := b.svc.GiveFeedback(ctx, r.SessionID, r.Turn, "faq_repay_early", true); err != nil {
		t.Fatal(err)
	}
	if len(learned) != 1 || learned[0].FAQID != "faq_repay_early" || strings.Contains(learned[0].Text, "13812345678") || !strings.Contains(learned[0].Text, "还款的事") {
		t.Fatalf("learned = %+v, want one redacted text", learned)
	}

	for _, tt := range []struct {
		name  string
		turn  int
		faq   string
		field string
	}{
		{"an answer not given", r.Turn, "faq_limit", "faq_id"},
		{"the bot's turn", r.Turn + 1, "faq_repay_early", "turn"},
		{"no such turn", 99, "faq_repay_early", "turn"},
		{"turn zero", 0, "faq_repay_early", "turn"},
		{"no faq id", r.Turn, "", "faq_id"},
	} {
		_, err := b.svc.GiveFeedback(ctx, r.SessionID, tt.turn, tt.faq, true)
		var xe *xiaobao.Error
		if !errors.As(err, &xe) || xe.Code != xiaobao.EINVALID || len(xe.Fields) == 0 || xe.Fields[0].Field != tt.field {
			t.Errorf("%s: %v, want invalid %s", tt.name, err, tt.field)
		}
	}
	if _, err := b.svc.GiveFeedback(ctx, "ses_none", 1, "faq_limit", true); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("unknown session: %v", err)
	}

	// A confident answer that did not help; then a session after a
	// restart (its turns come from the store).
	r2 := ask(t, b.svc, service.AskRequest{Text: "额度", CustomerID: "c2"})
	if _, err := b.svc.GiveFeedback(ctx, r2.SessionID, r2.Turn, "faq_limit", false); err != nil {
		t.Fatal(err)
	}
	b.svc.Close()
	b.open(t)
	if _, err := b.svc.GiveFeedback(ctx, r2.SessionID, r2.Turn, "faq_limit", true); err != nil {
		t.Fatalf("feedback after a restart: %v", err)
	}
	if len(learned) != 2 {
		t.Errorf("changing a verdict to helpful teaches: learned %d", len(learned))
	}
	if _, err := b.svc.GiveFeedback(ctx, r2.SessionID, r2.Turn, "faq_limit", false); err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	st, err := b.svc.Stats(ctx, now.Add(-24*60*60e9), now.Add(60e9))
	if err != nil {
		t.Fatal(err)
	}
	a := st.Answers
	if a.Helpful != 1 || a.Unhelpful != 1 || a.HelpfulRate == nil || *a.HelpfulRate != 0.5 || len(a.Worst) != 1 || a.Worst[0].FAQID != "faq_limit" {
		t.Errorf("answer stats = %+v", a)
	}
}
