package http

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/staff"
)

type consentsJSON struct {
	CustomerID string `json:"customer_id"`
	Current    []struct {
		Purpose string
		Basis   string
		State   string
		Allowed bool
	}
	History []struct {
		Seq       int64
		Purpose   string
		Granted   bool
		RequestID string `json:"request_id"`
	}
}

type dsrJSON struct {
	ID            string
	CustomerID    string `json:"customer_id"`
	Kind          string
	Status        string
	Details       string
	DueAt         time.Time `json:"due_at"`
	Overdue       bool
	VerifiedBy    string `json:"verified_by"`
	Resolution    string
	Events        []struct{ Action, Actor, From, To, Note string }
	RetentionPlan *struct {
		Complete bool
		Items    []struct {
			Category, Disposal string
			DeletableAt        *time.Time `json:"deletable_at"`
		}
	} `json:"retention_plan"`
}

// privacySetup is a server with privacy on the fixture's database, a
// calendar with Monday 11 May 2026 off, a manual clock at Friday 8 May
// 2026 10:00 in Beijing, an audit recorder and keys with the scopes of
// the roles.
func privacySetup(t *testing.T, opts ...func(*Config)) (*fixture, *auditRecorder, *xiaobao.ManualClock) {
	t.Helper()
	rec := &auditRecorder{}
	clock := xiaobao.NewManualClock(time.Date(2026, 5, 8, 2, 0, 0, 0, time.UTC))
	cal, err := privacy.NewCalendar(nil, []string{"2026-05-11"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := privacy.DefaultPolicy()
	policy.Calendar = cal
	f := setup(t, append([]func(*Config){func(c *Config) {
		c.Audit, c.Clock = rec, clock
		c.Privacy = privacy.Configured{Store: c.Keys.(privacy.Store), Policy: policy}
	}}, opts...)...)
	return f, rec, clock
}

func roleKey(f *fixture, r staff.Role) string { return f.newKey(staff.ScopesOf([]staff.Role{r})...) }

func TestConsents(t *testing.T) {
	f, rec, _ := privacySetup(t)
	app := f.newKey(auth.ScopeConsentsWrite)
	agent := roleKey(f, staff.Agent)
	put := func(key, purpose, body string, hdr map[string]string) *httptest.ResponseRecorder {
		return f.do(request{method: "PUT", path: "/v1/customers/c-1/consents/" + purpose, key: key, body: body, header: hdr})
	}
	grant := `{"granted":true,"channel":"app","policy_version":"2026.1","evidence":"app-log-1","at":"2026-05-08T09:30:00+08:00"}`

	w := put(app, "marketing", grant, map[string]string{"Idempotency-Key": "k-1"})
	wantStatus(t, w, 201)
	first := decode[struct{ Seq int64 }](t, w)

	t.Run("idempotent retries", func(t *testing.T) {
		w := put(app, "marketing", grant, map[string]string{"Idempotency-Key": "k-1"})
		wantStatus(t, w, 200)
		if again := decode[struct{ Seq int64 }](t, w); again.Seq != first.Seq {
			t.Errorf("retry stored a new record %d, first %d", again.Seq, first.Seq)
		}
		// The key in the body works as well as the header.
		body := strings.Replace(grant, `{`, `{"request_id":"k-1",`, 1)
		wantStatus(t, put(app, "marketing", body, nil), 200)
		wantProblem(t, put(app, "marketing", strings.Replace(grant, "true", "false", 1), map[string]string{"Idempotency-Key": "k-1"}), 409, "conflict")
	})

	// Withdrawn later, on the phone.
	wantStatus(t, put(app, "marketing", `{"granted":false,"channel":"call","policy_version":"2026.1","evidence":"rec-9","request_id":"k-2"}`, nil), 201)
	wantStatus(t, put(app, "third_party_sharing", `{"granted":true,"channel":"counter","policy_version":"2026.1"}`, nil), 201)

	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct {
			name, purpose, body string
			hdr                 map[string]string
			fields              []string
		}{
			{"no consent for risk control", "risk_control", `{"granted":false,"channel":"app","policy_version":"v"}`, nil, []string{"purpose"}},
			{"unknown purpose", "spam", `{"granted":true,"channel":"app","policy_version":"v"}`, nil, []string{"purpose"}},
			{"everything missing", "marketing", `{}`, nil, []string{"granted", "channel", "policy_version"}},
			{"wrong types", "marketing", `{"granted":"yes","channel":"wechat","policy_version":7}`, nil, []string{"granted", "channel", "policy_version"}},
			{"future", "marketing", `{"granted":true,"channel":"app","policy_version":"v","at":"2027-01-01T00:00:00Z"}`, nil, []string{"at"}},
			{"unknown member", "marketing", `{"granted":true,"channel":"app","policy_version":"v","colour":"red"}`, nil, []string{"colour"}},
			{"two keys", "marketing", `{"granted":true,"channel":"app","policy_version":"v","request_id":"a"}`, map[string]string{"Idempotency-Key": "b"}, []string{"request_id"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantProblem(t, put(app, tt.purpose, tt.body, tt.hdr), 400, "invalid", tt.fields...)
			})
		}
		wantProblem(t, f.do(request{method: "PUT", path: "/v1/customers/c-1/consents/marketing", key: app, body: `[`}), 400, "invalid")
	})

	t.Run("roles", func(t *testing.T) {
		wantProblem(t, put(agent, "marketing", grant, nil), 403, "forbidden")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-1/consents", key: app}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-1/consents"}), 401, "unauthorized")
	})

	t.Run("current state and history", func(t *testing.T) {
		w := f.do(request{method: "GET", path: "/v1/customers/c-1/consents", key: agent})
		wantStatus(t, w, 200)
		got := decode[consentsJSON](t, w)
		want := map[string]string{"marketing": "withdrawn", "risk_control": "not_required", "third_party_sharing": "granted", "profiling": "not_recorded"}
		for _, st := range got.Current {
			if w, ok := want[st.Purpose]; ok && st.State != w {
				t.Errorf("%s: %s, want %s", st.Purpose, st.State, w)
			}
			if st.Purpose == "risk_control" && (!st.Allowed || st.Basis != "legal_obligation") {
				t.Errorf("risk control: %+v", st)
			}
		}
		if len(got.History) != 3 || got.History[0].RequestID != "k-1" || got.History[1].RequestID != "k-2" {
			t.Errorf("history = %+v", got.History)
		}
		w = f.do(request{method: "GET", path: "/v1/customers/nobody/consents", key: agent})
		wantStatus(t, w, 200)
		if got := decode[consentsJSON](t, w); len(got.History) != 0 || got.Current[0].State != "not_recorded" {
			t.Errorf("unknown customer: %+v", got)
		}
	})

	if n := len(rec.find("consent.change", audit.ResultOK)); n != 3 {
		t.Errorf("%d consent changes audited, want 3 (retries are not changes)", n)
	}
}

