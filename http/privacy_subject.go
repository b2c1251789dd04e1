package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/pii"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
)

var errNoPrivacy = xiaobao.Errorf(xiaobao.ENOTFOUND, "consents and subject requests are not enabled on this server")

// Audit actions of this file beyond audit's own: consent changes and the
// steps of a subject request are evidence of PIPL compliance.
const (
	actionConsentChange  = "consent.change"
	actionSubjectRequest = "subject_request.change"
)

// maxExportDecisions bounds the decisions of one export: a customer with
// more has been scripted, and the export says it was truncated.
const maxExportDecisions = 100_000

// maxExportSessions bounds the service sessions of one export, for the
// same reason.
const maxExportSessions = 10_000

// privacyIdempotencyKey returns the Idempotency-Key header or the request_id
// member; both given and different is a bad request_id. "" means neither.
func privacyIdempotencyKey(r *http.Request, obj *object) string {
	hdr := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	body := obj.str("request_id", false, privacy.MaxIDLen)
	if hdr != "" && body != "" && hdr != body {
		obj.bad("request_id", "differs from the Idempotency-Key header")
	}
	if hdr != "" {
		return hdr
	}
	return body
}

// privacyQuery checks that r's query holds only the allowed parameters, each at
// most once.
func privacyQuery(r *http.Request, allowed ...string) (url.Values, []xiaobao.FieldError) {
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
	return q, fe
}

// privacyPathCustomer returns the {id} of the path, or an error naming it.
func privacyPathCustomer(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if why := privacy.CheckCustomerID(id); why != "" {
		return "", xiaobao.Invalid("the customer id is invalid", xiaobao.FieldError{Field: "id", Reason: why})
	}
	return id, nil
}

// handlePutConsent records a change of a customer's consent to a purpose.
// A retry with the same Idempotency-Key (or request_id) returns the stored
// change with 200 instead of 201 and records nothing.
func handlePutConsent(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		c := &privacy.Consent{
			CustomerID:    r.PathValue("id"),
			Purpose:       privacy.Purpose(r.PathValue("purpose")),
			Granted:       obj.boolean("granted"),
			Channel:       privacy.Channel(obj.str("channel", true, 32)),
			PolicyVersion: obj.str("policy_version", true, privacy.MaxVersionLen),
			Evidence:      obj.str("evidence", false, privacy.MaxEvidence),
			RecordedBy:    actorOf(k),
		}
		if obj.raw("granted") == nil {
			obj.bad("granted", "is required: true grants, false withdraws")
		}
		if t := obj.time("at"); t != nil {
			c.At = *t
		}
		c.IdempotencyKey = privacyIdempotencyKey(r, obj)
		fe := xiaobao.ErrorFields(obj.err(""))
		now := s.clock.Now()
		for _, e := range xiaobao.ErrorFields(privacy.ValidateConsent(c, now)) {
			if e.Field == "customer_id" {
				e.Field = "id"
			}
			// The body's own check of a member already named it.
			if !slices.ContainsFunc(fe, func(x xiaobao.FieldError) bool { return x.Field == e.Field }) {
				fe = append(fe, e)
			}
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the consent is invalid", fe...))
			return
		}
		if c.IdempotencyKey == "" {
			c.IdempotencyKey = privacy.NewKey()
		}
		stored, created, err := s.cfg.Privacy.RecordConsent(r.Context(), c)
		if err != nil {
			s.error(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			s.auditChange(r, k, actionConsentChange, "customer:"+c.CustomerID,
				map[string]any{"purpose": c.Purpose, "granted": c.Granted, "channel": c.Channel, "policy_version": c.PolicyVersion, "seq": stored.Seq})
		}
		writeJSON(w, status, "application/json", stored)
	}
}

