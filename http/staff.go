package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/pii"
	"github.com/xiaobao-org/xiaobao/staff"
)

// AuditLog is where the server records who unmasked personal data, changed
// rules, lists, keys or roles, and who signed in (audit.Log).
type AuditLog interface {
	Append(ctx context.Context, e audit.Entry) (audit.Record, error)
}

var errNoStaff = xiaobao.Errorf(xiaobao.ENOTFOUND, "staff sign-in is not enabled on this server")

// DefaultSessionTTL is how long a staff session lasts: one working shift.
const DefaultSessionTTL = 10 * time.Hour

// principals resolves bearer tokens for the key cache: API keys first, then
// staff sessions, which become a principal with the scopes of the user's
// roles. An expired session or a disabled user resolves to a revoked
// principal, which authenticate answers with 401.
type principals struct {
	keys  auth.KeyStore
	staff staff.Store
	now   func() time.Time
}

func (p principals) KeyByHash(ctx context.Context, hash string) (*auth.Key, error) {
	k, err := p.keys.KeyByHash(ctx, hash)
	if p.staff == nil || xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		return k, err
	}
	sess, err := p.staff.SessionByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	u, err := p.staff.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	k = u.Principal(sess.ExpiresAt)
	k.Hash = hash
	if !p.now().Before(sess.ExpiresAt) && k.RevokedAt == nil {
		exp := sess.ExpiresAt
		k.RevokedAt = &exp
	}
	return k, nil
}

// The rest of auth.KeyStore is the API keys'.
func (p principals) CreateKey(ctx context.Context, k *auth.Key) error {
	return p.keys.CreateKey(ctx, k)
}
func (p principals) Keys(ctx context.Context) ([]*auth.Key, error) { return p.keys.Keys(ctx) }
func (p principals) RevokeKey(ctx context.Context, id string, t time.Time) error {
	return p.keys.RevokeKey(ctx, id, t)
}

// actorOf names a caller in the audit log.
func actorOf(k *auth.Key) string {
	if k == nil {
		return "anonymous"
	}
	if id, ok := strings.CutPrefix(k.ID, "staff:"); ok {
		return audit.ActorUser(id)
	}
	return audit.ActorKey(k.ID)
}

// audit records e (Time and Actor filled in) and reports whether it could.
// Callers that must not act unaudited (unmasking) check the error; the
// others log it, since the change itself already happened.
func (s *server) audit(r *http.Request, k *auth.Key, e audit.Entry) error {
	if s.cfg.Audit == nil {
		return xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the audit log is not configured")
	}
	e.Time = s.clock.Now().UTC()
	if e.Actor == "" {
		e.Actor = actorOf(k)
	}
	// Reasons are typed by people: mask what they should not have typed.
	e.Reason, _ = pii.Redact(e.Reason)
	if _, err := s.cfg.Audit.Append(r.Context(), e); err != nil {
		s.log.ErrorContext(r.Context(), "audit append failed", "action", e.Action, "err", err.Error())
		return xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the audit log cannot be written; try again")
	}
	return nil
}

// auditChange records a change that has been made; a failure to record it
// is logged, not returned.
func (s *server) auditChange(r *http.Request, k *auth.Key, action, target string, details any) {
	if s.cfg.Audit == nil {
		return
	}
	var dj json.RawMessage
	if details != nil {
		dj, _ = json.Marshal(details)
	}
	_ = s.audit(r, k, audit.Entry{Action: action, Target: target, Result: audit.ResultOK, Details: dj})
}

type userJSON struct {
	*staff.User
	Scopes []string `json:"scopes"`
}

func toUserJSON(u *staff.User) userJSON { return userJSON{User: u, Scopes: staff.ScopesOf(u.Roles)} }

