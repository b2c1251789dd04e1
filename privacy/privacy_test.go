package privacy

import (
	"slices"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

var cst = time.FixedZone("CST", 8*3600)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDeadline(t *testing.T) {
	// National Day 2026 as a firm would configure it: 1–7 October off,
	// Saturday 10 October worked instead (调休).
	cal, err := NewCalendar(cst, []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"}, []string{"2026-10-10"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		received string
		days     int
		want     string // the midnight before which to answer
	}{
		{"across a weekend", "2026-05-08 10:00", 1, "2026-05-12 00:00"},
		{"late Friday evening is still Friday", "2026-05-08 23:30", 1, "2026-05-12 00:00"},
		{"Saturday counts from Monday", "2026-05-09 00:30", 1, "2026-05-12 00:00"},
		{"two weekends", "2026-05-08 10:00", 6, "2026-05-19 00:00"},
		{"default: day of receipt not counted", "2026-06-01 09:00", DefaultResponseDays, "2026-06-23 00:00"},
		{"a holiday week and a 调休 Saturday", "2026-09-30 16:00", 3, "2026-10-11 00:00"},
		{"received on a holiday", "2026-10-02 11:00", 1, "2026-10-09 00:00"},
		{"received on the 调休 Saturday", "2026-10-10 11:00", 1, "2026-10-13 00:00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.Deadline(at(tt.received), tt.days)
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("Deadline(%s, %d) = %s, want %s", tt.received, tt.days, got.In(cst), want)
			}
			if got.Location() != time.UTC {
				t.Errorf("deadline not in UTC: %s", got)
			}
		})
	}
	for _, tt := range []struct {
		day  string
		want bool
	}{
		{"2026-10-01 12:00", false}, {"2026-10-03 12:00", false}, {"2026-10-08 12:00", true},
		{"2026-10-10 12:00", true}, {"2026-10-11 12:00", false}, {"2026-10-12 12:00", true},
	} {
		if got := cal.IsWorkingDay(at(tt.day)); got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v", tt.day, got)
		}
	}
	if !slices.Equal(cal.Workdays(), []string{"2026-10-10"}) || len(cal.Holidays()) != 5 {
		t.Errorf("configured days = %v, %v", cal.Holidays(), cal.Workdays())
	}
}

