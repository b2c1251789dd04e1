package http

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/model"
)

// testModel is a logistic model on the amount and the new-payee flag, so
// that a large transfer to a new payee scores near 1 and names both.
func testModel(t *testing.T, name string) string {
	t.Helper()
	m := &model.Model{
		Format: model.FormatName, Version: model.FormatVersion, Name: name, Kind: model.KindLogistic,
		Features: []string{"event.amount", "payee.is_new"},
		Logistic: &model.Logistic{Mean: []float64{0, 0}, Scale: []float64{1000, 1}, Coef: []float64{1, 2}, Intercept: -6},
		Training: model.Training{Rows: 10, Positives: 2, Metrics: map[string]float64{"auc": 0.9}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type modelDecision struct {
	Explanation struct {
		RuleScore     float64  `json:"rule_score"`
		ModelScore    *float64 `json:"model_score"`
		Model         string   `json:"model"`
		Contributions []struct {
			Feature string  `json:"feature"`
			Value   float64 `json:"value"`
			Effect  float64 `json:"effect"`
		} `json:"contributions"`
	} `json:"explanation"`
}

func TestModelEndpoints(t *testing.T) {
	rec := &auditRecorder{}
	f := setup(t, func(c *Config) { c.Audit = rec })
	admin := f.newKey(auth.ScopeRulesAdmin)
	reader := f.newKey(auth.ScopeRulesRead)
	outsider := f.newKey(auth.ScopeDecisionsRead)
	do := func(method, key, body string) *httptest.ResponseRecorder {
		return f.do(request{method: method, path: "/v1/model", key: key, body: body})
	}
	n := 0
	decide := func() modelDecision {
		t.Helper()
		n++
		id := "mdl-" + strings.Repeat("x", n)
		w := f.post("/v1/events", event(id, `amount="8000.00"`, `customer={"id":"`+id+`"}`, `counterparty={"account":"`+id+`"}`))
		wantStatus(t, w, 200)
		return decode[modelDecision](t, w)
	}

	// No model yet: 404, and decisions carry the rules' score alone.
	wantProblem(t, do("GET", reader, ""), 404, "not_found")
	wantProblem(t, do("DELETE", admin, ""), 404, "not_found")
	if d := decide(); d.Explanation.ModelScore != nil || d.Explanation.Model != "" {
		t.Errorf("without a model: %+v", d.Explanation)
	}

	// Scopes: reading needs rules:read, changing rules:admin.
	wantProblem(t, do("GET", "", ""), 401, "unauthorized")
	wantProblem(t, do("GET", outsider, ""), 403, "forbidden")
	wantProblem(t, do("PUT", reader, testModel(t, "m1")), 403, "forbidden")
	wantProblem(t, do("DELETE", reader, ""), 403, "forbidden")

	// A good model: active at once, with its features in every explanation.
	w := do("PUT", admin, testModel(t, "m1"))
	wantStatus(t, w, 200)
	got := decode[modelJSON](t, w)
	if got.Name != "m1" || got.Kind != model.KindLogistic || len(got.Features) != 2 || got.Training.Metrics["auc"] != 0.9 || len(got.SHA256) != 64 {
		t.Errorf("PUT answered %+v", got)
	}
	if strings.Contains(w.Body.String(), "coef") {
		t.Errorf("the metadata shows the coefficients: %s", w.Body.String())
	}
	d := decide()
	x := d.Explanation
	if x.Model != "m1" || x.ModelScore == nil || *x.ModelScore < 0.9 || len(x.Contributions) != 2 ||
		x.Contributions[0].Feature != "event.amount" || x.Contributions[0].Value != 8000 || x.Contributions[1].Feature != "payee.is_new" {
		t.Errorf("with m1: %+v", x)
	}
	w = do("GET", reader, "")
	wantStatus(t, w, 200)
	if g := decode[modelJSON](t, w); g.Name != "m1" || g.SHA256 != got.SHA256 {
		t.Errorf("GET = %+v", g)
	}
	if e := rec.find(audit.ActionRuleChange, audit.ResultOK); len(e) != 1 || e[0].Target != "model:m1" || !strings.Contains(string(e[0].Details), got.SHA256) {
		t.Errorf("audit = %+v", e)
	}

	// Bad models are refused, naming the field, and m1 goes on scoring.
	unknown := strings.Replace(testModel(t, "m2"), `"payee.is_new"`, `"payee.is_knew"`, 1)
	wantProblem(t, do("PUT", admin, unknown), 400, "invalid", "features")
	broken := strings.Replace(testModel(t, "m2"), `"scale":[1000,1]`, `"scale":[1000,0]`, 1)
	wantProblem(t, do("PUT", admin, broken), 400, "invalid", "logistic.scale[1]")
	wantProblem(t, do("PUT", admin, strings.Replace(testModel(t, "m2"), `"version":1`, `"version":2`, 1)), 400, "invalid", "version")
	wantProblem(t, do("PUT", admin, strings.Replace(testModel(t, "m2"), `"name":"m2"`, `"name":""`, 1)), 400, "invalid", "name")
	wantProblem(t, do("PUT", admin, `{"format":`), 400, "invalid")
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/model", key: admin, body: testModel(t, "m2"),
		header: map[string]string{"Content-Type": "application/yaml"}}), 415, "unsupported_media_type")
	if d := decide(); d.Explanation.Model != "m1" {
		t.Errorf("after bad uploads the model is %q, want m1", d.Explanation.Model)
	}
	if g := decode[modelJSON](t, do("GET", reader, "")); g.Name != "m1" {
		t.Errorf("after bad uploads GET names %q", g.Name)
	}

	// A second good model replaces the first.
	wantStatus(t, do("PUT", admin, testModel(t, "m2")), 200)
	if d := decide(); d.Explanation.Model != "m2" {
		t.Errorf("after m2: %q", d.Explanation.Model)
	}

	// Removing it: the rules alone again.
	w = do("DELETE", admin, "")
	wantStatus(t, w, 204)
	wantProblem(t, do("GET", reader, ""), 404, "not_found")
	if d := decide(); d.Explanation.ModelScore != nil || len(d.Explanation.Contributions) != 0 {
		t.Errorf("after DELETE: %+v", d.Explanation)
	}
	if e := rec.find(audit.ActionRuleChange, audit.ResultOK); len(e) != 3 || e[2].Target != "model:m2" || !strings.Contains(string(e[2].Details), "removed") {
		t.Errorf("audit = %+v", e)
	}
}
