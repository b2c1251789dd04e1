package http

import (
	"strings"
	"testing"
	"time"

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
	f := setup(t, func(c *Config) { c.Graph = g })
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
	// With pii:unmask the values are shown.
	w = f.do(request{method: "GET", path: path, key: caller})
	wantStatus(t, w, 200)
	if !strings.Contains(w.Body.String(), "6222020200112233445") {
		t.Error("unmasking caller does not see the account")
	}
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
