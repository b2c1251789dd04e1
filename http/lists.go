package http

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/pii"
)

// kindIDNumber is accepted as input only: entries of this kind are stored as
// id_hash with the hash of the number, so raw ID numbers are never stored.
const kindIDNumber = "id_number"

const kindReason = "must be one of account, phone, device, ip, id_hash, id_number, customer"

// validIDNumber reports whether s looks like a resident ID number (15 or
// 18 characters, digits, the last of 18 may be X).
func validIDNumber(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || i == 17 && (c == 'X' || c == 'x') {
			continue
		}
		return false
	}
	return true
}

// listKey resolves a (kind, value) pair as given by a client: id_number is
// hashed. It returns field errors named with prefix.
func listKey(kind, value, prefix string) (guard.EntityKind, string, []xiaobao.FieldError) {
	if kind == kindIDNumber {
		if !validIDNumber(value) {
			return guard.KindIDHash, "", []xiaobao.FieldError{{Field: prefix + "value", Reason: "must be a 15- or 18-character resident ID number"}}
		}
		return guard.KindIDHash, guard.HashIDNumber(value), nil
	}
	return guard.EntityKind(kind), value, nil
}

// newListEntry builds and validates an entry.
func newListEntry(list, kind, value, reason, source string, expires *time.Time, by, prefix string) (*guard.ListEntry, []xiaobao.FieldError) {
	k, v, fe := listKey(kind, value, prefix)
	e := &guard.ListEntry{List: guard.ListName(list), Kind: k, Value: v, Reason: reason, Source: source, ExpiresAt: expires, CreatedBy: by}
	if fe != nil {
		e.Value = strings.Repeat("0", 64) // the hash slot: report the value error once
	}
	for _, f := range guard.ValidateListEntry(e, prefix) {
		if f.Field == prefix+"kind" {
			f.Reason = kindReason
		}
		fe = append(fe, f)
	}
	if len(source) > 200 {
		fe = append(fe, xiaobao.FieldError{Field: prefix + "source", Reason: "must be at most 200 bytes"})
	}
	return e, fe
}

// handleListEntries searches list entries.
func handleListEntries(s *server) handler {
	type response struct {
		Entries []*guard.ListEntry `json:"entries"`
	}
	params := []string{"list", "kind", "value", "limit"}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		q := r.URL.Query()
		var fe []xiaobao.FieldError
		for name := range q {
			if !slices.Contains(params, name) {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "unknown query parameter"})
			}
		}
		f := guard.ListFilter{List: guard.ListName(q.Get("list")), Limit: 1000}
		if f.List != "" && f.List != guard.BlockList && f.List != guard.AllowList {
			fe = append(fe, xiaobao.FieldError{Field: "list", Reason: "must be block or allow"})
		}
		if kind := q.Get("kind"); kind != "" {
			if kind != kindIDNumber && !slices.Contains(guard.EntityKinds, guard.EntityKind(kind)) {
				fe = append(fe, xiaobao.FieldError{Field: "kind", Reason: kindReason})
			}
			var kfe []xiaobao.FieldError
			f.Kind, f.Value, kfe = listKey(kind, q.Get("value"), "")
			if q.Get("value") != "" {
				fe = append(fe, kfe...)
			}
		} else {
			f.Value = q.Get("value")
		}
		f.Limit = queryInt(q, "limit", 1, 10000, f.Limit, &fe)
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the query is invalid", fe...))
			return
		}
		es, err := s.guard.ListEntries(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if es == nil {
			es = []*guard.ListEntry{}
		}
		writeJSON(w, http.StatusOK, "application/json", response{Entries: es})
	}
}

