package http

import (
	"mime"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
)

// packUpload is a rule pack sent to POST /v1/rulepacks or :validate.
type packUpload struct {
	Source   []byte
	Comment  string
	Activate bool
}

// readPackUpload reads a pack upload: the YAML itself (Content-Type
// application/yaml, text/yaml or none) or JSON {"source", "comment",
// "activate"}. The query parameters activate and comment also work.
func readPackUpload(r *http.Request) (*packUpload, error) {
	var fe []xiaobao.FieldError
	up := &packUpload{Comment: r.URL.Query().Get("comment")}
	if v := r.URL.Query().Get("activate"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fe = append(fe, xiaobao.FieldError{Field: "activate", Reason: "must be true or false"})
		}
		up.Activate = b
	}
	body, err := readBody(r, maxPackBytes)
	if err != nil {
		return nil, err
	}
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, &httpError{code: codeUnsupportedMediaType, msg: "the Content-Type header is malformed"}
		}
	}
	switch mt {
	case "application/json":
		obj, err := decodeObject(body, "")
		if err != nil {
			return nil, err
		}
		up.Source = []byte(obj.str("source", true, maxPackBytes))
		if c := obj.str("comment", false, 1000); c != "" {
			up.Comment = c
		}
		if obj.raw("activate") != nil {
			up.Activate = obj.boolean("activate")
		}
		if err := obj.err("the upload is invalid"); err != nil {
			fe = append(fe, xiaobao.ErrorFields(err)...)
		}
	case "", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain":
		up.Source = body
	default:
		return nil, &httpError{code: codeUnsupportedMediaType, msg: "send the pack as application/yaml, or as application/json {\"source\": ...}"}
	}
	if len(up.Comment) > 1000 {
		fe = append(fe, xiaobao.FieldError{Field: "comment", Reason: "must be at most 1000 bytes"})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the upload is invalid", fe...)
	}
	return up, nil
}

// packVersionJSON is a stored pack version; Source only where asked for.
type packVersionJSON struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Source    *string   `json:"source,omitempty"`
}

func toPackVersionJSON(pv *guard.PackVersion, withSource bool) packVersionJSON {
	out := packVersionJSON{Name: pv.Name, Version: pv.Version, Active: pv.Active,
		CreatedAt: pv.CreatedAt, CreatedBy: pv.CreatedBy, Comment: pv.Comment}
	if withSource {
		src := pv.Source
		out.Source = &src
	}
	return out
}

// handleListPacks lists each pack with its active version.
func handleListPacks(s *server) handler {
	type pack struct {
		Name          string `json:"name"`
		ActiveVersion int    `json:"active_version"` // 0: none
		LatestVersion int    `json:"latest_version"`
		Versions      int    `json:"versions"`
	}
	type response struct {
		Packs []pack `json:"packs"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		packs, err := s.guard.Packs(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		resp := response{Packs: []pack{}}
		for name, vs := range packs {
			p := pack{Name: name, Versions: len(vs)}
			for _, v := range vs {
				p.LatestVersion = max(p.LatestVersion, v.Version)
				if v.Active {
					p.ActiveVersion = v.Version
				}
			}
			resp.Packs = append(resp.Packs, p)
		}
		sort.Slice(resp.Packs, func(i, j int) bool { return resp.Packs[i].Name < resp.Packs[j].Name })
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// handlePostPack stores a new version of a pack (and activates it when
// asked). An invalid pack is refused with its errors and nothing is stored.
func handlePostPack(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		up, err := readPackUpload(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		pv, err := s.guard.LoadPack(r.Context(), up.Source, k.ID, up.Comment, up.Activate)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, audit.ActionRuleChange, "pack:"+pv.Name+"@"+strconv.Itoa(pv.Version), map[string]any{"loaded": true, "activated": up.Activate})
		w.Header().Set("Location", "/v1/rulepacks/"+pv.Name+"/versions/"+strconv.Itoa(pv.Version))
		writeJSON(w, http.StatusCreated, "application/json", toPackVersionJSON(pv, true))
	}
}

// handleValidatePack checks a pack without storing it.
func handleValidatePack(s *server) handler {
	type response struct {
		Valid bool     `json:"valid"`
		Pack  string   `json:"pack"`
		Rules []string `json:"rules"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		up, err := readPackUpload(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		p, err := s.guard.ValidatePack(r.Context(), up.Source)
		if err != nil {
			s.error(w, r, err)
			return
		}
		resp := response{Valid: true, Pack: p.Spec.Pack, Rules: make([]string, 0, len(p.Rules))}
		for _, rule := range p.Rules {
			resp.Rules = append(resp.Rules, rule.ID)
		}
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// handlePackVersions lists the versions of a pack, newest first.
func handlePackVersions(s *server) handler {
	type response struct {
		Versions []packVersionJSON `json:"versions"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		name := r.PathValue("name")
		vs, err := s.guard.Store().PackVersions(r.Context(), name)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if len(vs) == 0 {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no rule pack named %q", name))
			return
		}
		resp := response{Versions: make([]packVersionJSON, 0, len(vs))}
		for _, v := range vs {
			resp.Versions = append(resp.Versions, toPackVersionJSON(v, false))
		}
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// versionParam parses the {version} path segment.
func versionParam(r *http.Request) (int, error) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		return 0, xiaobao.Invalid("the version is invalid", xiaobao.FieldError{Field: "version", Reason: "must be a positive integer"})
	}
	return v, nil
}

// handlePackVersion returns one version with its source.
func handlePackVersion(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		v, err := versionParam(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		pv, err := s.guard.Store().PackVersion(r.Context(), r.PathValue("name"), v)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", toPackVersionJSON(pv, true))
	}
}

// handleActivatePack makes a stored version active: rolling back is
// activating an earlier one.
func handleActivatePack(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		v, err := versionParam(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		name := r.PathValue("name")
		if err := s.guard.ActivatePack(r.Context(), name, v); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, audit.ActionRuleChange, "pack:"+name+"@"+strconv.Itoa(v), map[string]any{"activated": true})
		pv, err := s.guard.Store().PackVersion(r.Context(), name, v)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", toPackVersionJSON(pv, false))
	}
}

// handleDeactivatePack stops using a pack.
func handleDeactivatePack(s *server) handler {
	type response struct {
		Name   string `json:"name"`
		Active bool   `json:"active"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		name := r.PathValue("name")
		vs, err := s.guard.Store().PackVersions(r.Context(), name)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if len(vs) == 0 {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no rule pack named %q", name))
			return
		}
		if err := s.guard.DeactivatePack(r.Context(), name); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, audit.ActionRuleChange, "pack:"+name, map[string]any{"deactivated": true})
		writeJSON(w, http.StatusOK, "application/json", response{Name: name, Active: false})
	}
}

// handleFeatures lists every feature a rule can read.
func handleFeatures() handler {
	type response struct {
		Features []string `json:"features"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		writeJSON(w, http.StatusOK, "application/json", response{Features: guard.FeatureNames()})
	}
}
