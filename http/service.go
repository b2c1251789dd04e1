package http

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/service"
)

// The customer-service endpoints (issue 6) except the FAQ's own: ask,
// sessions (hand-off, agent turns, satisfaction, close), agents, queues,
// guides with history, and statistics.

const actionGuideChange = "service.guide.change"
const actionRoutingChange = "service.routing.change"

// svc returns the service module or EUNAVAILABLE when it is not wired.
func (s *server) svc() (*service.Service, error) {
	if s.cfg.Service == nil {
		return nil, xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the customer-service module is not configured on this server")
	}
	return s.cfg.Service, nil
}

// handleServiceAsk answers one customer utterance: FAQ answers, warnings,
// predicted answers and the route, in one call.
func handleServiceAsk(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		req := service.AskRequest{
			Text:       o.str("text", true, 4*service.MaxTextRunes),
			CustomerID: o.str("customer_id", false, 128),
			SessionID:  o.str("session_id", false, 128),
			Channel:    o.str("channel", false, 64),
			MessageID:  o.str("message_id", false, 128),
		}
		if err := o.err("the utterance cannot be handled"); err != nil {
			s.error(w, r, err)
			return
		}
		res, err := sv.Ask(r.Context(), req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", res)
	}
}

// handleServiceOpenSession opens a session before the customer says anything,
// with the answers predicted from their recent Guard events.
func handleServiceOpenSession(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		req := service.OpenRequest{
			CustomerID: o.str("customer_id", false, 128),
			SessionID:  o.str("session_id", false, 128),
			Channel:    o.str("channel", false, 64),
		}
		if err := o.err("the session cannot be opened"); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := sv.OpenSession(r.Context(), req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", v)
	}
}

func handleServiceGetSession(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		v, err := sv.GetSession(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", v)
	}
}

// queryParams checks that q has only known parameters, each once.
func svcQueryParams(r *http.Request, known ...string) []xiaobao.FieldError {
	var fe []xiaobao.FieldError
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ok := false
		for _, k := range known {
			ok = ok || n == k
		}
		if !ok {
			fe = append(fe, xiaobao.FieldError{Field: n, Reason: "unknown query parameter"})
		} else if len(q[n]) > 1 {
			fe = append(fe, xiaobao.FieldError{Field: n, Reason: "must be given once"})
		}
	}
	return fe
}

func svcQueryTime(r *http.Request, name string, fe *[]xiaobao.FieldError) time.Time {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		*fe = append(*fe, xiaobao.FieldError{Field: name, Reason: "must be an RFC 3339 time with an offset"})
	}
	return t.UTC()
}

