package cases

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

var t0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// hold returns the record of a held (or blocked) transfer decided at t0.
func hold(id, customer, typology string, action guard.Action, amount xiaobao.Money, age int) *guard.Record {
	d := &guard.Decision{ID: "dec_" + id, EventID: "evt_" + id, Seq: 1, CustomerID: customer, EventType: guard.Transfer,
		OccurredAt: t0.Add(-time.Second), Action: action, Typology: typology, DecidedAt: t0}
	if action == guard.Hold {
		d.HoldMinutes = 24 * 60
	}
	ev := &guard.Event{ID: "evt_" + id, Type: guard.Transfer, OccurredAt: d.OccurredAt, Amount: amount, HasAmount: true, Currency: "CNY",
		Customer: guard.Customer{ID: customer, Age: age}}
	return &guard.Record{Seq: 1, Event: ev, Decision: d}
}

func mustCase(t *testing.T, r *guard.Record) *Case {
	t.Helper()
	c, err := NewCase(r, DefaultPolicy(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSLADue(t *testing.T) {
	p := DefaultPolicy()
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	tests := []struct {
		name    string
		expires *time.Time
		want    time.Time
	}{
		{"block: no hold", nil, t0.Add(30 * time.Minute)},
		{"long hold: call within 30 minutes", at(24 * time.Hour), t0.Add(30 * time.Minute)},
		{"hold of 80 minutes: 30 minutes comes before half-way", at(80 * time.Minute), t0.Add(30 * time.Minute)},
		{"hold of 50 minutes: half-way", at(50 * time.Minute), t0.Add(25 * time.Minute)},
		{"hold of 90 minutes: 30 minutes is both", at(90 * time.Minute), t0.Add(30 * time.Minute)},
		{"hold of 20 minutes: half-way", at(20 * time.Minute), t0.Add(10 * time.Minute)},
	}
	for _, tt := range tests {
		if got := p.SLADue(t0, tt.expires); !got.Equal(tt.want) {
			t.Errorf("%s: SLADue = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestQueueOf(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		typology  string
		age       int
		amount    xiaobao.Money
		escalated bool
		want      string
	}{
		{"fake_investment", 67, 100_00, false, QueueVulnerable},
		{"fake_investment", -1, 100_00, false, QueueInvestment},
		{"vulnerable_customer", 40, 100_00, false, QueueVulnerable},
		{"impersonated_police", 35, 6_000_000, false, QueueHighValue},
		{"impersonated_police", 35, 4_999_999, false, QueueImpersonation},
		{"fake_loan", 35, 1, false, QueueLoan},
		{"mule_account", 35, 1, false, QueueAccount},
		{"something_new", 35, 1, false, QueueGeneral},
		{"fake_loan", 80, 1, true, QueueSupervisor},
	}
	for _, tt := range tests {
		c := &Case{Typology: tt.typology, CustomerAge: tt.age, AmountAtRisk: tt.amount, Escalated: tt.escalated}
		if got := p.QueueOf(c); got != tt.want {
			t.Errorf("QueueOf(%s, age %d, %s, escalated %v) = %s, want %s", tt.typology, tt.age, tt.amount, tt.escalated, got, tt.want)
		}
	}
	if names := p.QueueNames(); names[0] != QueueSupervisor || !slices.Contains(names, QueueGeneral) || len(names) != 8 {
		t.Errorf("QueueNames = %v", names)
	}
}

func TestPickAgent(t *testing.T) {
	agents := []*Agent{
		{Username: "amy", Skills: []string{"investment"}, Capacity: 4, Active: true},
		{Username: "bob", Skills: []string{"*"}, Capacity: 10, Active: true},
		{Username: "cat", Skills: []string{"investment", "supervisor"}, Capacity: 2, Active: true},
		{Username: "dan", Skills: []string{"*"}, Capacity: 10, Active: false},
	}
	tests := []struct {
		queue  string
		load   map[string]int
		want   string
		wantOK bool
	}{
		{"investment", map[string]int{}, "amy", true},                             // all empty: by name
		{"investment", map[string]int{"amy": 1}, "bob", true},                     // 1/4 > 0/10
		{"investment", map[string]int{"amy": 1, "bob": 3, "cat": 0}, "cat", true}, // 0/2 lowest
		{"investment", map[string]int{"amy": 2, "bob": 5, "cat": 1}, "cat", true}, // 2/4 = 5/10 = 1/2: fewest open cases
		{"loan", map[string]int{"bob": 9}, "bob", true},                           // only bob (dan inactive)
		{"loan", map[string]int{"bob": 10}, "", false},                            // bob full
		{"supervisor", map[string]int{}, "cat", true},                             // "*" is not the supervisor queue
		{"supervisor", map[string]int{"cat": 2}, "", false},                       // cat full
		{"investment", map[string]int{"amy": 4, "bob": 10, "cat": 2}, "", false},  // everyone full
		{"general", map[string]int{"amy": 0, "bob": 0, "cat": 0, "dan": 0}, "bob", true},
	}
	for _, tt := range tests {
		got, ok := PickAgent(tt.queue, agents, tt.load)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("PickAgent(%s, %v) = %q, %v; want %q, %v", tt.queue, tt.load, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestNewCaseAndJoin(t *testing.T) {
	p := DefaultPolicy()
	c := mustCase(t, hold("1", "cus_1", "fake_investment", guard.Hold, 4_000_000, 35))
	if c.ID != "case_1" || c.State != StateOpen || c.Queue != QueueInvestment || c.AmountAtRisk != 4_000_000 || c.Version != 1 {
		t.Fatalf("new case = %+v", c)
	}
	if c.HoldExpiresAt == nil || !c.HoldExpiresAt.Equal(t0.Add(24*time.Hour)) || !c.SLADueAt.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("deadlines: hold %v, SLA %v", c.HoldExpiresAt, c.SLADueAt)
	}
	if d := c.NextDeadline(); d == nil || !d.Equal(c.SLADueAt) {
		t.Errorf("NextDeadline = %v, want the SLA", d)
	}
	// A second payment: the amount moves the case to the high-value queue;
	// the earlier expiry and SLA stay.
	r2 := hold("2", "cus_1", "fake_investment", guard.Hold, 2_000_000, 35)
	r2.Decision.DecidedAt = t0.Add(10 * time.Minute)
	st, err := Join(c, r2, p, t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Added) != 1 || len(st.Events) != 1 || st.Events[0].Kind != EventJoined || len(c.Decisions) != 2 {
		t.Errorf("join step = %+v", st)
	}
	if c.AmountAtRisk != 6_000_000 || c.Queue != QueueHighValue || !c.HoldExpiresAt.Equal(t0.Add(24*time.Hour)) || !c.SLADueAt.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("joined case = %+v", c)
	}
	// A blocked payment has nothing to expire.
	b := mustCase(t, hold("3", "cus_2", "listed_entity", guard.Block, 100_00, -1))
	if b.HoldExpiresAt != nil || b.Decisions[0].Status != Blocked || b.CustomerAge != -1 {
		t.Errorf("blocked case = %+v", b)
	}
	c.State = StateClosed
	if _, err := Join(c, hold("4", "cus_1", "fake_investment", guard.Hold, 1, 35), p, t0); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("join a closed case: %v", err)
	}
}

func TestAssign(t *testing.T) {
	caller := Actor{ID: "user:u1", Username: "amy"}
	other := Actor{ID: "user:u2", Username: "bob"}
	sup := Actor{ID: "user:u3", Username: "sue", Supervisor: true}
	tests := []struct {
		name      string
		state     State
		assignee  string
		to        string
		by        Actor
		wantCode  string
		wantState State
		wantEvent bool
	}{
		{"claim an open case", StateOpen, "", "amy", caller, "", StateAssigned, true},
		{"claim again: no change", StateAssigned, "amy", "amy", caller, "", StateAssigned, false},
		{"claim someone else's", StateAssigned, "bob", "amy", caller, xiaobao.ECONFLICT, "", false},
		{"assign to another without supervise", StateOpen, "", "bob", caller, xiaobao.EFORBIDDEN, "", false},
		{"hand back my own", StateAssigned, "amy", "", caller, "", StateOpen, true},
		{"hand back someone else's", StateAssigned, "bob", "", caller, xiaobao.ECONFLICT, "", false},
		{"claim an escalated case", StateEscalated, "", "amy", caller, xiaobao.EFORBIDDEN, "", false},
		{"supervisor reassigns", StateAssigned, "amy", "bob", sup, "", StateAssigned, true},
		{"supervisor assigns an escalated case", StateEscalated, "", "bob", sup, "", StateAssigned, true},
		{"reassigning a waiting case keeps it waiting", StateWaiting, "amy", "bob", sup, "", StateWaiting, true},
		{"closed", StateClosed, "amy", "bob", sup, xiaobao.ECONFLICT, "", false},
		{"bob claims", StateOpen, "", "bob", other, "", StateAssigned, true},
	}
	for _, tt := range tests {
		c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
		c.State, c.Assignee, c.Escalated = tt.state, tt.assignee, tt.state == StateEscalated
		st, err := Assign(c, tt.to, tt.by, "k1", t0)
		if xiaobao.ErrorCode(err) != tt.wantCode {
			t.Errorf("%s: err = %v, want code %q", tt.name, err, tt.wantCode)
			continue
		}
		if err != nil {
			continue
		}
		if c.State != tt.wantState || (len(st.Events) > 0) != tt.wantEvent || c.Assignee != tt.to {
			t.Errorf("%s: state %s assignee %q events %d", tt.name, c.State, c.Assignee, len(st.Events))
		}
	}
	c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
	if _, err := Assign(c, "amy", caller, string(make([]byte, MaxKey+1)), t0); !hasField(err, "request_id") {
		t.Errorf("long key: %v", err)
	}
}

func hasField(err error, field string) bool {
	return slices.ContainsFunc(xiaobao.ErrorFields(err), func(f xiaobao.FieldError) bool { return f.Field == field })
}

func topics(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Topic)
	}
	return out
}

func TestRecordCall(t *testing.T) {
	p := DefaultPolicy()
	amy := Actor{ID: "user:u1", Username: "amy"}
	tests := []struct {
		outcome    CallOutcome
		consent    string
		resolution Resolution
		status     DecisionStatus
		saved      xiaobao.Money
		topics     []string
		label      guard.OutcomeKind
		reported   bool
	}{
		{Dissuaded, "", ResolvedDissuaded, Cancelled, 700_000, []string{TopicCancelled, TopicCancelled, TopicNotify}, guard.OutcomeDissuaded, false},
		{ConfirmedVictim, "", ResolvedConfirmedVictim, Cancelled, 700_000, []string{TopicCancelled, TopicCancelled, TopicNotify}, guard.OutcomeConfirmedFraud, true},
		{Insisted, "录音 R-1001：客户知悉风险仍坚持", ResolvedInsisted, Released, 0, []string{TopicReleased, TopicReleased, TopicNotify}, guard.OutcomeProceeded, false},
		{FalseAlarm, "", ResolvedFalseAlarm, Released, 0, []string{TopicReleased, TopicReleased, TopicNotify}, guard.OutcomeFalseAlarm, false},
	}
	for _, tt := range tests {
		c := mustCase(t, hold("1", "cus_1", "fake_investment", guard.Hold, 500_000, 30))
		if _, err := Join(c, hold("2", "cus_1", "fake_investment", guard.Hold, 200_000, 30), p, t0); err != nil {
			t.Fatal(err)
		}
		st, err := RecordCall(c, Call{Outcome: tt.outcome, Note: "called", Consent: tt.consent, Key: "r1"}, amy, p, t0.Add(5*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", tt.outcome, err)
		}
		if c.State != StateClosed || c.Resolution != tt.resolution || c.AmountSaved != tt.saved || c.AmountLost != 0 || c.Reported != tt.reported {
			t.Errorf("%s: case = %s %s saved %s reported %v", tt.outcome, c.State, c.Resolution, c.AmountSaved, c.Reported)
		}
		if c.Assignee != "amy" || !c.LabelsPending || c.NextDeadline() == nil {
			t.Errorf("%s: assignee %q, labels pending %v", tt.outcome, c.Assignee, c.LabelsPending)
		}
		for _, d := range c.Decisions {
			if d.Status != tt.status {
				t.Errorf("%s: decision %s is %s, want %s", tt.outcome, d.DecisionID, d.Status, tt.status)
			}
		}
		if got := topics(st.Messages); !slices.Equal(got, tt.topics) {
			t.Errorf("%s: messages %v, want %v", tt.outcome, got, tt.topics)
		}
		ids := map[string]bool{}
		for _, m := range st.Messages {
			if ids[m.ID] || !json.Valid(m.Payload) {
				t.Errorf("%s: message %s repeated or invalid", tt.outcome, m.ID)
			}
			ids[m.ID] = true
		}
		// claimed (assigned), the call, closed
		if kinds := eventKinds(st.Events); !slices.Equal(kinds, []EventKind{EventAssigned, EventCall, EventClosed}) {
			t.Errorf("%s: events %v", tt.outcome, kinds)
		}
		ls := Labels(c)
		if len(ls) != 2 || ls[0].Kind != tt.label || ls[0].AmountSaved+ls[1].AmountSaved != tt.saved {
			t.Errorf("%s: labels %+v %+v", tt.outcome, ls[0], ls[1])
		}
		if !c.HasKey("r1") || c.HasKey("r2") || c.HasKey("") {
			t.Errorf("%s: HasKey wrong", tt.outcome)
		}
		// Closed: another call is a conflict, except a victim report on a
		// released case, which records the loss.
		_, err = RecordCall(c, Call{Outcome: ConfirmedVictim}, amy, p, t0.Add(time.Hour))
		switch {
		case tt.outcome == Insisted:
			if err != nil || c.Resolution != ResolvedVictimAfterRelease || c.AmountLost != 700_000 || !c.LabelsPending || !c.Reported {
				t.Errorf("victim after release: %v, %s lost %s", err, c.Resolution, c.AmountLost)
			}
			if ls := Labels(c); ls[0].Kind != guard.OutcomeConfirmedFraud || ls[0].AmountLost+ls[1].AmountLost != 700_000 {
				t.Errorf("victim after release labels %+v", ls)
			}
		case xiaobao.ErrorCode(err) != xiaobao.ECONFLICT:
			t.Errorf("%s: call on closed case: %v", tt.outcome, err)
		}
	}
}

func eventKinds(es []Event) []EventKind {
	var out []EventKind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

func TestRecordCallInvalid(t *testing.T) {
	p := DefaultPolicy()
	amy := Actor{ID: "user:u1", Username: "amy"}
	tests := []struct {
		call  Call
		field string
	}{
		{Call{Outcome: "maybe"}, "outcome"},
		{Call{Outcome: Insisted}, "consent"},
		{Call{Outcome: Insisted, Consent: " ok "}, "consent"},
		{Call{Outcome: Dissuaded, Note: string(make([]rune, MaxNote+1))}, "note"},
		{Call{Outcome: Dissuaded, Note: "bad \x00"}, "note"},
		{Call{Outcome: Dissuaded, Key: string(make([]byte, MaxKey+1))}, "request_id"},
	}
	for _, tt := range tests {
		c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
		if _, err := RecordCall(c, tt.call, amy, p, t0); !hasField(err, tt.field) {
			t.Errorf("%+v: err %v, want field %s", tt.call, err, tt.field)
		}
		if c.State != StateOpen || len(c.Events) != 1 {
			t.Errorf("%+v: a refused call changed the case", tt.call)
		}
	}
	c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
	c.Assignee, c.State = "bob", StateAssigned
	if _, err := RecordCall(c, Call{Outcome: Dissuaded}, amy, p, t0); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("call on bob's case: %v", err)
	}
	if _, err := RecordCall(c, Call{Outcome: Dissuaded}, Actor{ID: "user:s", Username: "sue", Supervisor: true}, p, t0); err != nil || c.Assignee != "bob" {
		t.Errorf("supervisor's call on bob's case: %v, assignee %s", err, c.Assignee)
	}
}

func TestUnreachableRetries(t *testing.T) {
	p := DefaultPolicy()
	amy := Actor{ID: "user:u1", Username: "amy"}
	c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
	now := t0.Add(time.Minute)
	for i, wait := range []time.Duration{15 * time.Minute, 30 * time.Minute} {
		if _, err := RecordCall(c, Call{Outcome: Unreachable}, amy, p, now); err != nil {
			t.Fatal(err)
		}
		if c.State != StateWaiting || c.Attempts != i+1 || !c.NextAttemptAt.Equal(now.Add(wait)) {
			t.Fatalf("attempt %d: %s attempts %d next %v", i+1, c.State, c.Attempts, c.NextAttemptAt)
		}
		// Nothing is due before the retry; at it, the case is back with amy.
		if st := Advance(c, p, now.Add(wait-time.Second)); len(st.Events) != 0 {
			t.Fatalf("advance before retry: %v", eventKinds(st.Events))
		}
		now = now.Add(wait)
		st := Advance(c, p, now)
		if c.State != StateAssigned || c.NextAttemptAt != nil || !slices.Contains(eventKinds(st.Events), EventRetryDue) {
			t.Fatalf("retry due: %s %v", c.State, eventKinds(st.Events))
		}
		c.SLADueAt = now.Add(time.Hour) // keep the SLA out of this test
	}
	if _, err := RecordCall(c, Call{Outcome: Unreachable}, amy, p, now); err != nil {
		t.Fatal(err)
	}
	if c.State != StateEscalated || !c.Escalated || c.Assignee != "" || c.Queue != QueueSupervisor || c.Attempts != 3 {
		t.Errorf("after 3 attempts: %+v", c)
	}
}

func TestAdvanceExpiry(t *testing.T) {
	for _, tt := range []struct {
		policy     ExpiryAction
		extend     time.Duration
		resolution Resolution
		topic      string
	}{
		{ExpireCancel, 12 * time.Hour, ResolvedExpiredCancelled, TopicCancelled},
		{ExpireRelease, 12 * time.Hour, ResolvedExpiredReleased, TopicReleased},
		{ExpireCancel, -1, ResolvedExpiredCancelled, TopicCancelled},
	} {
		p := DefaultPolicy()
		p.OnExpiry, p.ExtendBy = tt.policy, tt.extend
		c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
		// SLA missed: escalated to a supervisor, once.
		st := Advance(c, p, c.SLADueAt)
		if !c.Escalated || c.State != StateEscalated || !slices.Equal(eventKinds(st.Events), []EventKind{EventEscalated}) {
			t.Fatalf("SLA: %+v %v", c, eventKinds(st.Events))
		}
		if st := Advance(c, p, c.SLADueAt); len(st.Events) != 0 {
			t.Errorf("advance again: %v", eventKinds(st.Events))
		}
		if d := c.NextDeadline(); d == nil || !d.Equal(*c.HoldExpiresAt) {
			t.Errorf("escalated case's next deadline %v, want the hold expiry", d)
		}
		expiry := *c.HoldExpiresAt
		if tt.extend > 0 {
			st = Advance(c, p, expiry)
			if !c.Extended || !c.HoldExpiresAt.Equal(expiry.Add(tt.extend)) || c.State != StateEscalated ||
				!slices.Equal(topics(st.Messages), []string{TopicExtended, TopicNotify}) {
				t.Fatalf("extend: %+v %v", c, topics(st.Messages))
			}
			expiry = *c.HoldExpiresAt
		}
		st = Advance(c, p, expiry)
		if c.State != StateClosed || c.Resolution != tt.resolution || c.LabelsPending || c.NextDeadline() != nil {
			t.Errorf("%s: expired case %+v", tt.policy, c)
		}
		if got := topics(st.Messages); !slices.Equal(got, []string{tt.topic, TopicNotify}) {
			t.Errorf("%s: messages %v", tt.policy, got)
		}
		if len(Labels(c)) != 0 {
			t.Errorf("an expired case teaches Guard nothing: %v", Labels(c))
		}
	}
}

func TestAddNote(t *testing.T) {
	c := mustCase(t, hold("1", "cus_1", "fake_loan", guard.Hold, 100, 30))
	if _, err := AddNote(c, "  ", Actor{ID: "user:u1"}, "", t0); !hasField(err, "note") {
		t.Errorf("empty note: %v", err)
	}
	st, err := AddNote(c, " 客户称稍后回电 ", Actor{ID: "user:u1"}, "n1", t0)
	if err != nil || len(st.Events) != 1 || st.Events[0].Note != "客户称稍后回电" || !c.HasKey("n1") {
		t.Errorf("note: %v %+v", err, st)
	}
}

func TestSummarize(t *testing.T) {
	rows := []FigureRow{
		{ResolvedDissuaded, "fake_investment", 3, 300_00, 0},
		{ResolvedConfirmedVictim, "impersonated_police", 1, 900_00, 0},
		{ResolvedVictimAfterRelease, "fake_investment", 1, 0, 50_00},
		{ResolvedInsisted, "fake_loan", 2, 0, 0},
		{ResolvedFalseAlarm, "fake_loan", 4, 0, 0},
		{ResolvedExpiredCancelled, "fake_loan", 1, 0, 0},
	}
	f := Summarize(rows, t0, t0.Add(time.Hour))
	if f.Closed != 12 || f.Protected != 4 || f.Dissuaded != 3 || f.ConfirmedVictims != 1 || f.Insisted != 2 ||
		f.FalseAlarms != 4 || f.Expired != 1 || f.VictimsAfterRelease != 1 || f.AmountSaved != 1200_00 || f.AmountLost != 50_00 {
		t.Errorf("figures %+v", f)
	}
	if len(f.ByTypology) != 3 || f.ByTypology[0].Typology != "impersonated_police" || f.ByTypology[1].Protected != 3 {
		t.Errorf("by typology %+v", f.ByTypology)
	}
}

// TestScripts checks there is a script, in both languages, for every
// typology of the built-in pack.
func TestScripts(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s+typology: ([a-z_]+)\s*$`)
	seen := map[string]bool{}
	for _, m := range re.FindAllSubmatch(guard.BuiltinPack(), -1) {
		seen[string(m[1])] = true
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d typologies in the built-in pack", len(seen))
	}
	for typ := range seen {
		s := ScriptFor(typ)
		if s.Typology != typ {
			t.Errorf("typology %s has no script of its own", typ)
		}
	}
	for _, typ := range append(ScriptTypologies(), "default") {
		s := ScriptFor(typ)
		if s.Title.ZH == "" || s.Title.EN == "" || len(s.Steps) < 2 {
			t.Errorf("script %s is incomplete", typ)
		}
		for i, st := range s.Steps {
			if st.ZH == "" || st.EN == "" {
				t.Errorf("script %s step %d lacks a language", typ, i)
			}
		}
	}
	if ScriptFor("no_such").Typology != "default" {
		t.Error("unknown typology does not get the default script")
	}
}
