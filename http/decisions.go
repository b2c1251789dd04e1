package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
)

// appendDecision appends the JSON of a decision.
func appendDecision(dst []byte, d *guard.Decision) []byte {
	return guard.AppendDecisionJSON(dst, d)
}

// handleGetDecision returns a stored decision with the event as received,
// PII masked.
func handleGetDecision(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		rec, err := s.guard.Decision(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		b := appendDecision(make([]byte, 0, 4096), redactDecision(rec.Decision))
		ev, err := maskEvent(rec.Event.Raw)
		if err != nil {
			s.log.Warn("stored event cannot be shown", "decision_id", rec.Decision.ID, "err", err.Error())
			ev = json.RawMessage("null")
		}
		if n := len(b); n > 1 && b[n-1] == '}' {
			b = append(b[:n-1], `,"event":`...)
			b = append(b, ev...)
			b = append(b, '}')
		}
		b = append(b, '\n')
		writeBody(w, http.StatusOK, "application/json", b)
	}
}

// decisionQueryParams are the query parameters of GET /v1/decisions.
var decisionQueryParams = []string{"customer_id", "account", "device_id", "action", "min_action", "typology", "type", "from", "to", "before_seq", "limit"}

// parseDecisionFilter reads the query of GET /v1/decisions, naming every
// bad parameter.
func parseDecisionFilter(r *http.Request) (guard.DecisionFilter, error) {
	q := r.URL.Query()
	var (
		f  guard.DecisionFilter
		fe []xiaobao.FieldError
	)
	bad := func(name, reason string) { fe = append(fe, xiaobao.FieldError{Field: name, Reason: reason}) }
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(decisionQueryParams, name) {
			bad(name, "unknown query parameter")
		} else if len(q[name]) > 1 {
			bad(name, "must be given once")
		}
	}
	f.CustomerID = q.Get("customer_id")
	f.Account = q.Get("account")
	f.DeviceID = q.Get("device_id")
	f.Typology = q.Get("typology")
	action := func(name string) *guard.Action {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		a, err := guard.ParseAction(v)
		if err != nil {
			bad(name, "must be one of allow, remind, friction, cooling_off, hold, block")
			return nil
		}
		return &a
	}
	f.Action, f.MinAction = action("action"), action("min_action")
	if v := q.Get("type"); v != "" {
		if t := guard.EventType(v); t.Valid() {
			f.EventType = t
		} else {
			bad("type", "unknown event type")
		}
	}
	tm := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(name, "must be an RFC 3339 time with an offset")
		}
		return t
	}
	f.From, f.To = tm("from"), tm("to")
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		bad("to", "must be after from")
	}
	integer := func(name string, min, max int64) int64 {
		v := q.Get(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			bad(name, "must be an integer from "+strconv.FormatInt(min, 10)+" to "+strconv.FormatInt(max, 10))
			return 0
		}
		return n
	}
	f.BeforeSeq = integer("before_seq", 1, 1<<62)
	f.Limit = int(integer("limit", 1, 1000))
	if f.Limit == 0 {
		f.Limit = 50
	}
	if len(fe) > 0 {
		return f, xiaobao.Invalid("the query is invalid", fe...)
	}
	return f, nil
}

// handleFindDecisions searches stored decisions, newest first. When a page
// is full, next_before_seq is the before_seq of the next page; 0 means
// there is none.
func handleFindDecisions(s *server) handler {
	type response struct {
		Decisions     []json.RawMessage `json:"decisions"`
		NextBeforeSeq int64             `json:"next_before_seq"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		f, err := parseDecisionFilter(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		recs, err := s.guard.FindDecisions(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		resp := response{Decisions: make([]json.RawMessage, 0, len(recs))}
		for _, rec := range recs {
			resp.Decisions = append(resp.Decisions, appendDecision(nil, redactDecision(rec.Decision)))
		}
		if len(recs) == f.Limit && len(recs) > 0 {
			resp.NextBeforeSeq = recs[len(recs)-1].Decision.Seq
			if resp.NextBeforeSeq == 0 {
				resp.NextBeforeSeq = recs[len(recs)-1].Seq
			}
		}
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// outcomeJSON is an outcome as the API shows it: money as decimal strings.
type outcomeJSON struct {
	ID          string            `json:"outcome_id"`
	DecisionID  string            `json:"decision_id"`
	Outcome     guard.OutcomeKind `json:"outcome"`
	AmountLost  string            `json:"amount_lost"`
	AmountSaved string            `json:"amount_saved"`
	Typology    string            `json:"typology,omitempty"`
	Note        string            `json:"note,omitempty"`
	Source      string            `json:"source,omitempty"`
	RecordedAt  time.Time         `json:"recorded_at"`
	CustomerID  string            `json:"customer_id"`
}

func toOutcomeJSON(o *guard.Outcome) outcomeJSON {
	return outcomeJSON{
		ID: o.ID, DecisionID: o.DecisionID, Outcome: o.Kind,
		AmountLost: o.AmountLost.String(), AmountSaved: o.AmountSaved.String(),
		Typology: o.Typology, Note: o.Note, Source: o.Source, RecordedAt: o.RecordedAt, CustomerID: o.CustomerID,
	}
}

// handlePostOutcome records what happened after a decision: 201 when it is
// new (or replaces a different one), 200 when the same outcome was already
// recorded (a retry).
func handlePostOutcome(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		o := &guard.Outcome{DecisionID: r.PathValue("id")}
		o.Kind = guard.OutcomeKind(obj.str("outcome", true, 64))
		if o.Kind != "" && !slices.Contains(guard.OutcomeKinds, o.Kind) {
			obj.bad("outcome", "must be one of confirmed_fraud, false_alarm, customer_dissuaded, customer_proceeded")
		}
		o.AmountLost = obj.money("amount_lost")
		o.AmountSaved = obj.money("amount_saved")
		o.Typology = obj.str("typology", false, 64)
		o.Note = obj.str("note", false, 2000)
		o.Source = obj.str("source", false, 200)
		if err := obj.err("the outcome is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		created, err := s.guard.RecordOutcome(r.Context(), o)
		if err != nil {
			s.error(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, "application/json", toOutcomeJSON(o))
	}
}

// handleGetOutcome returns the latest outcome of a decision.
func handleGetOutcome(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		id := r.PathValue("id")
		o, err := s.guard.Store().Outcome(r.Context(), id)
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
			if _, derr := s.guard.Decision(r.Context(), id); derr != nil {
				err = derr
			} else {
				err = xiaobao.Errorf(xiaobao.ENOTFOUND, "no outcome has been recorded for decision %s", id)
			}
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", toOutcomeJSON(o))
	}
}
