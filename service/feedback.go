package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Feedback is the customer's verdict on an answer: the channel's "did
// this help?" buttons, or the answer picked after a clarifying question.
// Helpful answers teach the FAQ (Config.OnHelpful); the unhelpful ones
// tell the editors which entries fail (AnswerStats).
type Feedback struct {
	SessionID string `json:"session_id"`
	// Turn is the customer's turn the answer was given to (AskResult.Turn).
	Turn    int       `json:"turn"`
	FAQID   string    `json:"faq_id"`
	Helpful bool      `json:"helpful"`
	At      time.Time `json:"at"`
}

// Helpful is a customer's text whose answer helped, for the FAQ to
// learn from once a person accepts it.
type Helpful struct {
	Text      string // redacted, as stored
	FAQID     string
	SessionID string
	Turn      int
	At        time.Time
}

// GiveFeedback records the customer's verdict on the answer faqID gave
// to their turn. Giving the same verdict again changes nothing; a new
// verdict replaces the old. A helpful verdict is passed to OnHelpful
// before it is stored, so a failure there is retried with the request.
func (s *Service) GiveFeedback(ctx context.Context, sessionID string, turn int, faqID string, helpful bool) (*Feedback, error) {
	var fe []xiaobao.FieldError
	if turn < 1 || turn > MaxTurns {
		fe = append(fe, xiaobao.FieldError{Field: "turn", Reason: fmt.Sprintf("must be the customer turn the answer was given to (1-%d)", MaxTurns)})
	}
	if strings.TrimSpace(faqID) == "" || len(faqID) > 200 {
		fe = append(fe, xiaobao.FieldError{Field: "faq_id", Reason: "must be the id of one of the answers given (1-200 bytes)"})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the feedback is invalid", fe...)
	}
	t, err := s.customerTurn(ctx, sessionID, turn)
	if err != nil {
		return nil, err
	}
	if t.Reply == nil || !slices.ContainsFunc(t.Reply.Answers, func(a Answer) bool { return a.FAQID == faqID }) {
		return nil, xiaobao.Invalid("the feedback is invalid", xiaobao.FieldError{Field: "faq_id",
			Reason: fmt.Sprintf("%s was not among the answers given to turn %d", faqID, turn)})
	}
	prev, err := s.store.ServiceFeedback(ctx, sessionID, turn)
	switch {
	case err == nil:
		if prev.FAQID == faqID && prev.Helpful == helpful {
			return prev, nil
		}
	case xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND:
		return nil, err
	}
	now := s.clock.Now().UTC()
	if helpful && s.cfg.OnHelpful != nil {
		if err := s.cfg.OnHelpful(ctx, Helpful{Text: t.Text, FAQID: faqID, SessionID: sessionID, Turn: turn, At: now}); err != nil {
			return nil, err
		}
	}
	f := &Feedback{SessionID: sessionID, Turn: turn, FAQID: faqID, Helpful: helpful, At: now}
	if err := s.store.PutServiceFeedback(ctx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// customerTurn finds a customer turn of a session, in memory or stored.
func (s *Service) customerTurn(ctx context.Context, sessionID string, seq int) (*Turn, error) {
	var found *Turn
	l, _, err := s.lookup(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if l != nil {
		l.mu.Lock()
		for _, t := range l.turns {
			if t.Seq == seq {
				found = t
			}
		}
		l.mu.Unlock()
	}
	if found == nil {
		if err := s.Flush(ctx); err != nil {
			return nil, err
		}
		ts, err := s.store.ServiceTurns(ctx, sessionID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.Seq == seq {
				found = t
			}
		}
	}
	if found == nil || found.Role != RoleCustomer {
		return nil, xiaobao.Invalid("the feedback is invalid", xiaobao.FieldError{Field: "turn",
			Reason: fmt.Sprintf("session %s has no customer turn %d", sessionID, seq)})
	}
	return found, nil
}

// AnswerStats are the customers' verdicts on answers over a period.
type AnswerStats struct {
	Helpful   int `json:"helpful"`
	Unhelpful int `json:"unhelpful"`
	// HelpfulRate is Helpful / (Helpful + Unhelpful); null without any.
	HelpfulRate *float64 `json:"helpful_rate"`
	// Worst are the entries with the most unhelpful verdicts (at most
	// 10), for the editors.
	Worst []FAQVerdicts `json:"worst"`
}

// FAQVerdicts are one entry's verdicts.
type FAQVerdicts struct {
	FAQID     string `json:"faq_id"`
	Helpful   int    `json:"helpful"`
	Unhelpful int    `json:"unhelpful"`
}

// ComputeAnswerStats sums verdicts.
func ComputeAnswerStats(fb []*Feedback) AnswerStats {
	st := AnswerStats{Worst: []FAQVerdicts{}}
	by := map[string]*FAQVerdicts{}
	for _, f := range fb {
		v := by[f.FAQID]
		if v == nil {
			v = &FAQVerdicts{FAQID: f.FAQID}
			by[f.FAQID] = v
		}
		if f.Helpful {
			st.Helpful++
			v.Helpful++
		} else {
			st.Unhelpful++
			v.Unhelpful++
		}
	}
	st.HelpfulRate = avg(st.Helpful, st.Helpful+st.Unhelpful)
	for _, v := range by {
		if v.Unhelpful > 0 {
			st.Worst = append(st.Worst, *v)
		}
	}
	slices.SortFunc(st.Worst, func(a, b FAQVerdicts) int {
		if a.Unhelpful != b.Unhelpful {
			return b.Unhelpful - a.Unhelpful
		}
		return strings.Compare(a.FAQID, b.FAQID)
	})
	st.Worst = st.Worst[:min(10, len(st.Worst))]
	return st
}
