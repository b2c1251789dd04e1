package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/pii"
)

// Audit actions of the case desk.
const (
	actionCaseCall   = "case.call"
	actionCaseAssign = "case.assign"
	actionCaseAgent  = "case.agent"
)

var errNoCases = xiaobao.Errorf(xiaobao.ENOTFOUND, "dissuasion cases are not enabled on this server")

// maxCaseRecords bounds the Guard decisions shown with one case: a case
// joined by more payments than this is being scripted.
const maxCaseRecords = 50

// caseActor is who a caller is to the case desk: staff act under their
// username, API keys (a telephony integration, say) act but own nothing.
func caseActor(k *auth.Key) cases.Actor {
	a := cases.Actor{ID: actorOf(k)}
	if k == nil {
		return a
	}
	a.Supervisor = k.Allows(auth.ScopeCasesSupervise)
	if strings.HasPrefix(k.ID, "staff:") {
		a.Username = k.Name
	}
	return a
}

// caseDecisionJSON is a payment of a case, its amount a decimal string.
type caseDecisionJSON struct {
	cases.Decision
	Amount string `json:"amount"`
}

// caseJSON is a case as the API shows it: money as decimal strings.
type caseJSON struct {
	*cases.Case
	AmountAtRisk string             `json:"amount_at_risk"`
	AmountSaved  string             `json:"amount_saved"`
	AmountLost   string             `json:"amount_lost"`
	Overdue      bool               `json:"overdue"`
	NextDeadline *time.Time         `json:"next_deadline,omitempty"`
	Decisions    []caseDecisionJSON `json:"decisions"`
	// Script and Records come with one case, not in lists.
	Script  *cases.Script     `json:"script,omitempty"`
	Records []json.RawMessage `json:"records,omitempty"`
}

func (s *server) caseJSON(c *cases.Case) caseJSON {
	out := caseJSON{
		Case: c, AmountAtRisk: c.AmountAtRisk.String(), AmountSaved: c.AmountSaved.String(), AmountLost: c.AmountLost.String(),
		Overdue: c.Overdue(s.clock.Now()), Decisions: make([]caseDecisionJSON, len(c.Decisions)),
	}
	if c.Open() {
		out.NextDeadline = c.NextDeadline()
	}
	for i, d := range c.Decisions {
		out.Decisions[i] = caseDecisionJSON{Decision: d, Amount: d.Amount.String()}
	}
	return out
}

// caseIdempotencyKey returns the Idempotency-Key header or the request_id
// member; both given and different is a bad request_id.
func caseIdempotencyKey(r *http.Request, obj *object) string {
	hdr := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	body := obj.str("request_id", false, cases.MaxKey)
	if hdr != "" && body != "" && hdr != body {
		obj.bad("request_id", "differs from the Idempotency-Key header")
	}
	if len(hdr) > cases.MaxKey {
		obj.bad("Idempotency-Key", "must be at most 128 bytes")
	}
	if hdr != "" {
		return hdr
	}
	return body
}

// caseQuery checks that r's query holds only the allowed parameters, each
// at most once.
func caseQuery(r *http.Request, allowed ...string) []xiaobao.FieldError {
	q := r.URL.Query()
	var fe []xiaobao.FieldError
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			fe = append(fe, xiaobao.FieldError{Field: name, Reason: "unknown query parameter"})
		} else if len(q[name]) > 1 {
			fe = append(fe, xiaobao.FieldError{Field: name, Reason: "must be given once"})
		}
	}
	return fe
}

var caseListParams = []string{"state", "queue", "assignee", "unassigned", "customer_id", "typology", "open", "overdue", "after", "limit"}

