package http

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestPostEvent(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name         string
		body         string
		wantAction   string
		wantTypology string
		wantReasons  []string
		wantShadow   []string
		wantMessage  bool
	}{
		{"small transfer", event("evt-small"), "allow", "", nil, nil, false},
		{"big transfer", event("evt-big", `amount="20000.00"`), "hold", "test_big", []string{"T_BIG"}, []string{"T_SHADOW"}, true},
		{"login", event("evt-login", `type="login"`, "-amount", "-counterparty"), "allow", "", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.post("/v1/events", tt.body)
			wantStatus(t, w, http.StatusOK)
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if w.Header().Get("Idempotent-Replayed") != "" {
				t.Error("a new event is marked replayed")
			}
			d := decode[decisionJSON](t, w)
			var raw map[string]json.RawMessage
			_ = json.Unmarshal(w.Body.Bytes(), &raw)
			for _, field := range []string{"decision_id", "event_id", "action", "score", "typology", "reasons"} {
				if _, ok := raw[field]; !ok {
					t.Errorf("response lacks contract field %q: %s", field, w.Body.String())
				}
			}
			if d.DecisionID == "" || d.Action != tt.wantAction || d.Typology != tt.wantTypology {
				t.Errorf("decision = %+v, want action %s typology %q", d, tt.wantAction, tt.wantTypology)
			}
			var rules, shadow []string
			for _, r := range d.Reasons {
				rules = append(rules, r.Rule)
				if r.Code == "" || r.Detail == "" {
					t.Errorf("reason %+v lacks code or detail", r)
				}
			}
			for _, r := range d.Shadow {
				shadow = append(shadow, r.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(tt.wantReasons, ",") || strings.Join(shadow, ",") != strings.Join(tt.wantShadow, ",") {
				t.Errorf("reasons %v shadow %v, want %v and %v", rules, shadow, tt.wantReasons, tt.wantShadow)
			}
			if (d.Message != nil && d.Message.ZH != "" && d.Message.EN != "") != tt.wantMessage {
				t.Errorf("message = %+v, want one: %v", d.Message, tt.wantMessage)
			}
		})
	}
}

func TestPostEventReplay(t *testing.T) {
	f := setup(t)
	body := event("evt-replay", `amount="20000.00"`)
	first := f.post("/v1/events", body)
	wantStatus(t, first, http.StatusOK)
	d1 := decode[decisionJSON](t, first)

	// The same event_id, even with a different body, returns the original.
	for _, b := range []string{body, event("evt-replay", `amount="1.00"`)} {
		again := f.post("/v1/events", b)
		wantStatus(t, again, http.StatusOK)
		if again.Header().Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay lacks Idempotent-Replayed: true")
		}
		d2 := decode[decisionJSON](t, again)
		if d2.DecisionID != d1.DecisionID || d2.Action != d1.Action || d2.Seq != d1.Seq {
			t.Errorf("replay = %+v, want %+v", d2, d1)
		}
	}
	m := f.metrics()
	if v := metricValue(m, `xiaobao_decisions_total{action="hold",typology="test_big"}`); v != 1 {
		t.Errorf("decisions counted %v times, want 1", v)
	}
	if v := metricValue(m, `xiaobao_rule_fires_total{mode="active",rule="T_BIG"}`); v != 1 {
		t.Errorf("T_BIG fires = %v, want 1", v)
	}
	if v := metricValue(m, `xiaobao_rule_fires_total{mode="shadow",rule="T_SHADOW"}`); v != 1 {
		t.Errorf("T_SHADOW fires = %v, want 1", v)
	}
	recs, err := f.svc.FindDecisions(t.Context(), guardFilterCustomer("cust-1"))
	if err != nil || len(recs) != 1 {
		t.Errorf("stored %d decisions (err %v), want 1", len(recs), err)
	}
}