func TestNewCalendarInvalid(t *testing.T) {
	_, err := NewCalendar(nil, []string{"2026-10-01", "10/02/2026"}, []string{"2026-10-01", "2026-13-01"})
	fields := map[string]bool{}
	for _, fe := range xiaobao.ErrorFields(err) {
		fields[fe.Field] = true
	}
	for _, f := range []string{"holidays[1]", "workdays[0]", "workdays[1]"} {
		if !fields[f] {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
	if cal, err := NewCalendar(nil, nil, nil); err != nil || cal.Location().String() == "UTC" {
		t.Errorf("default calendar = %v, %v", cal, err)
	}
}

func TestCurrentConsents(t *testing.T) {
	c := func(seq int64, p Purpose, granted bool, when string) *Consent {
		return &Consent{Seq: seq, CustomerID: "c-1", Purpose: p, Granted: granted, Channel: ChannelApp, PolicyVersion: "v1", At: at(when)}
	}
	for _, tt := range []struct {
		name    string
		history []*Consent
		want    map[Purpose]State
	}{
		{"nothing recorded", nil, map[Purpose]State{
			Marketing: StateNotRecorded, RiskControl: StateNotRequired, ThirdPartySharing: StateNotRecorded,
			EducationOutreach: StateNotRecorded, Profiling: StateNotRecorded}},
		{"granted then withdrawn", []*Consent{c(1, Marketing, true, "2026-01-01 10:00"), c(2, Marketing, false, "2026-02-01 10:00")},
			map[Purpose]State{Marketing: StateWithdrawn}},
		{"withdrawn then granted again", []*Consent{c(1, Marketing, false, "2026-01-01 10:00"), c(2, Marketing, true, "2026-02-01 10:00")},
			map[Purpose]State{Marketing: StateGranted}},
		{"a late-recorded older change does not win", []*Consent{c(1, Profiling, true, "2026-03-01 10:00"), c(2, Profiling, false, "2026-01-01 10:00")},
			map[Purpose]State{Profiling: StateGranted}},
		{"same instant: the later record wins", []*Consent{c(2, Profiling, false, "2026-03-01 10:00"), c(1, Profiling, true, "2026-03-01 10:00")},
			map[Purpose]State{Profiling: StateWithdrawn}},
		{"purposes are separate", []*Consent{c(1, ThirdPartySharing, true, "2026-01-01 10:00"), c(2, EducationOutreach, false, "2026-01-02 10:00")},
			map[Purpose]State{ThirdPartySharing: StateGranted, EducationOutreach: StateWithdrawn, Marketing: StateNotRecorded}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cur := Current(tt.history)
			if len(cur) != len(Purposes) {
				t.Fatalf("%d states, want one per purpose", len(cur))
			}
			for _, st := range cur {
				want, ok := tt.want[st.Purpose]
				if !ok {
					continue
				}
				if st.State != want {
					t.Errorf("%s: %s, want %s", st.Purpose, st.State, want)
				}
				if st.Allowed != (want == StateGranted || want == StateNotRequired) {
					t.Errorf("%s: allowed = %v in state %s", st.Purpose, st.Allowed, st.State)
				}
			}
			if !Allowed(tt.history, RiskControl) {
				t.Error("risk control must be allowed without consent")
			}
		})
	}
}

func TestValidateConsent(t *testing.T) {
	now := at("2026-05-06 09:00")
	good := func() *Consent {
		return &Consent{CustomerID: "c-1", Purpose: Marketing, Granted: true, Channel: ChannelCall, PolicyVersion: "2026.1", Evidence: "rec-77"}
	}
	c := good()
	if err := ValidateConsent(c, now); err != nil {
		t.Fatal(err)
	}
	if !c.At.Equal(now) || !c.RecordedAt.Equal(now) {
		t.Errorf("times not defaulted: %+v", c)
	}
	for _, tt := range []struct {
		name  string
		mod   func(*Consent)
		field string
	}{
		{"no customer", func(c *Consent) { c.CustomerID = "" }, "customer_id"},
		{"space in customer", func(c *Consent) { c.CustomerID = "c 1" }, "customer_id"},
		{"unknown purpose", func(c *Consent) { c.Purpose = "spam" }, "purpose"},
		{"risk control needs no consent", func(c *Consent) { c.Purpose, c.Granted = RiskControl, false }, "purpose"},
		{"unknown channel", func(c *Consent) { c.Channel = "wechat" }, "channel"},
		{"no policy version", func(c *Consent) { c.PolicyVersion = "" }, "policy_version"},
		{"future", func(c *Consent) { c.At = now.Add(time.Hour) }, "at"},
		{"NUL evidence", func(c *Consent) { c.Evidence = "a\x00b" }, "evidence"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.mod(c)
			err := ValidateConsent(c, now)
			if xiaobao.ErrorCode(err) != xiaobao.EINVALID {
				t.Fatalf("err = %v, want invalid", err)
			}
			if fs := xiaobao.ErrorFields(err); len(fs) != 1 || fs[0].Field != tt.field {
				t.Errorf("fields = %v, want %s", fs, tt.field)
			}
		})
	}
	for _, p := range Purposes {
		if p.NeedsConsent() != (p != RiskControl) {
			t.Errorf("%s needs consent: %v", p, p.NeedsConsent())
		}
	}
}

func TestRequestLifecycle(t *testing.T) {
	p := DefaultPolicy()
	now := at("2026-05-08 10:00") // a Friday
	r := &Request{CustomerID: "c-1", Kind: KindAccess, Channel: ChannelApp}
	if err := NewRequest(r, p, "user:u1", now); err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusReceived || r.ID == "" || len(r.Events) != 1 || !r.DueAt.Equal(at("2026-05-30 00:00")) {
		t.Fatalf("new request = %+v", r)
	}
	if r.Overdue(at("2026-05-29 23:59")) || !r.Overdue(at("2026-05-30 00:00")) {
		t.Error("overdue flag wrong around the deadline")
	}
	if r.Exportable() {
		t.Error("an unverified request authorises an export")
	}
	steps := []struct {
		action Action
		note   string
		code   string
		want   Status
	}{
		{ActionStart, "", xiaobao.ECONFLICT, StatusReceived},
		{ActionComplete, "", xiaobao.ECONFLICT, StatusReceived},
		{"approve", "", xiaobao.EINVALID, StatusReceived},
		{ActionReject, "", xiaobao.EINVALID, StatusReceived},
		{ActionVerify, "ID card checked at counter", "", StatusVerified},
		{ActionVerify, "", xiaobao.ECONFLICT, StatusVerified},
		{ActionStart, "", "", StatusInProgress},
		{ActionComplete, "sent by post", "", StatusCompleted},
		{ActionReject, "too late now", xiaobao.ECONFLICT, StatusCompleted},
	}
	for i, s := range steps {
		now = now.Add(time.Hour)
		_, err := r.Transition(s.action, "user:u2", s.note, now)
		if xiaobao.ErrorCode(err) != s.code || r.Status != s.want {
			t.Errorf("step %d %s: err %v, status %s; want %q, %s", i, s.action, err, r.Status, s.code, s.want)
		}
		if s.want == StatusVerified && s.code == "" && !r.Exportable() {
			t.Error("a verified access request does not authorise an export")
		}
	}
	if len(r.Events) != 4 || r.VerifiedBy != "user:u2" || r.ClosedAt == nil || r.Resolution != "sent by post" {
		t.Errorf("after completion: %+v", r)
	}
	if r.Overdue(at("2027-01-01 00:00")) {
		t.Error("a request closed in time is overdue")
	}

	late := &Request{CustomerID: "c-1", Kind: KindDeletion, Channel: ChannelCounter}
	_ = NewRequest(late, p, "user:u1", at("2026-05-08 10:00"))
	if _, err := late.Transition(ActionReject, "user:u2", "identity could not be proven", at("2026-06-01 10:00")); err != nil {
		t.Fatal(err)
	}
	if !late.Overdue(at("2026-06-01 10:00")) || late.Exportable() {
		t.Error("a request closed late is not overdue, or a deletion authorises an export")
	}
}

