package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/pii"
	"github.com/xiaobao-org/xiaobao/privacy"
)

// Audit actions of the erasure: carrying out a deletion, reading what it
// restricted, and the sweep deleting it when the retention ends.
const (
	actionErasure        = "subject_request.erase"
	actionRestrictedRead = "restricted.read"
	actionErasureSweep   = "erasure.sweep"
)

// erasureJSON is what a deletion request's answer adds: what the erasure
// did and, category by category, what went, what is kept and why.
type erasureJSON struct {
	Erasure   *privacy.ErasureReport `json:"erasure,omitempty"`
	Statement []privacy.Statement    `json:"statement,omitempty"`
}

// erasureStore returns the store that carries out erasures, or an error
// saying this server cannot.
func (s *server) erasureStore() (privacy.ErasureStore, error) {
	if s.cfg.Privacy == nil {
		return nil, errNoPrivacy
	}
	es := privacy.ErasureStoreOf(s.cfg.Privacy)
	if es == nil {
		return nil, xiaobao.Errorf(xiaobao.EUNAVAILABLE, "this server's store cannot carry out deletions")
	}
	return es, nil
}

// executeErasure carries out a deletion request (in progress, or already
// completed for a re-run): the customer's live service sessions and
// feature state are forgotten, then the store anonymises, restricts and
// deletes their records and conversations as the plan as of now says.
// ended, if set, is when the relationship ended, learnt after the request
// was made. It is audited; a re-run that changes nothing is audited too.
func (s *server) executeErasure(r *http.Request, k *auth.Key, req *privacy.Request, ended *time.Time) (*privacy.ErasureReport, error) {
	es, err := s.erasureStore()
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	pr := *req
	if ended != nil {
		pr.RelationshipEndedAt = ended
	}
	now := s.clock.Now()
	// Checked before forgetting anything.
	if _, _, err := privacy.NewErasure(&pr, privacy.PolicyOf(s.cfg.Privacy), 0, actorOf(k), now); err != nil {
		return nil, err
	}
	// The service module first: a scam warning in a live session would
	// flag the customer in Guard again.
	if s.cfg.Service != nil {
		s.cfg.Service.Forget(req.CustomerID)
	}
	seq, err := s.guard.Forget(ctx, req.CustomerID)
	if err != nil {
		return nil, err
	}
	e, _, err := privacy.NewErasure(&pr, privacy.PolicyOf(s.cfg.Privacy), seq, actorOf(k), now)
	if err != nil {
		return nil, err
	}
	rep, err := es.Erase(ctx, e)
	if err != nil {
		return nil, err
	}
	// The customer id stays out of the details: the request names them,
	// and is itself deleted when its retention ends.
	dj, _ := json.Marshal(map[string]any{"run": rep.Run, "total": rep.Total, "restrictions": rep.Restrictions, "up_to_seq": seq})
	if s.cfg.Audit != nil {
		_ = s.audit(r, k, audit.Entry{Action: actionErasure, Target: "subject_request:" + req.ID, Reason: "data-subject deletion request",
			Result: audit.ResultOK, Details: dj})
	}
	return rep, nil
}

// erasureOf returns what a deletion request's answer adds; rep, if nil,
// is read from the store (nothing while the erasure never ran).
func (s *server) erasureOf(ctx context.Context, req *privacy.Request, rep *privacy.ErasureReport) erasureJSON {
	if req.Kind != privacy.KindDeletion {
		return erasureJSON{}
	}
	if rep == nil {
		if es := privacy.ErasureStoreOf(s.cfg.Privacy); es != nil {
			rep, _ = es.Erasure(ctx, req.ID)
		}
	}
	if rep == nil {
		// Not carried out yet: the retention plan says what it will do.
		return erasureJSON{}
	}
	plan := privacy.PolicyOf(s.cfg.Privacy).PlanDeletion(req.CustomerID, req.RelationshipEndedAt, rep.ExecutedAt)
	// The recorded end of retention wins: the relationship's end may have
	// been learnt after the request.
	for i, it := range plan.Items {
		for _, rs := range rep.Restrictions {
			if rs.Category == it.Category && rs.DeletableAt != nil {
				plan.Items[i].DeletableAt = rs.DeletableAt
			}
		}
	}
	return erasureJSON{Erasure: rep, Statement: privacy.Describe(plan, rep)}
}

