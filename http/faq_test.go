package http

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/faq"
)

// setupFAQ is a fixture whose server has a knowledge base with the
// starter bank, persisted in the fixture's SQLite database.
func setupFAQ(t *testing.T) (*fixture, *faq.Base) {
	t.Helper()
	b := faq.NewBase(faq.Options{NoLearn: true})
	f := setup(t, func(c *Config) { c.FAQ = b })
	f.srv.cfg.FAQStore = f.db
	if _, err := faq.Load(t.Context(), f.db, b); err != nil {
		t.Fatal(err)
	}
	return f, b
}

func TestFAQImport(t *testing.T) {
	f, b := setupFAQ(t)
	body := `{"id":"white","questions":["白条怎么开通","如何开白条"],"answer":"在首页开通。","category":"account"}
{"id":"bad1","questions":[],"answer":"x"}

{"id":"bad2","questions":["q"]}
not json
{"id":"limit-raise","questions":["怎么提额"],"answer":"按时还款。","category":"limit"}
`
	w := f.do(request{method: "POST", path: "/v1/service/faqs:import", key: f.admin, body: body, header: map[string]string{"Content-Type": "application/x-ndjson"}})
	wantStatus(t, w, 200)
	type result struct {
		Imported int `json:"imported"`
		Errors   []struct {
			Line   int `json:"line"`
			Errors []struct{ Field, Reason string }
		} `json:"errors"`
	}
	res := decode[result](t, w)
	if res.Imported != 2 || len(res.Errors) != 3 {
		t.Fatalf("import = %+v, want 2 imported and 3 bad lines", res)
	}
	for i, want := range []struct {
		line  int
		field string
	}{{2, "questions"}, {4, "answer"}, {5, ""}} {
		if got := res.Errors[i]; got.Line != want.line || got.Errors[0].Field != want.field || got.Errors[0].Reason == "" {
			t.Errorf("error %d = %+v, want line %d field %q", i, got, want.line, want.field)
		}
	}
	// Re-import replaced limit-raise; the rest of the starter bank stays.
	if e, ok := b.Entry("limit-raise"); !ok || e.Answer != "按时还款。" {
		t.Errorf("limit-raise = %+v", e)
	}
	if b.Len() != len(faq.Starter())+1 {
		t.Errorf("base has %d entries, want %d", b.Len(), len(faq.Starter())+1)
	}
	stored, err := f.db.FAQs(t.Context())
	if err != nil || len(stored) != 2 {
		t.Errorf("store has %d entries (%v), want the 2 imported", len(stored), err)
	}
	// An empty import imports nothing.
	w = f.do(request{method: "POST", path: "/v1/service/faqs:import", key: f.admin, body: "\n"})
	wantStatus(t, w, 200)
	if res := decode[result](t, w); res.Imported != 0 || len(res.Errors) != 0 {
		t.Errorf("empty import = %+v", res)
	}
}

func TestFAQEditAndHistory(t *testing.T) {
	f, _ := setupFAQ(t)
	put := func(id, body string) *httptestResponse {
		return f.do(request{method: "PUT", path: "/v1/service/faqs/" + id, key: f.admin, body: body})
	}
	wantStatus(t, put("white", `{"questions":["白条怎么开通"],"answer":"在首页开通。"}`), 200)
	wantStatus(t, put("white", `{"id":"white","questions":["白条怎么开通","白条在哪开"],"answer":"在首页开通。","category":"account"}`), 200)
	wantProblem(t, put("white", `{"id":"other","questions":["q"],"answer":"a"}`), 400, "invalid", "id")
	wantProblem(t, put("white", `{"questions":[],"answer":"a"}`), 400, "invalid", "questions")
	wantProblem(t, put("white", `{"questions":["q", 3],"answer":""}`), 400, "invalid", "questions[1]", "answer")
	wantProblem(t, put("white", `{"questions":["q"],"answer":"a","colour":"red"}`), 400, "invalid", "colour")

	e := decode[faq.Entry](t, f.get("/v1/service/faqs/white"))
	if len(e.Questions) != 2 || e.Category != "account" {
		t.Errorf("GET = %+v", e)
	}
	list := decode[struct {
		Count int         `json:"count"`
		FAQs  []faq.Entry `json:"faqs"`
	}](t, f.get("/v1/service/faqs"))
	if list.Count != len(faq.Starter())+1 || len(list.FAQs) != list.Count {
		t.Errorf("list has %d (count %d)", len(list.FAQs), list.Count)
	}
	search := decode[struct {
		Normalized string    `json:"normalized"`
		Hits       []faq.Hit `json:"hits"`
	}](t, f.post("/v1/service/faqs:search", `{"text":"白條在哪裡開？","k":3}`))
	if search.Normalized != "白条在哪里开" || len(search.Hits) == 0 || search.Hits[0].FAQID != "white" {
		t.Errorf("search = %+v", search)
	}
	wantProblem(t, f.post("/v1/service/faqs:search", `{"text":"x","k":0}`), 400, "invalid", "k")

	wantStatus(t, f.do(request{method: "DELETE", path: "/v1/service/faqs/white", key: f.admin}), 204)
	wantProblem(t, f.do(request{method: "DELETE", path: "/v1/service/faqs/white", key: f.admin}), 404, "not_found")
	wantProblem(t, f.get("/v1/service/faqs/white"), 404, "not_found")

	h := decode[struct {
		Revisions []faq.Revision `json:"revisions"`
	}](t, f.get("/v1/service/faqs/white/history"))
	if len(h.Revisions) != 3 || h.Revisions[2].Deleted != true || h.Revisions[1].Entry == nil || len(h.Revisions[1].Entry.Questions) != 2 {
		t.Fatalf("history = %+v", h.Revisions)
	}
	for _, r := range h.Revisions {
		if r.By == "" || r.At.IsZero() {
			t.Errorf("revision without author or time: %+v", r)
		}
	}
	wantProblem(t, f.get("/v1/service/faqs/never/history"), 404, "not_found")
}