// handleLogin signs a staff user in. Failures say only that the username
// or password is wrong, never which, and count towards the throttle.
func handleLogin(s *server) handler {
	type response struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		User      userJSON  `json:"user"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Staff == nil {
			s.error(w, r, errNoStaff)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		username := obj.str("username", true, 64)
		password := obj.str("password", true, 256)
		if err := obj.err("the sign-in is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		now := s.clock.Now().UTC().Truncate(time.Microsecond)
		if locked, until := s.throttle.Locked(username, now); locked {
			w.Header().Set("Retry-After", fmt.Sprint(int(until.Sub(now).Seconds())+1))
			s.auditChange(r, nil, audit.ActionLogin, "user:"+username, map[string]string{"result": "throttled"})
			s.error(w, r, xiaobao.Errorf(xiaobao.EOVERLOADED, "too many failed sign-ins for this user; try again after %s", until.Format(time.RFC3339)))
			return
		}
		u, err := s.cfg.Staff.UserByName(r.Context(), username)
		if err != nil && xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			s.error(w, r, err)
			return
		}
		// Verify against a dummy hash for unknown users too, so timing does
		// not tell which usernames exist.
		hash := dummyHash()
		if u != nil {
			hash = u.PasswordHash
		}
		ok := staff.VerifyPassword(hash, password) && u != nil && !u.Disabled
		if !ok {
			s.throttle.Failed(username, now)
			_ = s.audit(r, nil, audit.Entry{Actor: "user:" + username, Action: audit.ActionLogin, Target: "user:" + username, Result: audit.ResultDenied})
			s.error(w, r, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "the username or password is wrong, or the user is disabled"))
			return
		}
		s.throttle.Succeeded(username)
		token, th := staff.NewSessionToken()
		sess := &staff.Session{Hash: th, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
		if err := s.cfg.Staff.CreateSession(r.Context(), sess); err != nil {
			s.error(w, r, err)
			return
		}
		u.LastLoginAt = &now
		if err := s.cfg.Staff.UpdateUser(r.Context(), u); err != nil {
			s.log.WarnContext(r.Context(), "record last sign-in", "err", err.Error())
		}
		_ = s.audit(r, nil, audit.Entry{Actor: audit.ActorUser(u.ID), Action: audit.ActionLogin, Target: "user:" + u.Username, Result: audit.ResultOK})
		w.Header()["Cache-Control"] = hdrNoStore
		writeJSON(w, http.StatusCreated, "application/json", response{Token: token, ExpiresAt: sess.ExpiresAt, User: toUserJSON(u)})
	}
}

// dummyHash is a valid hash of a random password at the current cost.
var dummyHash = sync.OnceValue(func() string {
	tok, _ := staff.NewSessionToken()
	h, _ := staff.HashPassword(tok)
	return h
})

// handleLogout ends the caller's session. Ending a session that is already
// gone succeeds too: a retried logout must not fail.
func handleLogout(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		tok, ok := bearer(r.Header.Get("Authorization"))
		if !ok || !strings.HasPrefix(tok, staff.SessionTokenPrefix) || s.cfg.Staff == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "send the session token as Authorization: Bearer <token>"))
			return
		}
		h := auth.HashSecret(tok)
		if sess, err := s.cfg.Staff.SessionByHash(r.Context(), h); err == nil {
			s.keys.invalidate("staff:" + sess.UserID)
		}
		if err := s.cfg.Staff.DeleteSession(r.Context(), h); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleMe says who the caller is and what they may do.
func handleMe(s *server) handler {
	type response struct {
		Kind   string    `json:"kind"` // "staff" or "api_key"
		User   *userJSON `json:"user,omitempty"`
		KeyID  string    `json:"key_id,omitempty"`
		Scopes []string  `json:"scopes"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		tok, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			s.error(w, r, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "an API key or session token is required"))
			return
		}
		k, err := s.keys.lookup(r.Context(), tok)
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND || err == nil && k.RevokedAt != nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "the token is not valid"))
			return
		} else if err != nil {
			s.error(w, r, err)
			return
		}
		if id, isStaff := strings.CutPrefix(k.ID, "staff:"); isStaff {
			u, err := s.cfg.Staff.UserByID(r.Context(), id)
			if err != nil {
				s.error(w, r, err)
				return
			}
			uj := toUserJSON(u)
			writeJSON(w, http.StatusOK, "application/json", response{Kind: "staff", User: &uj, Scopes: uj.Scopes})
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{Kind: "api_key", KeyID: k.ID, Scopes: k.Scopes})
	}
}

// handleCreateUser creates a staff user.
func handleCreateUser(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Staff == nil {
			s.error(w, r, errNoStaff)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		u := &staff.User{
			Username:    obj.str("username", true, 64),
			DisplayName: obj.str("display_name", false, 400),
		}
		for _, ro := range obj.strings("roles", true) {
			u.Roles = append(u.Roles, staff.Role(ro))
		}
		password := obj.str("password", true, 256)
		if obj.raw("password") != nil {
			if why := staff.CheckPassword(password); why != "" {
				obj.bad("password", why)
			}
		}
		if obj.raw("username") != nil && obj.raw("roles") != nil {
			for _, fe := range staff.ValidateUser(u, "") {
				obj.bad(fe.Field, fe.Reason)
			}
		}
		if err := obj.err("the user is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		if u.PasswordHash, err = staff.HashPassword(password); err != nil {
			s.error(w, r, err)
			return
		}
		now := s.clock.Now().UTC().Truncate(time.Microsecond)
		u.ID, u.CreatedAt, u.UpdatedAt = staff.NewUserID(), now, now
		if err := s.cfg.Staff.CreateUser(r.Context(), u); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, audit.ActionRoleChange, "user:"+u.Username, map[string]any{"created": true, "roles": u.Roles})
		w.Header().Set("Location", "/v1/staff/users/"+u.Username)
		writeJSON(w, http.StatusCreated, "application/json", toUserJSON(u))
	}
}