func TestSubjectRequests(t *testing.T) {
	f, rec, clock := privacySetup(t)
	agent := roleKey(f, staff.Agent)
	caller := roleKey(f, staff.Caller)
	complaints := roleKey(f, staff.Complaints)
	compliance := roleKey(f, staff.Compliance)
	create := func(key, body string, hdr map[string]string) *httptest.ResponseRecorder {
		return f.do(request{method: "POST", path: "/v1/subject-requests", key: key, body: body, header: hdr})
	}
	transition := func(key, id, body string) *httptest.ResponseRecorder {
		return f.do(request{method: "POST", path: "/v1/subject-requests/" + id + "/transition", key: key, body: body})
	}
	access := `{"customer_id":"c-1","kind":"access","channel":"counter","details":"请提供我的全部数据，电话 13812345678"}`

	t.Run("roles", func(t *testing.T) {
		wantProblem(t, create(agent, access, nil), 403, "forbidden")
		wantProblem(t, create(caller, access, nil), 403, "forbidden")
		wantProblem(t, transition(agent, "dsr_x", `{"action":"verify"}`), 403, "forbidden")
	})

	w := create(complaints, access, map[string]string{"Idempotency-Key": "d-1"})
	wantStatus(t, w, 201)
	dsr := decode[dsrJSON](t, w)
	// Received on Friday 8 May; Monday 11 May is a configured holiday, so
	// the 15th working day is Monday 1 June: answer before 2 June, 00:00
	// in Beijing.
	if want := time.Date(2026, 6, 1, 16, 0, 0, 0, time.UTC); !dsr.DueAt.Equal(want) {
		t.Errorf("due at %s, want %s", dsr.DueAt, want)
	}
	if dsr.Status != "received" || dsr.Overdue || len(dsr.Events) != 1 || strings.Contains(dsr.Details, "13812345678") {
		t.Errorf("created = %+v", dsr)
	}
	if loc := w.Header().Get("Location"); loc != "/v1/subject-requests/"+dsr.ID {
		t.Errorf("Location = %q", loc)
	}

	t.Run("idempotent create", func(t *testing.T) {
		w := create(complaints, access, map[string]string{"Idempotency-Key": "d-1"})
		wantStatus(t, w, 200)
		if again := decode[dsrJSON](t, w); again.ID != dsr.ID {
			t.Errorf("retry created %s, first %s", again.ID, dsr.ID)
		}
		wantProblem(t, create(complaints, strings.Replace(access, `"access"`, `"deletion"`, 1), map[string]string{"Idempotency-Key": "d-1"}), 409, "conflict")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct {
			body   string
			fields []string
		}{
			{`{}`, []string{"customer_id", "kind", "channel"}},
			{`{"customer_id":"c 1","kind":"forget","channel":"fax"}`, []string{"customer_id", "kind", "channel"}},
			{`{"customer_id":"c-1","kind":"access","channel":"app","received_at":"yesterday"}`, []string{"received_at"}},
			{`{"customer_id":"c-1","kind":"access","channel":"app","received_at":"2027-01-01T00:00:00Z"}`, []string{"received_at"}},
			{`{"customer_id":"c-1","kind":"deletion","channel":"app","relationship_ended_at":"2030-01-01T00:00:00Z"}`, []string{"relationship_ended_at"}},
			{`{"customer_id":"c-1","kind":"access","channel":"app","priority":"high"}`, []string{"priority"}},
		} {
			wantProblem(t, create(complaints, tt.body, nil), 400, "invalid", tt.fields...)
		}
	})

	t.Run("export needs a verified request", func(t *testing.T) {
		wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-1/export?request_id=" + dsr.ID, key: complaints}), 409, "conflict")
	})

	t.Run("transitions", func(t *testing.T) {
		wantProblem(t, transition(complaints, dsr.ID, `{"action":"approve"}`), 400, "invalid", "action")
		wantProblem(t, transition(complaints, dsr.ID, `{"action":"reject"}`), 400, "invalid", "reason")
		wantProblem(t, transition(complaints, dsr.ID, `{"action":"complete"}`), 409, "conflict")
		wantProblem(t, transition(complaints, dsr.ID, `{"action":"verify","by":"me"}`), 400, "invalid", "by")
		wantProblem(t, transition(complaints, "dsr_none", `{"action":"verify"}`), 404, "not_found")
		w := transition(complaints, dsr.ID, `{"action":"verify","reason":"身份证原件核验"}`)
		wantStatus(t, w, 200)
		got := decode[dsrJSON](t, w)
		if got.Status != "verified" || got.VerifiedBy == "" || len(got.Events) != 2 {
			t.Errorf("verified = %+v", got)
		}
		// A retried click changes nothing and does not fail.
		w = transition(complaints, dsr.ID, `{"action":"verify"}`)
		wantStatus(t, w, 200)
		if got := decode[dsrJSON](t, w); len(got.Events) != 2 {
			t.Errorf("retry added an event: %+v", got.Events)
		}
		// Someone else verifying again is a conflict: it is done.
		wantProblem(t, transition(compliance, dsr.ID, `{"action":"verify"}`), 409, "conflict")
		if n := len(rec.find("subject_request.change", audit.ResultOK)); n != 2 {
			t.Errorf("%d request steps audited, want 2", n)
		}
	})

	t.Run("export", func(t *testing.T) {
		for i, id := range []string{"evt-p1", "evt-p2"} {
			amount := []string{`"100.00"`, `"20000.00"`}[i]
			wantStatus(t, f.post("/v1/events", event(id, `customer={"id":"c-1","age":40}`, "amount="+amount)), 200)
		}
		wantStatus(t, f.post("/v1/events", event("evt-other")), 200)
		wantStatus(t, f.do(request{method: "PUT", path: "/v1/customers/c-1/consents/marketing", key: complaints,
			body: `{"granted":true,"channel":"counter","policy_version":"2026.1"}`}), 201)

		path := "/v1/customers/c-1/export?request_id=" + dsr.ID
		wantProblem(t, f.do(request{method: "GET", path: path, key: caller}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "GET", path: path, key: agent}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-1/export", key: complaints}), 400, "invalid", "request_id")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-2/export?request_id=" + dsr.ID, key: complaints}), 400, "invalid", "request_id")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-1/export?request_id=dsr_none", key: complaints}), 400, "invalid", "request_id")
		wantProblem(t, f.do(request{method: "GET", path: path + "&format=csv", key: complaints}), 400, "invalid", "format")
		if n := len(rec.find(audit.ActionExport, "")); n != 0 {
			t.Fatalf("%d exports audited before any was made", n)
		}

		w := f.do(request{method: "GET", path: path, key: complaints})
		wantStatus(t, w, 200)
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
		}
		got := decode[struct {
			CustomerID string `json:"customer_id"`
			Decisions  []struct {
				EventID string `json:"event_id"`
				Event   struct{ Customer struct{ ID string } }
			}
			Consents        []struct{ Purpose string }
			SubjectRequests []struct{ ID string } `json:"subject_requests"`
		}](t, w)
		if got.CustomerID != "c-1" || len(got.Decisions) != 2 || len(got.Consents) != 1 || len(got.SubjectRequests) != 1 {
			t.Errorf("export = %+v", got)
		}
		for _, d := range got.Decisions {
			if d.Event.Customer.ID != "c-1" {
				t.Errorf("export holds another customer's decision %s", d.EventID)
			}
		}
		ex := rec.find(audit.ActionExport, audit.ResultOK)
		if len(ex) != 1 || ex[0].Target != "customer:c-1" || !strings.Contains(ex[0].Reason, dsr.ID) || !strings.HasPrefix(ex[0].Actor, "key:") {
			t.Errorf("export audit = %+v", ex)
		}

		// Not audited, not shown.
		rec.mu.Lock()
		rec.down = true
		rec.mu.Unlock()
		wantProblem(t, f.do(request{method: "GET", path: path, key: complaints}), 503, "unavailable")
		rec.mu.Lock()
		rec.down = false
		rec.mu.Unlock()
	})

	t.Run("deletion and retention", func(t *testing.T) {
		for _, tt := range []struct {
			ended     string
			restrict  bool
			deletable string
		}{
			// Anti-money-laundering retention: ten years after the end.
			{"2024-05-08T00:00:00+08:00", true, "2034-05-07T16:00:00Z"},
			{"2015-05-08T00:00:00+08:00", false, ""},
		} {
			w := create(compliance, `{"customer_id":"c-3","kind":"deletion","channel":"app","relationship_ended_at":"`+tt.ended+`"}`, nil)
			wantStatus(t, w, 201)
			d := decode[dsrJSON](t, w)
			if d.RetentionPlan == nil || d.RetentionPlan.Complete == tt.restrict {
				t.Fatalf("ended %s: plan %+v", tt.ended, d.RetentionPlan)
			}
			for _, it := range d.RetentionPlan.Items {
				if it.Category != "transactions" {
					continue
				}
				if (it.Disposal == "restrict") != tt.restrict {
					t.Errorf("ended %s: transactions %s", tt.ended, it.Disposal)
				}
				if tt.restrict && (it.DeletableAt == nil || it.DeletableAt.Format(time.RFC3339) != tt.deletable) {
					t.Errorf("ended %s: deletable at %v, want %s", tt.ended, it.DeletableAt, tt.deletable)
				}
			}
			// A deletion cannot authorise an export.
			wantStatus(t, transition(compliance, d.ID, `{"action":"verify"}`), 200)
			wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/c-3/export?request_id=" + d.ID, key: compliance}), 409, "conflict")
			wantStatus(t, transition(compliance, d.ID, `{"action":"reject","reason":"identity documents forged"}`), 200)
		}
	})

	t.Run("work queue", func(t *testing.T) {
		list := func(key, q string) []dsrJSON {
			t.Helper()
			w := f.do(request{method: "GET", path: "/v1/subject-requests" + q, key: key})
			wantStatus(t, w, 200)
			return decode[struct {
				SubjectRequests []dsrJSON `json:"subject_requests"`
			}](t, w).SubjectRequests
		}
		if got := list(agent, "?status=verified"); len(got) != 1 || got[0].ID != dsr.ID || got[0].Events != nil {
			t.Errorf("verified = %+v", got)
		}
		if got := list(compliance, "?status=rejected&customer_id=c-3"); len(got) != 2 {
			t.Errorf("rejected = %+v", got)
		}
		if got := list(compliance, "?overdue=true"); len(got) != 0 {
			t.Errorf("overdue on day one = %+v", got)
		}
		clock.Advance(30 * 24 * time.Hour)
		if got := list(compliance, "?overdue=true"); len(got) != 1 || got[0].ID != dsr.ID || !got[0].Overdue {
			t.Errorf("overdue a month later = %+v", got)
		}
		if got := list(compliance, "?overdue=false&kind=deletion"); len(got) != 2 {
			t.Errorf("deletions closed in time = %+v", got)
		}
		w := f.do(request{method: "GET", path: "/v1/subject-requests/" + dsr.ID, key: agent})
		wantStatus(t, w, 200)
		if got := decode[dsrJSON](t, w); !got.Overdue || len(got.Events) != 2 || got.RetentionPlan != nil {
			t.Errorf("GET = %+v", got)
		}
		wantProblem(t, f.do(request{method: "GET", path: "/v1/subject-requests/dsr_none", key: agent}), 404, "not_found")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/subject-requests?status=open&overdue=maybe&limit=0&sort=due", key: agent}),
			400, "invalid", "status", "overdue", "limit", "sort")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/subject-requests", key: f.newKey(auth.ScopeDecisionsRead)}), 403, "forbidden")
	})
}

