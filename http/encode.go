package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// Shared header values: assigning these slices to a header map directly
// avoids allocating them per response (net/http never modifies them).
var (
	hdrJSON     = []string{"application/json"}
	hdrNDJSON   = []string{"application/x-ndjson"}
	hdrTrue     = []string{"true"}
	hdrNoSniff  = []string{"nosniff"}
	hdrNoStore  = []string{"no-store"}
	hdrProblem  = []string{"application/problem+json"}
	contentType = "Content-Type"
)

// writeJSON encodes v as the whole response.
func writeJSON(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here: answer without a body.
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	writeBody(w, status, ctype, b)
}

// writeBody writes a complete JSON body with its length.
func writeBody(w http.ResponseWriter, status int, ctype string, b []byte) {
	h := w.Header()
	switch ctype {
	case "application/json":
		h[contentType] = hdrJSON
	case "application/problem+json":
		h[contentType] = hdrProblem
	default:
		h.Set(contentType, ctype)
	}
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func tooLarge(limit int64) error {
	return xiaobao.Errorf(xiaobao.ETOOLARGE, "the request body is larger than %d bytes", limit)
}

// readBody reads the whole request body, at most limit bytes, into a new
// slice of exactly its size: the caller may keep it (an event keeps its
// raw bytes until they are stored and beyond).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if r.ContentLength >= 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, bodyError(err, limit)
		}
		return b, nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if err := readLimited(buf, r.Body, limit); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// readLimited reads all of body into buf, failing beyond limit bytes.
func readLimited(buf *bytes.Buffer, body io.Reader, limit int64) error {
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		return bodyError(err, limit)
	}
	if n > limit {
		return tooLarge(limit)
	}
	return nil
}

func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return xiaobao.Invalid("the request body is shorter than its Content-Length")
	}
	return xiaobao.Errorf(xiaobao.EINVALID, "the request body could not be read")
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putBuffer returns a buffer to the pool unless it grew huge (a batch), so
// the pool does not pin megabytes.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	buffers.Put(b)
}

// maxJSONDepth bounds the nesting of JSON bodies, as the event decoder does.
const maxJSONDepth = 32

// checkJSONText rejects bodies that are not UTF-8 or nest too deeply, before
// encoding/json sees them (it silently replaces invalid UTF-8 and accepts
// 10000 levels).
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return xiaobao.Invalid("the body is invalid", xiaobao.FieldError{Field: "", Reason: "is not valid UTF-8"})
	}
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			if depth++; depth > maxJSONDepth {
				return xiaobao.Invalid("the body is invalid", xiaobao.FieldError{Field: "", Reason: "nesting deeper than 32 levels"})
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// object is a JSON object being decoded member by member, so that every bad
// member is reported (encoding/json stops at the first type error) and each
// is named by its field path.
type object struct {
	prefix  string
	members map[string]json.RawMessage
	used    map[string]bool
	errs    []xiaobao.FieldError
}

// readObject reads a request body of at most limit bytes that must be
// one JSON object.
func readObject(r *http.Request, limit int64) (*object, error) {
	body, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	return decodeObject(body, "")
}

// decodeObject parses b as one JSON object. Field names in errors get prefix.
func decodeObject(b []byte, prefix string) (*object, error) {
	if err := checkJSONText(b); err != nil {
		return nil, err
	}
	o := &object{prefix: prefix, used: map[string]bool{}}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, xiaobao.Invalid("the body is invalid", xiaobao.FieldError{Field: strings.TrimSuffix(prefix, "."), Reason: "must be a JSON object; the body is empty"})
	}
	if trimmed[0] != '{' {
		return nil, xiaobao.Invalid("the body is invalid", xiaobao.FieldError{Field: strings.TrimSuffix(prefix, "."), Reason: "must be a JSON object"})
	}
	if err := json.Unmarshal(trimmed, &o.members); err != nil {
		return nil, xiaobao.Invalid("the body is invalid", xiaobao.FieldError{Field: "", Reason: "is not valid JSON: " + jsonReason(err)})
	}
	return o, nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return "malformed"
}

