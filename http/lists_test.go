package http

import (
	"net/url"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
)

type listEntriesResp struct {
	Entries []guard.ListEntry `json:"entries"`
}

func TestLists(t *testing.T) {
	f := setup(t)
	admin := f.newKey("lists:admin")
	reader := f.newKey("lists:read")
	put := func(path, body string) int {
		return f.do(request{method: "PUT", path: path, key: admin, body: body}).Code
	}

	// Before: the payee is not listed.
	w := f.post("/v1/events", event("l-1"))
	wantStatus(t, w, 200)
	if a := decode[decisionJSON](t, w).Action; a != "allow" {
		t.Fatalf("before listing: %s", a)
	}

	// Put (twice: idempotent), with and without a body.
	body := `{"reason":"reported by police","source":"police-2026-001","expires_at":"2027-01-01T00:00:00+08:00"}`
	for range 2 {
		if c := put("/v1/lists/block/account/6222020200112233445", body); c != 200 {
			t.Fatalf("put = %d", c)
		}
	}
	if c := put("/v1/lists/allow/device/dev-42", ""); c != 200 {
		t.Fatalf("put without body = %d", c)
	}
	// An ID number is stored only as its hash.
	w = f.do(request{method: "PUT", path: "/v1/lists/block/id_number/" + rawID, key: admin, body: `{"reason":"mule"}`})
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), rawID) {
		t.Errorf("the response echoes the raw ID number: %s", w.Body.String())
	}
	if e := decode[guard.ListEntry](t, w); e.Kind != guard.KindIDHash || e.Value != guard.HashIDNumber(rawID) {
		t.Errorf("id_number entry = %+v", e)
	}

	// The decision sees the block list at once.
	w = f.post("/v1/events", event("l-2"))
	wantStatus(t, w, 200)
	if d := decode[decisionJSON](t, w); d.Action != "block" || d.Typology != "test_listed" {
		t.Errorf("after listing: %+v", d)
	}

	// Search.
	tests := []struct {
		query string
		want  int
	}{
		{"", 3},
		{"list=block", 2},
		{"list=allow&kind=device", 1},
		{"kind=id_number&value=" + rawID, 1},
		{"kind=account&value=6222020200112233445", 1},
		{"limit=1", 1},
	}
	for _, tt := range tests {
		w := f.do(request{method: "GET", path: "/v1/lists?" + tt.query, key: reader})
		wantStatus(t, w, 200)
		if got := len(decode[listEntriesResp](t, w).Entries); got != tt.want {
			t.Errorf("%s: %d entries, want %d", tt.query, got, tt.want)
		}
	}
	wantProblem(t, f.do(request{method: "GET", path: "/v1/lists?list=grey&kind=planet&limit=0&x=1", key: reader}),
		400, "invalid", "list", "kind", "limit", "x")
	// The raw ID number is never stored.
	es, _ := f.db.ListEntries(t.Context(), guard.ListFilter{})
	for _, e := range es {
		if strings.Contains(e.Value, rawID) {
			t.Errorf("raw ID number stored: %+v", e)
		}
	}

	// Bad puts.
	w = f.do(request{method: "PUT", path: "/v1/lists/grey/planet/x", key: admin, body: `{"reason":5,"expires_at":"soon","extra":1}`})
	wantProblem(t, w, 400, "invalid", "list", "kind", "reason", "expires_at", "extra")
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/lists/block/id_number/12345", key: admin}), 400, "invalid", "value")
	wantProblem(t, f.do(request{method: "PUT", path: "/v1/lists/block/account/x", key: reader}), 403, "forbidden")

	// Delete.
	w = f.do(request{method: "DELETE", path: "/v1/lists/block/account/6222020200112233445", key: admin})
	wantStatus(t, w, 204)
	wantProblem(t, f.do(request{method: "DELETE", path: "/v1/lists/block/account/6222020200112233445", key: admin}), 404, "not_found")
	wantStatus(t, f.do(request{method: "DELETE", path: "/v1/lists/block/id_number/" + rawID, key: admin}), 204)
	w = f.post("/v1/events", event("l-3"))
	if d := decode[decisionJSON](t, w); d.Action != "allow" {
		t.Errorf("after delisting: %+v", d)
	}

	// Values with reserved characters travel escaped.
	if c := put("/v1/lists/block/ip/"+url.PathEscape("2001:db8::1"), ""); c != 200 {
		t.Errorf("put IPv6 = %d", c)
	}
	if c := put("/v1/lists/block/device/"+url.PathEscape("a/b c"), ""); c != 200 {
		t.Errorf("put value with slash = %d", c)
	}
	w = f.do(request{method: "GET", path: "/v1/lists?kind=device&value=" + url.QueryEscape("a/b c"), key: reader})
	if got := len(decode[listEntriesResp](t, w).Entries); got != 1 {
		t.Errorf("value with slash not found: %s", w.Body.String())
	}
}