// handleListUsers lists staff users.
func handleListUsers(s *server) handler {
	type response struct {
		Users []userJSON `json:"users"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Staff == nil {
			s.error(w, r, errNoStaff)
			return
		}
		us, err := s.cfg.Staff.Users(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := response{Users: make([]userJSON, len(us))}
		for i, u := range us {
			out.Users[i] = toUserJSON(u)
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// handleUpdateUser changes a user's roles, display name, password or
// disabled flag. Changing roles, the password or disabling ends the user's
// sessions, so the change takes effect at once.
func handleUpdateUser(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Staff == nil {
			s.error(w, r, errNoStaff)
			return
		}
		u, err := s.cfg.Staff.UserByName(r.Context(), r.PathValue("username"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		before := append([]staff.Role(nil), u.Roles...)
		endSessions := false
		if obj.raw("display_name") != nil {
			u.DisplayName = obj.str("display_name", false, 400)
		}
		if obj.raw("roles") != nil {
			u.Roles = u.Roles[:0]
			for _, ro := range obj.strings("roles", true) {
				u.Roles = append(u.Roles, staff.Role(ro))
			}
			endSessions = true
		}
		if obj.raw("disabled") != nil {
			u.Disabled = obj.boolean("disabled")
			endSessions = endSessions || u.Disabled
		}
		if obj.raw("password") != nil {
			p := obj.str("password", true, 256)
			if why := staff.CheckPassword(p); why != "" {
				obj.bad("password", why)
			} else if u.PasswordHash, err = staff.HashPassword(p); err != nil {
				s.error(w, r, err)
				return
			}
			endSessions = true
		}
		for _, fe := range staff.ValidateUser(u, "") {
			obj.bad(fe.Field, fe.Reason)
		}
		if err := obj.err("the change is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		if k != nil && k.ID == "staff:"+u.ID && containsRole(before, staff.Admin) && (u.Disabled || !containsRole(u.Roles, staff.Admin)) {
			// An administrator cannot lock themselves out: another admin must.
			s.error(w, r, xiaobao.Errorf(xiaobao.ECONFLICT, "you cannot remove your own admin role or disable yourself"))
			return
		}
		u.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		if err := s.cfg.Staff.UpdateUser(r.Context(), u); err != nil {
			s.error(w, r, err)
			return
		}
		if endSessions {
			if _, err := s.cfg.Staff.DeleteUserSessions(r.Context(), u.ID); err != nil {
				s.error(w, r, err)
				return
			}
		}
		s.keys.invalidate("staff:" + u.ID)
		s.auditChange(r, k, audit.ActionRoleChange, "user:"+u.Username,
			map[string]any{"roles_before": before, "roles": u.Roles, "disabled": u.Disabled, "password_changed": obj.raw("password") != nil})
		writeJSON(w, http.StatusOK, "application/json", toUserJSON(u))
	}
}

func containsRole(rs []staff.Role, r staff.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// handleUnmask returns a decision with its event unmasked, for a caller
// with pii:unmask who states why. The reason and the access go to the
// audit log first: if it cannot be written, nothing is shown.
func handleUnmask(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		reason := strings.TrimSpace(obj.str("reason", true, 1000))
		if obj.raw("reason") != nil && len([]rune(reason)) < 4 {
			obj.bad("reason", "must say why, in at least 4 characters")
		}
		if err := obj.err("the unmask request is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		rec, err := s.guard.Decision(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		target := "decision:" + rec.Decision.ID
		dj, _ := json.Marshal(map[string]string{"customer_id": rec.Decision.CustomerID, "event_id": rec.Decision.EventID})
		if err := s.audit(r, k, audit.Entry{Action: audit.ActionUnmask, Target: target, Reason: reason, Result: audit.ResultOK, Details: dj}); err != nil {
			s.error(w, r, err)
			return
		}
		b := appendDecision(make([]byte, 0, 4096), rec.Decision)
		ev := json.RawMessage(rec.Event.Raw)
		if !json.Valid(ev) {
			ev = json.RawMessage("null")
		}
		if n := len(b); n > 1 && b[n-1] == '}' {
			b = append(b[:n-1], `,"event":`...)
			b = append(b, ev...)
			b = append(b, '}')
		}
		b = append(b, '\n')
		w.Header()["Cache-Control"] = hdrNoStore
		writeBody(w, http.StatusOK, "application/json", b)
	}
}