// handlePutListEntry inserts or replaces one entry (idempotent).
func handlePutListEntry(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		body, err := readBody(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var reason, source string
		var expires *time.Time
		var fe []xiaobao.FieldError
		if len(bytes.TrimSpace(body)) > 0 {
			obj, err := decodeObject(body, "")
			if err != nil {
				s.error(w, r, err)
				return
			}
			reason = obj.str("reason", false, 1000)
			source = obj.str("source", false, 200)
			expires = obj.time("expires_at")
			fe = xiaobao.ErrorFields(obj.err(""))
		}
		e, efe := newListEntry(r.PathValue("list"), r.PathValue("kind"), r.PathValue("value"), reason, source, expires, k.ID, "")
		if fe = append(fe, efe...); len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the list entry is invalid", fe...))
			return
		}
		if err := s.guard.PutListEntries(r.Context(), []*guard.ListEntry{e}); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, audit.ActionListChange, "list:"+string(e.List)+"/"+string(e.Kind)+"/"+maskListValue(e.Kind, e.Value), map[string]any{"put": true, "source": e.Source})
		writeJSON(w, http.StatusOK, "application/json", e)
	}
}

// handleDeleteListEntry removes one entry.
func handleDeleteListEntry(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		list := r.PathValue("list")
		kind, value, fe := listKey(r.PathValue("kind"), r.PathValue("value"), "")
		if list != string(guard.BlockList) && list != string(guard.AllowList) {
			fe = append(fe, xiaobao.FieldError{Field: "list", Reason: "must be block or allow"})
		}
		if !slices.Contains(guard.EntityKinds, kind) {
			fe = append(fe, xiaobao.FieldError{Field: "kind", Reason: kindReason})
		}
		if len(fe) > 0 {
			s.error(w, r, xiaobao.Invalid("the list entry is invalid", fe...))
			return
		}
		if err := s.guard.DeleteListEntry(r.Context(), guard.ListName(list), kind, value); err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, audit.ActionListChange, "list:"+list+"/"+string(kind)+"/"+maskListValue(kind, value), map[string]any{"deleted": true})
		w.WriteHeader(http.StatusNoContent)
	}
}

// importChunk is how many entries one store call writes during an import.
const importChunk = 5000

// lineErrors reports the problems of one line of an import.
type lineErrors struct {
	Line   int                  `json:"line"`
	Errors []xiaobao.FieldError `json:"errors"`
}