func TestPostEventErrors(t *testing.T) {
	f := setup(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		fields []string
	}{
		{"wrong type of age", event("e1", `customer={"id":"c","age":"old"}`), 400, "invalid", []string{"customer.age"}},
		{"float money", event("e2", `amount=100.5`), 400, "invalid", []string{"amount"}},
		{"three decimals", event("e3", `amount="100.005"`), 400, "invalid", []string{"amount"}},
		{"negative amount", event("e4", `amount="-1.00"`), 400, "invalid", []string{"amount"}},
		{"unknown type", event("e5", `type="teleport"`), 400, "invalid", []string{"type"}},
		{"time without offset", event("e6", `occurred_at="2026-01-02T03:04:05"`), 400, "invalid", []string{"occurred_at"}},
		{"missing event_id", event("e7", "-event_id"), 400, "invalid", []string{"event_id"}},
		{"missing customer id", event("e8", `customer={"age":3}`), 400, "invalid", []string{"customer.id"}},
		{"missing account", event("e9", "-counterparty"), 400, "invalid", []string{"counterparty.account"}},
		{"several at once", event("", `amount=1`, `type="x"`), 400, "invalid", []string{"event_id", "amount", "type"}},
		{"invalid UTF-8", event("e10", "memo=\"\xff\xfe\""), 400, "invalid", []string{"memo"}},
		{"deep nesting", event("e11", "x="+deep), 400, "invalid", nil},
		{"not JSON", `{"event_id":`, 400, "invalid", nil},
		{"empty body", ``, 400, "invalid", nil},
		{"too large", event("e12", `memo="`+strings.Repeat("a", 5000)+`"`), 413, "too_large", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.post("/v1/events", tt.body)
			p := wantProblem(t, w, tt.status, tt.code, tt.fields...)
			if tt.status == 400 && len(p.Errors) == 0 {
				t.Errorf("400 without errors: %+v", p)
			}
		})
	}
	// Nothing was decided.
	recs, _ := f.svc.FindDecisions(t.Context(), guardFilterCustomer(""))
	if len(recs) != 0 {
		t.Errorf("%d decisions stored from bad events", len(recs))
	}
	if v := metricValue(f.metrics(), `xiaobao_errors_total{code="invalid"}`); v != float64(len(tests)-1) {
		t.Errorf("invalid errors counted %v, want %d", v, len(tests)-1)
	}
}

