package http

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Raw PII used by the masking tests. The ID number has a valid check digit
// and the phone number is a valid mainland mobile number, so a scanner that
// validates them recognises them.
const (
	rawPhone   = "13800138000"
	rawPhone2  = "13912345678"
	rawID      = "11010519491231002X"
	rawAccount = "6222020200112233445"
	rawName    = "张三丰"
	rawIP      = "203.0.113.45"
)

// piiEvent is an event carrying PII in every place the contract allows, and
// in unknown members.
func piiEvent(id string) string {
	return event(id,
		fmt.Sprintf(`customer={"id":"cust-pii","age":67,"phone":%q,"id_number":%q,"registered_at":"2019-05-06T10:00:00+08:00"}`, rawPhone, rawID),
		fmt.Sprintf(`device={"id":"dev-1","ip":%q}`, rawIP),
		fmt.Sprintf(`counterparty={"account":%q,"name":%q}`, rawAccount, rawName),
		fmt.Sprintf(`memo="请转账给我，电话 %s，身份证 %s"`, rawPhone, rawID),
		fmt.Sprintf(`contact={"alt_phone":%q,"numbers":[%s],"note":"call %s"}`, rawPhone2, rawPhone2, rawPhone2),
		`channel="app"`,
	)
}

func TestGetDecisionMasked(t *testing.T) {
	f := setup(t)
	w := f.post("/v1/events", piiEvent("evt-pii"))
	wantStatus(t, w, 200)
	posted := decode[decisionJSON](t, w)

	w = f.do(request{method: "GET", path: "/v1/decisions/" + posted.DecisionID, key: f.newKey("decisions:read")})
	wantStatus(t, w, 200)
	body := w.Body.String()
	for _, raw := range []string{rawPhone, rawPhone2, rawID, rawAccount, rawName, rawIP} {
		if strings.Contains(body, raw) {
			t.Errorf("GET decision shows raw PII %q:\n%s", raw, body)
		}
	}
	d := decode[decisionJSON](t, w)
	if d.DecisionID != posted.DecisionID || d.Action != posted.Action || d.EventID != "evt-pii" {
		t.Errorf("decision = %+v, want %+v", d, posted)
	}
	ev := d.Event
	if ev == nil {
		t.Fatalf("no event in %s", body)
	}
	cust, _ := ev["customer"].(map[string]any)
	cp, _ := ev["counterparty"].(map[string]any)
	dev, _ := ev["device"].(map[string]any)
	if ev["event_id"] != "evt-pii" || ev["amount"] != "100.00" || ev["channel"] != "app" ||
		cust["id"] != "cust-pii" || cust["age"] != float64(67) || dev["id"] != "dev-1" {
		t.Errorf("non-PII fields changed: %v", ev)
	}
	for _, v := range []any{cust["phone"], cust["id_number"], cp["account"], cp["name"], dev["ip"], ev["memo"]} {
		if s, ok := v.(string); !ok || s == "" {
			t.Errorf("masked field missing or not a string: %v", v)
		}
	}
	if _, ok := ev["contact"].(map[string]any); !ok {
		t.Errorf("unknown member dropped: %v", ev)
	}

	// Unknown ids are 404.
	wantProblem(t, f.get("/v1/decisions/dec_nope"), 404, "not_found")
}