// handleImportList imports entries from NDJSON or CSV: good lines are
// stored, bad lines are reported by line number.
func handleImportList(s *server) handler {
	type response struct {
		Imported int          `json:"imported"`
		Errors   []lineErrors `json:"errors"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		mt := ""
		if ct := r.Header.Get("Content-Type"); ct != "" {
			var err error
			if mt, _, err = mime.ParseMediaType(ct); err != nil {
				s.error(w, r, &httpError{code: codeUnsupportedMediaType, msg: "the Content-Type header is malformed"})
				return
			}
		}
		buf := getBuffer()
		defer putBuffer(buf)
		if err := readLimited(buf, r.Body, s.cfg.MaxBatchBytes); err != nil {
			s.error(w, r, err)
			return
		}
		var (
			entries []*guard.ListEntry
			bad     []lineErrors
			err     error
		)
		switch mt {
		case "text/csv":
			entries, bad, err = parseListCSV(buf.Bytes(), k.ID)
		case "", "application/x-ndjson", "application/jsonl", "application/json", "text/plain":
			entries, bad = parseListNDJSON(buf.Bytes(), k.ID)
		default:
			err = &httpError{code: codeUnsupportedMediaType, msg: "send NDJSON (application/x-ndjson) or CSV (text/csv)"}
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		resp := response{Errors: bad}
		if resp.Errors == nil {
			resp.Errors = []lineErrors{}
		}
		for len(entries) > 0 {
			n := min(len(entries), importChunk)
			if err := s.guard.PutListEntries(r.Context(), entries[:n]); err != nil {
				s.error(w, r, err)
				return
			}
			resp.Imported += n
			entries = entries[n:]
		}
		s.auditChange(r, k, audit.ActionListChange, "list:import", map[string]any{"imported": resp.Imported, "rejected_lines": len(resp.Errors)})
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// parseListNDJSON parses import lines {"list","kind","value","reason","source","expires_at"}.
func parseListNDJSON(body []byte, by string) ([]*guard.ListEntry, []lineErrors) {
	var (
		entries []*guard.ListEntry
		bad     []lineErrors
	)
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue // blank lines are harmless in an import
		}
		obj, err := decodeObject(line, "")
		if err != nil {
			bad = append(bad, lineErrors{Line: n, Errors: xiaobao.ErrorFields(err)})
			continue
		}
		list := obj.str("list", true, 16)
		kind := obj.str("kind", true, 16)
		value := obj.str("value", true, 256)
		reason := obj.str("reason", false, 1000)
		source := obj.str("source", false, 200)
		expires := obj.time("expires_at")
		fe := xiaobao.ErrorFields(obj.err(""))
		if len(fe) > 0 {
			bad = append(bad, lineErrors{Line: n, Errors: fe})
			continue
		}
		e, fe := newListEntry(list, kind, value, reason, source, expires, by, "")
		if len(fe) > 0 {
			bad = append(bad, lineErrors{Line: n, Errors: fe})
			continue
		}
		entries = append(entries, e)
	}
	return entries, bad
}

var csvColumns = []string{"list", "kind", "value", "reason", "source", "expires_at"}

// parseListCSV parses a CSV import with a header naming its columns (list,
// kind and value required; reason, source, expires_at optional).
func parseListCSV(body []byte, by string) ([]*guard.ListEntry, []lineErrors, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a BOM, as spreadsheets write
	if !utf8.Valid(body) {
		return nil, nil, xiaobao.Invalid("the CSV is invalid", xiaobao.FieldError{Field: "", Reason: "is not valid UTF-8"})
	}
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, xiaobao.Invalid("the CSV is invalid", xiaobao.FieldError{Field: "header", Reason: "a header line list,kind,value,reason,source,expires_at is required"})
	}
	col := map[string]int{}
	var fe []xiaobao.FieldError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(csvColumns, h) {
			fe = append(fe, xiaobao.FieldError{Field: "header", Reason: "unknown column " + strconv.Quote(h)})
		} else if _, dup := col[h]; dup {
			fe = append(fe, xiaobao.FieldError{Field: "header", Reason: "duplicate column " + strconv.Quote(h)})
		}
		col[h] = i
	}
	for _, req := range csvColumns[:3] {
		if _, ok := col[req]; !ok {
			fe = append(fe, xiaobao.FieldError{Field: "header", Reason: "column " + strconv.Quote(req) + " is required"})
		}
	}
	if len(fe) > 0 {
		return nil, nil, xiaobao.Invalid("the CSV header is invalid", fe...)
	}
	var (
		entries []*guard.ListEntry
		bad     []lineErrors
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, lineErrors{Line: pe.Line, Errors: []xiaobao.FieldError{{Field: "", Reason: pe.Err.Error()}}})
			if len(bad) > 10000 {
				break
			}
			continue
		} else if err != nil {
			return nil, nil, xiaobao.Invalid("the CSV is invalid", xiaobao.FieldError{Field: "", Reason: "cannot be read"})
		}
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		var lfe []xiaobao.FieldError
		var expires *time.Time
		if v := get("expires_at"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				lfe = append(lfe, xiaobao.FieldError{Field: "expires_at", Reason: "must be an RFC 3339 time with an offset"})
			} else {
				t = t.UTC()
				expires = &t
			}
		}
		e, efe := newListEntry(get("list"), get("kind"), get("value"), get("reason"), get("source"), expires, by, "")
		if lfe = append(lfe, efe...); len(lfe) > 0 {
			bad = append(bad, lineErrors{Line: line, Errors: lfe})
			continue
		}
		entries = append(entries, e)
	}
	return entries, bad, nil
}

// maskListValue is how a list entry's value appears in the audit log:
// phones, accounts and IPs masked as everywhere else, ids as they are
// (device ids, customer ids and ID-number hashes are not personal data on
// their own).
func maskListValue(kind guard.EntityKind, v string) string {
	switch kind {
	case guard.KindPhone:
		return pii.MaskPhone(v)
	case guard.KindAccount:
		return pii.MaskAccount(v)
	case guard.KindIP:
		return pii.MaskIP(v)
	}
	return v
}