// parseCaseFilter reads the query of GET /v1/cases, naming every bad
// parameter. after is the id of the last case of the previous page.
func parseCaseFilter(r *http.Request) (f cases.Filter, after string, err error) {
	fe := caseQuery(r, caseListParams...)
	q := r.URL.Query()
	bad := func(name, why string) { fe = append(fe, xiaobao.FieldError{Field: name, Reason: why}) }
	if v := q.Get("state"); v != "" {
		if f.State = cases.State(v); !f.State.Valid() {
			bad("state", "must be one of open, assigned, waiting, escalated, closed")
		}
	}
	text := func(name string) string {
		v := q.Get(name)
		if len(v) > 256 {
			bad(name, "must be at most 256 bytes")
		}
		return v
	}
	f.Queue, f.Assignee, f.CustomerID, f.Typology, after = text("queue"), text("assignee"), text("customer_id"), text("typology"), text("after")
	boolean := func(name string) *bool {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(name, "must be true or false")
			return nil
		}
		return &b
	}
	if b := boolean("unassigned"); b != nil {
		f.Unassigned = *b
	}
	if b := boolean("open"); b != nil {
		f.OpenOnly = *b
	}
	f.Overdue = boolean("overdue")
	f.Limit = queryInt(q, "limit", 1, 1000, f.Limit, &fe)
	if f.Limit == 0 {
		f.Limit = 50
	}
	if len(fe) > 0 {
		return f, "", xiaobao.Invalid("the query is invalid", fe...)
	}
	return f, after, nil
}

type casesPage struct {
	Cases []caseJSON `json:"cases"`
	// NextAfter, when set, is the after of the next page.
	NextAfter string `json:"next_after,omitempty"`
}

func (s *server) findCases(w http.ResponseWriter, r *http.Request, f cases.Filter, after string) {
	ctx := r.Context()
	if after != "" {
		c, err := s.cfg.Cases.Case(ctx, after)
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
			s.error(w, r, xiaobao.Invalid("the query is invalid", xiaobao.FieldError{Field: "after", Reason: "no such case"}))
			return
		} else if err != nil {
			s.error(w, r, err)
			return
		}
		f.AfterDue, f.AfterID = c.SLADueAt, c.ID
	}
	cs, err := s.cfg.Cases.Find(ctx, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := casesPage{Cases: make([]caseJSON, len(cs))}
	for i, c := range cs {
		out.Cases[i] = s.caseJSON(c)
	}
	if len(cs) == f.Limit {
		out.NextAfter = cs[len(cs)-1].ID
	}
	writeJSON(w, http.StatusOK, "application/json", out)
}

// handleListCases searches cases, most urgent (earliest SLA) first.
func handleListCases(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		f, after, err := parseCaseFilter(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.findCases(w, r, f, after)
	}
}

// handleMyCases is "my work": the signed-in staff user's open cases, most
// urgent first.
func handleMyCases(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		if fe := caseQuery(r, "after", "limit"); len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		a := caseActor(k)
		if a.Username == "" {
			s.error(w, r, xiaobao.Errorf(xiaobao.EFORBIDDEN, "only a signed-in staff user has cases of their own"))
			return
		}
		f, after, err := parseCaseFilter(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		f.Assignee, f.OpenOnly = a.Username, true
		s.findCases(w, r, f, after)
	}
}

// handleGetCase returns a case with its payments, its timeline, the call
// script for its typology and Guard's decisions with their events, PII
// masked.
func handleGetCase(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		c, err := s.cfg.Cases.Case(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := s.caseJSON(c)
		out.Script = cases.ScriptFor(c.Typology)
		out.Records = []json.RawMessage{}
		for i, d := range c.Decisions {
			if i == maxCaseRecords {
				break
			}
			rec, err := s.guard.Decision(r.Context(), d.DecisionID)
			if err != nil {
				// Erased (a deletion request) or not yet indexed: the case
				// still stands on what it recorded.
				continue
			}
			b := appendDecision(make([]byte, 0, 2048), redactDecision(rec.Decision))
			ev, err := maskEvent(rec.Event.Raw)
			if err != nil {
				ev = json.RawMessage("null")
			}
			if n := len(b); n > 1 && b[n-1] == '}' {
				b = append(b[:n-1], `,"event":`...)
				b = append(b, ev...)
				b = append(b, '}')
			}
			out.Records = append(out.Records, b)
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// caseBody reads a JSON object body.
func (s *server) caseBody(w http.ResponseWriter, r *http.Request) *object {
	obj, err := readObject(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.error(w, r, err)
		return nil
	}
	return obj
}

// handleAssignCase gives a case to a staff user ("assignee": a username)
// or takes it from its assignee ("assignee": ""). A caller may claim an
// unassigned case or hand back their own; anything else needs
// cases:supervise.
func handleAssignCase(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		obj := s.caseBody(w, r)
		if obj == nil {
			return
		}
		if obj.raw("assignee") == nil {
			obj.bad("assignee", `is required: a staff username, or "" to unassign`)
		}
		assignee := obj.str("assignee", false, 64)
		key := caseIdempotencyKey(r, obj)
		if err := obj.err("the assignment is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		if assignee != "" && s.cfg.Staff != nil {
			u, err := s.cfg.Staff.UserByName(r.Context(), assignee)
			switch {
			case xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND:
				s.error(w, r, xiaobao.Invalid("the assignment is invalid", xiaobao.FieldError{Field: "assignee", Reason: "no such staff user"}))
				return
			case err != nil:
				s.error(w, r, err)
				return
			case u.Disabled:
				s.error(w, r, xiaobao.Invalid("the assignment is invalid", xiaobao.FieldError{Field: "assignee", Reason: "the staff user is disabled"}))
				return
			}
		}
		c, changed, err := s.cfg.Cases.Assign(r.Context(), r.PathValue("id"), assignee, caseActor(k), key)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if changed {
			s.auditChange(r, k, actionCaseAssign, "case:"+c.ID, map[string]any{"assignee": assignee})
		}
		writeJSON(w, http.StatusOK, "application/json", s.caseJSON(c))
	}
}

// handleNextCase assigns the caller the most urgent open case of their
// queues.
func handleNextCase(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		c, err := s.cfg.Cases.Next(r.Context(), caseActor(k))
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionCaseAssign, "case:"+c.ID, map[string]any{"assignee": c.Assignee})
		writeJSON(w, http.StatusOK, "application/json", s.caseJSON(c))
	}
}

