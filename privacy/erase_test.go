package privacy

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

func TestEventCategory(t *testing.T) {
	for _, tt := range []struct {
		typ  guard.EventType
		want Category
	}{
		{guard.Transfer, Transactions}, {guard.Withdrawal, Transactions}, {guard.Payment, Transactions},
		{guard.LoanPayout, Transactions}, {guard.Repayment, Transactions},
		{guard.Login, RiskEvents}, {guard.DeviceChange, RiskEvents}, {guard.PhoneChange, RiskEvents}, {guard.ProfileChange, RiskEvents},
		{guard.PayeeAdd, RiskEvents}, {guard.LoanApply, RiskEvents}, {guard.CardBind, RiskEvents},
	} {
		if got := EventCategory(tt.typ); got != tt.want {
			t.Errorf("EventCategory(%s) = %s, want %s", tt.typ, got, tt.want)
		}
	}
}

func TestNewErasure(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	recent, old := now.AddDate(-1, 0, 0), now.AddDate(-11, 0, 0)
	for _, tt := range []struct {
		name         string
		kind         Kind
		status       Status
		ended        *time.Time
		code         string
		transactions Disposal
		restricted   []Category
	}{
		{"ongoing relationship", KindDeletion, StatusInProgress, nil, "", Restrict, []Category{Transactions, Identity, Consents, SubjectRequests}},
		{"ended a year ago", KindDeletion, StatusCompleted, &recent, "", Restrict, []Category{Transactions, Identity, Consents, SubjectRequests}},
		{"retention over", KindDeletion, StatusInProgress, &old, "", Delete, nil},
		{"not yet started", KindDeletion, StatusVerified, nil, xiaobao.ECONFLICT, "", nil},
		{"rejected", KindDeletion, StatusRejected, nil, xiaobao.ECONFLICT, "", nil},
		{"an access request", KindAccess, StatusInProgress, nil, xiaobao.ECONFLICT, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{ID: "dsr_1", CustomerID: "c-1", Kind: tt.kind, Status: tt.status, RelationshipEndedAt: tt.ended}
			e, _, err := NewErasure(req, DefaultPolicy(), 42, "key:k", now)
			if xiaobao.ErrorCode(err) != tt.code && (tt.code != "" || err != nil) {
				t.Fatalf("NewErasure: %v, want %q", err, tt.code)
			}
			if tt.code != "" {
				return
			}
			if e.UpToSeq != 42 || e.CustomerID != "c-1" || !guard.IsAnonymous(e.Token) || e.Records[RiskEvents] != Anonymise || e.Records[Transactions] != tt.transactions {
				t.Errorf("erasure %+v", e)
			}
			var got []Category
			for _, it := range e.Restrictions {
				got = append(got, it.Category)
				if (tt.ended == nil) != (it.DeletableAt == nil) {
					t.Errorf("%s deletable at %v with the relationship ended at %v", it.Category, it.DeletableAt, tt.ended)
				}
			}
			if strings.Join(catStrings(got), ",") != strings.Join(catStrings(tt.restricted), ",") {
				t.Errorf("restricted %v, want %v", got, tt.restricted)
			}
		})
	}
	t.Run("conversations", func(t *testing.T) {
		req := &Request{ID: "dsr_1", CustomerID: "c-1", Kind: KindDeletion, Status: StatusInProgress}
		rules := func(edit func(*Rule)) *Policy {
			p := DefaultPolicy()
			p.Rules = slices.Clone(p.Rules)
			for i := range p.Rules {
				if p.Rules[i].Category == Conversations {
					edit(&p.Rules[i])
				}
			}
			return p
		}
		for _, tt := range []struct {
			name string
			p    *Policy
			want Disposal
		}{
			{"default", DefaultPolicy(), Anonymise},
			{"deleted", rules(func(r *Rule) { r.Otherwise = Delete }), Delete},
			// A policy from before the category: as by default.
			{"no rule", &Policy{Calendar: DefaultPolicy().Calendar, Rules: slices.DeleteFunc(slices.Clone(DefaultRules), func(r Rule) bool { return r.Category == Conversations })}, Anonymise},
		} {
			e, _, err := NewErasure(req, tt.p, 1, "key:k", now)
			if err != nil || e.Conversations != tt.want || slices.ContainsFunc(e.Restrictions, func(it Item) bool { return it.Category == Conversations }) {
				t.Errorf("%s: erasure %+v, %v; want conversations %s", tt.name, e, err, tt.want)
			}
		}
		// Built in code, a policy may keep them; the erasure refuses it
		// before anything is forgotten.
		kept := rules(func(r *Rule) { r.RetainYears, r.Basis = 3, "complaints" })
		if _, _, err := NewErasure(req, kept, 1, "key:k", now); xiaobao.ErrorCode(err) != xiaobao.EINVALID || !strings.Contains(err.Error(), "conversations") {
			t.Errorf("erasure keeping conversations: %v, want invalid", err)
		}
	})
	t.Run("tokens differ", func(t *testing.T) {
		if a, b := AnonymousToken(), AnonymousToken(); a == b {
			t.Error("two runs share a token")
		}
	})
}

