package http

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
)

// keyPrefixLen is how much of a secret is kept to recognise a key in a list.
const keyPrefixLen = 7

// handleCreateKey creates an API key. The secret is in this response only:
// the store keeps its hash.
func handleCreateKey(s *server) handler {
	type response struct {
		*auth.Key
		Secret string `json:"secret"`
	}
	return func(w http.ResponseWriter, r *http.Request, caller *auth.Key) {
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		name := obj.str("name", true, 100)
		scopes := obj.strings("scopes", true)
		if scopes != nil && len(scopes) == 0 {
			obj.bad("scopes", "must name at least one scope")
		}
		for i, sc := range scopes {
			if !auth.ValidScope(sc) {
				obj.bad("scopes["+strconv.Itoa(i)+"]", "unknown scope "+strconv.Quote(sc))
			}
		}
		if err := obj.err("the key is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		slices.Sort(scopes)
		secret := auth.NewSecret()
		k := &auth.Key{
			ID: auth.NewID(), Name: name, Hash: auth.HashSecret(secret), Prefix: secret[:keyPrefixLen],
			Scopes: slices.Compact(scopes), CreatedAt: s.clock.Now().UTC().Truncate(time.Microsecond),
		}
		if err := s.store.CreateKey(r.Context(), k); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, caller, audit.ActionRoleChange, "key:"+k.ID, map[string]any{"created": true, "scopes": k.Scopes})
		w.Header()["Cache-Control"] = hdrNoStore
		w.Header().Set("Location", "/v1/keys/"+k.ID)
		writeJSON(w, http.StatusCreated, "application/json", response{Key: k, Secret: secret})
	}
}

// handleListKeys lists every key, revoked ones included; never secrets.
func handleListKeys(s *server) handler {
	type response struct {
		Keys []*auth.Key `json:"keys"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		ks, err := s.store.Keys(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		if ks == nil {
			ks = []*auth.Key{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Keys: ks})
	}
}

// handleRevokeKey revokes a key; it stops working at once on this server.
func handleRevokeKey(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, caller *auth.Key) {
		id := r.PathValue("id")
		err := s.store.RevokeKey(r.Context(), id, s.clock.Now().UTC())
		// Drop the cached key even on error: revoking must never leave a
		// key usable longer than the store says.
		s.keys.invalidate(id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, caller, audit.ActionRoleChange, "key:"+id, map[string]any{"revoked": true})
		w.WriteHeader(http.StatusNoContent)
	}
}
