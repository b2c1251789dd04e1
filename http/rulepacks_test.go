package http

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// packV returns a one-rule pack named name whose rule acts at amount.
func packV(name, amount, action string) string {
	return `pack: ` + name + `
description: {zh: 限额, en: limit}
rules:
  - id: ` + strings.ToUpper(name) + `_LIMIT
    name: {zh: 限额, en: limit}
    description: {zh: 金额超过限额, en: amount over the limit}
    nodes: [transfer]
    when: event.amount >= ` + amount + `
    score: 0.4
    action: ` + action + `
    typology: limit
    code: LIMIT
`
}

type packVersionResp struct {
	Name    string  `json:"name"`
	Version int     `json:"version"`
	Active  bool    `json:"active"`
	Source  *string `json:"source"`
	Comment string  `json:"comment"`
}

func TestRulePacks(t *testing.T) {
	f := setup(t)
	yaml := map[string]string{"Content-Type": "application/yaml"}
	post := func(path, body string, hdr map[string]string) *httptest.ResponseRecorder {
		return f.do(request{method: "POST", path: path, key: f.admin, body: body, header: hdr})
	}
	decideAt := func(id, amount string) string {
		// A new customer and payee each time, so that no escalation of
		// earlier interventions plays a part.
		w := f.post("/v1/events", event(id, `amount="`+amount+`"`, `customer={"id":"`+id+`"}`, `counterparty={"account":"`+id+`"}`))
		wantStatus(t, w, 200)
		return decode[decisionJSON](t, w).Action
	}

	// A bad pack is refused with each error named, and nothing is stored.
	bad := strings.Replace(packV("limits", "500", "remind"), "event.amount >= 500", "event.amont >= 500", 1)
	bad = strings.Replace(bad, "action: remind", "action: shout", 1)
	w := post("/v1/rulepacks", bad, yaml)
	p := wantProblem(t, w, 400, "invalid", "rules[0](LIMITS_LIMIT).when", "rules[0](LIMITS_LIMIT).action")
	for _, fe := range p.Errors {
		if strings.HasSuffix(fe.Field, ".when") && !strings.Contains(fe.Reason, "amont") {
			t.Errorf("the when error does not show the expression: %q", fe.Reason)
		}
	}
	wantProblem(t, f.get("/v1/rulepacks/limits/versions"), 404, "not_found")
	wantProblem(t, post("/v1/rulepacks", "pack: [", yaml), 400, "invalid", "yaml")

	// Validation alone stores nothing either.
	w = post("/v1/rulepacks:validate", packV("limits", "500", "remind"), yaml)
	wantStatus(t, w, 200)
	if v := decode[map[string]any](t, w); v["valid"] != true || v["pack"] != "limits" {
		t.Errorf("validate = %v", v)
	}
	wantProblem(t, post("/v1/rulepacks:validate", bad, yaml), 400, "invalid")
	wantProblem(t, f.get("/v1/rulepacks/limits/versions"), 404, "not_found")

	// v1 as YAML with ?activate=true.
	w = post("/v1/rulepacks?activate=true&comment=first", packV("limits", "500", "remind"), yaml)
	wantStatus(t, w, 201)
	v1 := decode[packVersionResp](t, w)
	if v1.Name != "limits" || v1.Version != 1 || !v1.Active || v1.Source == nil || v1.Comment != "first" {
		t.Errorf("v1 = %+v", v1)
	}
	if got := decideAt("rp-1", "600.00"); got != "remind" {
		t.Errorf("with v1 active: %s, want remind", got)
	}

	// v2 as JSON, activated in the body.
	body, _ := json.Marshal(map[string]any{"source": packV("limits", "500", "friction"), "comment": "stricter", "activate": true})
	w = post("/v1/rulepacks", string(body), nil)
	wantStatus(t, w, 201)
	if v2 := decode[packVersionResp](t, w); v2.Version != 2 || !v2.Active {
		t.Errorf("v2 = %+v", v2)
	}
	if got := decideAt("rp-2", "600.00"); got != "friction" {
		t.Errorf("with v2 active: %s, want friction", got)
	}
	// v3 stored but not active.
	w = post("/v1/rulepacks", packV("limits", "1", "block"), map[string]string{"Content-Type": "text/yaml"})
	wantStatus(t, w, 201)
	if v3 := decode[packVersionResp](t, w); v3.Version != 3 || v3.Active {
		t.Errorf("v3 = %+v", v3)
	}
	// Unsupported content type and bad JSON members.
	wantProblem(t, post("/v1/rulepacks", "x", map[string]string{"Content-Type": "image/png"}), 415, "unsupported_media_type")
	wantProblem(t, post("/v1/rulepacks", `{"source":5,"activate":"yes","colour":1}`, nil), 400, "invalid", "source", "activate", "colour")

	// Versions, newest first, without source.
	w = f.get("/v1/rulepacks/limits/versions")
	wantStatus(t, w, 200)
	vs := decode[struct{ Versions []packVersionResp }](t, w)
	if len(vs.Versions) != 3 || vs.Versions[0].Version != 3 || vs.Versions[1].Active != true || vs.Versions[0].Source != nil {
		t.Errorf("versions = %+v", vs)
	}
	w = f.get("/v1/rulepacks/limits/versions/1")
	wantStatus(t, w, 200)
	if v := decode[packVersionResp](t, w); v.Source == nil || !strings.Contains(*v.Source, "action: remind") {
		t.Errorf("version 1 = %+v", v)
	}
	wantProblem(t, f.get("/v1/rulepacks/limits/versions/9"), 404, "not_found")
	wantProblem(t, f.get("/v1/rulepacks/limits/versions/one"), 400, "invalid", "version")

	// Rollback to v1.
	w = post("/v1/rulepacks/limits/versions/1/activate", "", nil)
	wantStatus(t, w, 200)
	if got := decideAt("rp-3", "600.00"); got != "remind" {
		t.Errorf("after rollback: %s, want remind", got)
	}
	wantProblem(t, post("/v1/rulepacks/limits/versions/7/activate", "", nil), 404, "not_found")

	// The list.
	w = f.get("/v1/rulepacks")
	wantStatus(t, w, 200)
	list := decode[struct {
		Packs []struct {
			Name          string `json:"name"`
			ActiveVersion int    `json:"active_version"`
			Versions      int    `json:"versions"`
		}
	}](t, w)
	found := false
	for _, p := range list.Packs {
		if p.Name == "limits" {
			found = p.ActiveVersion == 1 && p.Versions == 3
		}
	}
	if !found {
		t.Errorf("packs = %+v", list)
	}

	// Deactivate.
	wantStatus(t, post("/v1/rulepacks/limits/deactivate", "", nil), 200)
	if got := decideAt("rp-4", "600.00"); got != "allow" {
		t.Errorf("after deactivation: %s, want allow", got)
	}
	wantProblem(t, post("/v1/rulepacks/nosuch/deactivate", "", nil), 404, "not_found")

	// Features.
	w = f.get("/v1/features")
	wantStatus(t, w, 200)
	feats := decode[struct{ Features []string }](t, w)
	if len(feats.Features) < 10 || !contains(feats.Features, "event.amount") {
		t.Errorf("features = %v", feats.Features)
	}

	// rules:read may validate but not upload.
	reader := f.newKey("rules:read")
	wantStatus(t, f.do(request{method: "POST", path: "/v1/rulepacks:validate", key: reader, body: packV("x", "1", "remind"), header: yaml}), 200)
	wantProblem(t, f.do(request{method: "POST", path: "/v1/rulepacks", key: reader, body: packV("x", "1", "remind"), header: yaml}), 403, "forbidden")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
