package http

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/service"
)

// TestFAQLearningLoop: a customer says an answer helped → a pending
// example (redacted) → a person accepts it → the base learns it; the
// firm's matched pairs are imported and learned at once; bad input is
// named by field or line.
func TestFAQLearningLoop(t *testing.T) {
	f := setup(t, withService(t, nil))
	ndjson := map[string]string{"Content-Type": "application/x-ndjson"}
	w := f.post("/v1/service/ask", `{"text":"我想一次性把钱全还了，手机13812345678","customer_id":"cust-1","channel":"app"}`)
	wantStatus(t, w, http.StatusOK)
	r := decode[service.AskResult](t, w)
	if len(r.Answers) == 0 {
		t.Fatalf("ask = %+v, want answers", r)
	}
	pick := r.Answers[0].FAQID
	path := "/v1/service/sessions/" + r.SessionID + "/feedback"
	body := `{"turn":` + strconv.Itoa(r.Turn) + `,"faq_id":"` + pick + `","helpful":true}`
	wantStatus(t, f.post(path, body), http.StatusOK)
	wantStatus(t, f.post(path, body), http.StatusOK) // a retry
	wantProblem(t, f.post(path, `{"turn":0,"faq_id":"","colour":1}`), http.StatusBadRequest, "invalid", "turn", "faq_id", "helpful", "colour")
	wantProblem(t, f.post(path, `{"turn":`+strconv.Itoa(r.Turn)+`,"faq_id":"not-offered","helpful":true}`), http.StatusBadRequest, "invalid", "faq_id")
	wantProblem(t, f.post("/v1/service/sessions/ses_none/feedback", body), http.StatusNotFound, "not_found")

	type list struct{ Examples []faq.Example }
	pending := decode[list](t, f.get("/v1/service/faq-examples?status=pending")).Examples
	if len(pending) != 1 || pending[0].FAQID != pick || pending[0].Source != faq.SourceFeedback || pending[0].Count != 1 ||
		strings.Contains(pending[0].Text, "13812345678") || !strings.Contains(pending[0].Text, "一次性") {
		t.Fatalf("pending examples = %+v", pending)
	}
	if n := f.srv.cfg.FAQ.Learned(); n != 0 {
		t.Fatalf("base learned %d before anyone accepted", n)
	}
	w = f.do(request{method: "POST", path: "/v1/service/faq-examples/" + pending[0].ID + "/accept", key: f.admin})
	wantStatus(t, w, http.StatusOK)
	if e := decode[faq.Example](t, w); e.Status != faq.ExampleActive || e.By == "" || strings.HasPrefix(e.By, "session:") {
		t.Errorf("accepted = %+v", e)
	}
	if n := f.srv.cfg.FAQ.Learned(); n != 1 {
		t.Errorf("base learned %d after the accept, want 1", n)
	}
	wantProblem(t, f.do(request{method: "POST", path: "/v1/service/faq-examples/ex_none/accept", key: f.admin}), http.StatusNotFound, "not_found")

	// The firm's matched pairs.
	imp := `{"text":"钱能一次还完吗","faq_id":"` + pick + `"}
{"text":"额度咋提","faq_id":"no-such-entry"}
{"text":"","faq_id":"` + pick + `"}
{"text":"钱能一次还完吗？","faq_id":"` + pick + `"}
`
	w = f.do(request{method: "POST", path: "/v1/service/faq-examples:import", key: f.admin, body: imp, header: ndjson})
	wantStatus(t, w, http.StatusOK)
	res := decode[struct {
		Imported, Added int
		Errors          []struct {
			Line   int
			Errors []struct{ Field, Reason string }
		}
	}](t, w)
	if res.Imported != 1 || res.Added != 1 || len(res.Errors) != 2 || res.Errors[0].Line != 2 || res.Errors[0].Errors[0].Field != "faq_id" ||
		res.Errors[1].Line != 3 || res.Errors[1].Errors[0].Field != "text" {
		t.Errorf("import = %+v", res)
	}
	if n := f.srv.cfg.FAQ.Learned(); n != 2 {
		t.Errorf("base learned %d after the import, want 2", n)
	}
	wantProblem(t, f.do(request{method: "POST", path: "/v1/service/faq-examples:import", key: f.newKey(auth.ScopeServiceAsk, auth.ScopeServiceRead), body: imp, header: ndjson}), http.StatusForbidden, "forbidden")
	all := decode[list](t, f.get("/v1/service/faq-examples")).Examples
	if len(all) != 2 {
		t.Fatalf("examples = %+v", all)
	}
	wantProblem(t, f.get("/v1/service/faq-examples?status=lost&limit=0&colour=red"), http.StatusBadRequest, "invalid", "status", "limit", "colour")

	// Unlearning.
	wantStatus(t, f.do(request{method: "DELETE", path: "/v1/service/faq-examples/" + all[0].ID, key: f.admin}), http.StatusNoContent)
	wantProblem(t, f.do(request{method: "DELETE", path: "/v1/service/faq-examples/" + all[0].ID, key: f.admin}), http.StatusNotFound, "not_found")
	if n := f.srv.cfg.FAQ.Learned(); n != 1 {
		t.Errorf("base learned %d after a delete, want 1", n)
	}

	st := decode[service.Stats](t, f.get("/v1/service/stats"))
	if st.Answers.Helpful != 1 || st.Answers.Unhelpful != 0 {
		t.Errorf("answer stats = %+v", st.Answers)
	}
}
