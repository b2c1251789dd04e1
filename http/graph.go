package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/graph"
	"github.com/xiaobao-org/xiaobao/guard"
)

// EntityGraph is the entity graph the analysts query (graph.Graph).
type EntityGraph interface {
	Neighbourhood(origin graph.Ref, hops, limit int) (*graph.Neighbourhood, error)
	Score(seeds []graph.Ref, opts graph.ScoreOptions) ([]graph.Scored, error)
	Rings(seeds []graph.Seed, opts graph.RingOptions) ([]graph.Ring, error)
	Mine(opts graph.MineOptions) (*graph.Mining, error)
}

var errNoGraph = xiaobao.Errorf(xiaobao.ENOTFOUND, "the entity graph is not enabled on this server (serve --graph)")

// handleNeighbourhood answers "what is linked to this account (customer,
// device, phone, IP), within k hops, and how". Phones, accounts and IPs in
// the answer are masked unless the caller may unmask: the shape of a ring
// is what an analyst needs first, and reading its members' numbers is an
// unmasking like any other.
func handleNeighbourhood(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Graph == nil {
			s.error(w, r, errNoGraph)
			return
		}
		q := r.URL.Query()
		var fe []xiaobao.FieldError
		bad := func(f, why string) { fe = append(fe, xiaobao.FieldError{Field: f, Reason: why}) }
		kind := guard.EntityKind(q.Get("kind"))
		if !slices.Contains(guard.EntityKinds, kind) {
			bad("kind", kindReason)
		}
		value := q.Get("value")
		if value == "" {
			bad("value", "is required")
		}
		hops, limit := 2, 200
		if v := q.Get("hops"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 4 {
				bad("hops", "must be a whole number from 1 to 4")
			}
			hops = n
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5000 {
				bad("limit", "must be a whole number from 1 to 5000")
			}
			limit = n
		}
		unmask, reason := unmaskParams(k, q.Get("unmask"), q.Get("reason"), bad)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the graph query is invalid", fe...))
			return
		}
		origin := graph.Ref{Kind: kind, Value: value}
		nb, err := s.cfg.Graph.Neighbourhood(origin, hops, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !unmask {
			maskNeighbourhood(nb)
		} else if err := s.auditGraph(r, k, "neighbourhood", reason, []graph.Ref{origin}, len(nb.Reached)); err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", nb)
	}
}

func maskRef(r *graph.Ref) { r.Value = maskListValue(r.Kind, r.Value) }

// maskNeighbourhood masks personal data in place (the answer is the
// caller's copy).
func maskNeighbourhood(nb *graph.Neighbourhood) {
	maskRef(&nb.Origin)
	for i := range nb.Reached {
		re := &nb.Reached[i]
		maskRef(&re.Entity)
		for _, p := range re.Paths {
			for j := range p {
				maskRef(&p[j].From)
				maskRef(&p[j].To)
			}
		}
	}
}

// unmaskParams reads the unmask switch of a graph query. Answers are masked
// by default, even for callers who may unmask: seeing a ring's numbers is an
// unmasking like any other, so it needs unmask=true, the permission and a
// stated reason, and is audited.
func unmaskParams(k *auth.Key, unmask, reason string, bad func(field, why string)) (bool, string) {
	switch unmask {
	case "", "false":
		return false, ""
	case "true":
	default:
		bad("unmask", "must be true or false")
		return false, ""
	}
	if k == nil || !k.Allows(auth.ScopePIIUnmask) {
		bad("unmask", "needs the pii:unmask permission")
		return false, ""
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) < 4 {
		bad("reason", "must say why the values are needed, in at least 4 characters")
		return false, ""
	}
	if len(reason) > 1000 {
		bad("reason", "must be at most 1000 bytes")
		return false, ""
	}
	return true, reason
}

// auditGraph records an unmasked graph answer before it is sent.
func (s *server) auditGraph(r *http.Request, k *auth.Key, query, reason string, seeds []graph.Ref, n int) error {
	targets := make([]string, 0, len(seeds))
	for _, sd := range seeds {
		targets = append(targets, string(sd.Kind)+":"+maskListValue(sd.Kind, sd.Value))
	}
	dj, _ := json.Marshal(map[string]any{"query": query, "seeds": targets, "entities": n})
	return s.audit(r, k, audit.Entry{Action: audit.ActionUnmask, Target: "graph:" + query, Reason: reason,
		Result: audit.ResultOK, Details: dj})
}