// handleServiceFindSessions searches sessions, newest first.
func handleServiceFindSessions(s *server) handler {
	type response struct {
		Sessions []*service.Session `json:"sessions"`
		// Next is the before= value of the next page, when there may be one.
		Next string `json:"next,omitempty"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		fe := svcQueryParams(r, "customer_id", "agent_id", "status", "from", "to", "before", "limit")
		q := r.URL.Query()
		f := service.SessionFilter{CustomerID: q.Get("customer_id"), AgentID: q.Get("agent_id"), Status: q.Get("status")}
		switch f.Status {
		case "", service.StatusOpen, service.StatusQueued, service.StatusHandedOff, service.StatusClosed:
		default:
			fe = append(fe, xiaobao.FieldError{Field: "status", Reason: "must be open, queued, handed_off or closed"})
		}
		f.From, f.To, f.Before = svcQueryTime(r, "from", &fe), svcQueryTime(r, "to", &fe), svcQueryTime(r, "before", &fe)
		f.Limit = 50
		f.Limit = queryInt(q, "limit", 1, 1000, f.Limit, &fe)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		ss, err := sv.FindSessions(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		resp := response{Sessions: ss}
		if resp.Sessions == nil {
			resp.Sessions = []*service.Session{}
		}
		if len(ss) == f.Limit {
			resp.Next = ss[len(ss)-1].OpenedAt.Format(time.RFC3339Nano)
		}
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// handleServiceHandoff gives a session to an agent with its context.
func handleServiceHandoff(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		req := service.HandoffRequest{Queue: o.str("queue", false, 64), Reason: o.str("reason", false, 2000), By: actorOf(k)}
		if err := o.err("the hand-off is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		h, err := sv.Handoff(r.Context(), r.PathValue("id"), req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", h)
	}
}

// handleServiceAddTurn records an agent's message (or a system note).
func handleServiceAddTurn(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		role := o.str("role", true, 16)
		text := o.str("text", true, 4*service.MaxTextRunes)
		agentID := o.str("agent_id", false, 64)
		if err := o.err("the turn is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		t, err := sv.AddTurn(r.Context(), r.PathValue("id"), role, text, agentID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", t)
	}
}

// handleServiceRate records the customer's satisfaction with a session.
func handleServiceRate(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		score := o.intIn("score", 1, 5, 0)
		if o.raw("score") == nil {
			o.bad("score", "is required")
		}
		comment := o.str("comment", false, 4000)
		if err := o.err("the rating is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		se, err := sv.Rate(r.Context(), r.PathValue("id"), score, comment)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", se)
	}
}

// handleServiceCloseSession ends a session.
func handleServiceCloseSession(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var resolved *bool
		if o.raw("resolved") != nil {
			v := o.boolean("resolved")
			resolved = &v
		}
		if err := o.err("the close is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		se, err := sv.CloseSession(r.Context(), r.PathValue("id"), resolved, actorOf(k))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", se)
	}
}

func handleServiceListAgents(s *server) handler {
	type response struct {
		Agents []service.Agent `json:"agents"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{Agents: sv.Agents()})
	}
}

// handleServicePutAgent adds or replaces an agent: skills, presence, capacity.
func handleServicePutAgent(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		a := &service.Agent{
			ID:       r.PathValue("id"),
			Name:     o.str("name", false, 400),
			Skills:   o.strings("skills", true),
			Presence: o.str("presence", true, 16),
			Capacity: o.intIn("capacity", 0, 100, -1),
		}
		if o.raw("capacity") == nil {
			o.bad("capacity", "is required")
		}
		if err := o.err("the agent is invalid"); err != nil {
			// Name every bad field at once: add what the domain checks.
			s.error(w, r, withFields(err, service.ValidateAgent(a)))
			return
		}
		out, err := sv.PutAgent(r.Context(), a)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionRoutingChange, "service_agent:"+a.ID, map[string]any{"presence": a.Presence, "capacity": a.Capacity, "skills": a.Skills})
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

func handleServiceListQueues(s *server) handler {
	type response struct {
		Queues []service.QueueState `json:"queues"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{Queues: sv.Queues()})
	}
}

// handleServicePutQueue adds or replaces a queue.
func handleServicePutQueue(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		q := &service.Queue{
			Name:        r.PathValue("name"),
			Description: o.str("description", false, 800),
			Skills:      o.strings("skills", true),
			Strategy:    o.str("strategy", false, 32),
			Overflow:    o.str("overflow", false, 64),
		}
		if q.Strategy == "" {
			q.Strategy = service.LeastLoaded
		}
		if err := o.err("the queue is invalid"); err != nil {
			s.error(w, r, withFields(err, service.ValidateQueue(q)))
			return
		}
		out, err := sv.PutQueue(r.Context(), q)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionRoutingChange, "service_queue:"+q.Name, map[string]any{"skills": q.Skills, "strategy": q.Strategy, "overflow": q.Overflow})
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

func handleServiceListGuides(s *server) handler {
	type response struct {
		Guides []*service.Guide `json:"guides"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		fe := svcQueryParams(r, "all")
		all := false
		switch r.URL.Query().Get("all") {
		case "", "false":
		case "true":
			all = true
		default:
			fe = append(fe, xiaobao.FieldError{Field: "all", Reason: "must be true or false"})
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		gs, err := sv.Guides(r.Context(), all)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if gs == nil {
			gs = []*service.Guide{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Guides: gs})
	}
}

// handleServiceGetGuide returns a guide (the latest version, or ?version=N): the
// steps a channel shows when an answer launches it.
func handleServiceGetGuide(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		fe := svcQueryParams(r, "version")
		version := 0
		if v := r.URL.Query().Get("version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				fe = append(fe, xiaobao.FieldError{Field: "version", Reason: "must be a positive integer"})
			}
			version = n
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		g, err := sv.Guide(r.Context(), r.PathValue("id"), version)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", g)
	}
}