// deletionJSON is a deletion request with its erasure.
type deletionJSON struct {
	subjectRequestJSON
	erasureJSON
}

// handleEraseSubjectRequest carries out (again) the erasure of a deletion
// request that is in progress or completed: completing a deletion request
// carries it out already; running it again changes nothing unless the
// relationship's end is given for the first time, which sets when the
// restricted data becomes deletable.
func handleEraseSubjectRequest(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if _, err := s.erasureStore(); err != nil {
			s.error(w, r, err)
			return
		}
		body, err := readBody(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if len(body) == 0 {
			body = []byte("{}")
		}
		obj, err := decodeObject(body, "")
		if err != nil {
			s.error(w, r, err)
			return
		}
		ended := obj.time("relationship_ended_at")
		if ended != nil && ended.After(s.clock.Now().Add(5*time.Minute)) {
			obj.bad("relationship_ended_at", "must not be in the future")
		}
		if err := obj.err("the erasure is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		req, err := s.cfg.Privacy.Request(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		rep, err := s.executeErasure(r, k, req, ended)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", deletionJSON{s.subjectRequestJSON(req, true), s.erasureOf(r.Context(), req, rep)})
	}
}

// handleRestrictedRecords is the regulator's and compliance's path to a
// customer's restricted records: the reason is required and audited
// before anything is shown; if the audit log cannot be written, nothing
// is.
func handleRestrictedRecords(s *server) handler {
	type response struct {
		CustomerID string            `json:"customer_id"`
		Records    []json.RawMessage `json:"records"`
		// NextBeforeSeq pages on, newest first; absent on the last page.
		NextBeforeSeq int64 `json:"next_before_seq,omitempty"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		es, err := s.erasureStore()
		if err != nil {
			s.error(w, r, err)
			return
		}
		q, fe := privacyQuery(r, "reason", "before_seq", "limit")
		id := r.PathValue("id")
		if why := privacy.CheckCustomerID(id); why != "" {
			fe = append(fe, xiaobao.FieldError{Field: "id", Reason: why})
		}
		reason, _ := pii.Redact(q.Get("reason"))
		if len([]rune(reason)) < 4 || len(reason) > privacy.MaxNote {
			fe = append(fe, xiaobao.FieldError{Field: "reason", Reason: "is required: why the restricted data is needed (the legal obligation), 4 to 2000 characters"})
		}
		f := privacy.RestrictedFilter{CustomerID: id, Limit: 100}
		if v := q.Get("before_seq"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				fe = append(fe, xiaobao.FieldError{Field: "before_seq", Reason: "must be a positive integer"})
			}
			f.BeforeSeq = n
		}
		f.Limit = queryInt(q, "limit", 1, 1000, f.Limit, &fe)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		recs, err := es.RestrictedRecords(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		dj, _ := json.Marshal(map[string]any{"records": len(recs)})
		if err := s.audit(r, k, audit.Entry{Action: actionRestrictedRead, Target: "customer:" + id, Reason: reason, Result: audit.ResultOK, Details: dj}); err != nil {
			s.error(w, r, err)
			return
		}
		out := response{CustomerID: id, Records: make([]json.RawMessage, len(recs))}
		for i, rec := range recs {
			out.Records[i] = exportDecision(rec)
		}
		if len(recs) == f.Limit {
			out.NextBeforeSeq = recs[len(recs)-1].Seq
		}
		w.Header()["Cache-Control"] = hdrNoStore
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}

// SweepErasures deletes the restricted data whose retention ended as of
// now, and audits what it deleted (the server calls it periodically).
func SweepErasures(ctx context.Context, st privacy.Store, log AuditLog, now time.Time) (*privacy.SweepReport, error) {
	es := privacy.ErasureStoreOf(st)
	if es == nil {
		return &privacy.SweepReport{Requests: []string{}}, nil
	}
	rep, err := es.SweepErasures(ctx, now)
	if err != nil || rep.Empty() || log == nil {
		return rep, err
	}
	dj, _ := json.Marshal(rep)
	if _, err := log.Append(ctx, audit.Entry{Time: now.UTC(), Actor: "system", Action: actionErasureSweep, Target: "erasures",
		Reason: "retention ended", Result: audit.ResultOK, Details: dj}); err != nil {
		return rep, xiaobao.Errorf(xiaobao.EUNAVAILABLE, "erasure sweep: deleted, but the audit log cannot be written: %v", err)
	}
	return rep, nil
}
