package http

import (
	"context"
	"net/http"
	"slices"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/pii"
)

// Learning endpoints of the FAQ: the firm's matched pairs, customers'
// helpful verdicts waiting for a person to accept them, and the
// customer's verdict itself (POST /v1/service/sessions/{id}/feedback).

// relearn gives the live base the store's active examples. The caller
// holds faqWrites.
func (s *server) relearn(ctx context.Context, b *faq.Base, st faq.Store) error {
	ex, err := st.FAQExamples(ctx, faq.ExampleActive, 0)
	if err != nil {
		return err
	}
	b.SetLearned(faq.Pairs(ex))
	return nil
}

// handleImportExamples imports matched pairs (NDJSON {text, faq_id}):
// each is learned at once; bad lines are reported by line number.
func handleImportExamples(s *server) handler {
	type response struct {
		Imported int          `json:"imported"`
		Added    int          `json:"added"`
		Errors   []lineErrors `json:"errors"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		st, err := s.faqStore()
		if err != nil {
			s.error(w, r, err)
			return
		}
		buf := getBuffer()
		defer putBuffer(buf)
		if err := readLimited(buf, r.Body, s.cfg.MaxBatchBytes); err != nil {
			s.error(w, r, err)
			return
		}
		pairs, lines, bad := faq.ParsePairsNDJSON(buf)
		now := s.clock.Now()
		var ex []faq.Example
		seen := map[string]bool{}
		for i, p := range pairs {
			if !b.Has(p.FAQID) {
				bad = append(bad, faq.LineError{Line: lines[i], Field: "faq_id", Reason: "no FAQ entry " + p.FAQID})
				continue
			}
			text, _ := pii.Redact(p.Text)
			e := faq.Example{ID: faq.ExampleID(text, p.FAQID), Text: text, FAQID: p.FAQID, Source: faq.SourcePair, Status: faq.ExampleActive,
				Count: 1, By: k.ID, At: now, UpdatedAt: now}
			if !seen[e.ID] {
				seen[e.ID] = true
				ex = append(ex, e)
			}
		}
		resp := response{Imported: len(ex), Errors: make([]lineErrors, 0, len(bad))}
		for _, le := range bad {
			resp.Errors = append(resp.Errors, lineErrors{Line: le.Line, Errors: []xiaobao.FieldError{{Field: le.Field, Reason: le.Reason}}})
		}
		if len(ex) > 0 {
			faqWrites.Lock()
			resp.Added, err = st.AddFAQExamples(r.Context(), ex)
			if err == nil {
				err = s.relearn(r.Context(), b, st)
			}
			faqWrites.Unlock()
			if err != nil {
				s.error(w, r, err)
				return
			}
		}
		slices.SortFunc(resp.Errors, func(a, b lineErrors) int { return a.Line - b.Line })
		s.auditChange(r, k, actionFAQChange, "faq:examples", map[string]any{"imported": resp.Imported, "added": resp.Added, "rejected_lines": len(resp.Errors)})
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// handleListExamples lists examples, the most recently updated first.
func handleListExamples(s *server) handler {
	type response struct {
		Examples []faq.Example `json:"examples"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		st, err := s.faqStore()
		if err != nil {
			s.error(w, r, err)
			return
		}
		q := r.URL.Query()
		var fe []xiaobao.FieldError
		status := q.Get("status")
		if status != "" && status != faq.ExampleActive && status != faq.ExamplePending {
			fe = append(fe, xiaobao.FieldError{Field: "status", Reason: "must be active or pending"})
		}
		limit := queryInt(q, "limit", 1, 1000, 100, &fe)
		for name := range q {
			if name != "status" && name != "limit" {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "unknown query parameter"})
			}
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		ex, err := st.FAQExamples(r.Context(), status, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if ex == nil {
			ex = []faq.Example{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Examples: ex})
	}
}

// handleGetExample returns one example.
func handleGetExample(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		st, err := s.faqStore()
		if err != nil {
			s.error(w, r, err)
			return
		}
		e, err := st.FAQExample(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", e)
	}
}

// changeExample runs op on the example the path names under the FAQ
// write lock; when op changed something, the base is given the store's
// active examples again and the change is audited as what.
func (s *server) changeExample(r *http.Request, k *auth.Key, what string, op func(ctx context.Context, st faq.Store, id string) (bool, error)) (bool, error) {
	b, err := s.faqBase()
	if err != nil {
		return false, err
	}
	st, err := s.faqStore()
	if err != nil {
		return false, err
	}
	id := r.PathValue("id")
	faqWrites.Lock()
	changed, err := op(r.Context(), st, id)
	if err == nil && changed {
		err = s.relearn(r.Context(), b, st)
	}
	faqWrites.Unlock()
	if err == nil && changed {
		s.auditChange(r, k, actionFAQChange, "faq_example:"+id, map[string]any{what: true})
	}
	return changed, err
}

// handleAcceptExample makes a pending example active: the base learns
// it at once. Accepting an active one changes nothing.
func handleAcceptExample(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		_, err := s.changeExample(r, k, "accepted", func(ctx context.Context, st faq.Store, id string) (bool, error) {
			return st.AcceptFAQExample(ctx, id, k.ID, s.clock.Now())
		})
		if err != nil {
			s.error(w, r, err)
			return
		}
		e, err := s.cfg.FAQStore.FAQExample(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", e)
	}
}

// handleDeleteExample removes an example (rejecting a pending one, or
// unlearning an active one).
func handleDeleteExample(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		found, err := s.changeExample(r, k, "deleted", func(ctx context.Context, st faq.Store, id string) (bool, error) {
			return st.DeleteFAQExample(ctx, id)
		})
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !found {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no FAQ example %q", r.PathValue("id")))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleServiceFeedback records the customer's verdict on an answer.
func handleServiceFeedback(s *server) handler {
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
		turn := o.intIn("turn", 1, 100000, 0)
		if o.raw("turn") == nil {
			o.bad("turn", "is required: the customer turn the answer was given to")
		}
		faqID := o.str("faq_id", true, 200)
		helpful := o.boolean("helpful")
		if o.raw("helpful") == nil {
			o.bad("helpful", "is required")
		}
		if err := o.err("the feedback is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		f, err := sv.GiveFeedback(r.Context(), r.PathValue("id"), turn, faqID, helpful)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", f)
	}
}