func TestNewRequestInvalid(t *testing.T) {
	now := at("2026-05-08 10:00")
	r := &Request{Kind: "forget", Channel: "fax", ReceivedAt: now.Add(time.Hour), Details: "x\x00"}
	err := NewRequest(r, DefaultPolicy(), "a", now)
	got := map[string]bool{}
	for _, fe := range xiaobao.ErrorFields(err) {
		got[fe.Field] = true
	}
	for _, f := range []string{"customer_id", "kind", "channel", "received_at", "details"} {
		if !got[f] {
			t.Errorf("%v does not name %s", err, f)
		}
	}
}

func TestPlanDeletion(t *testing.T) {
	p := DefaultPolicy()
	now := at("2026-05-08 10:00")
	ago := func(years int) *time.Time { t := now.AddDate(-years, 0, 0); return &t }
	for _, tt := range []struct {
		name     string
		ended    *time.Time
		want     map[Category]Disposal
		deleteAt map[Category]time.Time
		complete bool
	}{
		{
			name:  "relationship ended 2 years ago",
			ended: ago(2),
			want: map[Category]Disposal{Transactions: Restrict, Identity: Restrict, RiskEvents: Anonymise,
				Behaviour: Delete, Contact: Delete, Consents: Restrict, SubjectRequests: Restrict},
			deleteAt: map[Category]time.Time{Transactions: now.AddDate(AMLRetentionYears-2, 0, 0), Consents: now.AddDate(1, 0, 0)},
		},
		{
			name:  "relationship ended beyond every retention period",
			ended: ago(AMLRetentionYears + 1),
			want: map[Category]Disposal{Transactions: Delete, Identity: Delete, RiskEvents: Anonymise,
				Behaviour: Delete, Contact: Delete, Consents: Delete, SubjectRequests: Delete},
			complete: true,
		},
		{
			name:  "relationship still going on",
			ended: nil,
			want:  map[Category]Disposal{Transactions: Restrict, Behaviour: Delete, Consents: Restrict},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := p.PlanDeletion("c-1", tt.ended, now)
			if plan.Complete != tt.complete {
				t.Errorf("complete = %v", plan.Complete)
			}
			for _, it := range plan.Items {
				if want, ok := tt.want[it.Category]; ok && it.Disposal != want {
					t.Errorf("%s: %s, want %s", it.Category, it.Disposal, want)
				}
				if it.Disposal == Restrict && (it.Basis == "" || it.Then == "") {
					t.Errorf("%s restricted without basis or follow-up: %+v", it.Category, it)
				}
				if it.Disposal == Restrict && (it.DeletableAt == nil) != (tt.ended == nil) {
					t.Errorf("%s: deletable at %v with relationship end %v", it.Category, it.DeletableAt, tt.ended)
				}
				if want, ok := tt.deleteAt[it.Category]; ok && (it.DeletableAt == nil || !it.DeletableAt.Equal(want)) {
					t.Errorf("%s deletable at %v, want %v", it.Category, it.DeletableAt, want)
				}
			}
			if tt.name == "relationship ended 2 years ago" && (plan.NextDeletionAt == nil || !plan.NextDeletionAt.Equal(now.AddDate(1, 0, 0))) {
				t.Errorf("next deletion at %v", plan.NextDeletionAt)
			}
		})
	}
}
