package service

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
)

// GuardHistory reads a customer's recent events from Guard's decisions
// (the query GET /v1/decisions runs), for Predict.
func GuardHistory(g *guard.Service) HistoryFunc {
	return func(ctx context.Context, customerID string, since time.Time) ([]Event, error) {
		// The 20 most recent are plenty for three topics, and the query
		// runs at every session opening.
		recs, err := g.FindDecisions(ctx, guard.DecisionFilter{CustomerID: customerID, From: since, Limit: 20})
		if err != nil {
			return nil, err
		}
		return EventsFromRecords(recs), nil
	}
}

// EventsFromRecords turns Guard records into Predict's events, reading
// the business outcome the event may carry in its unknown members
// "status" and "change".
func EventsFromRecords(recs []*guard.Record) []Event {
	out := make([]Event, 0, len(recs))
	for _, r := range recs {
		if r.Decision == nil {
			continue
		}
		e := Event{Type: string(r.Decision.EventType), Action: r.Decision.Action.String(), Typology: r.Decision.Typology, At: r.Decision.OccurredAt}
		if r.Event != nil && len(r.Event.Raw) > 0 {
			if ev, err := guard.DecodeEvent(bytes.Clone(r.Event.Raw)); err == nil {
				e.Status = extraString(ev.Extra["status"])
				e.Change = extraString(ev.Extra["change"])
			}
		}
		out = append(out, e)
	}
	return out
}

func extraString(raw []byte) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil || len(s) > 64 {
		return ""
	}
	return s
}
