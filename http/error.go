package http

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
)

// Codes of problems that only the HTTP layer raises; the others are the
// xiaobao error codes.
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
)

// problemType describes one problem code: its status and a short
// explanation in Simplified Chinese and English, served at
// /problems/{code}.
type problemType struct {
	Code   string
	Status int
	Title  string
	ZH     string
	EN     string
}

var problemTypes = []problemType{
	{xiaobao.EINVALID, http.StatusBadRequest, "Invalid request",
		"请求无效：请求体或参数不符合接口约定。errors 列出每个有问题的字段及原因。",
		"The request does not follow the API contract. The errors member names each bad field and why."},
	{xiaobao.EUNAUTHORIZED, http.StatusUnauthorized, "Unauthorized",
		"未认证：缺少 API 密钥，或密钥无效、已吊销。请在 Authorization: Bearer 头中发送有效密钥。",
		"No API key was sent, or it is unknown or revoked. Send a valid key as Authorization: Bearer <key>."},
	{xiaobao.EFORBIDDEN, http.StatusForbidden, "Forbidden",
		"无权限：该 API 密钥没有此操作所需的权限范围（scope）。",
		"The API key does not hold the scope this operation needs."},
	{xiaobao.ENOTFOUND, http.StatusNotFound, "Not found",
		"未找到：请求的资源不存在。",
		"The resource does not exist."},
	{codeMethodNotAllowed, http.StatusMethodNotAllowed, "Method not allowed",
		"方法不允许：该路径不支持此 HTTP 方法，Allow 头列出支持的方法。",
		"The path does not support this HTTP method; the Allow header lists the methods it does."},
	{xiaobao.ECONFLICT, http.StatusConflict, "Conflict",
		"冲突：请求与现有数据冲突。",
		"The request conflicts with the data already stored."},
	{xiaobao.ETOOLARGE, http.StatusRequestEntityTooLarge, "Content too large",
		"请求体过大：超过了服务器允许的大小。请拆分后重试。",
		"The request body is larger than the server accepts. Split it and retry."},
	{codeUnsupportedMediaType, http.StatusUnsupportedMediaType, "Unsupported media type",
		"不支持的内容类型：请检查 Content-Type 头。",
		"The Content-Type of the body is not one this endpoint accepts."},
	{xiaobao.EOVERLOADED, http.StatusTooManyRequests, "Too many requests",
		"服务繁忙：服务器正在卸载负载，请按 Retry-After 头的秒数稍后重试。",
		"The server is shedding load. Retry after the number of seconds in the Retry-After header."},
	{xiaobao.EINTERNAL, http.StatusInternalServerError, "Internal error",
		"内部错误：服务器出现意外错误，已记录日志。",
		"An unexpected error occurred on the server; it has been logged."},
	{xiaobao.EUNAVAILABLE, http.StatusServiceUnavailable, "Service unavailable",
		"服务暂不可用：服务正在关闭或无法保存数据，请稍后重试。",
		"The service is shutting down or cannot store data. Retry later."},
}

var problemByCode = func() map[string]*problemType {
	m := make(map[string]*problemType, len(problemTypes))
	for i := range problemTypes {
		m[problemTypes[i].Code] = &problemTypes[i]
	}
	return m
}()

// problem is an RFC 9457 problem detail.
type problem struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail,omitempty"`
	Code   string               `json:"code"`
	Errors []xiaobao.FieldError `json:"errors,omitempty"`
}

// problemOf maps an error to its problem and counts it by code. This is
// the one place where error codes become HTTP statuses.
func (s *server) problemOf(err error) problem {
	code := xiaobao.ErrorCode(err)
	var h *httpError
	if e, ok := err.(*httpError); ok {
		h, code = e, e.code
	}
	pt := problemByCode[code]
	if pt == nil {
		code, pt = xiaobao.EINTERNAL, problemByCode[xiaobao.EINTERNAL]
	}
	s.metrics.countError(code)
	p := problem{Type: "/problems/" + code, Title: pt.Title, Status: pt.Status, Code: code}
	switch {
	case h != nil:
		p.Detail = h.msg
	case code == xiaobao.EINTERNAL:
		p.Detail = "internal error"
	default:
		// Messages quote the values they refuse, and a caller may have put
		// a phone or ID number where it does not belong: answers (which
		// clients log) carry it masked.
		p.Detail = redact(xiaobao.ErrorMessage(err))
		p.Errors = slices.Clone(xiaobao.ErrorFields(err))
		for i := range p.Errors {
			p.Errors[i].Field = redact(p.Errors[i].Field)
			p.Errors[i].Reason = redact(p.Errors[i].Reason)
		}
	}
	return p
}

// error writes err as a problem. Internal errors are logged (their text
// may name internals) and never shown.
func (s *server) error(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problemOf(err)
	if p.Code == xiaobao.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "route", r.Pattern, "err", err.Error())
	}
	h := w.Header()
	switch p.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="xiaobao"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	writeJSON(w, p.Status, "application/problem+json", p)
}

// httpError is an error raised by the HTTP layer itself, with a code that
// has no xiaobao counterpart (405, 415).
type httpError struct {
	code string
	msg  string
}

func (e *httpError) Error() string { return e.code + ": " + e.msg }

// handleUnmatched answers requests no route matches.
func handleUnmatched(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if allow := s.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.error(w, r, &httpError{code: codeMethodNotAllowed, msg: "method " + r.Method + " is not allowed here"})
			return
		}
		s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no such endpoint"))
	}
}

// handleProblemType describes a problem code in Chinese and English.
func handleProblemType(s *server) handler {
	type description struct {
		ZH string `json:"zh"`
		EN string `json:"en"`
	}
	type response struct {
		Type        string      `json:"type"`
		Code        string      `json:"code"`
		Status      int         `json:"status"`
		Title       string      `json:"title"`
		Description description `json:"description"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		pt := problemByCode[r.PathValue("code")]
		if pt == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no such problem type"))
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{
			Type: "/problems/" + pt.Code, Code: pt.Code, Status: pt.Status, Title: pt.Title,
			Description: description{ZH: pt.ZH, EN: pt.EN},
		})
	}
}

// statusText is strconv.Itoa for the few statuses used as metric labels,
// without allocating.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 405:
		return "405"
	case 413:
		return "413"
	case 429:
		return "429"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}