type httptestResponse = httptest.ResponseRecorder

func TestFAQSynonyms(t *testing.T) {
	f, b := setupFAQ(t)
	put := func(body string) *httptestResponse {
		return f.do(request{method: "PUT", path: "/v1/service/synonyms", key: f.admin, body: body})
	}
	wantProblem(t, put(`{}`), 400, "invalid", "synonyms")
	wantProblem(t, put(`{"synonyms":[{"term":"白条"}]}`), 400, "invalid", "synonyms[0].variants")
	wantProblem(t, put(`{"synonyms":[{"term":"白条","variants":["  "]}]}`), 400, "invalid", "synonyms[0].variants[0]")
	wantProblem(t, put(`{"synonyms":"x"}`), 400, "invalid", "synonyms")
	wantStatus(t, put(`{"synonyms":[{"term":"白条","variants":["白跳","百条"]}]}`), 200)
	if got := b.Normalize("百条"); got != "白条" {
		t.Errorf("the live base does not use the new synonyms: %q", got)
	}
	got := decode[struct {
		Synonyms []faq.Synonym `json:"synonyms"`
		Builtin  []faq.Synonym `json:"builtin"`
	}](t, f.get("/v1/service/synonyms"))
	if len(got.Synonyms) != 1 || got.Synonyms[0].Term != "白条" || len(got.Builtin) == 0 {
		t.Errorf("GET synonyms = %+v", got)
	}
	wantStatus(t, put(`{"synonyms":[]}`), 200)
	h := decode[struct {
		Versions []faq.SynonymRevision `json:"versions"`
	}](t, f.get("/v1/service/synonyms/history"))
	if len(h.Versions) != 2 || h.Versions[0].Version != 1 || len(h.Versions[1].Synonyms) != 0 {
		t.Errorf("history = %+v", h.Versions)
	}
}

func TestFAQScopes(t *testing.T) {
	f, _ := setupFAQ(t)
	reader := f.newKey(auth.ScopeServiceRead)
	wantStatus(t, f.do(request{method: "GET", path: "/v1/service/faqs", key: reader}), 200)
	wantStatus(t, f.do(request{method: "GET", path: "/v1/service/synonyms", key: reader}), 200)
	wantProblem(t, f.do(request{method: "POST", path: "/v1/service/faqs:import", key: reader, body: `{"id":"a","questions":["q"],"answer":"a"}`}), 403, "forbidden")
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/service/faqs/a", key: reader, body: `{"questions":["q"],"answer":"a"}`}), 403, "forbidden")
	wantProblem(t, f.do(request{method: "DELETE", path: "/v1/service/faqs/limit-raise", key: reader}), 403, "forbidden")
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/service/synonyms", key: reader, body: `{"synonyms":[]}`}), 403, "forbidden")
	wantProblem(t, f.do(request{method: "GET", path: "/v1/service/faqs"}), 401, "unauthorized")
}

func TestFAQDisabled(t *testing.T) {
	f := setup(t)
	wantProblem(t, f.get("/v1/service/faqs"), 404, "not_found")
	wantProblem(t, f.post("/v1/service/faqs:import", `{"id":"a","questions":["q"],"answer":"a"}`), 404, "not_found")
	wantProblem(t, f.get("/v1/service/faqs/a/history"), 503, "unavailable")
	// Without a store, edits change the live base only.
	b := faq.NewBase(faq.Options{NoLearn: true})
	g := setup(t, func(c *Config) { c.FAQ = b })
	wantStatus(t, g.do(request{method: "PUT", path: "/v1/service/faqs/a", key: g.admin, body: `{"questions":["怎么还款"],"answer":"App 里还"}`}), 200)
	if b.Len() != 1 || !strings.Contains(b.Entries()[0].Answer, "App") {
		t.Errorf("base = %+v", b.Entries())
	}
}
