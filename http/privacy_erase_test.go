package http

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/staff"
)

// What identifies the customer who asks for deletion.
const (
	erCustomer = "cust-erase-7"
	erPhone    = "13987654321"
	erIDNumber = "110101198001011234"
	erDevice   = "dev-erase-7"
	erIP       = "198.51.100.77"
	erAccount  = "6217000011112222333"
)

// erEvent is an event of the customer (or of other) of type typ.
func erEvent(id, customer, typ string, at time.Time) string {
	b := fmt.Sprintf(`{"event_id":%q,"type":%q,"occurred_at":%q,"customer":{"id":%q,"age":70,"phone":%q,"id_number":%q},"device":{"id":%q,"ip":%q}`,
		id, typ, at.Format(time.RFC3339), customer, erPhone, erIDNumber, erDevice, erIP)
	if gt := guard.EventType(typ); gt.NeedsAmount() {
		b += `,"amount":"12000.00"`
	}
	if guard.EventType(typ).NeedsCounterparty() {
		b += `,"counterparty":{"account":"` + erAccount + `","name":"王五"}`
	}
	return b + `}`
}

// dumpRecords returns every stored row of records, record_keys and
// outcomes as text, sealed columns included, as someone reading the
// database file would see them.
func dumpRecords(t *testing.T, f *fixture) string {
	t.Helper()
	db, err := sql.Open("sqlite", f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{
		`SELECT seq, decision_id, event_id, customer_id, coalesce(account, ''), coalesce(device_id, ''), event_type, action, score, decision, CAST(raw AS TEXT) FROM records ORDER BY seq`,
		`SELECT k, seq, '', '', '', '', '', '', '', '', '' FROM record_keys ORDER BY k, seq`,
		`SELECT decision_id, id, kind, amount_lost, customer_id, account, note, '', '', '', '' FROM outcomes ORDER BY decision_id`,
		`SELECT decision_id, id, kind, amount_lost, customer_id, account, note, '', '', '', '' FROM outcome_history ORDER BY hid`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			v := make([]any, 11)
			for i := range v {
				v[i] = new(sql.NullString)
			}
			if err := rows.Scan(v...); err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				b.WriteString(x.(*sql.NullString).String)
				b.WriteByte('|')
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

// dumpService returns every stored row of service_sessions and
// service_turns as text, as someone reading the database file would see
// them.
func dumpService(t *testing.T, f *fixture) string {
	t.Helper()
	db, err := sql.Open("sqlite", f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, customer_id, channel, status, warnings, topics, route_reason, coalesce(csat, ''), csat_comment, closed_by, '', '' FROM service_sessions ORDER BY opened_at`,
		`SELECT session_id, seq, role, text, message_id, faq_id, warnings, agent_id, reply, '', '', '' FROM service_turns ORDER BY session_id, seq`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			v := make([]any, 12)
			for i := range v {
				v[i] = new(sql.NullString)
			}
			if err := rows.Scan(v...); err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				b.WriteString(x.(*sql.NullString).String)
				b.WriteByte('|')
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

type erasureResponse struct {
	dsrJSON
	Erasure   *privacy.ErasureReport
	Statement []privacy.Statement
}

func TestErasure(t *testing.T) {
	f, rec, clock := privacySetup(t, withService(t, nil))
	ctx := context.Background()
	compliance := roleKey(f, staff.Compliance)
	reader := f.newKey(auth.ScopeDecisionsRead)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.FixedZone("", 8*3600))

	// The customer's conversations with customer service: one answered,
	// closed and rated, naming them; one still open. Another customer's.
	askSvc := func(body string) service.AskResult {
		t.Helper()
		w := f.post("/v1/service/ask", body)
		wantStatus(t, w, 200)
		return decode[service.AskResult](t, w)
	}
	talk := askSvc(`{"text":"我是赵六，手机` + erPhone + `，可以提前还款吗","customer_id":"` + erCustomer + `","channel":"app","message_id":"msg-erase-1"}`)
	askSvc(`{"text":"赵六还想问转账被拦截了","session_id":"` + talk.SessionID + `","message_id":"msg-erase-2"}`)
	wantStatus(t, f.post("/v1/service/sessions/"+talk.SessionID+"/close", `{"resolved":true}`), 200)
	wantStatus(t, f.post("/v1/service/sessions/"+talk.SessionID+"/csat", `{"score":5,"comment":"赵六很满意"}`), 200)
	openTalk := askSvc(`{"text":"可以提前还款吗","customer_id":"` + erCustomer + `","channel":"app","message_id":"msg-erase-3"}`)
	otherTalk := askSvc(`{"text":"可以提前还款吗","customer_id":"cust-other","channel":"app","message_id":"msg-other-1"}`)
	statsPath := "/v1/service/stats?from=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	statsBefore := decode[service.Stats](t, f.get(statsPath))
	if statsBefore.Sessions != 3 || statsBefore.CSATCount != 1 || statsBefore.Closed != 1 {
		t.Fatalf("service stats before the erasure: %+v", statsBefore)
	}
	talksBefore := dumpService(t, f)
	for _, s := range []string{erCustomer, "msg-erase-1", "赵六", talk.SessionID, openTalk.SessionID} {
		if !strings.Contains(talksBefore, s) {
			t.Fatalf("the service dump does not show %q before the erasure: the check below could not fail", s)
		}
	}

	// The customer's journey: a login, a device change, a payee added, a
	// transfer with an outcome; another customer shares the device.
	types := []string{"login", "device_change", "payee_add", "transfer", "profile_change"}
	for i, typ := range types {
		wantStatus(t, f.post("/v1/events", erEvent(fmt.Sprintf("e-%d", i), erCustomer, typ, at.Add(time.Duration(i)*time.Minute))), 200)
	}
	wantStatus(t, f.post("/v1/events", erEvent("o-1", "cust-other", "transfer", at.Add(time.Hour))), 200)
	transfer := decode[struct {
		DecisionID string `json:"decision_id"`
	}](t, f.post("/v1/events", erEvent("e-5", erCustomer, "withdrawal", at.Add(2*time.Hour))))
	payee, err := f.svc.Store().DecisionByEvent(ctx, "e-2")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{payee.Decision.ID, transfer.DecisionID} {
		wantStatus(t, f.post("/v1/decisions/"+id+"/outcome", `{"outcome":"confirmed_fraud","amount_lost":"12000.00","note":"客户 `+erPhone+` 确认被骗"}`), 201)
	}
	if !f.svc.KnowsCustomer(erCustomer) || !f.svc.KnowsCustomer("cust-other") {
		t.Fatal("feature state does not know the customers")
	}
	before := dumpRecords(t, f)
	for _, s := range []string{erCustomer, erDevice} {
		if !strings.Contains(before, s) {
			t.Fatalf("the dump does not show %q before the erasure: the check below could not fail", s)
		}
	}

	// The deletion request, through its steps; completing it erases.
	ended := "2026-04-01T00:00:00Z"
	w := f.do(request{method: "POST", path: "/v1/subject-requests", key: compliance,
		body: `{"customer_id":"` + erCustomer + `","kind":"deletion","channel":"app","relationship_ended_at":"` + ended + `"}`})
	wantStatus(t, w, 201)
	dsr := decode[erasureResponse](t, w)
	if dsr.Erasure != nil || len(dsr.Statement) != 0 || dsr.RetentionPlan == nil || dsr.RetentionPlan.Complete {
		t.Errorf("a new deletion request: erasure %+v, statement %v", dsr.Erasure, dsr.Statement)
	}
	step := func(action string) *erasureResponse {
		t.Helper()
		w := f.do(request{method: "POST", path: "/v1/subject-requests/" + dsr.ID + "/transition", key: compliance, body: `{"action":"` + action + `"}`})
		wantStatus(t, w, 200)
		r := decode[erasureResponse](t, w)
		return &r
	}
	step("verify")
	if r := step("start"); r.Erasure != nil {
		t.Errorf("started request already erased: %+v", r.Erasure)
	}
	done := step("complete")
	if done.Status != "completed" || done.Erasure == nil {
		t.Fatalf("completed deletion: %+v", done)
	}
	want := privacy.ErasureCounts{Anonymised: 4, Restricted: 2, Outcomes: 2, Conversations: 2, Turns: 6}
	if done.Erasure.Run != want || done.Erasure.Total != want {
		t.Errorf("erasure run %+v, want %+v", done.Erasure.Run, want)
	}
	endT, _ := time.Parse(time.RFC3339, ended)
	deletable := endT.AddDate(privacy.AMLRetentionYears, 0, 0)
	said := map[privacy.Category]privacy.Statement{}
	for _, st := range done.Statement {
		said[st.Category] = st
	}
	if st := said[privacy.Transactions]; st.Disposal != privacy.Restrict || !strings.Contains(st.Done, "2 transaction record(s) kept") ||
		!strings.Contains(st.Basis, "anti-money-laundering") || st.DeletableAt == nil || !st.DeletableAt.Equal(deletable) ||
		!strings.Contains(st.Done, deletable.Format(time.DateOnly)) {
		t.Errorf("what the customer is told of transactions: %+v", st)
	}
	if st := said[privacy.RiskEvents]; st.Disposal != privacy.Anonymise || !strings.Contains(st.Done, "4 journey event(s) anonymised") {
		t.Errorf("what the customer is told of risk events: %+v", st)
	}
	if st := said[privacy.Behaviour]; st.Disposal != privacy.Delete || !strings.Contains(st.Done, "deleted") {
		t.Errorf("what the customer is told of behaviour: %+v", st)
	}
	if st := said[privacy.Conversations]; st.Disposal != privacy.Anonymise || !strings.Contains(st.Done, "2 customer-service conversation(s) anonymised") {
		t.Errorf("what the customer is told of conversations: %+v", st)
	}
	if len(rec.find(actionErasure, "ok")) != 1 {
		t.Errorf("erasure audited %d times, want once", len(rec.find(actionErasure, "ok")))
	}

	// Behaviour: the feature state is gone, in memory and after a replay
	// of everything stored.
	if f.svc.KnowsCustomer(erCustomer) || !f.svc.KnowsCustomer("cust-other") {
		t.Error("feature state after the erasure")
	}

	// Risk events: anonymised, no trace of the customer in any row.
	after := dumpRecords(t, f)
	for _, s := range []string{erCustomer, erPhone, erIDNumber, erDevice, erIP, erAccount, "王五", "e-0", "e-1", "e-2"} {
		for _, line := range strings.Split(after, "\n") {
			// The other customer's rows and keys are theirs.
			if strings.Contains(line, s) && !strings.Contains(line, "cust-other") && !strings.Contains(line, "o-1") &&
				!(strings.HasPrefix(line, "a:") || strings.HasPrefix(line, "d:")) {
				t.Errorf("after the erasure a row still holds %q: %s", s, line)
			}
		}
	}
	for _, k := range []string{"c:" + erCustomer + "|"} {
		if strings.Contains(after, k) {
			t.Errorf("record key %s left", k)
		}
	}
	if n := strings.Count(after, "d:"+erDevice+"|"); n != 1 {
		t.Errorf("device keys left: %d, want 1 (the other customer's)", n)
	}

	// Conversations: the customer, their words, the replies and the
	// message ids are gone from every row; the other customer's stay; the
	// statistics count the same, but for the open session the erasure
	// closed.
	talksAfter := dumpService(t, f)
	for _, s := range []string{erCustomer, erPhone, "赵六", "msg-erase-", talk.SessionID, openTalk.SessionID} {
		for _, line := range strings.Split(talksAfter, "\n") {
			if strings.Contains(line, s) && !strings.Contains(line, otherTalk.SessionID) {
				t.Errorf("after the erasure a service row still holds %q: %s", s, line)
			}
		}
	}
	if !strings.Contains(talksAfter, "msg-other-1") || strings.Count(talksAfter, "anon~") < 2 {
		t.Errorf("service rows after the erasure:\n%s", talksAfter)
	}
	statsAfter := decode[service.Stats](t, f.get(statsPath))
	statsBefore.Closed++
	if diff := cmp.Diff(statsBefore, statsAfter); diff != "" {
		t.Errorf("service stats after the erasure (-want +got):\n%s", diff)
	}
	wantProblem(t, f.get("/v1/service/sessions/"+talk.SessionID), 404, "not_found")
	if page := decode[struct{ Sessions []service.Session }](t, f.get("/v1/service/sessions?customer_id="+erCustomer)); len(page.Sessions) != 0 {
		t.Errorf("sessions of the customer after the erasure: %+v", page.Sessions)
	}
	wantProblem(t, f.post("/v1/service/ask", `{"text":"还在吗","customer_id":"`+erCustomer+`","session_id":"`+openTalk.SessionID+`"}`), 409, "conflict")

	// Transactions: restricted, hidden from ordinary search and lookups.
	list := func(key, query string) string {
		t.Helper()
		w := f.do(request{method: "GET", path: "/v1/decisions?" + query, key: key})
		wantStatus(t, w, 200)
		return w.Body.String()
	}
	if body := list(reader, "customer_id="+erCustomer); !strings.Contains(body, `"decisions":[]`) {
		t.Errorf("search by customer after the erasure: %s", body)
	}
	all := list(reader, "limit=100")
	if strings.Contains(all, transfer.DecisionID) || strings.Contains(all, erCustomer) || strings.Count(all, `"decision_id"`) != 5 {
		t.Errorf("search after the erasure: %s", all)
	}
	wantProblem(t, f.do(request{method: "GET", path: "/v1/decisions/" + transfer.DecisionID, key: reader}), 404, "not_found")
	restricted := "/v1/customers/" + erCustomer + "/restricted-decisions?reason=" + url.QueryEscape("AML inquiry 2026-17 from PBoC")
	wantProblem(t, f.do(request{method: "GET", path: restricted, key: reader}), 403, "forbidden")
	wantProblem(t, f.do(request{method: "GET", path: "/v1/customers/" + erCustomer + "/restricted-decisions", key: compliance}), 400, "invalid", "reason")
	w = f.do(request{method: "GET", path: restricted, key: compliance})
	wantStatus(t, w, 200)
	got := decode[struct {
		Records []struct {
			DecisionID string `json:"decision_id"`
			CustomerID string `json:"customer_id"`
			EventType  string `json:"event_type"`
		}
	}](t, w)
	if len(got.Records) != 2 || got.Records[0].DecisionID != transfer.DecisionID || got.Records[0].CustomerID != erCustomer || got.Records[1].EventType != "transfer" {
		t.Errorf("restricted decisions for compliance: %s", w.Body.String())
	}
	if es := rec.find(actionRestrictedRead, "ok"); len(es) != 1 || !strings.Contains(es[0].Reason, "AML inquiry") {
		t.Errorf("restricted read audited: %+v", es)
	}

	// A retried execution changes nothing.
	for _, retry := range []func() *erasureResponse{
		func() *erasureResponse { return step("complete") },
		func() *erasureResponse {
			w := f.do(request{method: "POST", path: "/v1/subject-requests/" + dsr.ID + "/erasure", key: compliance})
			wantStatus(t, w, 200)
			r := decode[erasureResponse](t, w)
			return &r
		},
	} {
		r := retry()
		if r.Erasure == nil || !r.Erasure.Run.Zero() || r.Erasure.Total != want {
			t.Errorf("retried erasure: %+v", r.Erasure)
		}
		if again := dumpRecords(t, f); again != after {
			t.Errorf("a retried erasure changed the records:\nbefore %s\nafter %s", after, again)
		}
		if again := dumpService(t, f); again != talksAfter {
			t.Errorf("a retried erasure changed the conversations:\nbefore %s\nafter %s", talksAfter, again)
		}
	}
	wantProblem(t, f.do(request{method: "POST", path: "/v1/subject-requests/nope/erasure", key: compliance}), 404, "not_found")

	// The customer's own access right (and the regulator's export path)
	// still reaches the restricted records.
	w = f.do(request{method: "POST", path: "/v1/subject-requests", key: compliance, body: `{"customer_id":"` + erCustomer + `","kind":"access","channel":"app"}`})
	wantStatus(t, w, 201)
	access := decode[dsrJSON](t, w)
	wantStatus(t, f.do(request{method: "POST", path: "/v1/subject-requests/" + access.ID + "/transition", key: compliance, body: `{"action":"verify"}`}), 200)
	w = f.do(request{method: "GET", path: "/v1/customers/" + erCustomer + "/export?request_id=" + access.ID, key: compliance})
	wantStatus(t, w, 200)
	export := decode[struct {
		Decisions       []map[string]any
		Restricted      []map[string]any      `json:"restricted_decisions"`
		ServiceSessions []service.SessionView `json:"service_sessions"`
	}](t, w)
	if len(export.Decisions) != 0 || len(export.Restricted) != 2 || export.Restricted[0]["decision_id"] != transfer.DecisionID || len(export.ServiceSessions) != 0 {
		t.Errorf("export after the erasure: %d decisions, %d restricted, %d service sessions", len(export.Decisions), len(export.Restricted), len(export.ServiceSessions))
	}

	// A restart replays every stored event and rebuilds nobody's profile
	// from the anonymised or restricted records.
	if err := f.db.SaveSnapshot(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	svc2, err := guard.Open(ctx, guard.Config{Store: f.db, SnapshotInterval: -1, SkipBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	if svc2.KnowsCustomer(erCustomer) || !svc2.KnowsCustomer("cust-other") || svc2.Engine().State().Customers() != 1 {
		t.Errorf("replay rebuilt %d profiles (erased customer: %v)", svc2.Engine().State().Customers(), svc2.KnowsCustomer(erCustomer))
	}
	if err := svc2.Close(); err != nil {
		t.Fatal(err)
	}

	// The sweep deletes the restricted records once the retention ended.
	rep, err := SweepErasures(ctx, f.srv.cfg.Privacy, rec, deletable.Add(-time.Hour))
	if err != nil || rep.Records != 0 || rep.SubjectRequests != 2 {
		t.Fatalf("sweep after 3 years, before the end of the AML retention: %+v, %v", rep, err)
	}
	wantProblem(t, f.do(request{method: "GET", path: "/v1/subject-requests/" + dsr.ID, key: compliance}), 404, "not_found")
	clock.Advance(deletable.Add(time.Minute).Sub(clock.Now()))
	rep, err = SweepErasures(ctx, f.srv.cfg.Privacy, rec, clock.Now())
	if err != nil || rep.Records != 2 || rep.Outcomes != 1 || len(rep.Requests) != 1 || rep.SubjectRequests != 0 {
		t.Fatalf("sweep after the retention: %+v, %v", rep, err)
	}
	if len(rec.find(actionErasureSweep, "ok")) != 2 {
		t.Error("sweep not audited")
	}
	w = f.do(request{method: "GET", path: restricted, key: compliance})
	wantStatus(t, w, 200)
	if !bytes.Contains(w.Body.Bytes(), []byte(`"records":[]`)) {
		t.Errorf("restricted decisions after the sweep: %s", w.Body.String())
	}
	if final := dumpRecords(t, f); strings.Contains(final, transfer.DecisionID) {
		t.Errorf("swept records remain: %s", final)
	}
}