func catStrings(cs []Category) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestAnonymiseRecord(t *testing.T) {
	secrets := []string{"c-77", "13800138000", "110101199003071234", "dev-9", "203.0.113.5", "6222020200112233", "张三", "evt-1", "dec-1", "ses-9", "memo text"}
	for _, tt := range []struct {
		name string
		raw  string
	}{
		{"login", `{"event_id":"evt-1","type":"login","occurred_at":"2026-01-02T03:04:05.123+08:00","customer":{"id":"c-77","age":70,"phone":"13800138000","id_number":"110101199003071234"},"device":{"id":"dev-9","ip":"203.0.113.5"},"memo":"memo text","session_id":"ses-9"}`},
		{"payee added", `{"event_id":"evt-1","type":"payee_add","occurred_at":"2026-01-02T03:04:05+08:00","customer":{"id":"c-77"},"device":{"id":"dev-9"},"counterparty":{"account":"6222020200112233","name":"张三"}}`},
		{"loan application", `{"event_id":"evt-1","type":"loan_apply","occurred_at":"2026-01-02T03:04:05Z","customer":{"id":"c-77","phone":"13800138000"},"amount":"5000.00","currency":"CNY"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := guard.DecodeEvent([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			d := &guard.Decision{ID: "dec-1", EventID: "evt-1", CustomerID: "c-77", EventType: ev.Type, OccurredAt: ev.OccurredAt, Action: guard.Friction,
				Score: 0.7, Typology: "account_takeover",
				Reasons:     []guard.Reason{{Rule: "r1", Code: "R1", Detail: "device dev-9 of 张三", Action: guard.Friction, Score: 0.7, Values: map[string]any{"device.id": "dev-9"}}},
				Shadow:      []guard.Reason{{Rule: "s1", Detail: "6222020200112233"}},
				Explanation: &guard.Explanation{RuleScore: 0.7, Escalation: "payee 6222020200112233", Contributions: []guard.Contribution{{Feature: "f", Value: 3, Effect: 0.1}}},
			}
			tok := AnonymousToken()
			a, err := AnonymiseRecord([]byte(tt.raw), guard.AppendDecisionJSON(nil, d), tok)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if bytes.Contains(a.Raw, []byte(s)) || bytes.Contains(a.Decision, []byte(s)) {
					t.Errorf("%q left in\n%s\n%s", s, a.Raw, a.Decision)
				}
			}
			back, err := guard.DecodeEvent(a.Raw)
			if err != nil {
				t.Fatalf("anonymised event does not decode: %v\n%s", err, a.Raw)
			}
			if back.ID != a.EventID || back.Customer.ID != tok || back.Type != ev.Type || !back.OccurredAt.Equal(ev.OccurredAt) || back.Offset != ev.Offset || back.Amount != ev.Amount {
				t.Errorf("anonymised event %+v", back)
			}
			var bd guard.Decision
			if err := json.Unmarshal(a.Decision, &bd); err != nil {
				t.Fatal(err)
			}
			if bd.ID != a.DecisionID || bd.EventID != a.EventID || bd.CustomerID != tok || bd.Action != d.Action || bd.Score != d.Score ||
				bd.Typology != d.Typology || bd.Reasons[0].Rule != "r1" || !bd.OccurredAt.Equal(d.OccurredAt) {
				t.Errorf("anonymised decision %+v", bd)
			}
		})
	}
	if _, err := AnonymiseRecord([]byte("not json"), []byte("{}"), AnonymousToken()); err == nil {
		t.Error("a broken event was anonymised")
	}
}

func TestCustomerKey(t *testing.T) {
	index := func(s string) string { return "idx(" + s + ")" }
	if k := CustomerKey(index, "c-1"); k != "bi:idx(erasure customer\x00c-1)" {
		t.Errorf("keyed: %q", k)
	}
	a, b := CustomerKey(nil, "c-1"), CustomerKey(nil, "c-2")
	if a == b || strings.Contains(a, "c-1") || a != CustomerKey(nil, "c-1") {
		t.Errorf("unkeyed: %q %q", a, b)
	}
}

func TestDescribe(t *testing.T) {
	ended := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	plan := DefaultPolicy().PlanDeletion("c-1", &ended, ended.AddDate(1, 0, 0))
	rep := &ErasureReport{Total: ErasureCounts{Anonymised: 3, Restricted: 2, Conversations: 4, Turns: 17}}
	got := map[Category]Statement{}
	for _, st := range Describe(plan, rep) {
		got[st.Category] = st
	}
	for _, tt := range []struct {
		c     Category
		parts []string
	}{
		{Transactions, []string{"2 transaction record(s) kept", "until 2035-06-01", "then deleted"}},
		{Identity, []string{"restricted", "until 2035-06-01"}},
		{RiskEvents, []string{"3 journey event(s) anonymised"}},
		{Behaviour, []string{"deleted"}},
		{Consents, []string{"until 2028-06-01"}},
		{Conversations, []string{"4 customer-service conversation(s) anonymised", "only counts remain"}},
	} {
		for _, p := range tt.parts {
			if !strings.Contains(got[tt.c].Done, p) {
				t.Errorf("%s: %q lacks %q", tt.c, got[tt.c].Done, p)
			}
		}
	}
	if got[Transactions].Basis == "" || got[Transactions].DeletableAt == nil {
		t.Errorf("transactions: no basis or deadline: %+v", got[Transactions])
	}
}
