package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// withService wires the service module on the fixture's store and Guard,
// with the starter FAQ.
func withService(t testing.TB, alerts *[]service.Alert) func(*Config) {
	return func(cfg *Config) {
		base := faq.NewBase(faq.Options{NoLearn: true})
		if err := base.Upsert(faq.Starter()...); err != nil {
			t.Fatal(err)
		}
		if cfg.Registry == nil {
			cfg.Registry = prometheus.NewRegistry()
		}
		obs := NewServiceMetrics(cfg.Registry)
		sv, err := service.Open(context.Background(), service.Config{
			Store: cfg.Keys.(*sqlite.DB), Answer: service.FAQAnswers(base), Normalize: faq.Normalize, Observer: obs,
			OnHelpful: service.FAQExamples(cfg.Keys.(*sqlite.DB)),
			History:   service.GuardHistory(cfg.Guard), Flag: cfg.Guard.Flag,
			OnScamWarning: func(a service.Alert) {
				if alerts != nil {
					*alerts = append(*alerts, a)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sv.Close() })
		obs.Watch(sv)
		cfg.Service, cfg.FAQ, cfg.FAQStore = sv, base, cfg.Keys.(*sqlite.DB)
	}
}

func TestServiceAskContract(t *testing.T) {
	var alerts []service.Alert
	f := setup(t, withService(t, &alerts))
	ch := f.newKey(auth.ScopeServiceAsk)
	w := f.do(request{method: "POST", path: "/v1/service/ask", key: ch, body: `{"text":"可以提前还款吗","customer_id":"cust-9","channel":"app"}`})
	wantStatus(t, w, http.StatusOK)
	var res map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"answers", "confident", "warnings", "route", "session_id"} {
		if res[k] == nil {
			t.Errorf("response lacks %s: %s", k, w.Body)
		}
	}
	r := decode[service.AskResult](t, w)
	if len(r.Answers) == 0 || len(r.Answers) > 5 || r.Answers[0].FAQID != "repay-early" || r.Answers[0].Answer == "" || r.Route.Reason == "" {
		t.Fatalf("ask = %+v", r)
	}
	if string(res["warnings"]) != "[]" {
		t.Errorf("warnings = %s, want []", res["warnings"])
	}
	var route map[string]any
	_ = json.Unmarshal(res["route"], &route)
	for _, k := range []string{"queue", "priority", "reason"} {
		if _, ok := route[k]; !ok {
			t.Errorf("route lacks %s: %s", k, res["route"])
		}
	}
	// A scam in progress: a warning of the contract's kind, the fraud
	// queue, and a case alert.
	w = f.do(request{method: "POST", path: "/v1/service/ask", key: ch, body: `{"text":"客服打电话说我有校园贷没注销，要我把额度借出来转到他给的账户","customer_id":"cust-9","session_id":"` + r.SessionID + `"}`})
	wantStatus(t, w, http.StatusOK)
	r = decode[service.AskResult](t, w)
	if len(r.Warnings) == 0 || r.Warnings[0].Kind != "scam_victim" || r.Warnings[0].Detail == "" || r.Route.Queue != "fraud" || r.Route.Priority != 1 {
		t.Fatalf("scam ask = %+v", r)
	}
	if len(alerts) != 1 || alerts[0].CustomerID != "cust-9" {
		t.Errorf("alerts = %+v", alerts)
	}
	// Scopes: reading keys cannot ask.
	reader := f.newKey(auth.ScopeServiceRead)
	wantProblem(t, f.do(request{method: "POST", path: "/v1/service/ask", key: reader, body: `{"text":"x"}`}), http.StatusForbidden, "forbidden")
	wantProblem(t, f.do(request{method: "POST", path: "/v1/service/ask", body: `{"text":"x"}`}), http.StatusUnauthorized, "unauthorized")
}

func TestServiceAskBadInput(t *testing.T) {
	f := setup(t, withService(t, nil))
	for _, tt := range []struct {
		body   string
		fields []string
	}{
		{``, []string{""}},
		{`[]`, []string{""}},
		{`{"text":""}`, []string{"text"}},
		{`{}`, []string{"text"}},
		{`{"text":5,"customer_id":7}`, []string{"text", "customer_id"}},
		{`{"text":"hi","extra":1}`, []string{"extra"}},
		{`{"text":"hi","session_id":"a b"}`, []string{"session_id"}},
		{`{"text":"` + strings.Repeat("长", 2001) + `"}`, []string{"text"}},
	} {
		wantProblem(t, f.post("/v1/service/ask", tt.body), http.StatusBadRequest, "invalid", tt.fields...)
	}
	// Without the module wired: 503.
	g := setup(t)
	wantProblem(t, g.post("/v1/service/ask", `{"text":"hi"}`), http.StatusServiceUnavailable, "unavailable")
}

// TestScamWarningMeetsTheLadder: a scam warning in service raises the
// customer's Guard risk, and the built-in pack's VULN_FLAGGED_MOVING_MONEY
// rule makes their next transfer wait; a look-alike question does not.
func TestScamWarningMeetsTheLadder(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g, err := guard.Open(ctx, guard.Config{Store: db, SnapshotInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cfg := Config{Guard: g, Keys: db}
	withService(t, nil)(&cfg)
	f := &fixture{t: t, db: db, svc: g, srv: newServer(cfg)}
	f.admin = f.newKey(auth.ScopeAdmin)

	transfer := func(id, customer string) guard.Decision {
		now := time.Now().UTC().Format(time.RFC3339)
		w := f.post("/v1/events", fmt.Sprintf(`{"event_id":%q,"type":"transfer","occurred_at":%q,"customer":{"id":%q,"age":35},"amount":"800.00","counterparty":{"account":"6222020200112233445"}}`, id, now, customer))
		wantStatus(t, w, http.StatusOK)
		return decode[guard.Decision](t, w)
	}
	wantStatus(t, f.post("/v1/service/ask", `{"text":"怎么注销账户？会影响征信查询吗","customer_id":"c-ok"}`), http.StatusOK)
	w := f.post("/v1/service/ask", `{"text":"有个警官打电话说我涉嫌洗钱，让我把钱转到安全账户","customer_id":"c-scam"}`)
	wantStatus(t, w, http.StatusOK)
	if r := decode[service.AskResult](t, w); len(r.Warnings) == 0 || r.Warnings[0].Kind != service.ScamVictim {
		t.Fatalf("no scam warning: %+v", r)
	}
	flagged := func(d guard.Decision) bool {
		for _, r := range d.Reasons {
			if r.Rule == "VULN_FLAGGED_MOVING_MONEY" {
				return true
			}
		}
		return false
	}
	if d := transfer("evt-scam", "c-scam"); !flagged(d) || d.Action < guard.CoolingOff {
		t.Errorf("flagged customer's transfer = %s %+v, want cooling_off by VULN_FLAGGED_MOVING_MONEY", d.Action, d.Reasons)
	}
	if d := transfer("evt-ok", "c-ok"); flagged(d) {
		t.Errorf("look-alike customer's transfer was flagged: %+v", d.Reasons)
	}
}

func TestServiceSessionsOverHTTP(t *testing.T) {
	f := setup(t, withService(t, nil))
	// Guard history: a failed repayment a moment ago predicts the question.
	now := time.Now().UTC().Format(time.RFC3339)
	wantStatus(t, f.post("/v1/events", fmt.Sprintf(`{"event_id":"e-rep","type":"repayment","occurred_at":%q,"customer":{"id":"cust-7"},"amount":"500.00","status":"failed"}`, now)), http.StatusOK)
	w := f.post("/v1/service/sessions", `{"customer_id":"cust-7","channel":"app"}`)
	wantStatus(t, w, http.StatusOK)
	v := decode[service.SessionView](t, w)
	if len(v.Predicted) == 0 || v.Predicted[0].Name != "repayment_failed" {
		t.Fatalf("open = %+v", v)
	}
	if len(v.Suggested) == 0 || v.Suggested[0].FAQID != "repay-autodebit-failed" {
		t.Errorf("suggested = %+v", v.Suggested)
	}
	// Agents and queues.
	wantStatus(t, f.do(request{method: "PUT", path: "/v1/service/agents/ag-1", key: f.admin, body: `{"name":"王芳","skills":["general","repayment"],"presence":"online","capacity":2}`}), http.StatusOK)
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/service/agents/ag-2", key: f.admin, body: `{"skills":["x"],"presence":"busy","capacity":500}`}), http.StatusBadRequest, "invalid", "presence", "capacity")
	wantStatus(t, f.do(request{method: "PUT", path: "/v1/service/queues/vip", key: f.admin, body: `{"skills":["vip"],"strategy":"round_robin","overflow":"general"}`}), http.StatusOK)
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/service/queues/bad", key: f.admin, body: `{"skills":[],"strategy":"fifo","overflow":"nowhere"}`}), http.StatusBadRequest, "invalid", "skills", "strategy", "overflow")
	qs := decode[struct{ Queues []service.QueueState }](t, f.get("/v1/service/queues"))
	if len(qs.Queues) != 6 {
		t.Errorf("queues = %+v", qs.Queues)
	}
	// Ask for a person, hand off, agent turn, close, rate.
	w = f.post("/v1/service/ask", `{"text":"我要转人工，还款的问题","session_id":"`+v.ID+`","message_id":"m-1"}`)
	wantStatus(t, w, http.StatusOK)
	r := decode[service.AskResult](t, w)
	if r.Route.Queue != "repayment" && r.Route.Queue != "general" {
		t.Errorf("route = %+v", r.Route)
	}
	w = f.post("/v1/service/sessions/"+v.ID+"/handoff", `{}`)
	wantStatus(t, w, http.StatusOK)
	h := decode[service.HandoffContext](t, w)
	if h.Route.AgentID != "ag-1" || len(h.Transcript) < 2 || h.Session.Status != service.StatusHandedOff {
		t.Fatalf("hand-off = %+v", h)
	}
	wantStatus(t, f.post("/v1/service/sessions/"+v.ID+"/turns", `{"role":"agent","text":"您好，我看到您的扣款失败了，请回拨13812345678"}`), http.StatusOK)
	wantProblem(t, f.post("/v1/service/sessions/"+v.ID+"/turns", `{"role":"customer","text":"x"}`), http.StatusBadRequest, "invalid", "role")
	wantProblem(t, f.post("/v1/service/sessions/"+v.ID+"/csat", `{"score":9}`), http.StatusBadRequest, "invalid", "score")
	wantProblem(t, f.post("/v1/service/sessions/"+v.ID+"/csat", `{}`), http.StatusBadRequest, "invalid", "score")
	wantStatus(t, f.post("/v1/service/sessions/"+v.ID+"/close", `{"resolved":true}`), http.StatusOK)
	wantStatus(t, f.post("/v1/service/sessions/"+v.ID+"/csat", `{"score":4,"comment":"很快"}`), http.StatusOK)
	wantProblem(t, f.post("/v1/service/ask", `{"text":"还在吗","session_id":"`+v.ID+`"}`), http.StatusConflict, "conflict", "session_id")
	wantProblem(t, f.get("/v1/service/sessions/nope"), http.StatusNotFound, "not_found")

	got := decode[service.SessionView](t, f.get("/v1/service/sessions/"+v.ID))
	if got.Status != service.StatusClosed || got.CSAT == nil || *got.CSAT != 4 || got.AgentID != "ag-1" {
		t.Errorf("session = %+v", got.Session)
	}
	for _, turn := range got.Transcript {
		if strings.Contains(turn.Text, "13812345678") {
			t.Errorf("phone number stored unredacted: %q", turn.Text)
		}
	}
	page := decode[struct {
		Sessions []service.Session
	}](t, f.get("/v1/service/sessions?customer_id=cust-7&status=closed"))
	if len(page.Sessions) != 1 {
		t.Errorf("sessions = %+v", page.Sessions)
	}
	wantProblem(t, f.get("/v1/service/sessions?status=lost&limit=0&colour=red"), http.StatusBadRequest, "invalid", "status", "limit", "colour")
	st := decode[service.Stats](t, f.get("/v1/service/stats"))
	if st.Sessions != 1 || st.CSAT == nil || *st.CSAT != 4 || st.FCR == nil || *st.FCR != 1 || len(st.Agents) != 1 {
		t.Errorf("stats = %+v", st)
	}
	wantProblem(t, f.get("/v1/service/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"), http.StatusBadRequest, "invalid", "to")

	// The same work in the metrics.
	w = f.do(request{method: "GET", path: "/metrics"})
	wantStatus(t, w, http.StatusOK)
	for _, line := range []string{
		`xiaobao_service_asks_total{outcome="unanswered"} 1`,
		`xiaobao_service_routes_total{queue="` + r.Route.Queue + `"} 1`,
		`xiaobao_service_handoffs_total{queue="` + h.Route.Queue + `",result="assigned"} 1`,
		`xiaobao_service_sessions_closed_total{by="person",resolved="yes"} 1`,
		`xiaobao_service_csat_total{score="4"} 1`,
		`xiaobao_service_csat_total{score="1"} 0`,
		`xiaobao_service_ask_duration_seconds_count 1`,
		`xiaobao_service_store_errors_total 0`,
		`xiaobao_service_queue_agents_online{queue="general"} 1`,
		`xiaobao_service_live_sessions 1`, // closed, kept until the sweep
	} {
		if !strings.Contains(w.Body.String(), line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	if strings.Contains(w.Body.String(), "cust-7") || strings.Contains(w.Body.String(), "ag-1") {
		t.Errorf("metrics name a customer or an agent")
	}
}

func TestServiceGuidesOverHTTP(t *testing.T) {
	f := setup(t, withService(t, nil))
	put := func(body string) *httptest.ResponseRecorder {
		return f.do(request{method: "PUT", path: "/v1/service/guides/repay-early", key: f.admin, body: body})
	}
	body := `{"title":"如何提前还款","category":"repayment","faq_ids":["repay-early"],"steps":[{"title":"打开“我的借款”"},{"title":"选择“提前还款”","action":"open:repay/early"}]}`
	wantStatus(t, put(body), http.StatusOK)
	wantProblem(t, put(body), http.StatusConflict, "conflict", "base_version")
	wantProblem(t, put(`{"title":"","steps":[{"body":"x"}]}`), http.StatusBadRequest, "invalid", "title", "steps[0].title")
	edited := strings.Replace(body, `"title":"如何提前还款"`, `"title":"提前还款指南","base_version":1`, 1)
	w := put(edited)
	wantStatus(t, w, http.StatusOK)
	if g := decode[service.Guide](t, w); g.Version != 2 {
		t.Errorf("edit = %+v", g)
	}
	r := decode[service.AskResult](t, f.post("/v1/service/ask", `{"text":"我想提前还款"}`))
	if len(r.Answers) == 0 || r.Answers[0].Guide == nil || r.Answers[0].Guide.ID != "repay-early" || r.Answers[0].Guide.Version != 2 {
		t.Errorf("answers = %+v", r.Answers)
	}
	if g := decode[service.Guide](t, f.get("/v1/service/guides/repay-early?version=1")); g.Title != "如何提前还款" || len(g.Steps) != 2 {
		t.Errorf("v1 = %+v", g)
	}
	wantStatus(t, f.do(request{method: "DELETE", path: "/v1/service/guides/repay-early", key: f.admin}), http.StatusOK)
	vs := decode[struct{ Versions []service.Guide }](t, f.get("/v1/service/guides/repay-early/versions"))
	if len(vs.Versions) != 3 || !vs.Versions[0].Deleted {
		t.Errorf("versions = %+v", vs.Versions)
	}
	if gs := decode[struct{ Guides []service.Guide }](t, f.get("/v1/service/guides")); len(gs.Guides) != 0 {
		t.Errorf("guides = %+v", gs.Guides)
	}
	if gs := decode[struct{ Guides []service.Guide }](t, f.get("/v1/service/guides?all=true")); len(gs.Guides) != 1 {
		t.Errorf("all guides = %+v", gs.Guides)
	}
	wantProblem(t, f.get("/v1/service/guides/none/versions"), http.StatusNotFound, "not_found")
	// Editing guides needs service:admin.
	reader := f.newKey(auth.ScopeServiceRead, auth.ScopeServiceAsk)
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/service/guides/x", key: reader, body: body}), http.StatusForbidden, "forbidden")
}

func FuzzServiceAsk(f *testing.F) {
	fx := setup(f, withService(f, nil))
	f.Add(`{"text":"可以提前还款吗","customer_id":"c1"}`)
	f.Add(`{"text":"对方让我转到安全账户","session_id":"s1","message_id":"m"}`)
	f.Add(`{"text":"\u0000","channel":"手机"}`)
	f.Add(`{"text":["a"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/service/ask", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+fx.admin)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			var r service.AskResult
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.SessionID == "" || len(r.Answers) > 5 {
				t.Fatalf("200 with %s", w.Body)
			}
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

func FuzzServiceGuideBody(f *testing.F) {
	fx := setup(f, withService(f, nil))
	f.Add(`{"title":"如何提前还款","faq_ids":["repay-early"],"steps":[{"title":"打开","action":"open:x"}]}`)
	f.Add(`{"title":"x","steps":[{"title":""},{"body":5}],"base_version":-1}`)
	f.Add(`{"title":"x","steps":{}}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("PUT", "/v1/service/guides/g1", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+fx.admin)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			var g service.Guide
			if err := json.Unmarshal(w.Body.Bytes(), &g); err != nil || g.ID != "g1" || g.Version < 1 || len(g.Steps) == 0 {
				t.Fatalf("200 with %s", w.Body)
			}
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
