package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/report"
)

func TestReportSummary(t *testing.T) {
	rollup := report.New(report.Options{})
	f := setup(t, func(c *Config) { c.Reports = rollup })
	for i, amount := range []string{"100.00", "12000.00", "20000.00"} {
		w := f.post("/v1/events", event("rep-"+string(rune('a'+i)), `amount="`+amount+`"`))
		wantStatus(t, w, http.StatusOK)
	}
	recs, err := f.svc.FindDecisions(context.Background(), guard.DecisionFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	rollup.AddRecords(recs)
	reader := f.newKey(auth.ScopeReportRead)
	other := f.newKey(auth.ScopeDecisionsRead)

	tests := []struct {
		name   string
		key    string
		query  string
		status int
		check  func(t *testing.T, s *report.Summary)
	}{
		{"days", reader, "from=2026-01-01&to=2026-01-04", 200, func(t *testing.T, s *report.Summary) {
			if s.Days != 3 || s.Totals.Decisions != 3 || s.Totals.Holds != 2 || s.Totals.MoneyStopped != 32000_00 || len(s.Series) != 3 || s.Series[1].Holds != 2 {
				t.Errorf("summary %+v", s)
			}
		}},
		{"rfc3339 and week", reader, "from=2026-01-01T00:00:00%2B08:00&to=2026-02-01T00:00:00%2B08:00&bucket=week", 200, func(t *testing.T, s *report.Summary) {
			if s.Days != 31 || s.Bucket != report.Week || s.Totals.Holds != 2 || s.ByNode[0].Key != "transfer" {
				t.Errorf("summary %+v", s)
			}
		}},
		{"default is the last 30 days", reader, "", 200, func(t *testing.T, s *report.Summary) {
			if s.Days != 30 || s.Totals.Decisions != 0 {
				t.Errorf("summary: %d days, %d decisions", s.Days, s.Totals.Decisions)
			}
		}},
		{"bad bucket", reader, "from=2026-01-01&to=2026-01-04&bucket=hour", 400, nil},
		{"bad date", reader, "from=yesterday", 400, nil},
		{"unknown parameter", reader, "since=2026-01-01", 400, nil},
		{"reversed", reader, "from=2026-01-04&to=2026-01-01", 400, nil},
		{"no scope", other, "", 403, nil},
		{"no key", "", "", 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(request{method: "GET", path: "/v1/report/summary?" + tt.query, key: tt.key})
			wantStatus(t, w, tt.status)
			if tt.check == nil {
				return
			}
			var s report.Summary
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &s)
		})
	}
	t.Run("money as text", func(t *testing.T) {
		w := f.do(request{method: "GET", path: "/v1/report/summary?from=2026-01-01&to=2026-01-04", key: reader})
		if !strings.Contains(w.Body.String(), `"money_stopped":"32000.00"`) {
			t.Errorf("body: %s", w.Body.String())
		}
	})
}

func TestReportSummaryDisabled(t *testing.T) {
	f := setup(t)
	wantStatus(t, f.get("/v1/report/summary"), http.StatusNotFound)
}

func TestBacktest(t *testing.T) {
	f := setup(t)
	for i, amount := range []string{"100.00", "6000.00", "20000.00", "30000.00"} {
		w := f.post("/v1/events", event("bt-"+string(rune('a'+i)), `amount="`+amount+`"`, `customer={"id":"c-`+string(rune('a'+i))+`","age":30}`))
		wantStatus(t, w, http.StatusOK)
	}
	recs, err := f.svc.FindDecisions(context.Background(), guard.DecisionFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Event.ID == "bt-c" {
			wantStatus(t, f.post("/v1/decisions/"+r.Decision.ID+"/outcome", `{"outcome":"false_alarm"}`), http.StatusCreated)
		}
		if r.Event.ID == "bt-d" {
			wantStatus(t, f.post("/v1/decisions/"+r.Decision.ID+"/outcome", `{"outcome":"customer_dissuaded","amount_saved":"30000.00"}`), http.StatusCreated)
		}
	}
	stricter := strings.Replace(testPack, "event.amount >= 10000", "event.amount >= 5000", 1)
	looser := strings.Replace(testPack, "event.amount >= 10000", "event.amount >= 25000", 1)
	yaml := map[string]string{"Content-Type": "application/yaml"}
	rules := f.newKey(auth.ScopeRulesRead)
	tests := []struct {
		name             string
		query, body, key string
		status           int
		changed, up      int64
		draftFalse       int64
		draftStopped     int64
	}{
		{"stricter", "", stricter, rules, 200, 1, 1, 1, 1},
		{"looser", "?days=30&limit=100", looser, rules, 200, 1, 0, 0, 1},
		{"unchanged", "", testPack, rules, 200, 0, 0, 1, 1},
		{"invalid pack", "", "pack: test\nrules: [{id: X, when: 'nope ++'}]\n", rules, 400, 0, 0, 0, 0},
		{"bad days", "?days=99", testPack, rules, 400, 0, 0, 0, 0},
		{"no scope", "", testPack, f.newKey(auth.ScopeReportRead), 403, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(request{method: "POST", path: "/v1/rulepacks:backtest" + tt.query, key: tt.key, body: tt.body, header: yaml})
			wantStatus(t, w, tt.status)
			if tt.status != 200 {
				return
			}
			var res report.BacktestResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Events != 4 || res.FalseAlarms != 1 || res.Fraud != 1 || res.Active.Actions["hold"] != 2 {
				t.Errorf("events %d, false alarms %d, fraud %d, active %+v", res.Events, res.FalseAlarms, res.Fraud, res.Active)
			}
			if res.ChangedCount != tt.changed || res.Stronger != tt.up || res.Draft.FalseAlarmsFlagged != tt.draftFalse || res.Draft.FraudStopped != tt.draftStopped {
				t.Errorf("changed %d (+%d), draft %+v", res.ChangedCount, res.Stronger, res.Draft)
			}
		})
	}
	// Nothing was stored or activated.
	vs, err := f.db.PackVersions(context.Background(), "test")
	if err != nil || len(vs) != 1 {
		t.Errorf("pack versions after backtests: %d, %v", len(vs), err)
	}
}

func TestConsole(t *testing.T) {
	f := setup(t)
	tests := []struct {
		path, ctype string
		status      int
		contains    string
	}{
		{"/", "text/html; charset=utf-8", 200, `<script type="module" src="/console/js/app.js">`},
		{"/console/js/app.js", "text/javascript; charset=utf-8", 200, "export function t("},
		{"/console/i18n/zh-CN.json", "application/json", 200, `"nav.dashboard": "看板"`},
		{"/console/vendor/echarts-5.6.0.min.js", "text/javascript; charset=utf-8", 200, "echarts"},
		{"/console/app.css", "text/css; charset=utf-8", 200, ":focus-visible"},
		{"/console/nothing.js", "application/problem+json", 404, "nothing.js"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := f.do(request{method: "GET", path: tt.path})
			wantStatus(t, w, tt.status)
			if got := w.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if tt.status == 200 {
				if csp := w.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
					t.Errorf("CSP = %q", csp)
				}
				etag := w.Header().Get("ETag")
				w2 := f.do(request{method: "GET", path: tt.path, header: map[string]string{"If-None-Match": etag}})
				wantStatus(t, w2, http.StatusNotModified)
			}
		})
	}
	// Only / itself is the console: other paths are still 404 problems.
	wantStatus(t, f.do(request{method: "GET", path: "/nowhere"}), http.StatusNotFound)
	wantStatus(t, f.do(request{method: "POST", path: "/"}), http.StatusMethodNotAllowed)
}