// handleGetConsents returns where a customer stands on every purpose and
// the history that led there.
func handleGetConsents(s *server) handler {
	type response struct {
		CustomerID string                 `json:"customer_id"`
		Current    []privacy.PurposeState `json:"current"`
		History    []*privacy.Consent     `json:"history"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		id, err := privacyPathCustomer(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		hist, err := s.cfg.Privacy.Consents(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{CustomerID: id, Current: privacy.Current(hist), History: hist})
	}
}

// subjectRequestJSON is a subject request as the API shows it.
type subjectRequestJSON struct {
	*privacy.Request
	Overdue bool `json:"overdue"`
	// RetentionPlan, for a deletion, is what it deletes and what the law
	// makes the firm keep, as of the day it was received.
	RetentionPlan *privacy.Plan `json:"retention_plan,omitempty"`
}

func (s *server) subjectRequestJSON(req *privacy.Request, withPlan bool) subjectRequestJSON {
	out := subjectRequestJSON{Request: req, Overdue: req.Overdue(s.clock.Now())}
	if withPlan && req.Kind == privacy.KindDeletion {
		plan := privacy.PolicyOf(s.cfg.Privacy).PlanDeletion(req.CustomerID, req.RelationshipEndedAt, req.ReceivedAt)
		out.RetentionPlan = &plan
	}
	return out
}

// handleCreateSubjectRequest records a data-subject request and computes
// its deadline on the working-day calendar. A retry with the same
// Idempotency-Key (or request_id) returns the stored request with 200.
func handleCreateSubjectRequest(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		req := &privacy.Request{
			CustomerID: obj.str("customer_id", true, privacy.MaxIDLen),
			Kind:       privacy.Kind(obj.str("kind", true, 32)),
			Channel:    privacy.Channel(obj.str("channel", true, 32)),
			Details:    obj.str("details", false, privacy.MaxDetails),
		}
		if t := obj.time("received_at"); t != nil {
			req.ReceivedAt = *t
		}
		req.RelationshipEndedAt = obj.time("relationship_ended_at")
		req.IdempotencyKey = privacyIdempotencyKey(r, obj)
		// The customer's words may hold their or others' numbers; what the
		// request is about is clear without them.
		req.Details, _ = pii.Redact(req.Details)
		fe := xiaobao.ErrorFields(obj.err(""))
		for _, e := range xiaobao.ErrorFields(privacy.NewRequest(req, privacy.PolicyOf(s.cfg.Privacy), actorOf(k), s.clock.Now())) {
			if !slices.ContainsFunc(fe, func(x xiaobao.FieldError) bool { return x.Field == e.Field }) {
				fe = append(fe, e)
			}
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the subject request is invalid", fe...))
			return
		}
		if req.IdempotencyKey == "" {
			req.IdempotencyKey = privacy.NewKey()
		}
		stored, created, err := s.cfg.Privacy.CreateRequest(r.Context(), req)
		if err != nil {
			s.error(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			s.auditChange(r, k, actionSubjectRequest, "subject_request:"+stored.ID,
				map[string]any{"customer_id": stored.CustomerID, "kind": stored.Kind, "action": privacy.ActionReceive, "due_at": stored.DueAt})
		}
		w.Header().Set("Location", "/v1/subject-requests/"+stored.ID)
		writeJSON(w, status, "application/json", s.subjectRequestJSON(stored, true))
	}
}

// handleListSubjectRequests is the work queue: requests by due time,
// filtered by status, overdue, customer and kind.
func handleListSubjectRequests(s *server) handler {
	type response struct {
		SubjectRequests []subjectRequestJSON `json:"subject_requests"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		q, fe := privacyQuery(r, "status", "overdue", "customer_id", "kind", "limit")
		f := privacy.RequestFilter{Now: s.clock.Now(), CustomerID: q.Get("customer_id")}
		if v := q.Get("status"); v != "" {
			if f.Status = privacy.Status(v); !f.Status.Valid() {
				fe = append(fe, xiaobao.FieldError{Field: "status", Reason: "must be one of received, verified, in_progress, completed, rejected"})
			}
		}
		if v := q.Get("kind"); v != "" {
			if f.Kind = privacy.Kind(v); !f.Kind.Valid() {
				fe = append(fe, xiaobao.FieldError{Field: "kind", Reason: "must be one of access, export, correction, deletion"})
			}
		}
		if v := q.Get("overdue"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				fe = append(fe, xiaobao.FieldError{Field: "overdue", Reason: "must be true or false"})
			}
			f.Overdue = &b
		}
		if v := q.Get("customer_id"); v != "" {
			if why := privacy.CheckCustomerID(v); why != "" {
				fe = append(fe, xiaobao.FieldError{Field: "customer_id", Reason: why})
			}
		}
		f.Limit = queryInt(q, "limit", 1, 1000, f.Limit, &fe)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		rs, err := s.cfg.Privacy.Requests(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := response{SubjectRequests: make([]subjectRequestJSON, len(rs))}
		for i, req := range rs {
			out.SubjectRequests[i] = s.subjectRequestJSON(req, false)
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// handleGetSubjectRequest returns a request with its steps and, for a
// deletion, its retention plan.
func handleGetSubjectRequest(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		req, err := s.cfg.Privacy.Request(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", deletionJSON{s.subjectRequestJSON(req, true), s.erasureOf(r.Context(), req, nil)})
	}
}

// handleTransitionSubjectRequest moves a request on: verify (identity
// checked), start, complete, or reject with a reason. Repeating the step
// the caller just took answers 200 without a second event, so a retried
// click does not fail.
func handleTransitionSubjectRequest(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		action := privacy.Action(obj.str("action", true, 32))
		reason, _ := pii.Redact(obj.str("reason", false, privacy.MaxNote))
		if err := obj.err("the transition is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		req, err := s.cfg.Privacy.Request(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		actor := actorOf(k)
		if n := len(req.Events); n > 0 && req.Events[n-1].Action == action && req.Events[n-1].Actor == actor {
			writeJSON(w, http.StatusOK, "application/json", deletionJSON{s.subjectRequestJSON(req, true), s.erasureOf(r.Context(), req, nil)})
			return
		}
		from := req.Status
		ev, err := req.Transition(action, actor, reason, s.clock.Now())
		if err != nil {
			s.error(w, r, err)
			return
		}
		// Completing a deletion carries it out first (privacy_erase.go):
		// if the erasure fails the request stays in progress.
		var erased *privacy.ErasureReport
		if action == privacy.ActionComplete && req.Kind == privacy.KindDeletion {
			pre := *req
			pre.Status = from
			if erased, err = s.executeErasure(r, k, &pre, nil); err != nil {
				s.error(w, r, err)
				return
			}
		}
		if err := s.cfg.Privacy.UpdateRequest(r.Context(), req, from, ev); err != nil {
			s.error(w, r, err)
			return
		}
		dj, _ := json.Marshal(map[string]any{"customer_id": req.CustomerID, "kind": req.Kind, "action": action, "from": from, "to": req.Status})
		if s.cfg.Audit != nil {
			_ = s.audit(r, k, audit.Entry{Action: actionSubjectRequest, Target: "subject_request:" + req.ID, Reason: reason, Result: audit.ResultOK, Details: dj})
		}
		writeJSON(w, http.StatusOK, "application/json", deletionJSON{s.subjectRequestJSON(req, true), s.erasureOf(r.Context(), req, erased)})
	}
}

// handleExportCustomer hands out a copy of everything the platform holds
// of a customer, for a verified access or export request: their Guard
// decisions with the events as received, their conversations with
// customer service (with transcripts), their consents and their
// requests. It is audited before anything is shown; if the audit log
// cannot be written, nothing is.
func handleExportCustomer(s *server) handler {
	type export struct {
		CustomerID     string            `json:"customer_id"`
		SubjectRequest string            `json:"subject_request_id"`
		GeneratedAt    time.Time         `json:"generated_at"`
		Decisions      []json.RawMessage `json:"decisions"`
		Truncated      bool              `json:"truncated"`
		// Restricted is the decisions a deletion restricted (kept for a
		// legal obligation only).
		Restricted []json.RawMessage `json:"restricted_decisions,omitempty"`
		// ServiceSessions are the customer's conversations with customer
		// service, newest first, on a server with the service module.
		ServiceSessions          []*service.SessionView `json:"service_sessions,omitempty"`
		ServiceSessionsTruncated bool                   `json:"service_sessions_truncated,omitempty"`
		Consents                 []*privacy.Consent     `json:"consents"`
		SubjectRequests          []*privacy.Request     `json:"subject_requests"`
		Current                  []privacy.PurposeState `json:"current_consents"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Privacy == nil {
			s.error(w, r, errNoPrivacy)
			return
		}
		q, fe := privacyQuery(r, "request_id")
		id := r.PathValue("id")
		if why := privacy.CheckCustomerID(id); why != "" {
			fe = append(fe, xiaobao.FieldError{Field: "id", Reason: why})
		}
		reqID := q.Get("request_id")
		if reqID == "" {
			fe = append(fe, xiaobao.FieldError{Field: "request_id", Reason: "is required: the id of the customer's verified access or export request"})
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the export is invalid", fe...))
			return
		}
		req, err := s.cfg.Privacy.Request(r.Context(), reqID)
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
			s.error(w, r, xiaobao.Invalid("the export is invalid", xiaobao.FieldError{Field: "request_id", Reason: "no such subject request"}))
			return
		} else if err != nil {
			s.error(w, r, err)
			return
		}
		switch {
		case req.CustomerID != id:
			s.error(w, r, xiaobao.Invalid("the export is invalid", xiaobao.FieldError{Field: "request_id", Reason: "is a request of another customer"}))
			return
		case !req.Exportable():
			s.error(w, r, xiaobao.Errorf(xiaobao.ECONFLICT, "subject request %s is a %s request that is %s: an export needs an access or export request that is verified or in progress", req.ID, req.Kind, req.Status))
			return
		}
		ctx := r.Context()
		out := export{CustomerID: id, SubjectRequest: req.ID, GeneratedAt: s.clock.Now().UTC(), Decisions: []json.RawMessage{}}
		f := guard.DecisionFilter{CustomerID: id, Limit: 1000}
		for len(out.Decisions) < maxExportDecisions {
			recs, err := s.guard.FindDecisions(ctx, f)
			if err != nil {
				s.error(w, r, err)
				return
			}
			for _, rec := range recs {
				out.Decisions = append(out.Decisions, exportDecision(rec))
				f.BeforeSeq = rec.Seq
			}
			if len(recs) < f.Limit {
				break
			}
		}
		if len(out.Decisions) >= maxExportDecisions {
			out.Decisions, out.Truncated = out.Decisions[:maxExportDecisions], true
		}
		// Records a deletion restricted are still the customer's data.
		if es := privacy.ErasureStoreOf(s.cfg.Privacy); es != nil {
			rf := privacy.RestrictedFilter{CustomerID: id, Limit: 1000}
			for {
				recs, err := es.RestrictedRecords(ctx, rf)
				if err != nil {
					s.error(w, r, err)
					return
				}
				for _, rec := range recs {
					out.Restricted = append(out.Restricted, exportDecision(rec))
					rf.BeforeSeq = rec.Seq
				}
				if len(recs) < rf.Limit || len(out.Restricted) >= maxExportDecisions {
					break
				}
			}
		}
		if s.cfg.Service != nil {
			if out.ServiceSessions, out.ServiceSessionsTruncated, err = exportSessions(ctx, s.cfg.Service, id); err != nil {
				s.error(w, r, err)
				return
			}
		}
		if out.Consents, err = s.cfg.Privacy.Consents(ctx, id); err != nil {
			s.error(w, r, err)
			return
		}
		out.Current = privacy.Current(out.Consents)
		if out.SubjectRequests, err = s.cfg.Privacy.Requests(ctx, privacy.RequestFilter{CustomerID: id, Limit: 1000}); err != nil {
			s.error(w, r, err)
			return
		}
		dj, _ := json.Marshal(map[string]any{"subject_request_id": req.ID, "kind": req.Kind, "decisions": len(out.Decisions),
			"service_sessions": len(out.ServiceSessions), "consents": len(out.Consents), "truncated": out.Truncated})
		if err := s.audit(r, k, audit.Entry{Action: audit.ActionExport, Target: "customer:" + id,
			Reason: "data-subject " + string(req.Kind) + " request " + req.ID, Result: audit.ResultOK, Details: dj}); err != nil {
			s.error(w, r, err)
			return
		}
		w.Header()["Cache-Control"] = hdrNoStore
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// exportSessions returns a customer's service sessions with their
// transcripts, newest first, at most maxExportSessions (and whether there
// were more).
func exportSessions(ctx context.Context, sv *service.Service, customerID string) ([]*service.SessionView, bool, error) {
	out := []*service.SessionView{}
	f := service.SessionFilter{CustomerID: customerID, Limit: 1000}
	for {
		ss, err := sv.FindSessions(ctx, f)
		if err != nil {
			return nil, false, fmt.Errorf("export service sessions: %w", err)
		}
		for _, se := range ss {
			if len(out) == maxExportSessions {
				return out, true, nil
			}
			v, err := sv.GetSession(ctx, se.ID)
			if err != nil {
				return nil, false, fmt.Errorf("export service session %s: %w", se.ID, err)
			}
			out = append(out, v)
			f.Before = se.OpenedAt
		}
		if len(ss) < f.Limit {
			return out, false, nil
		}
	}
}

// exportDecision is a decision's JSON with the event as received.
func exportDecision(rec *guard.Record) json.RawMessage {
	b := appendDecision(make([]byte, 0, 2048), rec.Decision)
	var ev json.RawMessage
	if rec.Event != nil {
		ev = json.RawMessage(rec.Event.Raw)
	}
	if !json.Valid(ev) {
		ev = json.RawMessage("null")
	}
	if n := len(b); n > 1 && b[n-1] == '}' {
		b = append(b[:n-1], `,"event":`...)
		b = append(b, ev...)
		b = append(b, '}')
	}
	return b
}