func (o *object) bad(name, reason string) {
	o.errs = append(o.errs, xiaobao.FieldError{Field: o.prefix + name, Reason: reason})
}

// raw returns a member's JSON, nil when absent or null.
func (o *object) raw(name string) json.RawMessage {
	o.used[name] = true
	v, ok := o.members[name]
	if !ok || string(v) == "null" {
		return nil
	}
	return v
}

// jsonKind names the JSON type of a raw value, for error reasons.
func jsonKind(v json.RawMessage) string {
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// str decodes a string member of at most max bytes.
func (o *object) str(name string, required bool, max int) string {
	v := o.raw(name)
	if v == nil {
		if required {
			o.bad(name, "is required")
		}
		return ""
	}
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		o.bad(name, "must be a string, not "+jsonKind(v))
		return ""
	}
	if required && s == "" {
		o.bad(name, "must not be empty")
	} else if len(s) > max {
		o.bad(name, "must be at most "+strconv.Itoa(max)+" bytes")
	}
	return s
}

// money decodes a decimal-string amount; numbers are refused so that no
// amount ever passes through a float.
func (o *object) money(name string) xiaobao.Money {
	v := o.raw(name)
	if v == nil {
		return 0
	}
	if v[0] != '"' {
		if jsonKind(v) == "a number" {
			o.bad(name, `must be a decimal string such as "5000.00", not a number`)
		} else {
			o.bad(name, `must be a decimal string such as "5000.00"`)
		}
		return 0
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.bad(name, `must be a decimal string such as "5000.00"`)
		return 0
	}
	m, err := xiaobao.ParseMoney(s)
	if err != nil {
		o.bad(name, err.Error())
	}
	return m
}

// boolean decodes a boolean member.
func (o *object) boolean(name string) bool {
	v := o.raw(name)
	if v == nil {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		o.bad(name, "must be a boolean, not "+jsonKind(v))
	}
	return b
}

// time decodes an optional RFC 3339 time.
func (o *object) time(name string) *time.Time {
	v := o.raw(name)
	if v == nil {
		return nil
	}
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		o.bad(name, "must be an RFC 3339 time string, not "+jsonKind(v))
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.bad(name, "must be an RFC 3339 time with an offset")
		return nil
	}
	t = t.UTC()
	return &t
}

// strings decodes an array of strings.
func (o *object) strings(name string, required bool) []string {
	v := o.raw(name)
	if v == nil {
		if required {
			o.bad(name, "is required")
		}
		return nil
	}
	if v[0] != '[' {
		o.bad(name, "must be an array of strings, not "+jsonKind(v))
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		o.bad(name, "must be an array of strings")
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var s string
		if it[0] != '"' || json.Unmarshal(it, &s) != nil {
			o.bad(name+"["+strconv.Itoa(i)+"]", "must be a string, not "+jsonKind(it))
			continue
		}
		out = append(out, s)
	}
	return out
}

// err finishes decoding: unknown members are errors (a typo in an admin
// request should not be silently ignored), and all field errors become one
// EINVALID error.
func (o *object) err(message string) error {
	var unknown []string
	for name := range o.members {
		if !o.used[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		o.bad(name, "unknown member")
	}
	if len(o.errs) == 0 {
		return nil
	}
	return xiaobao.Invalid(message, o.errs...)
}

// queryInt reads an optional whole-number query parameter in [lo, hi]:
// def when absent; a bad value is added to fe, naming the parameter.
func queryInt(q url.Values, name string, lo, hi, def int, fe *[]xiaobao.FieldError) int {
	v := q.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		*fe = append(*fe, xiaobao.FieldError{Field: name, Reason: "must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)})
	}
	return n
}
