package http

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/auth"
)

func TestAuth(t *testing.T) {
	f := setup(t)
	writer := f.newKey(auth.ScopeEventsWrite)
	reader := f.newKey(auth.ScopeDecisionsRead)
	revoked := f.newKey(auth.ScopeEventsWrite)
	rk, _ := f.db.KeyByHash(t.Context(), auth.HashSecret(revoked))
	if err := f.db.RevokeKey(t.Context(), rk.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string // Authorization
		status int
		code   string
	}{
		{"no key", "", 401, "unauthorized"},
		{"not bearer", "Basic dXNlcjpwYXNz", 401, "unauthorized"},
		{"empty bearer", "Bearer ", 401, "unauthorized"},
		{"unknown key", "Bearer xb_nope", 401, "unauthorized"},
		{"revoked key", "Bearer " + revoked, 401, "unauthorized"},
		{"wrong scope", "Bearer " + reader, 403, "forbidden"},
		{"right scope", "Bearer " + writer, 200, ""},
		{"lower-case scheme", "bearer " + writer, 200, ""},
		{"admin implies all", "Bearer " + f.admin, 200, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(request{method: "POST", path: "/v1/events", body: event("auth-" + string(rune('a'+i))),
				header: map[string]string{"Authorization": tt.header}})
			if tt.status == 200 {
				wantStatus(t, w, 200)
				return
			}
			p := wantProblem(t, w, tt.status, tt.code)
			if tt.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
			if tt.status == 403 && !strings.Contains(p.Detail, "events:write") {
				t.Errorf("403 does not name the scope: %q", p.Detail)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	f := setup(t)
	keysAdmin := f.newKey(auth.ScopeKeysAdmin)
	do := func(method, path, body string) *httptest.ResponseRecorder {
		return f.do(request{method: method, path: path, key: keysAdmin, body: body})
	}
	w := do("POST", "/v1/keys", `{"name":"core banking","scopes":["events:write","decisions:read"]}`)
	wantStatus(t, w, 201)
	created := decode[struct {
		ID, Name, Prefix, Secret string
		Scopes                   []string
	}](t, w)
	if created.ID == "" || created.Secret == "" || !strings.HasPrefix(created.Secret, created.Prefix) ||
		!slices.Equal(created.Scopes, []string{"decisions:read", "events:write"}) {
		t.Errorf("created = %+v", created)
	}
	// The new key works for its scopes only.
	wantStatus(t, f.do(request{method: "POST", path: "/v1/events", key: created.Secret, body: event("k-1")}), 200)
	wantProblem(t, f.do(request{method: "GET", path: "/v1/keys", key: created.Secret}), 403, "forbidden")

	// Listing never shows secrets or hashes.
	w = do("GET", "/v1/keys", "")
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), created.Secret) || strings.Contains(w.Body.String(), auth.HashSecret(created.Secret)) ||
		strings.Contains(w.Body.String(), `"secret"`) {
		t.Errorf("key list leaks a secret: %s", w.Body.String())
	}
	list := decode[struct{ Keys []auth.Key }](t, w)
	if len(list.Keys) != 3 { // admin, keys:admin, the new one
		t.Errorf("%d keys listed, want 3", len(list.Keys))
	}

	// Bad requests.
	wantProblem(t, do("POST", "/v1/keys", `{"name":"x","scopes":["events:write","root",7]}`), 400, "invalid", "scopes[1]", "scopes[2]")
	wantProblem(t, do("POST", "/v1/keys", `{"scopes":[]}`), 400, "invalid", "name", "scopes")

	// Revoking takes effect at once, though the key is cached.
	wantStatus(t, do("DELETE", "/v1/keys/"+created.ID, ""), 204)
	wantProblem(t, f.do(request{method: "POST", path: "/v1/events", key: created.Secret, body: event("k-2")}), 401, "unauthorized")
	wantProblem(t, do("DELETE", "/v1/keys/key_nope", ""), 404, "not_found")
}

func TestKeyCacheTTL(t *testing.T) {
	f := setup(t, func(c *Config) { c.KeyCacheTTL = 5 * time.Second })
	var mu sync.Mutex
	now := time.Now()
	f.srv.keys.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	secret := f.newKey(auth.ScopeEventsWrite)
	wantStatus(t, f.do(request{method: "POST", path: "/v1/events", key: secret, body: event("ttl-1")}), 200)
	// Revoked behind the server's back (by another instance): still cached...
	k, _ := f.db.KeyByHash(t.Context(), auth.HashSecret(secret))
	_ = f.db.RevokeKey(t.Context(), k.ID, time.Now())
	advance(4 * time.Second)
	wantStatus(t, f.do(request{method: "POST", path: "/v1/events", key: secret, body: event("ttl-2")}), 200)
	// ...until the TTL has passed.
	advance(2 * time.Second)
	wantProblem(t, f.do(request{method: "POST", path: "/v1/events", key: secret, body: event("ttl-3")}), 401, "unauthorized")
}

func TestOps(t *testing.T) {
	f := setup(t)
	w := f.do(request{method: "GET", path: "/healthz"})
	wantStatus(t, w, 200)
	w = f.do(request{method: "GET", path: "/readyz"})
	wantStatus(t, w, 200)
	w = f.do(request{method: "GET", path: "/openapi.json"})
	wantStatus(t, w, 200)
	if decode[map[string]any](t, w)["openapi"] != "3.1.0" {
		t.Errorf("openapi.json is not OpenAPI 3.1")
	}
	w = f.do(request{method: "GET", path: "/problems/invalid"})
	wantStatus(t, w, 200)
	pt := decode[struct {
		Status      int
		Description struct{ ZH, EN string }
	}](t, w)
	if pt.Status != 400 || pt.Description.ZH == "" || pt.Description.EN == "" {
		t.Errorf("problem type = %+v", pt)
	}
	for _, p := range problemTypes {
		wantStatus(t, f.do(request{method: "GET", path: "/problems/" + p.Code}), 200)
	}
	wantProblem(t, f.do(request{method: "GET", path: "/problems/nope"}), 404, "not_found")

	// Unknown routes and wrong methods are problems too.
	wantProblem(t, f.do(request{method: "GET", path: "/v2/anything", key: f.admin}), 404, "not_found")
	w = f.do(request{method: "DELETE", path: "/v1/events", key: f.admin})
	wantProblem(t, w, 405, "method_not_allowed")
	if w.Header().Get("Allow") != "POST" {
		t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
	}
	w = f.do(request{method: "POST", path: "/v1/keys/key_1", key: f.admin})
	wantProblem(t, w, 405, "method_not_allowed")
	if w.Header().Get("Allow") != "DELETE" {
		t.Errorf("Allow = %q, want DELETE", w.Header().Get("Allow"))
	}

	// Metrics: every metric is exposed once something happened.
	wantStatus(t, f.post("/v1/events", event("m-1", `amount="20000.00"`)), 200)
	m := f.metrics()
	for _, name := range []string{
		"xiaobao_decisions_total", "xiaobao_decision_duration_seconds", "xiaobao_rule_fires_total",
		"xiaobao_commit_batch_records", "xiaobao_commit_duration_seconds", "xiaobao_commit_errors_total",
		"xiaobao_commit_queue_depth", "xiaobao_http_requests_total", "xiaobao_http_request_duration_seconds",
		"xiaobao_http_inflight", "xiaobao_shed_total", "xiaobao_errors_total",
	} {
		if !strings.Contains(m, "\n"+name) && !strings.HasPrefix(m, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	if v := metricValue(m, `xiaobao_http_requests_total{code="200",route="POST /v1/events"}`); v != 1 {
		t.Errorf("POST /v1/events 200 counted %v", v)
	}
	if v := metricValue(m, `xiaobao_http_requests_total{code="405",route="unmatched"}`); v != 2 {
		t.Errorf("405 counted %v", v)
	}
	if v := metricValue(m, `xiaobao_errors_total{code="not_found"}`); v < 2 {
		t.Errorf("not_found errors counted %v", v)
	}

	// Not ready once the service stops taking events.
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, f.do(request{method: "GET", path: "/readyz"}), 503, "unavailable")
	wantProblem(t, f.post("/v1/events", event("m-2")), 503, "unavailable")
	wantStatus(t, f.do(request{method: "GET", path: "/healthz"}), 200)
}

// TestOpenAPICoversRoutes checks the document against the route table:
// every route is documented and every documented operation is served.
func TestOpenAPICoversRoutes(t *testing.T) {
	f := setup(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string `json:"security"`
			XScope    string                `json:"x-scope"`
			Responses map[string]any        `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	served := map[string]route{}
	for _, rt := range f.srv.routes() {
		served[strings.ToLower(rt.Method)+" "+rt.Path] = rt
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := method + " " + path
			documented[key] = true
			rt, ok := served[key]
			if !ok {
				t.Errorf("openapi.json documents %s, which no route serves", key)
				continue
			}
			if op.XScope != rt.Scope {
				t.Errorf("%s: documented scope %q, route needs %q", key, op.XScope, rt.Scope)
			}
			if (rt.Scope == "") != (len(op.Security) == 0) {
				t.Errorf("%s: security %v does not match scope %q", key, op.Security, rt.Scope)
			}
			if rt.Scope != "" && (op.Responses["401"] == nil || op.Responses["403"] == nil) {
				t.Errorf("%s: 401/403 not documented", key)
			}
		}
	}
	for key := range served {
		if !documented[key] {
			t.Errorf("route %s is missing from openapi.json", key)
		}
	}
	// Every problem code is in the Problem schema's enum.
	raw, _ := os.ReadFile("openapi.json")
	for _, p := range problemTypes {
		if !strings.Contains(string(raw), `"`+p.Code+`"`) {
			t.Errorf("problem code %s not in openapi.json", p.Code)
		}
	}
}

// TestLogsHaveNoPII sends PII in every field and the memo, reads the
// decision back and fails on any raw PII in the logs.
func TestLogsHaveNoPII(t *testing.T) {
	f := setup(t)
	w := f.post("/v1/events", piiEvent("evt-log"))
	wantStatus(t, w, 200)
	id := decode[decisionJSON](t, w).DecisionID
	wantStatus(t, f.get("/v1/decisions/"+id), 200)
	wantStatus(t, f.get("/v1/decisions?customer_id=cust-pii&account="+rawAccount), 200)
	wantProblem(t, f.post("/v1/events", piiEvent("evt-log-bad")+"x"), 400, "invalid")
	wantStatus(t, f.do(request{method: "PUT", path: "/v1/lists/block/id_number/" + rawID, key: f.admin}), 200)
	wantStatus(t, f.do(request{method: "PUT", path: "/v1/lists/block/phone/" + rawPhone, key: f.admin}), 200)

	logs := f.logs.String()
	for _, raw := range []string{rawPhone, rawPhone2, rawID, rawAccount, rawName, rawIP, f.admin} {
		if strings.Contains(logs, raw) {
			t.Errorf("logs contain %q:\n%s", raw, logs)
		}
	}
	// The request lines are structured and complete.
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] != "http request" {
			continue
		}
		n++
		for _, k := range []string{"method", "route", "status", "duration_ms", "key_id"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line lacks %s: %s", k, line)
			}
		}
		if r, _ := rec["route"].(string); strings.Contains(r, "cust-pii") || strings.Contains(r, "dec_") {
			t.Errorf("route holds request values: %s", line)
		}
	}
	if n != 6 {
		t.Errorf("%d request log lines, want 6", n)
	}
}

func TestPanicIsProblem(t *testing.T) {
	f := setup(t)
	h := f.srv.wrap(route{Method: "GET", Path: "/boom", handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		panic("boom")
	}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newRequest("GET", "/boom", nil, ""))
	wantProblem(t, w, 500, "internal")
	if strings.Contains(w.Body.String(), "boom") {
		t.Errorf("panic value leaked: %s", w.Body.String())
	}
}

// TestOpenAPIRefsResolve checks that every $ref in the document points at
// a component it defines.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	comps, _ := doc["components"].(map[string]any)
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					kind, _ := comps[parts[0]].(map[string]any)
					if len(parts) != 2 || kind == nil || kind[parts[1]] == nil {
						t.Errorf("%s: $ref %s does not resolve", at, ref)
					}
					continue
				}
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "")
}
