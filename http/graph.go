package http

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/graph"
	"github.com/xiaobao-org/xiaobao/guard"
)

// EntityGraph is the entity graph the analysts query (graph.Graph).
type EntityGraph interface {
	Neighbourhood(origin graph.Ref, hops, limit int) (*graph.Neighbourhood, error)
}

// handleNeighbourhood answers "what is linked to this account (customer,
// device, phone, IP), within k hops, and how". Phones, accounts and IPs in
// the answer are masked unless the caller may unmask: the shape of a ring
// is what an analyst needs first, and reading its members' numbers is an
// unmasking like any other.
func handleNeighbourhood(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Graph == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "the entity graph is not enabled on this server"))
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
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the graph query is invalid", fe...))
			return
		}
		nb, err := s.cfg.Graph.Neighbourhood(graph.Ref{Kind: kind, Value: value}, hops, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if k == nil || !k.Allows(auth.ScopePIIUnmask) {
			maskNeighbourhood(nb)
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
