package http

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/report"
)

// Bounds of a backtest: it replays at most this much recent history, so
// that one request stays within seconds and memory stays small.
const (
	defaultBacktestDays   = 7
	maxBacktestDays       = 30
	defaultBacktestEvents = 20_000
	maxBacktestEvents     = 50_000
)

// backtestPage is how many stored decisions one store query reads.
const backtestPage = 1000

// handleBacktestPack replays recent stored history through the active
// rule packs and through the same packs with the draft in place of its
// namesake, and compares them: the ladder steps, the rules that fired, the
// decisions that changed, and the recorded outcomes each would have
// caught. The draft is neither stored nor activated. One backtest runs at
// a time; another meanwhile is answered 429.
func handleBacktestPack(s *server) handler {
	busy := make(chan struct{}, 1)
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		up, err := readPackUpload(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		q := r.URL.Query()
		var fe []xiaobao.FieldError
		integer := func(name string, def, max int) int {
			v := q.Get(name)
			if v == "" {
				return def
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > max {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "must be a whole number from 1 to " + strconv.Itoa(max)})
			}
			return n
		}
		days := integer("days", defaultBacktestDays, maxBacktestDays)
		limit := integer("limit", defaultBacktestEvents, maxBacktestEvents)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the backtest query is invalid", fe...))
			return
		}
		draft, err := s.guard.ValidatePack(r.Context(), up.Source)
		if err != nil {
			s.error(w, r, err)
			return
		}
		select {
		case busy <- struct{}{}:
			defer func() { <-busy }()
		default:
			s.error(w, r, xiaobao.Errorf(xiaobao.EOVERLOADED, "another backtest is running; retry when it is done"))
			return
		}
		ctx := r.Context()
		st := s.guard.Store()
		active := s.guard.Engine().Ruleset()
		// The draft replaces its namesake among the active packs, exactly as
		// activating it would.
		packs := []*guard.Pack{draft}
		for _, p := range active.Packs {
			if p.Spec.Pack != draft.Spec.Pack {
				packs = append(packs, p)
			}
		}
		draftSet, err := guard.NewRuleset(packs...)
		if err != nil {
			s.error(w, r, err)
			return
		}

		// The window: the newest stored decisions, up to limit and days.
		var recs []*guard.Record
		f := guard.DecisionFilter{Limit: backtestPage}
		var newest time.Time
		for len(recs) < limit {
			f.Limit = min(backtestPage, limit-len(recs))
			page, err := st.FindDecisions(ctx, f)
			if err != nil {
				s.error(w, r, err)
				return
			}
			if len(page) > 0 && newest.IsZero() {
				newest = page[0].Decision.OccurredAt
				f.From = newest.AddDate(0, 0, -days)
			}
			recs = append(recs, page...)
			if len(page) < f.Limit {
				break
			}
			f.BeforeSeq = page[len(page)-1].Seq
		}
		slices.Reverse(recs)
		items := make([]report.BacktestItem, 0, len(recs))
		byDecision := make(map[string]int, len(recs))
		cutoff := newest.AddDate(0, 0, -days)
		for _, rec := range recs {
			if rec.Decision.OccurredAt.Before(cutoff) {
				continue
			}
			ev, err := guard.DecodeEvent(rec.Event.Raw)
			if err != nil {
				continue // an event that no longer decodes cannot be replayed
			}
			byDecision[rec.Decision.ID] = len(items)
			items = append(items, report.BacktestItem{Event: ev})
		}
		err = st.Outcomes(ctx, func(o *guard.Outcome) error {
			if i, ok := byDecision[o.DecisionID]; ok {
				items[i].Outcome = o.Kind
			}
			return ctx.Err()
		})
		if err != nil {
			s.error(w, r, err)
			return
		}
		res, err := report.Backtest(items, report.BacktestConfig{Active: active, Draft: draftSet,
			Lists: s.guard.Engine().Lists(), Scorer: s.guard.Engine().Scorer()})
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", res)
	}
}