func handleServiceGuideVersions(s *server) handler {
	type response struct {
		Versions []*service.Guide `json:"versions"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		vs, err := sv.GuideVersions(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{Versions: vs})
	}
}

// handleServicePutGuide stores a new version of a guide; base_version is the
// version the edit started from (absent or 0 for a new guide).
func handleServicePutGuide(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		o, err := readObject(r, maxPackBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		g := &service.Guide{
			ID:       r.PathValue("id"),
			Title:    o.str("title", true, 400),
			Category: o.str("category", false, 64),
			FAQIDs:   o.strings("faq_ids", false),
			Comment:  o.str("comment", false, 2000),
		}
		base := o.intIn("base_version", 0, 1<<30, 0)
		subs := o.objects("steps", true, 30)
		for _, st := range subs {
			g.Steps = append(g.Steps, service.Step{Title: st.str("title", true, 400), Body: st.str("body", false, 8000), Action: st.str("action", false, 200)})
		}
		o.finish(subs)
		if err := o.err("the guide is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		out, err := sv.PutGuide(r.Context(), g, base, actorOf(k))
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionGuideChange, "service_guide:"+g.ID, map[string]any{"version": out.Version})
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// handleServiceDeleteGuide stores a deleted version: answers stop launching the
// guide and its history stays.
func handleServiceDeleteGuide(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		g, err := sv.DeleteGuide(r.Context(), r.PathValue("id"), actorOf(k))
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionGuideChange, "service_guide:"+g.ID, map[string]any{"version": g.Version, "deleted": true})
		writeJSON(w, http.StatusOK, "application/json", g)
	}
}

// handleServiceStats returns CSAT per session and agent and first-contact
// resolution over sessions opened in [from, to) (default: the last 7 days).
func handleServiceStats(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sv, err := s.svc()
		if err != nil {
			s.error(w, r, err)
			return
		}
		fe := svcQueryParams(r, "from", "to")
		from, to := svcQueryTime(r, "from", &fe), svcQueryTime(r, "to", &fe)
		if to.IsZero() {
			to = s.clock.Now().UTC()
		}
		if from.IsZero() {
			from = to.Add(-7 * 24 * time.Hour)
		}
		if len(fe) == 0 && !from.Before(to) {
			fe = append(fe, xiaobao.FieldError{Field: "to", Reason: "must be after from"})
		}
		if len(fe) == 0 && to.Sub(from) > 366*24*time.Hour {
			fe = append(fe, xiaobao.FieldError{Field: "from", Reason: "the period must be at most 366 days"})
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		st, err := sv.Stats(r.Context(), from, to)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", st)
	}
}

// withFields adds to an EINVALID error the field errors of fe on fields
// it does not name yet.
func withFields(err error, fe []xiaobao.FieldError) error {
	e, ok := errors.AsType[*xiaobao.Error](err)
	if !ok || e.Code != xiaobao.EINVALID {
		return err
	}
	out := *e
	out.Fields = slices.Clone(e.Fields)
	for _, f := range fe {
		if !slices.ContainsFunc(out.Fields, func(g xiaobao.FieldError) bool { return g.Field == f.Field }) {
			out.Fields = append(out.Fields, f)
		}
	}
	return &out
}