// handleAutoAssign gives out every unassigned open case by skill and load.
func handleAutoAssign(s *server) handler {
	type response struct {
		Assigned []cases.Assignment `json:"assigned"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		as, err := s.cfg.Cases.AutoAssign(r.Context(), caseActor(k))
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, a := range as {
			s.auditChange(r, k, actionCaseAssign, "case:"+a.CaseID, map[string]any{"assignee": a.Assignee, "auto": true})
		}
		writeJSON(w, http.StatusOK, "application/json", response{Assigned: as})
	}
}

// handleCaseNote adds a note to a case's timeline, personal data masked.
// 201 when added, 200 for a retry with the same request id.
func handleCaseNote(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		obj := s.caseBody(w, r)
		if obj == nil {
			return
		}
		note := obj.str("note", true, 4*cases.MaxNote)
		key := caseIdempotencyKey(r, obj)
		if err := obj.err("the note is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		// What staff type may hold the customer's numbers; the case does
		// not need them.
		note, _ = pii.Redact(note)
		c, changed, err := s.cfg.Cases.Note(r.Context(), r.PathValue("id"), note, caseActor(k), key)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, createdOrOK(changed), "application/json", s.caseJSON(c))
	}
}

func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// handleCaseCall records a dissuasion call and what follows: a retry, a
// release with consent, a cancellation, an escalation. 201 when recorded,
// 200 for a retry with the same request id.
func handleCaseCall(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		obj := s.caseBody(w, r)
		if obj == nil {
			return
		}
		call := cases.Call{
			Outcome: cases.CallOutcome(obj.str("outcome", true, 32)),
			Note:    obj.str("note", false, 4*cases.MaxNote),
			Consent: obj.str("consent", false, 4*cases.MaxNote),
		}
		if call.Outcome != "" && !call.Outcome.Valid() {
			obj.bad("outcome", "must be one of dissuaded, insisted, unreachable, confirmed_victim, false_alarm")
		}
		call.Key = caseIdempotencyKey(r, obj)
		if err := obj.err("the call is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		call.Note, _ = pii.Redact(call.Note)
		call.Consent, _ = pii.Redact(call.Consent)
		c, changed, err := s.cfg.Cases.RecordCall(r.Context(), r.PathValue("id"), call, caseActor(k))
		if err != nil {
			s.error(w, r, err)
			return
		}
		if changed {
			// Releasing or cancelling a customer's payment is evidence
			// the firm must keep.
			s.auditChange(r, k, actionCaseCall, "case:"+c.ID, map[string]any{"outcome": call.Outcome, "state": c.State, "resolution": c.Resolution})
		}
		writeJSON(w, createdOrOK(changed), "application/json", s.caseJSON(c))
	}
}

// queueJSON is a queue's counts, money as a decimal string.
type queueJSON struct {
	cases.QueueStat
	AtRisk string `json:"amount_at_risk"`
}

// handleCaseQueues returns every queue with its open, unassigned and
// overdue cases and the money waiting in it.
func handleCaseQueues(s *server) handler {
	type response struct {
		Queues []queueJSON `json:"queues"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		if fe := caseQuery(r); len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		qs, err := s.cfg.Cases.Queues(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := response{Queues: make([]queueJSON, len(qs))}
		for i, q := range qs {
			out.Queues[i] = queueJSON{QueueStat: q, AtRisk: q.AtRisk.String()}
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// handleCaseFigures returns what the desk achieved over [from, to):
// customers protected, money saved and lost (default: the last 30 days).
func handleCaseFigures(s *server) handler {
	type typology struct {
		cases.TypologyFigs
		AmountSaved string `json:"amount_saved"`
		AmountLost  string `json:"amount_lost"`
	}
	type response struct {
		cases.Figures
		AmountSaved string     `json:"amount_saved"`
		AmountLost  string     `json:"amount_lost"`
		ByTypology  []typology `json:"by_typology"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		fe := caseQuery(r, "from", "to")
		q := r.URL.Query()
		// By default, the last 30 days up to and including now.
		to := s.clock.Now().UTC().Truncate(time.Microsecond).Add(time.Microsecond)
		from := to.AddDate(0, 0, -30)
		tm := func(name string, def time.Time) time.Time {
			v := q.Get(name)
			if v == "" {
				return def
			}
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "must be an RFC 3339 time with an offset"})
				return def
			}
			return t.UTC()
		}
		from, to = tm("from", from), tm("to", to)
		if !from.Before(to) {
			fe = append(fe, xiaobao.FieldError{Field: "to", Reason: "must be after from"})
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		f, err := s.cfg.Cases.Figures(r.Context(), from, to)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := response{Figures: f, AmountSaved: f.AmountSaved.String(), AmountLost: f.AmountLost.String(), ByTypology: make([]typology, len(f.ByTypology))}
		for i, t := range f.ByTypology {
			out.ByTypology[i] = typology{TypologyFigs: t, AmountSaved: t.AmountSaved.String(), AmountLost: t.AmountLost.String()}
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// handleListAgents returns the agents with their skills, capacity and
// current load.
func handleListAgents(s *server) handler {
	type agent struct {
		*cases.Agent
		Load int `json:"load"`
	}
	type response struct {
		Agents []agent `json:"agents"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		as, err := s.cfg.Cases.Agents(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		load, err := s.cfg.Cases.Load(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := response{Agents: make([]agent, len(as))}
		for i, a := range as {
			out.Agents[i] = agent{Agent: a, Load: load[a.Username]}
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// handlePutAgent sets a staff user's queues and capacity. Setting the
// same again is a no-op, so the request is safe to retry.
func handlePutAgent(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Cases == nil {
			s.error(w, r, errNoCases)
			return
		}
		obj := s.caseBody(w, r)
		if obj == nil {
			return
		}
		a := &cases.Agent{Username: r.PathValue("username"), Skills: obj.strings("skills", true), Active: true}
		if obj.raw("active") != nil {
			a.Active = obj.boolean("active")
		}
		if v := obj.raw("capacity"); v == nil {
			obj.bad("capacity", "is required: how many open cases the agent holds at once")
		} else if err := json.Unmarshal(v, &a.Capacity); err != nil {
			obj.bad("capacity", "must be a whole number")
		}
		if err := obj.err("the agent is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		if s.cfg.Staff != nil {
			if _, err := s.cfg.Staff.UserByName(r.Context(), a.Username); xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
				s.error(w, r, xiaobao.Invalid("the agent is invalid", xiaobao.FieldError{Field: "username", Reason: "no such staff user"}))
				return
			} else if err != nil {
				s.error(w, r, err)
				return
			}
		}
		if err := s.cfg.Cases.PutAgent(r.Context(), a); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionCaseAgent, "staff:"+a.Username, map[string]any{"skills": a.Skills, "capacity": a.Capacity, "active": a.Active})
		writeJSON(w, http.StatusOK, "application/json", a)
	}
}
