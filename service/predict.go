package service

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Event is what Predict needs of one of the customer's recent events in
// Guard: its type, Guard's action on it and the business outcome when the
// business system sent one (an event's unknown member "status", e.g.
// "failed" on a repayment or "declined" on a loan application; "change"
// on a profile change, e.g. "credit_limit").
type Event struct {
	Type     string    `json:"type"`
	Action   string    `json:"action"`
	Status   string    `json:"status,omitempty"`
	Change   string    `json:"change,omitempty"`
	Typology string    `json:"typology,omitempty"`
	At       time.Time `json:"at"`
}

// Topic is a predicted reason for contact.
type Topic struct {
	// Name is stable: repayment_failed, transfer_held, loan_declined, …
	Name string `json:"topic"`
	// Category is the FAQ category it belongs to.
	Category string  `json:"category"`
	Score    float64 `json:"score"`
	// Reason says in Simplified Chinese which event suggested it.
	Reason string `json:"reason"`
	// Query is the question a customer with this topic typically asks:
	// it is searched in the FAQ to find the answers to offer first.
	Query string `json:"query"`
}

// topicSpec describes one topic.
type topicSpec struct {
	name, category, query, zh string
	weight                    float64
}

// Topics are the contact reasons Predict knows, by name.
var topics = map[string]topicSpec{
	"repayment_failed":  {"repayment_failed", "repayment", "还款扣款失败了怎么办", "还款失败", 1.0},
	"repayment_done":    {"repayment_done", "repayment", "还款成功了吗，什么时候更新账单", "刚刚还款", 0.45},
	"transfer_held":     {"transfer_held", "transfer", "我的转账为什么被延迟到账或冻结", "转账被延迟/拦截", 1.0},
	"transfer_checked":  {"transfer_checked", "transfer", "转账时为什么要我再次验证身份", "转账需要额外验证", 0.6},
	"loan_declined":     {"loan_declined", "borrow", "借款失败了怎么办", "借款申请被拒", 0.9},
	"loan_payout":       {"loan_payout", "borrow", "借款多久到账", "借款放款", 0.55},
	"limit_change":      {"limit_change", "limit", "我的额度为什么变了", "额度变化", 0.8},
	"account_security":  {"account_security", "account", "账户在新设备登录或换手机号怎么办", "新设备/换号", 0.6},
	"card_bind_failed":  {"card_bind_failed", "account", "银行卡绑定失败怎么办", "绑卡失败", 0.8},
	"payment_failed":    {"payment_failed", "payment", "付款失败怎么办", "付款失败", 0.8},
	"withdrawal_failed": {"withdrawal_failed", "transfer", "提现失败或没到账怎么办", "提现失败", 0.9},
}

// TopicNames lists the topics in a stable order.
func TopicNames() []string {
	out := make([]string, 0, len(topics))
	for n := range topics {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func failed(status string) bool {
	switch strings.ToLower(status) {
	case "failed", "failure", "fail", "declined", "rejected", "refused", "error", "insufficient_funds", "returned":
		return true
	}
	return false
}

// topicOf maps one event to the topic it most likely makes the customer
// ask about, or "".
func topicOf(e Event) string {
	held := e.Action == "cooling_off" || e.Action == "hold" || e.Action == "block"
	checked := e.Action == "friction" || e.Action == "remind"
	switch e.Type {
	case "repayment":
		if failed(e.Status) || e.Action == "block" {
			return "repayment_failed"
		}
		return "repayment_done"
	case "transfer":
		if held {
			return "transfer_held"
		} else if failed(e.Status) {
			return "payment_failed"
		} else if checked {
			return "transfer_checked"
		}
	case "payment":
		if held {
			return "transfer_held"
		} else if failed(e.Status) {
			return "payment_failed"
		} else if checked {
			return "transfer_checked"
		}
	case "withdrawal":
		if held {
			return "transfer_held"
		} else if failed(e.Status) {
			return "withdrawal_failed"
		} else if checked {
			return "transfer_checked"
		}
	case "loan_apply":
		if failed(e.Status) || held {
			return "loan_declined"
		}
	case "loan_payout":
		if held || failed(e.Status) {
			return "loan_declined"
		}
		return "loan_payout"
	case "profile_change":
		if strings.Contains(strings.ToLower(e.Change), "limit") {
			return "limit_change"
		}
	case "limit_change": // a business system may send its own type
		return "limit_change"
	case "device_change", "phone_change":
		return "account_security"
	case "login":
		if held || checked {
			return "account_security"
		}
	case "card_bind":
		if failed(e.Status) || held {
			return "card_bind_failed"
		}
	}
	return ""
}

// PredictHalfLife is how fast an event's pull on the next contact fades.
const PredictHalfLife = 12 * time.Hour

// PredictWindow is how far back Predict looks.
const PredictWindow = 72 * time.Hour

// Predict guesses, from the customer's recent events, what they will ask
// when they open a chat: topics best first, at most k. An event's pull is
// its topic's weight (how often such an event makes people call) halved
// every PredictHalfLife; several events of one topic add up.
func Predict(events []Event, now time.Time, k int) []Topic {
	score := map[string]float64{}
	latest := map[string]time.Time{}
	for _, e := range events {
		age := now.Sub(e.At)
		if age < -5*time.Minute || age > PredictWindow {
			continue
		}
		name := topicOf(e)
		if name == "" {
			continue
		}
		age = max(age, 0)
		score[name] += topics[name].weight * math.Exp2(-float64(age)/float64(PredictHalfLife))
		if e.At.After(latest[name]) {
			latest[name] = e.At
		}
	}
	names := make([]string, 0, len(score))
	for name := range score {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
	if len(names) > k {
		names = names[:max(k, 0)]
	}
	out := make([]Topic, len(names))
	for i, name := range names {
		sp := topics[name]
		out[i] = Topic{
			Name: name, Category: sp.category, Query: sp.query,
			Score:  math.Round(min(score[name], 1)*1000) / 1000,
			Reason: sp.zh + "（" + latest[name].UTC().Format("01-02 15:04") + " UTC）",
		}
	}
	return out
}