func TestFindDecisions(t *testing.T) {
	f := setup(t)
	posts := []string{
		event("f-1", `customer={"id":"c-a"}`),
		event("f-2", `customer={"id":"c-a"}`, `occurred_at="2026-01-03T10:00:00+08:00"`, `device={"id":"dev-9"}`),
		event("f-3", `customer={"id":"c-b"}`, `amount="20000.00"`),
		event("f-4", `customer={"id":"c-b"}`, `type="login"`, "-amount", "-counterparty"),
	}
	ids := map[string]string{}
	for _, p := range posts {
		w := f.post("/v1/events", p)
		wantStatus(t, w, 200)
		d := decode[decisionJSON](t, w)
		ids[d.EventID] = d.DecisionID
	}
	type page struct {
		Decisions     []decisionJSON `json:"decisions"`
		NextBeforeSeq int64          `json:"next_before_seq"`
	}
	tests := []struct {
		query string
		want  []string // event ids, newest first
	}{
		{"", []string{"f-4", "f-3", "f-2", "f-1"}},
		{"customer_id=c-a", []string{"f-2", "f-1"}},
		{"device_id=dev-9", []string{"f-2"}},
		{"account=6222020200112233445", []string{"f-3", "f-2", "f-1"}},
		{"min_action=hold", []string{"f-3"}},
		{"action=allow&customer_id=c-b", []string{"f-4"}},
		{"typology=test_big", []string{"f-3"}},
		{"type=login", []string{"f-4"}},
		{"from=" + url.QueryEscape("2026-01-03T00:00:00+08:00"), []string{"f-2"}},
		{"to=" + url.QueryEscape("2026-01-03T00:00:00+08:00"), []string{"f-4", "f-3", "f-1"}},
		{"limit=2", []string{"f-4", "f-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := f.get("/v1/decisions?" + tt.query)
			wantStatus(t, w, 200)
			p := decode[page](t, w)
			var got []string
			for _, d := range p.Decisions {
				got = append(got, d.EventID)
				if d.DecisionID != ids[d.EventID] {
					t.Errorf("decision id of %s = %s, want %s", d.EventID, d.DecisionID, ids[d.EventID])
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Paging: walk the pages of one decision each.
	var got []string
	next := ""
	for range 10 {
		w := f.get("/v1/decisions?limit=1" + next)
		wantStatus(t, w, 200)
		p := decode[page](t, w)
		for _, d := range p.Decisions {
			got = append(got, d.EventID)
		}
		if p.NextBeforeSeq == 0 {
			break
		}
		next = fmt.Sprintf("&before_seq=%d", p.NextBeforeSeq)
	}
	if strings.Join(got, ",") != "f-4,f-3,f-2,f-1" {
		t.Errorf("paged through %v", got)
	}

	w := f.get("/v1/decisions?action=maybe&min_action=x&type=teleport&from=yesterday&to=2026&before_seq=-1&limit=5000&colour=red")
	wantProblem(t, w, 400, "invalid", "action", "min_action", "type", "from", "to", "before_seq", "limit", "colour")
}

func TestOutcome(t *testing.T) {
	f := setup(t)
	w := f.post("/v1/events", event("o-1", `amount="20000.00"`))
	wantStatus(t, w, 200)
	d := decode[decisionJSON](t, w)
	path := "/v1/decisions/" + d.DecisionID + "/outcome"
	key := f.newKey("outcomes:write")

	// No outcome yet.
	wantProblem(t, f.get(path), 404, "not_found")

	tests := []struct {
		name   string
		body   string
		status int
		fields []string
	}{
		{"float money", `{"outcome":"confirmed_fraud","amount_lost":1000.5}`, 400, []string{"amount_lost"}},
		{"three decimals", `{"outcome":"confirmed_fraud","amount_lost":"10.005"}`, 400, []string{"amount_lost"}},
		{"negative", `{"outcome":"confirmed_fraud","amount_saved":"-5.00"}`, 400, []string{"amount_saved"}},
		{"unknown outcome", `{"outcome":"abducted_by_aliens"}`, 400, []string{"outcome"}},
		{"missing outcome", `{"note":"x"}`, 400, []string{"outcome"}},
		{"wrong types", `{"outcome":"false_alarm","note":5,"source":true}`, 400, []string{"note", "source"}},
		{"unknown member", `{"outcome":"false_alarm","amount":"1.00"}`, 400, []string{"amount"}},
		{"not an object", `["confirmed_fraud"]`, 400, nil},
		{"invalid UTF-8", "{\"outcome\":\"false_alarm\",\"note\":\"\xff\"}", 400, nil},
		{"deep nesting", `{"outcome":"false_alarm","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 400, nil},
		{"recorded", `{"outcome":"confirmed_fraud","amount_lost":"20000.00","amount_saved":"0","note":"called police","source":"hotline"}`, 201, nil},
		{"same again", `{"outcome":"confirmed_fraud","amount_lost":"20000.00","amount_saved":"0","note":"called police","source":"hotline"}`, 200, nil},
		{"replaced", `{"outcome":"customer_dissuaded","amount_saved":"20000.00"}`, 201, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(request{method: "POST", path: path, key: key, body: tt.body})
			if tt.status == 400 {
				wantProblem(t, w, 400, "invalid", tt.fields...)
				return
			}
			wantStatus(t, w, tt.status)
			o := decode[outcomeJSON](t, w)
			if o.DecisionID != d.DecisionID || o.ID == "" {
				t.Errorf("outcome = %+v", o)
			}
		})
	}
	w = f.get(path)
	wantStatus(t, w, 200)
	o := decode[outcomeJSON](t, w)
	if o.Outcome != "customer_dissuaded" || o.AmountSaved != "20000.00" || o.AmountLost != "0.00" || o.Typology != "test_big" {
		t.Errorf("latest outcome = %+v", o)
	}
	wantProblem(t, f.do(request{method: "POST", path: "/v1/decisions/dec_missing/outcome", key: key,
		body: `{"outcome":"false_alarm"}`}), 404, "not_found")
	wantProblem(t, f.get("/v1/decisions/dec_missing/outcome"), 404, "not_found")
	// outcomes:write does not read decisions.
	wantProblem(t, f.do(request{method: "GET", path: path, key: key}), http.StatusForbidden, "forbidden")
}
