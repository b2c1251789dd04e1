package http

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/report"
)

// Reports answers GET /v1/report/summary from pre-aggregated rollups
// (report.Rollup).
type Reports interface {
	Summarize(q report.Query) (*report.Summary, error)
}

// reportQueryParams are the query parameters of GET /v1/report/summary.
var reportQueryParams = []string{"from", "to", "bucket"}

// handleReportSummary returns the headline figures of a period with the
// period before it, a series and the breakdowns by typology and journey
// node. from and to are RFC 3339 times or dates (YYYY-MM-DD, in the
// report's zone); the default is the 30 days up to today.
func handleReportSummary(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Reports == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "reports are not enabled on this server"))
			return
		}
		q := r.URL.Query()
		var fe []xiaobao.FieldError
		for name, vs := range q {
			if !slices.Contains(reportQueryParams, name) {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "unknown query parameter"})
			} else if len(vs) > 1 {
				fe = append(fe, xiaobao.FieldError{Field: name, Reason: "must be given once"})
			}
		}
		tm := func(name string) time.Time {
			v := q.Get(name)
			if v == "" {
				return time.Time{}
			}
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				return t
			}
			if t, err := time.ParseInLocation(time.DateOnly, v, report.CST); err == nil {
				return t
			}
			fe = append(fe, xiaobao.FieldError{Field: name, Reason: "must be an RFC 3339 time or a date YYYY-MM-DD"})
			return time.Time{}
		}
		from, to := tm("from"), tm("to")
		if to.IsZero() {
			now := s.clock.Now().In(report.CST)
			to = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, report.CST)
		}
		if from.IsZero() {
			from = to.AddDate(0, 0, -30)
		}
		if len(fe) > 0 {
			slices.SortFunc(fe, func(a, b xiaobao.FieldError) int { return strings.Compare(a.Field, b.Field) })
			s.error(w, r, xiaobao.Invalid("the report query is invalid", fe...))
			return
		}
		sum, err := s.cfg.Reports.Summarize(report.Query{From: from, To: to, Bucket: report.Bucket(q.Get("bucket"))})
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, "application/json", sum)
	}
}