func TestPrivacyNotEnabled(t *testing.T) {
	f := setup(t)
	wantProblem(t, f.get("/v1/subject-requests"), 404, "not_found")
	wantProblem(t, f.get("/v1/customers/c-1/consents"), 404, "not_found")
}

// TestExportServiceSessions checks that a customer's export holds their
// conversations with customer service, with transcripts, and no one
// else's.
func TestExportServiceSessions(t *testing.T) {
	f, rec, _ := privacySetup(t, withService(t, nil))
	compliance := roleKey(f, staff.Compliance)
	ask := func(body string) service.AskResult {
		t.Helper()
		w := f.post("/v1/service/ask", body)
		wantStatus(t, w, 200)
		return decode[service.AskResult](t, w)
	}
	first := ask(`{"text":"可以提前还款吗","customer_id":"c-1","channel":"app","message_id":"m-1"}`)
	ask(`{"text":"转账被拦截了","session_id":"` + first.SessionID + `","message_id":"m-2"}`)
	wantStatus(t, f.post("/v1/service/sessions/"+first.SessionID+"/csat", `{"score":4,"comment":"很快"}`), 200)
	second := ask(`{"text":"额度怎么提高","customer_id":"c-1","channel":"web"}`)
	ask(`{"text":"可以提前还款吗","customer_id":"c-2","channel":"app"}`)

	w := f.do(request{method: "POST", path: "/v1/subject-requests", key: compliance, body: `{"customer_id":"c-1","kind":"export","channel":"app"}`})
	wantStatus(t, w, 201)
	dsr := decode[dsrJSON](t, w)
	wantStatus(t, f.do(request{method: "POST", path: "/v1/subject-requests/" + dsr.ID + "/transition", key: compliance, body: `{"action":"verify"}`}), 200)
	w = f.do(request{method: "GET", path: "/v1/customers/c-1/export?request_id=" + dsr.ID, key: compliance})
	wantStatus(t, w, 200)
	got := decode[struct {
		ServiceSessions []service.SessionView `json:"service_sessions"`
	}](t, w)
	if len(got.ServiceSessions) != 2 || got.ServiceSessions[0].ID != second.SessionID || got.ServiceSessions[1].ID != first.SessionID {
		t.Fatalf("exported sessions: %+v", got.ServiceSessions)
	}
	s1 := got.ServiceSessions[1]
	if s1.CustomerID != "c-1" || s1.CSAT == nil || *s1.CSAT != 4 || s1.CSATComment != "很快" || len(s1.Transcript) != 4 ||
		s1.Transcript[0].Text != "可以提前还款吗" || s1.Transcript[0].MessageID != "m-1" || s1.Transcript[1].Role != service.RoleBot {
		t.Errorf("exported session %+v with %d turns", s1.Session, len(s1.Transcript))
	}
	if ex := rec.find(audit.ActionExport, audit.ResultOK); len(ex) != 1 || !strings.Contains(string(ex[0].Details), `"service_sessions":2`) {
		t.Errorf("export audit = %+v", ex)
	}
}