type importResp struct {
	Imported int `json:"imported"`
	Errors   []struct {
		Line   int `json:"line"`
		Errors []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"errors"`
	} `json:"errors"`
}

func TestListImport(t *testing.T) {
	f := setup(t)
	ndjson := strings.Join([]string{
		`{"list":"block","kind":"account","value":"acc-1","reason":"fraud"}`, // 1
		`{"list":"block","kind":"planet","value":"mars"}`,                    // 2 bad kind
		`{"list":"allow","kind":"phone","value":"` + rawPhone + `"}`,         // 3
		`not json`, // 4
		``,         // 5 blank: skipped
		`{"list":"block","kind":"id_number","value":"` + rawID + `","source":"x"}`, // 6
		`{"list":"block","kind":"device","value":"d","expires_at":"tomorrow"}`,     // 7 bad time
		`{"list":"block","kind":"device"}`,                                         // 8 missing value
	}, "\n")
	w := f.do(request{method: "POST", path: "/v1/lists:import", key: f.admin, body: ndjson,
		header: map[string]string{"Content-Type": "application/x-ndjson"}})
	wantStatus(t, w, 200)
	res := decode[importResp](t, w)
	if res.Imported != 3 {
		t.Errorf("imported %d, want 3", res.Imported)
	}
	wantLines := map[int]string{2: "kind", 4: "", 7: "expires_at", 8: "value"}
	if len(res.Errors) != len(wantLines) {
		t.Errorf("errors = %+v", res.Errors)
	}
	for _, e := range res.Errors {
		field, ok := wantLines[e.Line]
		if !ok || len(e.Errors) == 0 || e.Errors[0].Field != field {
			t.Errorf("line %d: %+v, want field %q", e.Line, e.Errors, field)
		}
	}

	csv := "list,kind,value,reason,source,expires_at\n" +
		"block,account,acc-2,mule account,police,\n" + // 2
		"block,account,,empty value,,\n" + // 3 bad
		"allow,customer,cust-9,vip,,2027-01-01T00:00:00Z\n" + // 4
		"\"block,account,unterminated\n" // 5 bad quoting
	w = f.do(request{method: "POST", path: "/v1/lists:import", key: f.admin, body: csv,
		header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}})
	wantStatus(t, w, 200)
	res = decode[importResp](t, w)
	if res.Imported != 2 || len(res.Errors) != 2 || res.Errors[0].Line != 3 || res.Errors[0].Errors[0].Field != "value" {
		t.Errorf("csv import = %+v", res)
	}
	es, _ := f.db.ListEntries(t.Context(), guard.ListFilter{})
	if len(es) != 5 {
		t.Errorf("%d entries stored, want 5", len(es))
	}
	for _, e := range es {
		if strings.Contains(e.Value, rawID) {
			t.Errorf("raw ID number stored: %+v", e)
		}
	}

	wantProblem(t, f.do(request{method: "POST", path: "/v1/lists:import", key: f.admin, body: "kind,colour\n",
		header: map[string]string{"Content-Type": "text/csv"}}), 400, "invalid", "header")
	wantProblem(t, f.do(request{method: "POST", path: "/v1/lists:import", key: f.admin, body: "x",
		header: map[string]string{"Content-Type": "application/pdf"}}), 415, "unsupported_media_type")
	wantProblem(t, f.do(request{method: "POST", path: "/v1/lists:import", key: f.newKey("lists:read"), body: ndjson}), 403, "forbidden")
}
