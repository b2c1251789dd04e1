package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/staff"
)

type caseView struct {
	ID           string
	CustomerID   string `json:"customer_id"`
	Typology     string
	Queue        string
	State        string
	Assignee     string
	Escalated    bool
	Resolution   string
	Attempts     int
	AmountAtRisk string `json:"amount_at_risk"`
	AmountSaved  string `json:"amount_saved"`
	Overdue      bool
	Decisions    []struct {
		DecisionID string `json:"decision_id"`
		Amount     string
		Status     string
	}
	Events []struct {
		Kind, Actor, Note, Outcome string
		RequestID                  string `json:"request_id"`
	}
	Script *struct {
		Typology string
		Steps    []struct{ ZH, EN string }
	}
	Records []map[string]any
}

type casesDesk struct {
	*fixture
	cs    *cases.Service
	clock *xiaobao.ManualClock
	audit *auditRecorder
	// Session tokens of staff users by username.
	tokens map[string]string
}

// casesSetup is a server with the case desk on the fixture's database, a
// manual clock at the real time (Guard stamps decisions with it too), and
// signed-in staff: two callers (amy, bob), a supervisor (sue), an agent
// (ann) and an administrator (adm).
func casesSetup(t *testing.T) *casesDesk {
	t.Helper()
	clock := xiaobao.NewManualClock(time.Now().UTC().Truncate(time.Second))
	d := &casesDesk{clock: clock, tokens: map[string]string{}, audit: &auditRecorder{}}
	d.fixture = setup(t, func(c *Config) {
		db := c.Keys.(*sqlite.DB)
		d.cs = cases.New(cases.Config{Store: db, Clock: clock})
		if err := d.cs.Start(context.Background(), c.Guard); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.cs.Close)
		c.Cases, c.Clock, c.Staff, c.Audit = d.cs, clock, db, d.audit
	})
	ctx := context.Background()
	for _, u := range []struct {
		name string
		role staff.Role
	}{{"amy", staff.Caller}, {"bob", staff.Caller}, {"sue", staff.Supervisor}, {"ann", staff.Agent}, {"adm", staff.Admin}} {
		user := &staff.User{ID: staff.NewUserID(), Username: u.name, Roles: []staff.Role{u.role}, CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
		if err := d.db.CreateUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		token, hash := staff.NewSessionToken()
		if err := d.db.CreateSession(ctx, &staff.Session{Hash: hash, UserID: user.ID, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(100 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		d.tokens[u.name] = token
	}
	return d
}

// hold posts a transfer that the test pack holds and opens its case.
func (d *casesDesk) hold(id, customer, amount string, age int) string {
	d.t.Helper()
	w := d.post("/v1/events", event(id, fmt.Sprintf(`customer={"id":%q,"age":%d,"phone":"13800138000"}`, customer, age), fmt.Sprintf(`amount=%q`, amount)))
	wantStatus(d.t, w, 200)
	dec := decode[decisionJSON](d.t, w)
	if dec.Action != "hold" {
		d.t.Fatalf("event %s: action %s, want hold", id, dec.Action)
	}
	if err := d.cs.CatchUp(context.Background()); err != nil {
		d.t.Fatal(err)
	}
	return dec.DecisionID
}

func (d *casesDesk) as(user, method, path, body string, header ...string) *httptest.ResponseRecorder {
	d.t.Helper()
	req := request{method: method, path: path, key: d.tokens[user], body: body}
	if len(header) == 2 {
		req.header = map[string]string{header[0]: header[1]}
	}
	return d.do(req)
}

func TestCasesFlow(t *testing.T) {
	d := casesSetup(t)
	decID := d.hold("evt-c1", "cus-1", "20000.00", 35)
	caseID := cases.CaseID(decID)

	// Opening is idempotent: catching up again or replaying the decision
	// opens nothing new.
	if err := d.cs.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, err := d.svc.Decision(context.Background(), decID)
	if err != nil {
		t.Fatal(err)
	}
	if c, created, err := d.cs.OpenCase(context.Background(), rec); err != nil || created || c.ID != caseID {
		t.Fatalf("OpenCase again = %v, %v, %v", c, created, err)
	}
	// A second hold of the same customer and scam joins the case.
	dec2 := d.hold("evt-c2", "cus-1", "15000.00", 35)
	list := decode[struct {
		Cases []caseView
	}](t, d.as("sue", "GET", "/v1/cases?open=true", ""))
	if len(list.Cases) != 1 || list.Cases[0].ID != caseID || len(list.Cases[0].Decisions) != 2 || list.Cases[0].AmountAtRisk != "35000.00" ||
		list.Cases[0].Queue != cases.QueueGeneral || list.Cases[0].State != "open" {
		t.Fatalf("cases = %+v", list.Cases)
	}

	// amy takes the next case; bob cannot take it from her or give it away.
	w := d.as("amy", "POST", "/v1/cases/next", "")
	wantStatus(t, w, 200)
	if c := decode[caseView](t, w); c.ID != caseID || c.Assignee != "amy" || c.State != "assigned" {
		t.Fatalf("next = %+v", c)
	}
	wantProblem(t, d.as("bob", "POST", "/v1/cases/next", ""), 404, "not_found")
	wantProblem(t, d.as("bob", "POST", "/v1/cases/"+caseID+"/assign", `{"assignee":"bob"}`), 409, "conflict")
	wantProblem(t, d.as("bob", "POST", "/v1/cases/"+caseID+"/assign", `{"assignee":"amy"}`), 403, "forbidden")
	wantProblem(t, d.as("bob", "POST", "/v1/cases/"+caseID+"/calls", `{"outcome":"dissuaded"}`), 409, "conflict")

	// A note, with a phone number typed in: stored masked; a retry with
	// the same key adds nothing, with other text it is a conflict.
	note := `{"note":"客户说对方电话 13912345678，稍后回电","request_id":"n-1"}`
	w = d.as("amy", "POST", "/v1/cases/"+caseID+"/notes", note)
	wantStatus(t, w, 201)
	c := decode[caseView](t, w)
	last := c.Events[len(c.Events)-1]
	if last.Kind != "note" || strings.Contains(last.Note, "13912345678") || last.RequestID != "n-1" || !strings.HasPrefix(last.Actor, "user:") {
		t.Errorf("note event %+v", last)
	}
	w = d.as("amy", "POST", "/v1/cases/"+caseID+"/notes", note)
	wantStatus(t, w, 200)
	if again := decode[caseView](t, w); len(again.Events) != len(c.Events) {
		t.Errorf("retried note added events: %d, want %d", len(again.Events), len(c.Events))
	}
	wantProblem(t, d.as("amy", "POST", "/v1/cases/"+caseID+"/notes", `{"note":"other"}`, "Idempotency-Key", "n-1"), 409, "conflict")

	// "My work".
	mine := decode[struct{ Cases []caseView }](t, d.as("amy", "GET", "/v1/cases/mine", ""))
	if len(mine.Cases) != 1 || mine.Cases[0].ID != caseID {
		t.Errorf("amy's cases = %+v", mine.Cases)
	}
	if bobs := decode[struct{ Cases []caseView }](t, d.as("bob", "GET", "/v1/cases/mine", "")); len(bobs.Cases) != 0 {
		t.Errorf("bob's cases = %+v", bobs.Cases)
	}

	// Unreachable, then insisting without consent is refused, then
	// dissuaded.
	w = d.as("amy", "POST", "/v1/cases/"+caseID+"/calls", `{"outcome":"unreachable","request_id":"call-1"}`)
	wantStatus(t, w, 201)
	if c := decode[caseView](t, w); c.State != "waiting" || c.Attempts != 1 {
		t.Errorf("after unreachable: %+v", c)
	}
	wantProblem(t, d.as("amy", "POST", "/v1/cases/"+caseID+"/calls", `{"outcome":"insisted"}`), 400, "invalid", "consent")
	w = d.as("amy", "POST", "/v1/cases/"+caseID+"/calls", `{"outcome":"dissuaded","note":"客户同意取消转账","request_id":"call-2"}`)
	wantStatus(t, w, 201)
	c = decode[caseView](t, w)
	if c.State != "closed" || c.Resolution != "dissuaded" || c.AmountSaved != "35000.00" || c.Decisions[0].Status != "cancelled" {
		t.Errorf("after dissuaded: %+v", c)
	}
	// The retry answers 200 and changes nothing; the same key with
	// another outcome is a conflict.
	w = d.as("amy", "POST", "/v1/cases/"+caseID+"/calls", `{"outcome":"dissuaded","note":"客户同意取消转账","request_id":"call-2"}`)
	wantStatus(t, w, 200)
	wantProblem(t, d.as("amy", "POST", "/v1/cases/"+caseID+"/calls", `{"outcome":"false_alarm","request_id":"call-2"}`), 409, "conflict")
	// Both calls were audited once, the retry not.
	if es := d.audit.find("case.call", "ok"); len(es) != 2 || es[1].Target != "case:"+caseID || !strings.HasPrefix(es[1].Actor, "user:") {
		t.Errorf("audited calls %+v", es)
	}
	if es := d.audit.find("case.assign", "ok"); len(es) != 1 {
		t.Errorf("audited assignments %+v", es)
	}

	// The payment system hears of both payments once; Guard learnt the
	// label with the money saved.
	for _, id := range []string{decID, dec2} {
		m, err := d.db.GetOutbox(context.Background(), caseID+":closed:"+id)
		if err != nil || m.Topic != cases.TopicCancelled || m.Sink != cases.SinkPayments {
			t.Errorf("outbox message for %s: %+v, %v", id, m, err)
		}
		w = d.get("/v1/decisions/" + id + "/outcome")
		wantStatus(t, w, 200)
		if o := decode[outcomeJSON](t, w); o.Outcome != "customer_dissuaded" || o.Source != "cases" {
			t.Errorf("guard outcome of %s: %+v", id, o)
		}
	}
	if full, _ := d.cs.Case(context.Background(), caseID); full.LabelsPending {
		t.Error("labels still pending after they were recorded")
	}

	// The case with its script and Guard's decisions, PII masked.
	w = d.as("ann", "GET", "/v1/cases/"+caseID, "")
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), "13800138000") || strings.Contains(w.Body.String(), "13912345678") {
		t.Errorf("case shows a phone number unmasked: %s", w.Body.String())
	}
	c = decode[caseView](t, w)
	if c.Script == nil || len(c.Script.Steps) == 0 || len(c.Records) != 2 || c.Records[0]["event"] == nil {
		t.Errorf("case detail: script %+v, %d records", c.Script, len(c.Records))
	}

	// The figures firms report.
	w = d.as("sue", "GET", "/v1/cases/figures", "")
	wantStatus(t, w, 200)
	fig := decode[struct {
		Closed, Protected, Dissuaded int
		AmountSaved                  string `json:"amount_saved"`
		ByTypology                   []struct {
			Typology    string
			AmountSaved string `json:"amount_saved"`
		} `json:"by_typology"`
	}](t, w)
	if fig.Closed != 1 || fig.Protected != 1 || fig.Dissuaded != 1 || fig.AmountSaved != "35000.00" || len(fig.ByTypology) != 1 || fig.ByTypology[0].Typology != "test_big" {
		t.Errorf("figures %+v", fig)
	}
	wantProblem(t, d.as("sue", "GET", "/v1/cases/figures?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", ""), 400, "invalid", "to")
}

func TestCasesDeadlines(t *testing.T) {
	d := casesSetup(t)
	ctx := context.Background()
	caseID := cases.CaseID(d.hold("evt-d1", "cus-old", "12000.00", 72))
	other := cases.CaseID(d.hold("evt-d2", "cus-2", "11000.00", 30))

	// Agents by skill: amy works the vulnerable queue, bob everything.
	wantStatus(t, d.as("sue", "PUT", "/v1/cases/agents/amy", `{"skills":["vulnerable"],"capacity":5}`), 200)
	wantStatus(t, d.as("sue", "PUT", "/v1/cases/agents/bob", `{"skills":["*"],"capacity":5}`), 200)
	w := d.as("sue", "POST", "/v1/cases:auto-assign", "")
	wantStatus(t, w, 200)
	got := decode[struct{ Assigned []cases.Assignment }](t, w)
	want := map[string]string{caseID: "amy", other: "bob"}
	if len(got.Assigned) != 2 || want[got.Assigned[0].CaseID] != got.Assigned[0].Assignee || want[got.Assigned[1].CaseID] != got.Assigned[1].Assignee {
		t.Errorf("auto-assigned %+v, want %v", got.Assigned, want)
	}
	agents := decode[struct {
		Agents []struct {
			Username string
			Load     int
		}
	}](t, d.as("ann", "GET", "/v1/cases/agents", ""))
	if len(agents.Agents) != 2 || agents.Agents[0].Load != 1 || agents.Agents[1].Load != 1 {
		t.Errorf("agents %+v", agents.Agents)
	}

	// Nobody called within the SLA: the sweep escalates both to the
	// supervisor queue; callers can no longer take them.
	d.clock.Advance(31 * time.Minute)
	if _, err := d.cs.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	qs := decode[struct {
		Queues []struct {
			Queue                     string
			Open, Unassigned, Overdue int
			AmountAtRisk              string `json:"amount_at_risk"`
		}
	}](t, d.as("ann", "GET", "/v1/cases/queues", ""))
	if qs.Queues[0].Queue != cases.QueueSupervisor || qs.Queues[0].Open != 2 || qs.Queues[0].Overdue != 2 || qs.Queues[0].AmountAtRisk != "23000.00" {
		t.Errorf("queues %+v", qs.Queues)
	}
	overdue := decode[struct{ Cases []caseView }](t, d.as("sue", "GET", "/v1/cases?overdue=true&state=escalated", ""))
	if len(overdue.Cases) != 2 || !overdue.Cases[0].Escalated || !overdue.Cases[0].Overdue {
		t.Errorf("overdue escalated cases %+v", overdue.Cases)
	}
	wantProblem(t, d.as("amy", "POST", "/v1/cases/"+caseID+"/assign", `{"assignee":"amy"}`), 403, "forbidden")
	w = d.as("sue", "POST", "/v1/cases/"+caseID+"/assign", `{"assignee":"bob"}`)
	wantStatus(t, w, 200)
	if c := decode[caseView](t, w); c.Assignee != "bob" || c.State != "assigned" || !c.Escalated {
		t.Errorf("supervisor's assignment: %+v", c)
	}

	// The hold (2 hours in the test pack) expires: extended once, then
	// cancelled by the default policy, with the callbacks in the outbox.
	d.clock.Advance(90 * time.Minute)
	if _, err := d.cs.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := d.cs.Case(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Extended || c.State != cases.StateEscalated || c.HoldExpiresAt == nil {
		t.Fatalf("after the first expiry: %+v", c)
	}
	if _, err := d.db.GetOutbox(ctx, other+":extended:"+c.Decisions[0].DecisionID); err != nil {
		t.Errorf("extension callback: %v", err)
	}
	d.clock.Advance(12 * time.Hour)
	if _, err := d.cs.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ = d.cs.Case(ctx, other); c.State != cases.StateClosed || c.Resolution != cases.ResolvedExpiredCancelled {
		t.Errorf("after the extension: %s %s", c.State, c.Resolution)
	}
	if m, err := d.db.GetOutbox(ctx, other+":closed:"+c.Decisions[0].DecisionID); err != nil || m.Topic != cases.TopicCancelled {
		t.Errorf("cancel callback: %+v, %v", m, err)
	}
	// Guard learnt nothing from an expired case.
	wantProblem(t, d.get("/v1/decisions/"+c.Decisions[0].DecisionID+"/outcome"), 404, "not_found")
	if n, err := d.cs.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("a second sweep advanced %d cases, %v", n, err)
	}
}

func TestCasesAccess(t *testing.T) {
	d := casesSetup(t)
	caseID := cases.CaseID(d.hold("evt-a1", "cus-a", "50000.00", 40))
	// Who may read, work and supervise, by role (session tokens).
	for _, tt := range []struct {
		user                  string
		read, work, supervise bool
	}{
		{"ann", true, false, false},  // agent: sees cases when a customer calls in
		{"amy", true, true, false},   // caller
		{"sue", true, true, true},    // supervisor
		{"adm", false, false, false}, // administering the system is no reason to read cases
	} {
		code := func(ok bool, yes int) int {
			if ok {
				return yes
			}
			return 403
		}
		check := func(what string, w *httptest.ResponseRecorder, want int) {
			t.Helper()
			if w.Code != want {
				t.Errorf("%s %s: status %d, want %d: %s", tt.user, what, w.Code, want, w.Body.String())
			}
		}
		check("list", d.as(tt.user, "GET", "/v1/cases", ""), code(tt.read, 200))
		check("get", d.as(tt.user, "GET", "/v1/cases/"+caseID, ""), code(tt.read, 200))
		check("queues", d.as(tt.user, "GET", "/v1/cases/queues", ""), code(tt.read, 200))
		check("note", d.as(tt.user, "POST", "/v1/cases/"+caseID+"/notes", `{"note":"n","request_id":"`+tt.user+`"}`), code(tt.work, 201))
		check("mine", d.as(tt.user, "GET", "/v1/cases/mine", ""), code(tt.work, 200))
		check("auto-assign", d.as(tt.user, "POST", "/v1/cases:auto-assign", ""), code(tt.supervise, 200))
		check("agents", d.as(tt.user, "PUT", "/v1/cases/agents/amy", `{"skills":["*"],"capacity":3}`), code(tt.supervise, 200))
	}
	wantProblem(t, d.do(request{method: "GET", path: "/v1/cases"}), 401, "unauthorized")
	// An API key with cases:work records calls but owns no cases.
	key := d.newKey("cases:work")
	wantProblem(t, d.do(request{method: "GET", path: "/v1/cases/mine", key: key}), 403, "forbidden")
	wantProblem(t, d.do(request{method: "POST", path: "/v1/cases/next", key: key}), 403, "forbidden")
	w := d.do(request{method: "POST", path: "/v1/cases/" + caseID + "/calls", key: key, body: `{"outcome":"false_alarm"}`})
	wantStatus(t, w, 201)
	if c := decode[caseView](t, w); c.Resolution != "false_alarm" || c.Assignee != "" || c.Decisions[0].Status != "released" {
		t.Errorf("call by an API key: %+v", c)
	}
}

func TestCasesBadInput(t *testing.T) {
	d := casesSetup(t)
	caseID := cases.CaseID(d.hold("evt-b1", "cus-b", "10000.00", 40))
	for _, tt := range []struct {
		method, path, body string
		status             int
		fields             []string
	}{
		{"GET", "/v1/cases?state=lost&limit=0&colour=red&overdue=maybe", "", 400, []string{"state", "limit", "colour", "overdue"}},
		{"GET", "/v1/cases?after=case_nope", "", 400, []string{"after"}},
		{"GET", "/v1/cases/case_nope", "", 404, nil},
		{"POST", "/v1/cases/" + caseID + "/calls", `{"outcome":"maybe","extra":1}`, 400, []string{"outcome", "extra"}},
		{"POST", "/v1/cases/" + caseID + "/calls", `{}`, 400, []string{"outcome"}},
		{"POST", "/v1/cases/" + caseID + "/calls", `{"outcome":"dissuaded","note":5}`, 400, []string{"note"}},
		{"POST", "/v1/cases/" + caseID + "/calls", `{"outcome":"dissuaded","request_id":"a"}`, 400, []string{"request_id"}}, // differs from the header below
		{"POST", "/v1/cases/case_nope/calls", `{"outcome":"dissuaded"}`, 404, nil},
		{"POST", "/v1/cases/" + caseID + "/notes", `{"note":""}`, 400, []string{"note"}},
		{"POST", "/v1/cases/" + caseID + "/notes", `[1]`, 400, []string{""}},
		{"POST", "/v1/cases/" + caseID + "/assign", `{}`, 400, []string{"assignee"}},
		{"POST", "/v1/cases/" + caseID + "/assign", `{"assignee":"nobody"}`, 400, []string{"assignee"}},
		{"PUT", "/v1/cases/agents/amy", `{"skills":["nowhere"],"capacity":-1}`, 400, []string{"skills[0]", "capacity"}},
		{"PUT", "/v1/cases/agents/amy", `{"skills":"*"}`, 400, []string{"skills", "capacity"}},
		{"PUT", "/v1/cases/agents/nobody", `{"skills":["*"],"capacity":1}`, 400, []string{"username"}},
	} {
		hdr := []string{"Idempotency-Key", "b"}
		w := d.as("sue", tt.method, tt.path, tt.body, hdr...)
		if tt.status == 404 {
			wantProblem(t, w, 404, "not_found")
			continue
		}
		wantProblem(t, w, tt.status, "invalid", tt.fields...)
	}
	// Nothing above changed the case.
	if c, _ := d.cs.Case(context.Background(), caseID); c.State != cases.StateOpen || len(c.Events) != 1 {
		t.Errorf("bad requests changed the case: %s, %d events", c.State, len(c.Events))
	}
}

func TestCasesNotEnabled(t *testing.T) {
	f := setup(t)
	wantProblem(t, f.get("/v1/cases"), 404, "not_found")
	var p problem
	_ = json.Unmarshal(f.get("/v1/cases/queues").Body.Bytes(), &p)
	if !strings.Contains(p.Detail, "not enabled") {
		t.Errorf("problem %+v", p)
	}
}

// FuzzParseCaseFilter checks that any query either parses into a filter
// the stores can take or is refused naming a parameter.
func FuzzParseCaseFilter(f *testing.F) {
	for _, q := range []string{"", "state=open&limit=5", "overdue=true&after=case_1&queue=vulnerable", "limit=0&colour=x",
		"open=maybe&unassigned=1", "%zz", "state=closed&state=open", "limit=1000&customer_id=c%00"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/v1/cases", nil)
		r.URL.RawQuery = q
		flt, after, err := parseCaseFilter(r)
		if err != nil {
			if xiaobao.ErrorCode(err) != xiaobao.EINVALID || len(xiaobao.ErrorFields(err)) == 0 {
				t.Fatalf("query %q: error %v names no field", q, err)
			}
			return
		}
		if flt.Limit < 1 || flt.Limit > 1000 || (flt.State != "" && !flt.State.Valid()) || len(after) > 256 || len(flt.Queue) > 256 {
			t.Fatalf("query %q parsed into %+v, after %q", q, flt, after)
		}
	})
}