// Bounds of the graph's POST queries: each holds the graph's read lock, so
// one request must not be able to hold it for long.
const (
	maxGraphSeeds  = 100
	maxScoreLimit  = 1000
	maxRingMembers = 5000
)

// graphQuery is the decoded body shared by the graph's POST queries.
type graphQuery struct {
	obj    *object
	unmask bool
	reason string
}

// decodeGraphQuery reads the body and the unmask members common to the
// graph's POST queries.
func (s *server) decodeGraphQuery(r *http.Request, k *auth.Key) (*graphQuery, error) {
	if s.cfg.Graph == nil {
		return nil, errNoGraph
	}
	obj, err := readObject(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	q := &graphQuery{obj: obj}
	flag := ""
	if obj.raw("unmask") != nil {
		if obj.boolean("unmask") {
			flag = "true"
		} else {
			flag = "false"
		}
	}
	q.unmask, q.reason = unmaskParams(k, flag, obj.str("reason", false, 4000), obj.bad)
	return q, nil
}

// intIn decodes an optional whole number in [lo, hi]; def when absent.
func (o *object) intIn(name string, lo, hi, def int) int {
	v := o.raw(name)
	if v == nil {
		return def
	}
	var n int
	if err := json.Unmarshal(v, &n); err != nil || n < lo || n > hi {
		o.bad(name, "must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		return def
	}
	return n
}

// objects decodes an array of objects, each with its index in field names.
func (o *object) objects(name string, required bool, max int) []*object {
	v := o.raw(name)
	if v == nil {
		if required {
			o.bad(name, "is required")
		}
		return nil
	}
	var items []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &items) != nil {
		o.bad(name, "must be an array of objects, not "+jsonKind(v))
		return nil
	}
	if required && len(items) == 0 {
		o.bad(name, "must not be empty")
	}
	if len(items) > max {
		o.bad(name, "must have at most "+strconv.Itoa(max)+" items")
		return nil
	}
	out := make([]*object, 0, len(items))
	for i, it := range items {
		prefix := o.prefix + name + "[" + strconv.Itoa(i) + "]."
		sub, err := decodeObject(it, prefix)
		if err != nil {
			o.errs = append(o.errs, xiaobao.ErrorFields(err)...)
			continue
		}
		out = append(out, sub)
	}
	return out
}

// ref decodes {"kind", "value"} into an entity reference.
func (o *object) ref() graph.Ref {
	kind := guard.EntityKind(o.str("kind", true, 32))
	if kind != "" && !slices.Contains(guard.EntityKinds, kind) {
		o.bad("kind", kindReason)
	}
	return graph.Ref{Kind: kind, Value: o.str("value", true, 256)}
}

// finish collects the errors of the sub-objects into the parent.
func (o *object) finish(subs []*object) {
	for _, sub := range subs {
		if err := sub.err(""); err != nil {
			o.errs = append(o.errs, xiaobao.ErrorFields(err)...)
		}
	}
}

// handleScore ranks entities by proximity to confirmed fraud (personalised
// PageRank from the seeds), each with the path that links it.
func handleScore(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		q, err := s.decodeGraphQuery(r, k)
		if err != nil {
			s.error(w, r, err)
			return
		}
		o := q.obj
		subs := o.objects("seeds", true, maxGraphSeeds)
		seeds := make([]graph.Ref, 0, len(subs))
		for _, sub := range subs {
			seeds = append(seeds, sub.ref())
		}
		o.finish(subs)
		opts := graph.ScoreOptions{Limit: o.intIn("limit", 1, maxScoreLimit, 100)}
		if err := o.err("the score query is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		scored, err := s.cfg.Graph.Score(seeds, opts)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !q.unmask {
			for i := range scored {
				maskRef(&scored[i].Entity)
				maskPath(scored[i].Path)
			}
		} else if err := s.auditGraph(r, k, "score", q.reason, seeds, len(scored)); err != nil {
			s.error(w, r, err)
			return
		}
		if scored == nil {
			scored = []graph.Scored{}
		}
		writeJSON(w, http.StatusOK, "application/json", map[string]any{"entities": scored})
	}
}

