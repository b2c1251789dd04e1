package http

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/faq"
)

// The FAQ knowledge base endpoints (the Answer ability's admin side):
// import, list, read, edit and delete entries, their history, the firm's
// synonyms, and a search to try the base. Every change is written to the
// store first (when there is one) and then to the live base, under one
// lock so both see the changes in the same order.

// faqWrites serialises FAQ changes (store, then live base).
var faqWrites sync.Mutex

const actionFAQChange = "faq.change"

// faqBase returns the live base, or a not-found error when the server has
// none.
func (s *server) faqBase() (*faq.Base, error) {
	if s.cfg.FAQ == nil {
		return nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "the FAQ knowledge base is not enabled on this server")
	}
	return s.cfg.FAQ, nil
}

func (s *server) faqStore() (faq.Store, error) {
	if s.cfg.FAQStore == nil {
		return nil, xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the FAQ history needs a store, and this server has none")
	}
	return s.cfg.FAQStore, nil
}

// handleImportFAQs imports entries from NDJSON (one entry a line): good
// lines are stored, bad lines are reported by line number.
func handleImportFAQs(s *server) handler {
	type response struct {
		Imported int          `json:"imported"`
		Errors   []lineErrors `json:"errors"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		b, err := s.faqBase()
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
		entries, bad := faq.ParseNDJSON(buf)
		resp := response{Imported: len(entries), Errors: make([]lineErrors, 0, len(bad))}
		for _, le := range bad {
			resp.Errors = append(resp.Errors, lineErrors{Line: le.Line, Errors: []xiaobao.FieldError{{Field: le.Field, Reason: le.Reason}}})
		}
		if len(entries) > 0 {
			if err := s.putFAQs(r, k, b, entries); err != nil {
				s.error(w, r, err)
				return
			}
		}
		s.auditChange(r, k, actionFAQChange, "faq:import", map[string]any{"imported": resp.Imported, "rejected_lines": len(resp.Errors)})
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// putFAQs stores entries and then puts them in the live base.
func (s *server) putFAQs(r *http.Request, k *auth.Key, b *faq.Base, entries []faq.Entry) error {
	faqWrites.Lock()
	defer faqWrites.Unlock()
	if s.cfg.FAQStore != nil {
		if _, err := s.cfg.FAQStore.PutFAQs(r.Context(), entries, k.ID, s.clock.Now()); err != nil {
			return err
		}
	}
	return b.Upsert(entries...)
}

// handleListFAQs returns every entry.
func handleListFAQs(s *server) handler {
	type response struct {
		Count int         `json:"count"`
		FAQs  []faq.Entry `json:"faqs"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		es := b.Entries()
		writeJSON(w, http.StatusOK, "application/json", response{Count: len(es), FAQs: es})
	}
}

// handleGetFAQ returns one entry.
func handleGetFAQ(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		e, ok := b.Entry(r.PathValue("id"))
		if !ok {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no FAQ entry %q", r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, "application/json", e)
	}
}

// handlePutFAQ creates or replaces one entry.
func handlePutFAQ(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		id := r.PathValue("id")
		if bodyID := obj.str("id", false, 200); bodyID != "" && bodyID != id {
			obj.bad("id", "must match the id in the path or be left out")
		}
		e := faq.Entry{ID: id, Questions: obj.strings("questions", true), Answer: obj.str("answer", true, 20000), Category: obj.str("category", false, 64)}
		if err := obj.err("the FAQ entry is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		if err := e.Validate(); err != nil {
			s.error(w, r, fieldInvalid("the FAQ entry is invalid", err))
			return
		}
		if err := s.putFAQs(r, k, b, []faq.Entry{e}); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionFAQChange, "faq:"+id, map[string]any{"put": true, "questions": len(e.Questions)})
		writeJSON(w, http.StatusOK, "application/json", e)
	}
}

// fieldInvalid turns a faq.FieldError into an EINVALID error.
func fieldInvalid(message string, err error) error {
	var fe *faq.FieldError
	if errors.As(err, &fe) {
		return xiaobao.Invalid(message, xiaobao.FieldError{Field: fe.Field, Reason: fe.Reason})
	}
	return xiaobao.Invalid(message, xiaobao.FieldError{Reason: err.Error()})
}

