package http

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/graph"
	"github.com/xiaobao-org/xiaobao/guard"
)

func TestGraphNeighbourhood(t *testing.T) {
	g := graph.New(graph.Options{})
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	// Two customers pay one account from one device: the mule pattern.
	for i, c := range []string{"c-1", "c-2"} {
		ev, err := guard.DecodeEvent([]byte(`{"event_id":"g` + string(rune('0'+i)) + `","type":"transfer","occurred_at":"` + at.Format(time.RFC3339) +
			`","customer":{"id":"` + c + `"},"device":{"id":"dev-9","ip":"203.0.113.45"},"amount":"5000.00","counterparty":{"account":"6222020200112233445"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.AddEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	rec := &auditRecorder{}
	f := setup(t, func(c *Config) { c.Graph = g; c.Audit = rec })
	analyst := f.newKey(auth.ScopeGraphRead)
	caller := f.newKey(auth.ScopeGraphRead, auth.ScopePIIUnmask)
	path := "/v1/graph/neighbourhood?kind=customer&value=c-1&hops=2"

	w := f.do(request{method: "GET", path: path, key: analyst})
	wantStatus(t, w, 200)
	nb := decode[graph.Neighbourhood](t, w)
	found := map[string]bool{}
	for _, r := range nb.Reached {
		found[string(r.Entity.Kind)+":"+r.Entity.Value] = true
		if len(r.Paths) == 0 {
			t.Errorf("%v reached without a path", r.Entity)
		}
	}
	if !found["customer:c-2"] || !found["device:dev-9"] {
		t.Errorf("reached %v, want c-2 and dev-9", found)
	}
	if body := w.Body.String(); strings.Contains(body, "6222020200112233445") || strings.Contains(body, "203.0.113.45") {
		t.Errorf("masked answer shows the account or IP: %s", body)
	}
	// pii:unmask alone still answers masked: seeing the values takes
	// unmask=true and a reason, and is audited before the answer.
	w = f.do(request{method: "GET", path: path, key: caller})
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), "6222020200112233445") {
		t.Error("answer unmasked without being asked to")
	}
	wantProblem(t, f.do(request{method: "GET", path: path + "&unmask=true", key: caller}), 400, "invalid", "reason")
	wantProblem(t, f.do(request{method: "GET", path: path + "&unmask=true&reason=case+review+123", key: analyst}), 400, "invalid", "unmask")
	w = f.do(request{method: "GET", path: path + "&unmask=true&reason=case+review+123", key: caller})
	wantStatus(t, w, 200)
	if !strings.Contains(w.Body.String(), "6222020200112233445") {
		t.Error("unmasking caller does not see the account")
	}
	if got := rec.find(audit.ActionUnmask, audit.ResultOK); len(got) != 1 || got[0].Reason != "case review 123" || got[0].Target != "graph:neighbourhood" {
		t.Errorf("audit entries %+v, want one unmask of graph:neighbourhood with the reason", got)
	}
	rec.down = true
	wantProblem(t, f.do(request{method: "GET", path: path + "&unmask=true&reason=case+review+123", key: caller}), 503, "unavailable")
	rec.down = false
	for _, tt := range []struct{ q, field string }{
		{"kind=car&value=x", "kind"},
		{"kind=customer", "value"},
		{"kind=customer&value=c-1&hops=9", "hops"},
		{"kind=customer&value=c-1&limit=0", "limit"},
	} {
		wantProblem(t, f.do(request{method: "GET", path: "/v1/graph/neighbourhood?" + tt.q, key: analyst}), 400, "invalid", tt.field)
	}
	wantProblem(t, f.do(request{method: "GET", path: "/v1/graph/neighbourhood?kind=customer&value=nobody", key: analyst}), 404, "not_found")
	wantProblem(t, f.do(request{method: "GET", path: path, key: f.newKey(auth.ScopeDecisionsRead)}), 403, "forbidden")
}

// ringGraph is a small mule ring: three victims pay one collection account
// that a farm account holds (payout), from a device the farm shares with a
// second farm account; an unrelated customer pays a merchant.
func ringGraph(t *testing.T) *graph.Graph {
	t.Helper()
	g := graph.New(graph.Options{})
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	n := 0
	add := func(body string) {
		t.Helper()
		n++
		ev, err := guard.DecodeEvent([]byte(`{"event_id":"r` + strings.Repeat("i", n) + `","occurred_at":"` + at.Add(time.Duration(n)*time.Minute).Format(time.RFC3339) + `",` + body + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.AddEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"v-1", "v-2", "v-3"} {
		add(`"type":"transfer","customer":{"id":"` + v + `"},"device":{"id":"own-` + v + `"},"amount":"20000.00","counterparty":{"account":"6222020200112233445"}`)
	}
	add(`"type":"loan_payout","customer":{"id":"farm-1"},"device":{"id":"farm-dev"},"amount":"1000.00","counterparty":{"account":"6222020200112233445"}`)
	add(`"type":"login","customer":{"id":"farm-2"},"device":{"id":"farm-dev"}`)
	add(`"type":"payment","customer":{"id":"ok-1"},"device":{"id":"own-ok"},"amount":"30.00","counterparty":{"account":"merchant-1"}`)
	return g
}

func TestGraphRingsScoreMine(t *testing.T) {
	rec := &auditRecorder{}
	f := setup(t, func(c *Config) { c.Graph = ringGraph(t); c.Audit = rec })
	analyst := f.newKey(auth.ScopeGraphRead)
	lead := f.newKey(auth.ScopeGraphRead, auth.ScopePIIUnmask)
	post := func(path, key, body string) *httptest.ResponseRecorder {
		return f.do(request{method: "POST", path: path, key: key, body: body})
	}
	type ringsAnswer struct {
		Rings     []graph.Ring     `json:"rings"`
		Proposals []graph.Proposal `json:"proposals"`
	}

	// One confirmed victim with the account they reported finds the other
	// victims and the farm; the account is masked in the answer.
	seed := `{"seeds":[{"kind":"customer","value":"v-1","role":"victim","at":"2026-05-01T10:00:00Z"},{"kind":"account","value":"6222020200112233445","role":"mule"}]}`
	w := post("/v1/graph/rings", analyst, seed)
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), "6222020200112233445") {
		t.Errorf("masked ring answer shows the account")
	}
	ra := decode[ringsAnswer](t, w)
	if len(ra.Rings) != 1 {
		t.Fatalf("rings = %d, want 1: %s", len(ra.Rings), w.Body)
	}
	members := map[string]graph.MemberRole{}
	for _, m := range ra.Rings[0].Members {
		members[m.Entity.Value] = m.Role
	}
	for who, role := range map[string]graph.MemberRole{"v-2": graph.MemberVictim, "v-3": graph.MemberVictim, "farm-1": graph.MemberAccomplice, "farm-2": graph.MemberAccomplice} {
		if members[who] != role {
			t.Errorf("member %s role %q, want %q (members %v)", who, members[who], role, members)
		}
	}
	if _, ok := members["ok-1"]; ok {
		t.Error("an unrelated customer joined the ring")
	}
	if len(ra.Proposals) == 0 {
		t.Fatal("no proposals")
	}
	for _, p := range ra.Proposals {
		if !p.ReviewRequired {
			t.Errorf("proposal %+v does not require review", p)
		}
	}

	// Unmasked with a reason: the account shows, and the query is audited.
	w = post("/v1/graph/rings", lead, strings.TrimSuffix(seed, "}")+`,"unmask":true,"reason":"case 42 review"}`)
	wantStatus(t, w, 200)
	if !strings.Contains(w.Body.String(), "6222020200112233445") {
		t.Error("unmasked ring answer hides the account")
	}
	if got := rec.find(audit.ActionUnmask, ""); len(got) != 1 || got[0].Target != "graph:rings" {
		t.Errorf("audit %+v, want one graph:rings unmask", got)
	}

	// Score ranks the farm and other victims above the unrelated customer.
	w = post("/v1/graph/score", analyst, `{"seeds":[{"kind":"customer","value":"v-1"}],"limit":50}`)
	wantStatus(t, w, 200)
	sc := decode[struct {
		Entities []graph.Scored `json:"entities"`
	}](t, w)
	score := map[string]float64{}
	for _, e := range sc.Entities {
		score[e.Entity.Value] = e.Score
	}
	if score["v-2"] <= score["ok-1"] {
		t.Errorf("score v-2 %v <= unrelated %v", score["v-2"], score["ok-1"])
	}

	// Mining finds the farm device without any seed.
	w = post("/v1/graph/mine", analyst, `{"min_shared":2,"min_fan_in":3}`)
	wantStatus(t, w, 200)
	mn := decode[struct {
		Candidates []graph.Candidate `json:"candidates"`
		Rings      []graph.Ring      `json:"rings"`
	}](t, w)
	if len(mn.Candidates) == 0 || len(mn.Rings) == 0 {
		t.Errorf("mining found %d candidates, %d rings; want the farm", len(mn.Candidates), len(mn.Rings))
	}

	for _, tt := range []struct{ path, body, field string }{
		{"/v1/graph/rings", `{}`, "seeds"},
		{"/v1/graph/rings", `{"seeds":[]}`, "seeds"},
		{"/v1/graph/rings", `{"seeds":[{"kind":"car","value":"x"}]}`, "seeds[0].kind"},
		{"/v1/graph/rings", `{"seeds":[{"kind":"customer"}]}`, "seeds[0].value"},
		{"/v1/graph/rings", `{"seeds":[{"kind":"customer","value":"v-1","role":"boss"}]}`, "seeds[0].role"},
		{"/v1/graph/rings", `{"seeds":[{"kind":"customer","value":"v-1","colour":"red"}]}`, "seeds[0].colour"},
		{"/v1/graph/rings", `{"seeds":[{"kind":"customer","value":"v-1"}],"max_hops":99}`, "max_hops"},
		{"/v1/graph/score", `{"seeds":"v-1"}`, "seeds"},
		{"/v1/graph/score", `{"seeds":[{"kind":"customer","value":"v-1"}],"limit":0}`, "limit"},
		{"/v1/graph/mine", `{"min_shared":1}`, "min_shared"},
		{"/v1/graph/mine", `{"since":"yesterday"}`, "since"},
		{"/v1/graph/mine", `{"unmask":true,"reason":"audit"}`, "unmask"},
	} {
		wantProblem(t, post(tt.path, analyst, tt.body), 400, "invalid", tt.field)
	}
	wantProblem(t, post("/v1/graph/rings", analyst, `{"seeds":[{"kind":"customer","value":"nobody"}]}`), 404, "not_found")
	wantProblem(t, post("/v1/graph/mine", f.newKey(auth.ScopeDecisionsRead), `{}`), 403, "forbidden")
}