// handleRings searches from confirmed entities (a victim and the accounts
// they paid, a mule account, a farm device) for the ring behind them, and
// proposes list entries and cases for review. Nothing is blocked here:
// every proposal needs a reviewer.
func handleRings(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		q, err := s.decodeGraphQuery(r, k)
		if err != nil {
			s.error(w, r, err)
			return
		}
		o := q.obj
		subs := o.objects("seeds", true, maxGraphSeeds)
		seeds := make([]graph.Seed, 0, len(subs))
		refs := make([]graph.Ref, 0, len(subs))
		for _, sub := range subs {
			sd := graph.Seed{Entity: sub.ref()}
			if ro := sub.str("role", false, 16); ro != "" {
				role, ok := graph.ParseRole(ro)
				if !ok {
					sub.bad("role", "must be one of victim, fraud, mule")
				}
				sd.Role = role
			}
			if t := sub.time("at"); t != nil {
				sd.At = *t
			} else {
				sd.At = s.clock.Now().UTC()
			}
			seeds = append(seeds, sd)
			refs = append(refs, sd.Entity)
		}
		o.finish(subs)
		opts := graph.RingOptions{
			MaxHops:    o.intIn("max_hops", 1, 16, 0),
			MaxMembers: o.intIn("max_members", 1, maxRingMembers, 0),
		}
		if err := o.err("the ring query is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		rings, err := s.cfg.Graph.Rings(seeds, opts)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.writeRings(w, r, k, q, "rings", refs, map[string]any{}, rings)
	}
}

// writeRings answers with rings and their proposals, masked unless the
// caller unmasked with a reason.
func (s *server) writeRings(w http.ResponseWriter, r *http.Request, k *auth.Key, q *graphQuery, query string, seeds []graph.Ref, out map[string]any, rings []graph.Ring) {
	props := graph.Proposals(rings, s.clock.Now().UTC())
	if !q.unmask {
		for i := range rings {
			maskRing(&rings[i])
		}
		for i := range props {
			p := &props[i]
			maskRef(&p.Entity)
			maskPath(p.Evidence)
			if p.Entry != nil {
				e := *p.Entry
				e.Value = maskListValue(e.Kind, e.Value)
				p.Entry = &e
			}
		}
	} else if err := s.auditGraph(r, k, query, q.reason, seeds, len(rings)); err != nil {
		s.error(w, r, err)
		return
	}
	if rings == nil {
		rings = []graph.Ring{}
	}
	if props == nil {
		props = []graph.Proposal{}
	}
	out["rings"], out["proposals"] = rings, props
	writeJSON(w, http.StatusOK, "application/json", out)
}

// handleMine runs batch mining over all history (or since a time): device
// farms, shared phones and ID numbers, fan-in mule accounts, and every
// confirmed label, grouped into rings with review-only proposals. One run
// at a time: a second request while one runs is told to retry.
func handleMine(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		q, err := s.decodeGraphQuery(r, k)
		if err != nil {
			s.error(w, r, err)
			return
		}
		o := q.obj
		opts := graph.MineOptions{
			MinShared:   o.intIn("min_shared", 2, 1000, 0),
			MinSharedIP: o.intIn("min_shared_ip", 2, 1000, 0),
			MinFanIn:    o.intIn("min_fan_in", 2, 1000, 0),
		}
		if t := o.time("since"); t != nil {
			opts.Since = *t
		}
		if err := o.err("the mining request is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		if !s.mining.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "10")
			s.error(w, r, xiaobao.Errorf(xiaobao.ECONFLICT, "a mining run is in progress; try again when it has finished"))
			return
		}
		defer s.mining.Store(false)
		start := s.clock.Now()
		m, err := s.cfg.Graph.Mine(opts)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !q.unmask {
			for i := range m.Candidates {
				maskRef(&m.Candidates[i].Entity)
			}
			for i := range m.Hubs {
				maskRef(&m.Hubs[i].Entity)
			}
		}
		if m.Candidates == nil {
			m.Candidates = []graph.Candidate{}
		}
		out := map[string]any{"candidates": m.Candidates, "hubs": m.Hubs,
			"elapsed_ms": s.clock.Now().Sub(start).Milliseconds()}
		s.writeRings(w, r, k, q, "mine", nil, out, m.Rings)
	}
}

func maskPath(p graph.Path) {
	for j := range p {
		maskRef(&p[j].From)
		maskRef(&p[j].To)
	}
}

func maskRing(rg *graph.Ring) {
	for i := range rg.Seeds {
		maskRef(&rg.Seeds[i])
	}
	for i := range rg.Members {
		maskRef(&rg.Members[i].Entity)
		maskPath(rg.Members[i].Path)
	}
	for i := range rg.Ties {
		maskRef(&rg.Ties[i].Entity)
		for j := range rg.Ties[i].Examples {
			maskRef(&rg.Ties[i].Examples[j])
		}
	}
}
