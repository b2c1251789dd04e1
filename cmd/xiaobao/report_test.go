package main

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReportRebuiltAtStart checks that the dashboard's figures follow new
// decisions and outcomes, and survive a restart: the rollups are rebuilt
// from the store.
func TestReportRebuiltAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	in := startServe(t, dir)
	req, _ := http.NewRequest("POST", in.base+"/v1/rulepacks?activate=true", strings.NewReader(consolePack))
	req.Header.Set("Authorization", "Bearer "+testBootstrapKey)
	req.Header.Set("Content-Type", "application/yaml")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("load pack: %v %v", resp, err)
	}
	held := 0
	for i := range 6 {
		yuan := 300
		if i%2 == 0 {
			yuan = 20000 + i
		}
		var d decision
		call(t, "POST", in.base+"/v1/events", browserEvent("rep-"+strconv.Itoa(i), 100+i, yuan, time.Hour), &d)
		if d.Action == "hold" {
			held++
			if held == 1 {
				call(t, "POST", in.base+"/v1/decisions/"+d.DecisionID+"/outcome", `{"outcome":"customer_dissuaded","amount_saved":"20000.00"}`, nil)
			}
		}
	}
	if held != 3 {
		t.Fatalf("%d held, want 3", held)
	}
	type summary struct {
		Partial bool
		Totals  struct {
			Decisions, Holds, Dissuaded int
			LossesAvoided               string `json:"losses_avoided"`
		}
	}
	want := func(in *instance, label string) {
		t.Helper()
		var s summary
		deadline := time.Now().Add(15 * time.Second)
		for {
			call(t, "GET", in.base+"/v1/report/summary?bucket=week", "", &s)
			if !s.Partial && s.Totals.Decisions == 6 && s.Totals.Dissuaded == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if s.Partial || s.Totals.Decisions != 6 || s.Totals.Holds != 3 || s.Totals.Dissuaded != 1 || s.Totals.LossesAvoided != "20000.00" {
			t.Errorf("%s: summary %+v", label, s)
		}
	}
	want(in, "live")
	in.stop()
	in = startServe(t, dir)
	defer in.stop()
	want(in, "after a restart")
}
