package service

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTopicOf(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Type: "repayment", Action: "allow", Status: "failed"}, "repayment_failed"},
		{Event{Type: "repayment", Action: "allow", Status: "INSUFFICIENT_FUNDS"}, "repayment_failed"},
		{Event{Type: "repayment", Action: "allow"}, "repayment_done"},
		{Event{Type: "transfer", Action: "cooling_off"}, "transfer_held"},
		{Event{Type: "transfer", Action: "friction"}, "transfer_checked"},
		{Event{Type: "transfer", Action: "allow"}, ""},
		{Event{Type: "withdrawal", Action: "allow", Status: "failed"}, "withdrawal_failed"},
		{Event{Type: "loan_apply", Action: "allow", Status: "declined"}, "loan_declined"},
		{Event{Type: "loan_apply", Action: "allow"}, ""},
		{Event{Type: "loan_payout", Action: "allow"}, "loan_payout"},
		{Event{Type: "profile_change", Action: "allow", Change: "credit_limit"}, "limit_change"},
		{Event{Type: "profile_change", Action: "allow", Change: "address"}, ""},
		{Event{Type: "phone_change", Action: "allow"}, "account_security"},
		{Event{Type: "card_bind", Action: "allow", Status: "failed"}, "card_bind_failed"},
		{Event{Type: "login", Action: "allow"}, ""},
	}
	for _, tt := range tests {
		if got := topicOf(tt.e); got != tt.want {
			t.Errorf("topicOf(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestPredictOrder(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	evs := []Event{
		{Type: "repayment", Action: "allow", At: now.Add(-40 * time.Hour)},
		{Type: "transfer", Action: "hold", At: now.Add(-10 * time.Minute)},
		{Type: "repayment", Action: "allow", Status: "failed", At: now.Add(-2 * time.Hour)},
		{Type: "loan_apply", Action: "allow", Status: "declined", At: now.Add(-100 * time.Hour)}, // too old
		{Type: "card_bind", Action: "allow", Status: "failed", At: now.Add(time.Hour)},           // from the future
	}
	got := Predict(evs, now, 5)
	want := []string{"transfer_held", "repayment_failed", "repayment_done"}
	if len(got) != len(want) {
		t.Fatalf("Predict = %+v, want topics %v", got, want)
	}
	for i, w := range want {
		if got[i].Name != w || got[i].Query == "" || got[i].Reason == "" || got[i].Category == "" {
			t.Errorf("topic %d = %+v, want %s", i, got[i], w)
		}
	}
	if got := Predict(evs, now, 1); len(got) != 1 || got[0].Name != "transfer_held" {
		t.Errorf("Predict k=1 = %+v", got)
	}
	if got := Predict(nil, now, 3); len(got) != 0 {
		t.Errorf("Predict of nothing = %+v", got)
	}
}

// simulatedSession is a customer opening a chat: their recent events and
// the topic they actually ask about ("" for something unrelated to any
// event).
type simulatedSession struct {
	events []Event
	asks   string
}

// simulateSessions draws n sessions from a model of why customers contact
// service that is independent of Predict's own weights: each event with
// a topic pulls on the contact with a propensity of its own (failures and
// holds most, routine events little), fading with a half-life of 8 hours
// (Predict assumes 12), and a fifth of contacts are about something no
// recent event explains (a phone number change, a fee question).
func simulateSessions(seed uint64, n int, now time.Time) []simulatedSession {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	propensity := map[string]float64{
		"repayment_failed": 0.9, "repayment_done": 0.25, "transfer_held": 1.0, "transfer_checked": 0.35,
		"loan_declined": 0.7, "loan_payout": 0.4, "limit_change": 0.6, "account_security": 0.3,
		"card_bind_failed": 0.6, "payment_failed": 0.5, "withdrawal_failed": 0.7,
	}
	gen := func() Event {
		at := now.Add(-time.Duration(r.Float64() * float64(72*time.Hour)))
		x := r.Float64()
		switch {
		case x < 0.30:
			e := Event{Type: "repayment", Action: "allow", At: at}
			if r.Float64() < 0.25 {
				e.Status = "failed"
			}
			return e
		case x < 0.55:
			e := Event{Type: "transfer", Action: "allow", At: at}
			switch y := r.Float64(); {
			case y < 0.12:
				e.Action = "cooling_off"
			case y < 0.18:
				e.Action = "hold"
			case y < 0.3:
				e.Action = "friction"
			}
			return e
		case x < 0.65:
			e := Event{Type: "loan_apply", Action: "allow", At: at}
			if r.Float64() < 0.4 {
				e.Status = "declined"
			}
			return e
		case x < 0.7:
			return Event{Type: "loan_payout", Action: "allow", At: at}
		case x < 0.75:
			return Event{Type: "profile_change", Action: "allow", Change: "credit_limit", At: at}
		case x < 0.8:
			e := Event{Type: "card_bind", Action: "allow", At: at}
			if r.Float64() < 0.3 {
				e.Status = "failed"
			}
			return e
		case x < 0.85:
			e := Event{Type: "withdrawal", Action: "allow", At: at}
			if r.Float64() < 0.2 {
				e.Status = "failed"
			}
			return e
		case x < 0.9:
			return Event{Type: "device_change", Action: "allow", At: at}
		default:
			return Event{Type: "login", Action: "allow", At: at}
		}
	}
	out := make([]simulatedSession, 0, n)
	for len(out) < n {
		s := simulatedSession{}
		for range 1 + r.IntN(6) {
			s.events = append(s.events, gen())
		}
		if r.Float64() < 0.2 {
			out = append(out, s) // asks about something else
			continue
		}
		total := 0.0
		pull := make([]float64, len(s.events))
		for i, e := range s.events {
			if name := topicOf(e); name != "" {
				pull[i] = propensity[name] * math.Exp2(-now.Sub(e.At).Hours()/8)
				total += pull[i]
			}
		}
		if total < 0.05 {
			continue // nothing recent would make this customer call: no session
		}
		x := r.Float64() * total
		for i, p := range pull {
			if x -= p; x <= 0 && p > 0 {
				s.asks = topicOf(s.events[i])
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// hitRate returns the share of sessions whose asked topic is among the
// first k predicted by predict.
func hitRate(sessions []simulatedSession, k int, predict func([]Event) []string) float64 {
	hits := 0
	for _, s := range sessions {
		for i, name := range predict(s.events) {
			if i < k && name == s.asks && s.asks != "" {
				hits++
				break
			}
		}
	}
	return float64(hits) / float64(len(sessions))
}

// TestPredictHitRate measures Predict on simulated sessions against two
// baselines: the most recent event's topic, and the three most common
// topics for everyone (what a service with no Guard history can do).
func TestPredictHitRate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sessions := simulateSessions(1, 4000, now)
	predict := func(evs []Event) []string {
		var out []string
		for _, tp := range Predict(evs, now, 3) {
			out = append(out, tp.Name)
		}
		return out
	}
	latest := func(evs []Event) []string {
		var best Event
		for _, e := range evs {
			if topicOf(e) != "" && e.At.After(best.At) {
				best = e
			}
		}
		if best.At.IsZero() {
			return nil
		}
		return []string{topicOf(best)}
	}
	popular := func([]Event) []string { return []string{"repayment_done", "transfer_held", "repayment_failed"} }
	h1, h3 := hitRate(sessions, 1, predict), hitRate(sessions, 3, predict)
	l1, p3 := hitRate(sessions, 1, latest), hitRate(sessions, 3, popular)
	t.Logf("simulated sessions %d: Predict hit@1 %.3f hit@3 %.3f; latest-event hit@1 %.3f; popular-topics hit@3 %.3f (20%% of contacts are unrelated to any event: ceiling 0.8)",
		len(sessions), h1, h3, l1, p3)
	if h1 < l1 || h3 < p3+0.2 {
		t.Errorf("Predict (hit@1 %.3f, hit@3 %.3f) does not beat the baselines (%.3f, %.3f)", h1, h3, l1, p3)
	}
	if h3 < 0.6 {
		t.Errorf("hit@3 %.3f, want at least 0.6", h3)
	}
}
