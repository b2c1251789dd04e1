package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeOpensCases checks the wiring of the case desk: a payment held
// by Guard opens a case through the indexer's hook, a call closes it and
// teaches Guard the label, and all of it is there after a restart.
func TestServeOpensCases(t *testing.T) {
	dir := t.TempDir()
	in := startServe(t, dir)
	pack := `pack: e2e
description: {zh: 测试, en: test}
rules:
  - id: E2E_BIG
    name: {zh: 大额, en: big}
    description: {zh: 金额不少于一万元, en: at least 10000 yuan}
    nodes: [transfer]
    when: event.amount >= 10000
    score: 0.99
    action: hold
    typology: fake_investment
    code: E2E_BIG
`
	body, _ := json.Marshal(map[string]any{"source": pack, "activate": true})
	if resp := call(t, "POST", in.base+"/v1/rulepacks", string(body), nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("load pack: %d", resp.StatusCode)
	}
	var d decision
	call(t, "POST", in.base+"/v1/events", `{"event_id":"case-e2e-1","type":"transfer","occurred_at":"2026-03-01T10:00:00+08:00",`+
		`"customer":{"id":"cust-e2e","age":66},"amount":"25000.00","counterparty":{"account":"6222020200112233445"}}`, &d)
	if d.Action != "hold" && d.Action != "block" {
		t.Fatalf("action %s, want hold or block", d.Action)
	}
	type caseJSON struct {
		ID, State, Queue, Resolution string
		AmountAtRisk                 string `json:"amount_at_risk"`
		AmountSaved                  string `json:"amount_saved"`
	}
	var page struct{ Cases []caseJSON }
	deadline := time.Now().Add(20 * time.Second)
	for len(page.Cases) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no case opened for the held payment\nlogs:\n%s", in.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
		call(t, "GET", in.base+"/v1/cases?customer_id=cust-e2e", "", &page)
	}
	c := page.Cases[0]
	if c.State != "open" || c.Queue != "vulnerable" || c.AmountAtRisk != "25000.00" {
		t.Errorf("case %+v", c)
	}
	resp, err := http.Get(in.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `xiaobao_cases_open{queue="vulnerable"} 1`) {
		t.Errorf("metrics lack the open case:\n%s", grepLines(string(metrics), "xiaobao_cases"))
	}
	var closed caseJSON
	if resp := call(t, "POST", in.base+"/v1/cases/"+c.ID+"/calls", `{"outcome":"dissuaded","request_id":"e2e-1"}`, &closed); resp.StatusCode != http.StatusCreated {
		t.Fatalf("call: %d", resp.StatusCode)
	}
	if closed.State != "closed" || closed.AmountSaved != "25000.00" {
		t.Errorf("closed case %+v", closed)
	}
	in.stop()

	in = startServe(t, dir)
	defer in.stop()
	var again caseJSON
	call(t, "GET", in.base+"/v1/cases/"+c.ID, "", &again)
	if again.State != "closed" || again.Resolution != "dissuaded" {
		t.Errorf("after restart: %+v", again)
	}
	var o struct{ Outcome, Source string }
	call(t, "GET", in.base+"/v1/decisions/"+d.DecisionID+"/outcome", "", &o)
	if o.Outcome != "customer_dissuaded" || o.Source != "cases" {
		t.Errorf("guard outcome %+v", o)
	}
	var figs struct {
		Protected   int
		AmountSaved string `json:"amount_saved"`
	}
	call(t, "GET", in.base+"/v1/cases/figures", "", &figs)
	if figs.Protected != 1 || figs.AmountSaved != "25000.00" {
		t.Errorf("figures %+v", figs)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeScamWarningOpensCase checks the wiring from customer service to
// the case desk: a customer who tells the chat that the "police" want
// their money moved to a safe account gets a case to be called about,
// without any payment held; an ordinary question opens none.
func TestServeScamWarningOpensCase(t *testing.T) {
	dir := t.TempDir()
	in := startServe(t, dir)
	var ask struct {
		Warnings []struct{ Kind, Type string }
	}
	call(t, "POST", in.base+"/v1/service/ask", `{"text":"公安局的警官打电话说我涉嫌洗钱，让我把钱转到安全账户配合调查，还让我下载一个屏幕共享软件","customer_id":"cust-warned","session_id":"sess-warned"}`, &ask)
	scam := false
	for _, w := range ask.Warnings {
		scam = scam || w.Kind == "scam_victim"
	}
	if !scam {
		t.Fatalf("no scam warning: %+v", ask)
	}
	call(t, "POST", in.base+"/v1/service/ask", `{"text":"怎么注销账户？","customer_id":"cust-plain","session_id":"sess-plain"}`, nil)
	var page struct {
		Cases []struct {
			ID, State, Typology string
			CustomerID          string `json:"customer_id"`
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(page.Cases) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no case opened for the scam warning\nlogs:\n%s", in.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
		call(t, "GET", in.base+"/v1/cases?customer_id=cust-warned", "", &page)
	}
	if c := page.Cases[0]; c.State != "open" || c.Typology != "impersonated_police" {
		t.Errorf("case %+v", c)
	}
	page.Cases = nil
	call(t, "GET", in.base+"/v1/cases?customer_id=cust-plain", "", &page)
	if len(page.Cases) != 0 {
		t.Errorf("an ordinary question opened a case: %+v", page.Cases)
	}
}
