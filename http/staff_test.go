package http

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/staff"
)

// auditRecorder keeps what the server audits; down makes Append fail.
type auditRecorder struct {
	mu      sync.Mutex
	entries []audit.Entry
	down    bool
}

func (a *auditRecorder) Append(_ context.Context, e audit.Entry) (audit.Record, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		return audit.Record{}, errors.New("disk full")
	}
	a.entries = append(a.entries, e)
	return audit.Record{Seq: int64(len(a.entries))}, nil
}

func (a *auditRecorder) find(action, result string) []audit.Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []audit.Entry
	for _, e := range a.entries {
		if e.Action == action && (result == "" || e.Result == result) {
			out = append(out, e)
		}
	}
	return out
}

func TestStaff(t *testing.T) {
	old := staff.Iterations
	staff.Iterations = 1000
	t.Cleanup(func() { staff.Iterations = old })
	rec := &auditRecorder{}
	clock := xiaobao.NewManualClock(time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC))
	f := setup(t, func(c *Config) {
		c.Audit, c.Clock, c.KeyCacheTTL = rec, clock, time.Nanosecond
		c.Staff = c.Keys.(staff.Store) // the same SQLite database
	})
	admin := f.admin

	create := func(username, role string) {
		t.Helper()
		w := f.do(request{method: "POST", path: "/v1/staff/users", key: admin,
			body: `{"username":"` + username + `","display_name":"测试","password":"a long enough pass","roles":["` + role + `"]}`})
		wantStatus(t, w, 201)
	}
	create("li.na", "caller")
	create("wang.wei", "analyst")
	create("boss", "admin")
	login := func(username, password string) (string, int) {
		w := f.do(request{method: "POST", path: "/v1/staff/login", body: `{"username":"` + username + `","password":"` + password + `"}`})
		if w.Code != 201 {
			return "", w.Code
		}
		return decode[struct{ Token string }](t, w).Token, w.Code
	}

	// An event to look at.
	w := f.post("/v1/events", piiEvent("evt-staff"))
	wantStatus(t, w, 200)
	decID := decode[decisionJSON](t, w).DecisionID

	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct{ body, field string }{
			{`{"username":"Li Na","password":"a long enough pass","roles":["caller"]}`, "username"},
			{`{"username":"zhao","password":"short","roles":["caller"]}`, "password"},
			{`{"username":"zhao","password":"a long enough pass","roles":["root"]}`, "roles[0]"},
			{`{"username":"zhao","password":"a long enough pass"}`, "roles"},
		} {
			wantProblem(t, f.do(request{method: "POST", path: "/v1/staff/users", key: admin, body: tt.body}), 400, "invalid", tt.field)
		}
		wantProblem(t, f.do(request{method: "POST", path: "/v1/staff/users", key: admin,
			body: `{"username":"li.na","password":"a long enough pass","roles":["agent"]}`}), 409, "conflict")
	})

	caller, code := login("li.na", "a long enough pass")
	if code != 201 || !strings.HasPrefix(caller, "xs_") {
		t.Fatalf("login: %d %q", code, caller)
	}
	analyst, _ := login("wang.wei", "a long enough pass")
	boss, _ := login("boss", "a long enough pass")
	if n := len(rec.find(audit.ActionLogin, audit.ResultOK)); n != 3 {
		t.Errorf("%d sign-ins audited, want 3", n)
	}

	t.Run("me", func(t *testing.T) {
		w := f.do(request{method: "GET", path: "/v1/staff/me", key: caller})
		wantStatus(t, w, 200)
		me := decode[struct {
			Kind   string
			Scopes []string
			User   struct{ Username string }
		}](t, w)
		if me.Kind != "staff" || me.User.Username != "li.na" || !strings.Contains(strings.Join(me.Scopes, ","), "pii:unmask") {
			t.Errorf("me = %+v", me)
		}
	})

	t.Run("least privilege", func(t *testing.T) {
		wantStatus(t, f.do(request{method: "GET", path: "/v1/decisions/" + decID, key: caller}), 200)
		wantProblem(t, f.do(request{method: "PUT", path: "/v1/lists/block/phone/13912345678", key: caller}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "POST", path: "/v1/decisions/" + decID + "/unmask", key: analyst, body: `{"reason":"curious"}`}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "POST", path: "/v1/decisions/" + decID + "/unmask", key: boss, body: `{"reason":"admin wants to see"}`}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "POST", path: "/v1/events", key: boss, body: event("by-boss")}), 403, "forbidden")
		wantProblem(t, f.do(request{method: "GET", path: "/v1/staff/users", key: analyst}), 403, "forbidden")
		wantStatus(t, f.do(request{method: "GET", path: "/v1/staff/users", key: boss}), 200)
	})

	t.Run("unmask", func(t *testing.T) {
		// The ordinary read is masked.
		masked := f.do(request{method: "GET", path: "/v1/decisions/" + decID, key: caller}).Body.String()
		if strings.Contains(masked, rawPhone) || strings.Contains(masked, rawName) {
			t.Fatalf("GET shows PII: %s", masked)
		}
		wantProblem(t, f.do(request{method: "POST", path: "/v1/decisions/" + decID + "/unmask", key: caller, body: `{}`}), 400, "invalid", "reason")
		wantProblem(t, f.do(request{method: "POST", path: "/v1/decisions/" + decID + "/unmask", key: caller, body: `{"reason":"看"}`}), 400, "invalid", "reason")
		w := f.do(request{method: "POST", path: "/v1/decisions/" + decID + "/unmask", key: caller, body: `{"reason":"劝阻外呼 case 17, 客户电话 13812345678"}`})
		wantStatus(t, w, 200)
		if body := w.Body.String(); !strings.Contains(body, rawPhone) || !strings.Contains(body, rawName) {
			t.Errorf("unmasked answer lacks the raw values: %s", body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
		}
		es := rec.find(audit.ActionUnmask, "")
		if len(es) != 1 || es[0].Target != "decision:"+decID || !strings.HasPrefix(es[0].Actor, "user:usr_") ||
			!strings.Contains(es[0].Reason, "case 17") || strings.Contains(es[0].Reason, "13812345678") {
			t.Errorf("unmask audit = %+v", es)
		}
		// No audit, no data.
		rec.mu.Lock()
		rec.down = true
		rec.mu.Unlock()
		w = f.do(request{method: "POST", path: "/v1/decisions/" + decID + "/unmask", key: caller, body: `{"reason":"case 18 callback"}`})
		wantProblem(t, w, 503, "unavailable")
		if strings.Contains(w.Body.String(), rawPhone) {
			t.Error("data shown although the audit failed")
		}
		rec.mu.Lock()
		rec.down = false
		rec.mu.Unlock()
	})

	t.Run("changes are audited", func(t *testing.T) {
		wantStatus(t, f.do(request{method: "PUT", path: "/v1/lists/block/phone/13912345678", key: analyst, body: `{"reason":"reported mule"}`}), 200)
		es := rec.find(audit.ActionListChange, "")
		if len(es) == 0 || es[len(es)-1].Target != "list:block/phone/139****5678" || !strings.HasPrefix(es[len(es)-1].Actor, "user:") {
			t.Errorf("list change audit = %+v", es)
		}
		if n := len(rec.find(audit.ActionRoleChange, "")); n < 3 {
			t.Errorf("%d role changes audited, want the 3 users created", n)
		}
	})

	t.Run("throttle", func(t *testing.T) {
		for range 5 {
			if _, code := login("wang.wei", "wrong password!!"); code != 401 {
				t.Fatalf("wrong password: %d", code)
			}
		}
		if _, code := login("wang.wei", "a long enough pass"); code != 429 {
			t.Errorf("6th attempt with the right password: %d, want 429", code)
		}
		if _, code := login("nobody", "whatever password"); code != 401 {
			t.Errorf("unknown user: %d", code)
		}
		if n := len(rec.find(audit.ActionLogin, audit.ResultDenied)); n < 6 {
			t.Errorf("%d failed sign-ins audited", n)
		}
		clock.Advance(16 * time.Minute)
		if _, code := login("wang.wei", "a long enough pass"); code != 201 {
			t.Errorf("after the lock: %d", code)
		}
	})

	t.Run("disable and logout end sessions at once", func(t *testing.T) {
		wantProblem(t, f.do(request{method: "PATCH", path: "/v1/staff/users/boss", key: boss, body: `{"disabled":true}`}), 409, "conflict")
		w := f.do(request{method: "PATCH", path: "/v1/staff/users/li.na", key: boss, body: `{"disabled":true}`})
		wantStatus(t, w, 200)
		wantProblem(t, f.do(request{method: "GET", path: "/v1/decisions/" + decID, key: caller}), 401, "unauthorized")
		if _, code := login("li.na", "a long enough pass"); code != 401 {
			t.Errorf("disabled user signs in: %d", code)
		}
		tok, _ := login("wang.wei", "a long enough pass")
		wantStatus(t, f.do(request{method: "POST", path: "/v1/staff/logout", key: tok}), 204)
		wantStatus(t, f.do(request{method: "POST", path: "/v1/staff/logout", key: tok}), 204)
		wantProblem(t, f.do(request{method: "GET", path: "/v1/decisions/" + decID, key: tok}), 401, "unauthorized")
	})

	t.Run("sessions expire", func(t *testing.T) {
		tok, _ := login("wang.wei", "a long enough pass")
		wantStatus(t, f.do(request{method: "GET", path: "/v1/decisions/" + decID, key: tok}), 200)
		clock.Advance(DefaultSessionTTL + time.Second)
		wantProblem(t, f.do(request{method: "GET", path: "/v1/decisions/" + decID, key: tok}), 401, "unauthorized")
	})
}
