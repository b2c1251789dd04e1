package http

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/outbox"
)

var errNoOutbox = xiaobao.Errorf(xiaobao.ENOTFOUND, "the outbox is not enabled on this server")

// outboxEntryJSON is an outbox message as operators see it: where it is in
// its delivery, never its payload, which can name a customer.
type outboxEntryJSON struct {
	Seq           int64        `json:"seq"`
	ID            string       `json:"id"`
	Sink          string       `json:"sink"`
	Topic         string       `json:"topic"`
	Key           string       `json:"key,omitempty"`
	State         outbox.State `json:"state"`
	Attempts      int          `json:"attempts"`
	CreatedAt     time.Time    `json:"created_at"`
	NextAttemptAt *time.Time   `json:"next_attempt_at,omitempty"`
	LastError     string       `json:"last_error,omitempty"`
	DeliveredAt   *time.Time   `json:"delivered_at,omitempty"`
}

func outboxEntry(e *outbox.Entry) outboxEntryJSON {
	j := outboxEntryJSON{Seq: e.Seq, ID: e.ID, Sink: e.Sink, Topic: e.Topic, Key: e.Key, State: e.State,
		Attempts: e.Attempts, CreatedAt: e.CreatedAt, LastError: e.LastError, DeliveredAt: e.DeliveredAt}
	if e.State == outbox.Pending {
		next := e.NextAttemptAt
		j.NextAttemptAt = &next
	}
	return j
}

// handleListOutbox lists outbox messages for operators: what waits, what
// died and why.
func handleListOutbox(s *server) handler {
	type response struct {
		Messages []outboxEntryJSON `json:"messages"`
		Next     string            `json:"next,omitempty"`
	}
	params := []string{"state", "sink", "topic", "after", "limit"}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Outbox == nil {
			s.error(w, r, errNoOutbox)
			return
		}
		q := r.URL.Query()
		var fe []xiaobao.FieldError
		for name := range q {
			if !slices.Contains(params, name) {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "unknown query parameter"})
			}
		}
		f := outbox.Filter{State: outbox.State(q.Get("state")), Sink: q.Get("sink"), Topic: q.Get("topic"), Limit: 100}
		if f.State != "" && !f.State.Valid() {
			fe = append(fe, xiaobao.FieldError{Field: "state", Reason: "must be pending, delivered or dead"})
		}
		if v := q.Get("after"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				fe = append(fe, xiaobao.FieldError{Field: "after", Reason: "must be the next value of a previous page"})
			}
			f.After = n
		}
		f.Limit = queryInt(q, "limit", 1, 500, f.Limit, &fe)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		p, err := s.cfg.Outbox.ListOutbox(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		resp := response{Messages: make([]outboxEntryJSON, 0, len(p.Entries))}
		for i := range p.Entries {
			resp.Messages = append(resp.Messages, outboxEntry(&p.Entries[i]))
		}
		if p.Next != 0 {
			resp.Next = strconv.FormatInt(p.Next, 10)
		}
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// handleRedriveOutbox makes a dead (or waiting) message due now, with its
// attempts reset: after the receiver or its configuration was fixed.
// Idempotent: redriving twice sends the message once.
func handleRedriveOutbox(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Outbox == nil {
			s.error(w, r, errNoOutbox)
			return
		}
		id := r.PathValue("id")
		if err := s.cfg.Outbox.RedriveOutbox(r.Context(), id, s.clock.Now()); err != nil {
			s.error(w, r, err)
			return
		}
		e, err := s.cfg.Outbox.GetOutbox(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", outboxEntry(e))
	}
}