// handleDeleteFAQ removes one entry.
func handleDeleteFAQ(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		id := r.PathValue("id")
		faqWrites.Lock()
		found := false
		if s.cfg.FAQStore != nil {
			found, err = s.cfg.FAQStore.DeleteFAQ(r.Context(), id, k.ID, s.clock.Now())
		}
		if err == nil {
			found = b.Delete(id) || found
		}
		faqWrites.Unlock()
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !found {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no FAQ entry %q", id))
			return
		}
		s.auditChange(r, k, actionFAQChange, "faq:"+id, map[string]any{"deleted": true})
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleFAQHistory returns an entry's revisions.
func handleFAQHistory(s *server) handler {
	type response struct {
		Revisions []faq.Revision `json:"revisions"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		st, err := s.faqStore()
		if err != nil {
			s.error(w, r, err)
			return
		}
		id := r.PathValue("id")
		h, err := st.FAQHistory(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if len(h) == 0 {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no FAQ entry %q has ever existed", id))
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{Revisions: h})
	}
}

// handleGetSynonyms returns the firm's synonyms and the built-in ones.
func handleGetSynonyms(s *server) handler {
	type response struct {
		Synonyms []faq.Synonym `json:"synonyms"`
		Builtin  []faq.Synonym `json:"builtin"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		syn := b.Synonyms()
		if syn == nil {
			syn = []faq.Synonym{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Synonyms: syn, Builtin: faq.DefaultSynonyms})
	}
}

// handlePutSynonyms replaces the firm's synonyms.
func handlePutSynonyms(s *server) handler {
	type response struct {
		Synonyms []faq.Synonym `json:"synonyms"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBatchBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		raw := obj.raw("synonyms")
		if err := obj.err("the synonyms are invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		var syn []faq.Synonym
		var fe []xiaobao.FieldError
		if raw == nil {
			fe = append(fe, xiaobao.FieldError{Field: "synonyms", Reason: "is required"})
		} else if raw[0] != '[' {
			fe = append(fe, xiaobao.FieldError{Field: "synonyms", Reason: "must be an array of {term, variants}, not " + jsonKind(raw)})
		} else {
			var items []json.RawMessage
			_ = json.Unmarshal(raw, &items)
			for i, it := range items {
				p := "synonyms[" + strconv.Itoa(i) + "]."
				o, err := decodeObject(it, p)
				if err != nil {
					fe = append(fe, xiaobao.ErrorFields(err)...)
					continue
				}
				sy := faq.Synonym{Term: o.str("term", true, 100), Variants: o.strings("variants", true)}
				if err := o.err(""); err != nil {
					fe = append(fe, xiaobao.ErrorFields(err)...)
					continue
				}
				if err := sy.Validate(); err != nil {
					var e *faq.FieldError
					if errors.As(err, &e) {
						fe = append(fe, xiaobao.FieldError{Field: p + e.Field, Reason: e.Reason})
					}
					continue
				}
				syn = append(syn, sy)
			}
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the synonyms are invalid", fe...))
			return
		}
		faqWrites.Lock()
		if s.cfg.FAQStore != nil {
			err = s.cfg.FAQStore.PutFAQSynonyms(r.Context(), syn, k.ID, s.clock.Now())
		}
		if err == nil {
			err = b.SetSynonyms(syn)
		}
		faqWrites.Unlock()
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, actionFAQChange, "faq:synonyms", map[string]any{"groups": len(syn)})
		if syn == nil {
			syn = []faq.Synonym{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Synonyms: syn})
	}
}

// handleSynonymHistory returns every version of the synonyms.
func handleSynonymHistory(s *server) handler {
	type response struct {
		Versions []faq.SynonymRevision `json:"versions"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		st, err := s.faqStore()
		if err != nil {
			s.error(w, r, err)
			return
		}
		h, err := st.FAQSynonymHistory(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		if h == nil {
			h = []faq.SynonymRevision{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Versions: h})
	}
}

// handleSearchFAQs ranks the entries for a text, as the ask endpoint
// would, to try the base while editing it.
func handleSearchFAQs(s *server) handler {
	type response struct {
		Normalized string `json:"normalized"`
		faq.Result
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		b, err := s.faqBase()
		if err != nil {
			s.error(w, r, err)
			return
		}
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		text := obj.str("text", true, 2000)
		k := 5
		if raw := obj.raw("k"); raw != nil {
			if err := json.Unmarshal(raw, &k); err != nil || k < 1 || k > 20 {
				obj.bad("k", "must be an integer from 1 to 20")
			}
		}
		if err := obj.err("the search is invalid"); err != nil {
			s.error(w, r, err)
			return
		}
		res := b.Search(text, k)
		if res.Hits == nil {
			res.Hits = []faq.Hit{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Normalized: b.Normalize(text), Result: res})
	}
}