func TestPostEventTooLargeWithoutLength(t *testing.T) {
	f := setup(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	body := event("e-chunked", `memo="`+strings.Repeat("a", 2000)+`"`)
	r := newRequest("POST", "/v1/events", strings.NewReader(body), f.admin)
	r.ContentLength = -1 // as with chunked transfer encoding
	w := serve(f, r)
	wantProblem(t, w, 413, "too_large")

	r = newRequest("POST", "/v1/events", strings.NewReader(event("e-chunked-ok")), f.admin)
	r.ContentLength = -1
	wantStatus(t, serve(f, r), 200)
}

func TestBatch(t *testing.T) {
	f := setup(t)
	first := f.post("/v1/events", event("b-0"))
	wantStatus(t, first, 200)
	d0 := decode[decisionJSON](t, first)

	input := strings.Join([]string{
		event("b-1"),                      // 1 good
		`{"event_id":`,                    // 2 not JSON
		event("b-3", `amount="20000.00"`), // 3 good: hold
		``,                                // 4 empty
		event("b-5", `amount=12.5`),       // 5 float money
		event("b-1"),                      // 6 same event as line 1
		event("b-0"),                      // 7 decided before the batch
		event("b-8", `type="teleport"`),   // 8 unknown type
		event("b-9", `type="withdrawal"`), // 9 good
	}, "\n") + "\n"
	w := f.do(request{method: "POST", path: "/v1/events:batch", key: f.admin, body: input,
		header: map[string]string{"Content-Type": "application/x-ndjson"}})
	wantStatus(t, w, 200)
	if ct := w.Header().Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	var lines []string
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 9 {
		t.Fatalf("got %d lines, want 9:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	type problemLine struct {
		Line    int      `json:"line"`
		Problem *problem `json:"problem"`
	}
	wantBad := map[int]string{2: "", 4: "", 5: "amount", 8: "type"}
	decisions := map[int]decisionJSON{}
	for i, l := range lines {
		n := i + 1
		if field, bad := wantBad[n]; bad {
			var pl problemLine
			if err := json.Unmarshal([]byte(l), &pl); err != nil || pl.Problem == nil {
				t.Errorf("line %d: want a problem, got %s", n, l)
				continue
			}
			if pl.Line != n || pl.Problem.Status != 400 || pl.Problem.Code != "invalid" {
				t.Errorf("line %d: problem %+v", n, pl)
			}
			if field != "" && (len(pl.Problem.Errors) == 0 || pl.Problem.Errors[0].Field != field) {
				t.Errorf("line %d: errors %+v, want field %s", n, pl.Problem.Errors, field)
			}
			continue
		}
		var d decisionJSON
		if err := json.Unmarshal([]byte(l), &d); err != nil || d.DecisionID == "" {
			t.Errorf("line %d: want a decision, got %s", n, l)
			continue
		}
		decisions[n] = d
	}
	if decisions[1].EventID != "b-1" || decisions[3].Action != "hold" || decisions[9].EventID != "b-9" {
		t.Errorf("decisions out of order or wrong: %+v", decisions)
	}
	if decisions[6].DecisionID != decisions[1].DecisionID {
		t.Errorf("a repeated event_id got a second decision: %s vs %s", decisions[6].DecisionID, decisions[1].DecisionID)
	}
	if decisions[7].DecisionID != d0.DecisionID {
		t.Errorf("an event decided before the batch got a new decision")
	}
	recs, _ := f.svc.FindDecisions(t.Context(), guardFilterCustomer("cust-1"))
	if len(recs) != 4 { // b-0, b-1, b-3, b-9
		t.Errorf("stored %d decisions, want 4", len(recs))
	}
}

func TestBatchLimits(t *testing.T) {
	f := setup(t, func(c *Config) { c.MaxBatchBytes = 2048; c.MaxBodyBytes = 400 })
	big := strings.Repeat(event("x")+"\n", 30)
	w := f.do(request{method: "POST", path: "/v1/events:batch", key: f.admin, body: big})
	wantProblem(t, w, 413, "too_large")

	w = f.do(request{method: "POST", path: "/v1/events:batch", key: f.admin, body: ""})
	wantProblem(t, w, 400, "invalid")

	// A line over MaxBodyBytes is a bad line, the others are decided.
	body := event("l-1") + "\n" + event("l-2", `memo="`+strings.Repeat("z", 500)+`"`) + "\r\n" + event("l-3")
	w = f.do(request{method: "POST", path: "/v1/events:batch", key: f.admin, body: body})
	wantStatus(t, w, 200)
	lines := strings.Split(strings.TrimSuffix(w.Body.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], `"line":2`) || !strings.Contains(lines[1], "too_large") ||
		!strings.Contains(lines[2], `"event_id":"l-3"`) {
		t.Errorf("unexpected batch response:\n%s", w.Body.String())
	}
}

func TestShed(t *testing.T) {
	f := setup(t, func(c *Config) { c.MaxInflight = 4 })
	f.srv.inflight.Store(4) // four event requests are already being served
	w := f.post("/v1/events", event("shed-1"))
	wantProblem(t, w, 429, "overloaded")
	if w.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", w.Header().Get("Retry-After"))
	}
	// Other routes are not shed.
	wantStatus(t, f.get("/v1/features"), 200)
	f.srv.inflight.Store(0)
	wantStatus(t, f.post("/v1/events", event("shed-1")), 200)
	if v := metricValue(f.metrics(), "xiaobao_shed_total"); v != 1 {
		t.Errorf("xiaobao_shed_total = %v, want 1", v)
	}
}
